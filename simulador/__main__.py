"""Command line: `python -m simulador send ...` and `python -m simulador tail ...`."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from tqdm import tqdm

from simulador import history
from simulador.generator import DEFAULT_SCHEMA_VERSION, SCHEMA_VERSIONS, UNIDAD, iter_records, record_counts
from simulador.manifest import ManifestWriter, build_summary, format_summary, write_summary
from simulador.producer import DEFAULT_IN_FLIGHT, DeliveryError, iter_send
from simulador.reference_data import ReferenceDataError, load_reference_data
from simulador.tail import POSITIONS, format_record, iter_stream

DEFAULT_REGION = "us-east-1"
DEFAULT_MANIFEST = Path("build/simulator-manifest.jsonl")
EXIT_USAGE = 2  # also used for "stream not found": the name given is wrong


def kinesis_client():
    # botocore reads AWS_ENDPOINT_URL and the credentials itself; only the region gets a default.
    region = boto3.session.Session().region_name or DEFAULT_REGION
    return boto3.client("kinesis", region_name=region)


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def non_negative_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError(f"{text} must be a finite number >= 0")
    return value


def ratio(text: str) -> float:
    value = non_negative_float(text)
    if value > 1:
        raise argparse.ArgumentTypeError(f"{text} must be between 0 and 1")
    return value


def add_stream_command(
    commands, name: str, handler: Callable[[argparse.Namespace], int], *, help: str, description: str
) -> argparse.ArgumentParser:
    """A subcommand that works on one stream: its --stream option (default $STREAM_NAME) and its handler."""
    command = commands.add_parser(name, help=help, description=description)
    command.add_argument(
        "--stream", metavar="NAME", default=os.environ.get("STREAM_NAME"), help="stream name (default: $STREAM_NAME)"
    )
    command.set_defaults(handler=handler, command_parser=command)
    return command


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m simulador",
        description="Send simulated economic-indicator events to a Kinesis stream, or read them back.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    send = add_stream_command(
        commands,
        "send",
        run_send,
        help="send events (PutRecords batches) and write a manifest of what was sent",
        description="Send seeded random-walk events to a Kinesis stream and write a manifest of every "
        "record sent. The endpoint comes from AWS_ENDPOINT_URL when set; the region defaults to us-east-1.",
    )
    send.add_argument(
        "--count", type=positive_int, metavar="N", default=1000, help="number of valid events (default: 1000)"
    )
    send.add_argument(
        "--rate",
        type=non_negative_float,
        default=0.0,
        metavar="EVENTS_PER_SECOND",
        help="records per second; 0 = as fast as possible (default: 0)",
    )
    send.add_argument(
        "--in-flight",
        type=positive_int,
        default=DEFAULT_IN_FLIGHT,
        metavar="N",
        help="PutRecords calls outstanding at once; above 1, records of one partition key sent in different "
        f"calls may be stored in either order (default: {DEFAULT_IN_FLIGHT})",
    )
    send.add_argument(
        "--seed", type=int, metavar="S", default=42, help="seed of the values and of the record mix (default: 42)"
    )
    send.add_argument(
        "--manifest",
        type=Path,
        default=DEFAULT_MANIFEST,
        metavar="PATH",
        help="JSON-lines manifest of the records sent; the summary goes to PATH.summary.json "
        f"(default: {DEFAULT_MANIFEST})",
    )
    send.add_argument(
        "--malformed-ratio",
        type=ratio,
        default=0.0,
        metavar="F",
        help="extra deliberately malformed records, as a fraction of --count (default: 0.0)",
    )
    send.add_argument(
        "--duplicate-ratio",
        type=ratio,
        default=0.0,
        metavar="F",
        help="extra re-sends of already sent events with the same event_id, as a fraction of --count (default: 0.0)",
    )
    send.add_argument(
        "--days",
        type=positive_int,
        metavar="N",
        help="history: spread the events over the N whole UTC days before today (seeded series with trend, "
        "weekly and yearly waves, noise and the odd outlier) instead of stamping them now",
    )
    send.add_argument(
        "--from",
        dest="history_from",
        metavar="DATE",
        help="history: first day (YYYY-MM-DD) or instant (ISO-8601) of the window; with --to, or up to now",
    )
    send.add_argument(
        "--to", dest="history_to", metavar="DATE", help="history: last day (YYYY-MM-DD, included) or instant"
    )
    send.add_argument(
        "--schema-version",
        type=int,
        choices=SCHEMA_VERSIONS,
        default=DEFAULT_SCHEMA_VERSION,
        # argparse %-formats help texts: the unit "%" is written "%%".
        help=f"contract version of the events sent (default: {DEFAULT_SCHEMA_VERSION}); "
        f"version 2 events carry unidad {UNIDAD!r}".replace("%", "%%"),
    )
    send.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")

    tail = add_stream_command(
        commands,
        "tail",
        run_tail,
        help="print the records of every shard of a stream as they arrive",
        description="Read every shard of a Kinesis stream (round robin) and print one line per record. "
        "Ctrl-C stops and prints how many records were read.",
    )
    tail.add_argument(
        "--from",
        dest="position",
        choices=POSITIONS,
        default="LATEST",
        help="start at the oldest record or only new ones (default: LATEST)",
    )
    tail.add_argument("--max-events", type=positive_int, metavar="N", help="stop after N records")
    tail.add_argument(
        "--idle-timeout",
        type=non_negative_float,
        metavar="SECONDS",
        help="stop after SECONDS without new records",
    )
    tail.add_argument("--json", action="store_true", help="print each event as raw JSON")
    return parser


def history_window(args: argparse.Namespace) -> history.Window | None:
    """The window of --days or --from/--to (checked against the contract's time range), or None."""
    if args.days is not None and (args.history_from or args.history_to):
        args.command_parser.error("use either --days or --from/--to")
    if args.history_to and not args.history_from:
        args.command_parser.error("--to needs --from")
    now = datetime.now(UTC)
    try:
        if args.days is not None:
            window = history.last_days(args.days, now)
        elif args.history_from:
            window = history.window_from_bounds(args.history_from, args.history_to, now)
        else:
            return None
        history.check_window(window, now)
    except ValueError as error:
        args.command_parser.error(str(error))
    return window


def run_send(args: argparse.Namespace) -> int:
    reference = load_reference_data()
    window = history_window(args)
    client = kinesis_client()
    client.describe_stream_summary(StreamName=args.stream)  # fail before touching the manifest
    total = sum(record_counts(args.count, args.duplicate_ratio, args.malformed_ratio).values())
    records = iter_records(
        reference,
        count=args.count,
        seed=args.seed,
        duplicate_ratio=args.duplicate_ratio,
        malformed_ratio=args.malformed_ratio,
        observations=history.iter_history(reference.series, args.seed, args.count, window) if window else None,
        schema_version=args.schema_version,
    )
    if window:
        print(
            f"history: {args.count} events from {window.start.isoformat()} to {window.end.isoformat()} "
            f"({len(window.days())} days)",
            file=sys.stderr,
        )
    started = time.monotonic()
    with (
        ManifestWriter(args.manifest) as manifest,
        tqdm(total=total, unit="rec", file=sys.stderr, disable=True if args.no_progress else None) as bar,
    ):
        try:
            for sent in iter_send(
                client, args.stream, records, rate=args.rate, in_flight=args.in_flight, on_progress=bar.update
            ):
                manifest.write(sent)
        except DeliveryError as error:
            bar.close()
            delivered = manifest.stats.events_sent
            print(
                f"error: {error}; {delivered} records were delivered and are listed in {args.manifest}", file=sys.stderr
            )
            return 1
        except KeyboardInterrupt:
            bar.close()
            print(
                f"interrupted: {manifest.stats.events_sent} records were delivered and are listed in {args.manifest}",
                file=sys.stderr,
            )
            return 130
    summary = build_summary(manifest.stats, stream=args.stream, seconds=time.monotonic() - started)
    write_summary(args.manifest, summary)
    print(format_summary(summary, args.manifest))
    return 0


def run_tail(args: argparse.Namespace) -> int:
    client = kinesis_client()
    records_read = 0
    try:
        for record in iter_stream(client, args.stream, position=args.position, idle_timeout=args.idle_timeout):
            print(format_record(record, as_json=args.json), flush=True)
            records_read += 1
            if args.max_events is not None and records_read >= args.max_events:
                break
    except KeyboardInterrupt:
        print(f"stopped: {records_read} records read", file=sys.stderr)
        return 0
    except BrokenPipeError:  # e.g. piped into head: the reader is gone, nothing more to say
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - replaces stdout until exit
        return 0
    print(f"{records_read} records read", file=sys.stderr)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.stream:
        args.command_parser.error("--stream is required when STREAM_NAME is not set")
    try:
        return args.handler(args)
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code")
        if code == "ResourceNotFoundException":
            message = error.response["Error"].get("Message") or "ResourceNotFoundException"
            print(f"error: stream {args.stream!r} not found: {message}", file=sys.stderr)
            return EXIT_USAGE
        print(f"error: {error}", file=sys.stderr)
        return 1
    except (BotoCoreError, ReferenceDataError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
