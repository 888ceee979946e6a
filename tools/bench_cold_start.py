"""Cold start of each handler from its deployed artifact: import time and peak RSS.

    python -m lake_tools.bench_cold_start [--runs 5] [--zip build/lambda.zip] [--zip live=build/lambda-live.zip]
                                     [--output build/bench-cold-start.json]

A clean interpreter, as close to Lambda's python3.12 runtime as this machine gets: a fresh venv of
Python 3.12 (tools/find_python.sh) with only boto3 installed (the version of this project's venv:
the runtime provides boto3), the artifact unzipped as the task root, first on sys.path. Each run is
a new process (`python -I -B`) that times `import pipeline.handlers.<name>` and then reads its own
`resource.getrusage(RUSAGE_SELF).ru_maxrss`. `-B`, as Lambda's read-only task root: the interpreter
writes no bytecode, so what it does not find in the artifact (tools/package_lambda.py ships each
module's .pyc) it compiles from source at every cold start. Beside each figure, the same import from
a copy of the artifact without its .pyc files (what an artifact without bytecode would cost). The
median of `--runs` runs is reported, with the interpreter's own baseline (an empty run) and whether
pyarrow or pandas got imported.

Artifacts: `build/lambda-<handler>.zip` when it exists (per-function packages), else
build/lambda.zip; `--zip NAME=PATH` overrides one handler, `--zip PATH` the shared default.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import zipfile
from importlib.metadata import version
from pathlib import Path
from typing import Any

from embedded_aws import local_client
from lake_tools.package_lambda import HANDLERS

ROOT = Path(__file__).resolve().parent.parent
SERVING = ("api", "live")
TARGET_IMPORT_SECONDS = 0.25
TARGET_PEAK_RSS_MB = 50
# Reported when a handler's import pulls them in; the serving functions must not import the first two.
NOTED_MODULES = ("pyarrow", "pandas", "numpy", "boto3", "botocore")
FORBIDDEN_IN_SERVING = ("pyarrow", "pandas")

PROBE = """
import json, resource, sys, time
sys.path.insert(0, {task!r})
started = time.perf_counter()
{statement}
elapsed = time.perf_counter() - started
rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({{"seconds": elapsed, "rss_mb": rss_kb / 1024,
                  "noted": [m for m in {noted!r} if m in sys.modules]}}))
"""

# Environment of an import (Terraform sets these; a handler may read them at import time).
ENVIRONMENT = {
    "PATH": "/usr/bin:/bin",
    "LANG": "en_US.UTF-8",
    "TZ": ":UTC",
    "AWS_DEFAULT_REGION": local_client.REGION,
    "AWS_REGION": local_client.REGION,
    "BRONZE_BUCKET": "bench-bronze",
    "SILVER_BUCKET": "bench-silver",
    "GOLD_BUCKET": "bench-gold",
    "TABLE_NAME": "bench-lake",
    "LOG_LEVEL": "INFO",
}


def log(message: str) -> None:
    print(f"bench: cold start: {message}", flush=True)


def find_python312() -> str:
    return subprocess.run(
        ["sh", str(ROOT / "tools" / "find_python.sh")], capture_output=True, text=True, check=True
    ).stdout.strip()


def make_venv(base_python: str, target: Path) -> Path:
    """A fresh venv with only boto3 (this project's version) installed; returns its python."""
    python = target / "bin" / "python"
    for command in (
        [base_python, "-m", "venv", str(target)],
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check", f"boto3=={version('boto3')}"],
    ):
        result = subprocess.run(command, capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    return python


def artifacts(default_zip: Path, overrides: dict[str, Path]) -> dict[str, Path]:
    chosen = {}
    for name in HANDLERS:
        own = ROOT / "build" / f"lambda-{name}.zip"
        chosen[name] = overrides.get(name) or (own if own.exists() else default_zip)
    return chosen


def probe(python: Path, task: Path, statement: str) -> dict[str, Any]:
    # -B: like Lambda's read-only task root, nothing compiled during a run is kept for the next one.
    flags = ["-I", "-B"]
    code = PROBE.format(task=str(task), statement=statement, noted=NOTED_MODULES)
    result = subprocess.run(
        [str(python), *flags, "-c", code], capture_output=True, text=True, env=ENVIRONMENT, timeout=120
    )
    if result.returncode != 0:
        raise RuntimeError(f"{statement!r} failed: {result.stderr.strip().splitlines()[-1:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def median_of(python: Path, task: Path, statement: str, runs: int) -> dict[str, Any]:
    samples = [probe(python, task, statement) for _ in range(runs)]
    return {
        "import_seconds": round(statistics.median(s["seconds"] for s in samples), 4),
        "peak_rss_mb": round(statistics.median(s["rss_mb"] for s in samples), 1),
        "modules_imported": samples[-1]["noted"],
        "runs_seconds": [round(s["seconds"], 4) for s in samples],
    }


def measure(runs: int, default_zip: Path, overrides: dict[str, Path], workdir: Path) -> dict[str, Any]:
    base_python = find_python312()
    log(f"fresh venv of {base_python} with boto3=={version('boto3')} …")
    python = make_venv(base_python, workdir / "venv")
    chosen = artifacts(default_zip, overrides)
    tasks: dict[Path, Path] = {}
    sources_only: dict[Path, Path] = {}
    for number, path in enumerate(sorted(set(chosen.values()))):
        task = workdir / f"task-{number}"
        with zipfile.ZipFile(path) as archive:
            archive.extractall(task)
        tasks[path] = task
        # The same artifact without its bytecode, for the comparison.
        sources_only[path] = workdir / f"task-{number}-sources"
        shutil.copytree(task, sources_only[path], ignore=shutil.ignore_patterns("__pycache__"))
    empty_task = next(iter(tasks.values()))
    report: dict[str, Any] = {
        "python": subprocess.run(
            [str(python), "-c", "import sys; print(sys.version.split()[0])"], capture_output=True, text=True
        ).stdout.strip(),
        "boto3": version("boto3"),
        "runs": runs,
        "method": "new process per run: python -I -B, the unzipped artifact (with the bytecode it ships) first "
        "on sys.path, wall time of `import pipeline.handlers.<name>` and ru_maxrss after it; median of the runs; "
        "*_without_bytecode: the same from a copy of the artifact without its .pyc files",
        "baseline": median_of(python, empty_task, "pass", runs),
        "boto3_alone": median_of(python, empty_task, "import boto3", runs),
        "handlers": {},
    }
    for name in HANDLERS:
        task = tasks[chosen[name]]
        if not (task / "pipeline" / "handlers" / f"{name}.py").exists():
            report["handlers"][name] = {"artifact": str(chosen[name]), "missing": True}
            continue
        statement = f"import pipeline.handlers.{name}"
        log(
            f"{name}: {runs} imports from {chosen[name].relative_to(ROOT) if chosen[name].is_relative_to(ROOT) else chosen[name]} …"
        )
        figure = {
            "artifact": str(chosen[name]),
            "artifact_ships_bytecode": any(task.rglob("__pycache__/*.pyc")),
            **median_of(python, task, statement, runs),
        }
        without = median_of(python, sources_only[chosen[name]], statement, runs)
        figure["import_seconds_without_bytecode"] = without["import_seconds"]
        figure["peak_rss_mb_without_bytecode"] = without["peak_rss_mb"]
        if name in SERVING:
            figure["target_import_seconds"] = TARGET_IMPORT_SECONDS
            figure["target_peak_rss_mb"] = TARGET_PEAK_RSS_MB
            figure["meets_targets"] = (
                figure["import_seconds"] <= TARGET_IMPORT_SECONDS
                and figure["peak_rss_mb"] <= TARGET_PEAK_RSS_MB
                and not set(figure["modules_imported"]) & set(FORBIDDEN_IN_SERVING)
            )
        report["handlers"][name] = figure
    serving = [report["handlers"][name] for name in SERVING if "meets_targets" in report["handlers"].get(name, {})]
    report["meets_targets"] = bool(serving) and all(figure["meets_targets"] for figure in serving)
    report["targets"] = (
        f"serving functions ({', '.join(SERVING)}): import <= {TARGET_IMPORT_SECONDS} s and peak RSS <= "
        f"{TARGET_PEAK_RSS_MB} MB, without {' or '.join(FORBIDDEN_IN_SERVING)}; data functions reported beside them; "
        f"modules_imported: which of {', '.join(NOTED_MODULES)} the import pulled in"
    )
    return report


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument(
        "--zip", action="append", default=[], metavar="[NAME=]PATH", help="artifact (of one handler with NAME=)"
    )
    parser.add_argument("--output", type=Path, default=ROOT / "build" / "bench-cold-start.json")
    args = parser.parse_args(argv)
    default_zip = ROOT / "build" / "lambda.zip"
    overrides: dict[str, Path] = {}
    for value in args.zip:
        name, _, path = value.rpartition("=")
        if name:
            overrides[name] = Path(path).resolve()
        else:
            default_zip = Path(path).resolve()
    with tempfile.TemporaryDirectory(prefix="bench-cold-start-") as tmp:
        report = measure(args.runs, default_zip, overrides, Path(tmp))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=2))
    for name, figure in report["handlers"].items():
        if figure.get("missing"):
            print(f"  {name:<10} not in {figure['artifact']}")
            continue
        print(
            f"  {name:<10} import {figure['import_seconds']:.3f} s ({figure['import_seconds_without_bytecode']:.3f} s "
            f"without the artifact's bytecode), peak RSS {figure['peak_rss_mb']:.1f} MB"
            + (f", imports {', '.join(figure['modules_imported'])}" if figure["modules_imported"] else "")
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
