"""Command line: `python -m embedded_aws serve|up|down|status|env`.

`up` starts `serve` in the background with a pid file and a log file, and waits until it is
healthy; `down` stops it and its Lambda workers; `status` prints its health.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from embedded_aws.local_client import DEFAULT_PORT, client_environment, endpoint_url

DEFAULT_STATE_DIR = Path(".emulator")


def _health(endpoint: str, timeout: float = 2.0) -> dict | None:
    try:
        with urllib.request.urlopen(f"{endpoint}/_embedded_aws/health", timeout=timeout) as response:
            return json.loads(response.read())
    except (urllib.error.URLError, OSError, ValueError):
        return None


def _pid_file(state_dir: Path) -> Path:
    return state_dir / "embedded_aws.pid"


def _running_pid(state_dir: Path) -> int | None:
    try:
        pid = int(_pid_file(state_dir).read_text().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def serve(args: argparse.Namespace) -> int:
    from embedded_aws.emulator import EmbeddedAWS
    from embedded_aws.runtime import RuntimeNotAvailable, find_python

    logging.basicConfig(
        level=os.environ.get("EMBEDDED_AWS_LOG_LEVEL", "INFO"), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    try:
        logging.getLogger("embedded_aws").info("python3.12 runtime: %s", find_python("python3.12"))
    except RuntimeNotAvailable as exc:
        logging.getLogger("embedded_aws").error("%s", exc)
        return 3
    emulator = EmbeddedAWS(args.host, args.port, args.state_dir, args.max_concurrency).start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(f"embedded AWS emulator ready on {emulator.endpoint_url}", flush=True)
    stop.wait()
    emulator.stop()
    return 0


def up(args: argparse.Namespace) -> int:
    state_dir: Path = args.state_dir
    state_dir.mkdir(parents=True, exist_ok=True)
    endpoint = endpoint_url(args.port)
    if _running_pid(state_dir) and _health(endpoint):
        print(f"embedded emulator already running on {endpoint} (pid {_running_pid(state_dir)})")
        return 0
    if _health(endpoint):
        print(f"error: something else already answers on {endpoint}; stop it or choose another port", file=sys.stderr)
        return 1
    log_file = state_dir / "embedded_aws.log"
    command = [
        sys.executable,
        "-m",
        "embedded_aws",
        "--host",
        args.host,
        "--port",
        str(args.port),
        "--state-dir",
        str(state_dir.resolve()),
        "--max-concurrency",
        str(args.max_concurrency),
        "serve",
    ]
    with open(log_file, "ab") as log:
        process = subprocess.Popen(
            command,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
            cwd=Path(__file__).resolve().parent.parent,
        )
    _pid_file(state_dir).write_text(str(process.pid))
    deadline = time.time() + args.wait
    while time.time() < deadline:
        if process.poll() is not None:
            print(
                f"error: the embedded emulator exited with code {process.returncode}; last lines of {log_file}:",
                file=sys.stderr,
            )
            print("\n".join(log_file.read_text(errors="replace").splitlines()[-15:]), file=sys.stderr)
            return 1
        if _health(endpoint):
            print(f"embedded emulator healthy on {endpoint} (pid {process.pid}, log {log_file})")
            return 0
        time.sleep(0.2)
    print(f"error: the embedded emulator did not become healthy within {args.wait}s; see {log_file}", file=sys.stderr)
    return 1


def down(args: argparse.Namespace) -> int:
    pid = _running_pid(args.state_dir)
    if pid is None:
        print("embedded emulator is not running")
        _pid_file(args.state_dir).unlink(missing_ok=True)
        return 0
    try:
        os.killpg(pid, signal.SIGTERM)  # its own session: the Lambda workers go with it
    except OSError:
        os.kill(pid, signal.SIGTERM)
    for _ in range(50):
        if _running_pid(args.state_dir) is None:
            break
        time.sleep(0.1)
    else:
        os.killpg(pid, signal.SIGKILL)
    _pid_file(args.state_dir).unlink(missing_ok=True)
    print(f"embedded emulator stopped (pid {pid}); its in-memory AWS state is gone")
    return 0


def status(args: argparse.Namespace) -> int:
    health = _health(endpoint_url(args.port))
    if health is None:
        print(f"embedded emulator: not answering on port {args.port}")
        return 1
    print(json.dumps(health, indent=2))
    return 0


def env(args: argparse.Namespace) -> int:
    """Print the shell exports that point AWS clients at the emulator (AWS_ENDPOINT_URL kept when set)."""
    endpoint = os.environ.get("AWS_ENDPOINT_URL") or endpoint_url(args.port)
    for name, value in client_environment(endpoint).items():
        print(f"export {name}={shlex.quote(value)}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m embedded_aws", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--port", type=int, default=int(os.environ.get("EMULATOR_PORT", DEFAULT_PORT)))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--state-dir", type=Path, default=DEFAULT_STATE_DIR)
    parser.add_argument(
        "--max-concurrency",
        type=int,
        default=int(os.environ.get("EMBEDDED_AWS_MAX_CONCURRENCY", "2")),
        help="warm workers per function version (default 2)",
    )
    parser.add_argument("--wait", type=float, default=60.0, help="seconds `up` waits for health")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, func in (("serve", serve), ("up", up), ("down", down), ("status", status), ("env", env)):
        sub.add_parser(name, help=func.__doc__).set_defaults(func=func)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
