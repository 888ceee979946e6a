"""`make bench`: seconds for N simulated events to reach bronze on a fresh embedded emulator.

Target (issue "Platform"): 10,000 events in bronze within 30 s of the simulator's end. This is a
benchmark, not a test: it reports and exits 0 unless the pipeline loses events.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import boto3

from tools import local_stack
from tools.lake_reader import bronze_event_ids, wait_until

TARGET_SECONDS = 30.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--timeout", type=float, default=300)
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        tmp_path = Path(tmp)
        port = local_stack.free_port()
        lambda_zip = local_stack.build_package()
        print(f"bench: starting a fresh embedded emulator on port {port}", flush=True)
        endpoint = local_stack.start_emulator(port, tmp_path / "emulator")
        try:
            env = local_stack.local_env(endpoint)
            for name in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION"):
                os.environ[name] = env[name]
            (tmp_path / "tf").mkdir()
            print("bench: tflocal apply …", flush=True)
            started = time.monotonic()
            outputs = local_stack.apply_stack(env, lambda_zip, tmp_path / "tf")
            apply_seconds = time.monotonic() - started
            manifest = tmp_path / "manifest.jsonl"
            print(f"bench: sending {args.events} events …", flush=True)
            started = time.monotonic()
            local_stack.run([sys.executable, "-m", "simulador", "send", "--stream", outputs["stream_name"],
                             "--count", str(args.events), "--manifest", str(manifest), "--no-progress"], env)
            send_seconds = time.monotonic() - started
            simulator_done = time.monotonic()
            s3 = boto3.client("s3")

            def all_in_bronze():
                counts = bronze_event_ids(s3, outputs["bronze_bucket"])
                print(f"\r  bronze: {sum(counts.values())}/{args.events}   ", end="", flush=True)
                return sum(counts.values()) >= args.events and counts

            counts = wait_until(all_in_bronze, timeout=args.timeout, interval=0.25)
            to_bronze = time.monotonic() - simulator_done
            print()
        finally:
            local_stack.stop_emulator(port, tmp_path / "emulator")

    result = {
        "events": args.events,
        "tflocal_apply_seconds": round(apply_seconds, 1),
        "simulator_seconds": round(send_seconds, 2),
        "seconds_to_bronze_after_simulator": round(to_bronze, 2),
        "target_seconds": TARGET_SECONDS,
        "within_target": to_bronze <= TARGET_SECONDS,
        "events_in_bronze": sum(counts.values()),
        "duplicates_in_bronze": sum(n - 1 for n in counts.values() if n > 1),
    }
    Path("build").mkdir(exist_ok=True)
    Path("build/bench-bronze.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))
    return 0 if result["events_in_bronze"] == args.events and not result["duplicates_in_bronze"] else 1


if __name__ == "__main__":
    sys.exit(main())
