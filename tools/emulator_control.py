"""`make up`, `make down`, `make status`: start, stop and inspect the local AWS emulator.

Two emulators stand in for AWS on http://localhost:PORT (README, "Emulators"):
- LocalStack, in Docker (docker-compose.localstack.yml), with an image pinned by digest: the
  token-free community-archive image, or the current one when LOCALSTACK_AUTH_TOKEN is set;
- the embedded emulator (python -m embedded_aws: moto server + a local Lambda runtime), no Docker.

`up --emulator auto` picks LocalStack when a Docker daemon answers, else the embedded one; `moto`
and `localstack` force one. The kind that was started is written to STATE_DIR/kind, so `down` and
`status` act on the same one.

    python -m lake_tools.emulator_control up --emulator auto --port 4566
    python -m lake_tools.emulator_control status
    python -m lake_tools.emulator_control down
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from pathlib import Path

from embedded_aws.local_client import DEFAULT_PORT, endpoint_url
from lake_tools.localstack_pin import makefile_images

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STATE_DIR = ROOT / ".emulator"
DEFAULT_COMPOSE_FILE = ROOT / "docker-compose.localstack.yml"
EMULATORS = ("auto", "moto", "localstack")
LOCALSTACK, EMBEDDED = "localstack", "embedded"  # what STATE_DIR/kind holds
# Terraform state of a stack deployed into the emulator: it describes nothing once the emulator is gone.
STACK_STATE_FILES = ("terraform.tfstate", "terraform.tfstate.backup")
HEALTH_ATTEMPTS = 90
HEALTH_INTERVAL_SECONDS = 2.0


# --- deciding -------------------------------------------------------------------------------------


def docker_answers() -> bool:
    """True when a Docker daemon answers `docker info` (installed is not enough)."""
    if shutil.which("docker") is None:
        return False
    try:
        result = subprocess.run(["docker", "info"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=60)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return result.returncode == 0


def choose_kind(emulator: str, docker_available: Callable[[], bool]) -> tuple[str, str]:
    """(LOCALSTACK or EMBEDDED, why) for EMULATOR=auto|moto|localstack. `docker_available` is only
    called for auto, so a forced choice never waits on Docker."""
    if emulator == "localstack":
        return LOCALSTACK, "EMULATOR=localstack"
    if emulator == "moto":
        return EMBEDDED, "EMULATOR=moto"
    if docker_available():
        return LOCALSTACK, "a Docker daemon answers"
    return EMBEDDED, "no Docker daemon answers"


def localstack_image(community_image: str, token_image: str, environ: Mapping[str, str]) -> tuple[str, str]:
    """(image, why): the token image needs LOCALSTACK_AUTH_TOKEN; without one, community-archive."""
    if environ.get("LOCALSTACK_AUTH_TOKEN"):
        return token_image, "LOCALSTACK_AUTH_TOKEN is set"
    return community_image, "no LOCALSTACK_AUTH_TOKEN: community-archive, the last token-free image"


def read_kind(state_dir: Path) -> str | None:
    try:
        return (state_dir / "kind").read_text().strip() or None
    except OSError:
        return None


def write_kind(state_dir: Path, kind: str) -> None:
    (state_dir / "kind").write_text(kind + "\n")


# --- the two emulators ----------------------------------------------------------------------------


def localstack_health(endpoint: str, timeout: float = 5.0) -> dict | None:
    """LocalStack's /_localstack/health document, or None when it does not answer (or answers an error)."""
    try:
        with urllib.request.urlopen(f"{endpoint}/_localstack/health", timeout=timeout) as response:
            return json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None


def wait_for_localstack(
    endpoint: str, *, attempts: int = HEALTH_ATTEMPTS, interval: float = HEALTH_INTERVAL_SECONDS
) -> bool:
    """Polls the health endpoint, one dot per failed try on stdout."""
    print("waiting for LocalStack health", end="", flush=True)
    for _ in range(attempts):
        if localstack_health(endpoint) is not None:
            print(" ok", flush=True)
            return True
        print(".", end="", flush=True)
        time.sleep(interval)
    print(flush=True)
    return False


def compose(args: argparse.Namespace, *command: str, image: str | None = None) -> int:
    env = {**os.environ, "EMULATOR_PORT": str(args.port)}
    if image:
        env["LOCALSTACK_IMAGE"] = image
    try:
        return subprocess.run(["docker", "compose", "-f", str(args.compose_file), *command], env=env).returncode
    except OSError as error:  # no docker binary: LocalStack cannot run here
        print(f"error: cannot run docker compose ({error}); LocalStack needs Docker", file=sys.stderr)
        return 1


def embedded(args: argparse.Namespace, command: str) -> int:
    return subprocess.run(
        [sys.executable, "-m", "embedded_aws", "--port", str(args.port), "--state-dir", str(args.state_dir), command]
    ).returncode


# --- the commands ---------------------------------------------------------------------------------


def up(args: argparse.Namespace) -> int:
    args.state_dir.mkdir(parents=True, exist_ok=True)
    kind, why = choose_kind(args.emulator, docker_answers)
    if kind == EMBEDDED:
        print(f"==> emulator: embedded (moto server + local Lambda runtime) on port {args.port} ({why})", flush=True)
        write_kind(args.state_dir, EMBEDDED)
        return embedded(args, "up")
    pins = makefile_images()  # the images pinned by digest, unless the command line names others
    community_image = args.community_image or pins["LOCALSTACK_IMAGE_COMMUNITY"]
    token_image = args.token_image or pins["LOCALSTACK_IMAGE_WITH_TOKEN"]
    image, image_why = localstack_image(community_image, token_image, os.environ)
    print(f"==> emulator: LocalStack {image} ({image_why}; {why})", flush=True)
    if compose(args, "up", "-d", image=image) != 0:
        return 1
    write_kind(args.state_dir, LOCALSTACK)
    if wait_for_localstack(args.endpoint):
        return 0
    print(f"error: LocalStack did not become healthy; see: docker compose -f {args.compose_file} logs", file=sys.stderr)
    return 1


def down(args: argparse.Namespace) -> int:
    if read_kind(args.state_dir) == LOCALSTACK:
        code = compose(args, "down")
    else:
        code = embedded(args, "down")
    if code != 0:
        return code
    for path in (args.state_dir / "kind", *(args.stack_dir / name for name in STACK_STATE_FILES)):
        path.unlink(missing_ok=True)
    return 0


def status(args: argparse.Namespace) -> int:
    if read_kind(args.state_dir) != LOCALSTACK:
        return embedded(args, "status")
    health = localstack_health(args.endpoint)
    print(json.dumps(health, indent=4) if health is not None else "LocalStack: not answering")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m lake_tools.emulator_control",
        description="Start, stop and inspect the local AWS emulator (make up, make down, make status).",
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"the emulator's port (default {DEFAULT_PORT}; EMULATOR_PORT)"
    )
    parser.add_argument(
        "--endpoint",
        help="where LocalStack's health is asked (default: AWS_ENDPOINT_URL, else http://localhost:PORT)",
    )
    parser.add_argument(
        "--state-dir",
        type=Path,
        default=DEFAULT_STATE_DIR,
        help="the embedded emulator's pid and log files, and `kind` (default: .emulator)",
    )
    parser.add_argument(
        "--compose-file", type=Path, default=DEFAULT_COMPOSE_FILE, help="LocalStack's compose file (LOCALSTACK_COMPOSE)"
    )
    parser.add_argument(
        "--stack-dir",
        type=Path,
        default=ROOT,
        help="where `down` removes terraform.tfstate(.backup): the stack lived in the emulator (default: the repo)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    start = commands.add_parser(
        "up",
        help="start the emulator and wait until it is healthy",
        description="Start LocalStack or the embedded emulator and wait until it answers; "
        "write which one to STATE_DIR/kind.",
    )
    start.add_argument(
        "--emulator",
        choices=EMULATORS,
        default="auto",
        help="auto: LocalStack when a Docker daemon answers, else the embedded one (default: auto)",
    )
    start.add_argument(
        "--community-image",
        metavar="IMAGE",
        help="LocalStack image without LOCALSTACK_AUTH_TOKEN (default: the Makefile's LOCALSTACK_IMAGE_COMMUNITY)",
    )
    start.add_argument(
        "--token-image",
        metavar="IMAGE",
        help="LocalStack image with LOCALSTACK_AUTH_TOKEN (default: the Makefile's LOCALSTACK_IMAGE_WITH_TOKEN)",
    )
    start.set_defaults(handler=up)
    stop = commands.add_parser(
        "down",
        help="stop the emulator (its state is in memory) and forget the stack's Terraform state",
        description="Stop the emulator that `up` started, then remove STATE_DIR/kind and the stack's Terraform state.",
    )
    stop.set_defaults(handler=down)
    show = commands.add_parser(
        "status",
        help="show which emulator runs and its health",
        description="Print the health of the emulator `up` started.",
    )
    show.set_defaults(handler=status)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    args.endpoint = (args.endpoint or os.environ.get("AWS_ENDPOINT_URL") or endpoint_url(args.port)).rstrip("/")
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
