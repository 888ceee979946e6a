"""Builds the one Lambda artifact (build/lambda.zip): the pipeline package plus its dependencies.

Dependencies are installed for Lambda's platform (Linux x86_64, CPython 3.12) whatever the host
OS, binary wheels only. The zip is deterministic: sorted entries, fixed timestamps and modes, so
the same sources give the same bytes and Terraform's source hash changes only with the code.
Fails when the unzipped size passes Lambda's 250 MB limit.

Every module also ships compiled (`__pycache__/*.cpython-312.pyc`, unchecked-hash, so no file time
is involved): Lambda's /var/task is read-only, so without them each cold start compiles every module
it imports from source (Powertools' alone is tens of milliseconds). The bytecode is the same bytes
for the same source whatever the order or process it is compiled in.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import platform
import py_compile
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

from embedded_aws import local_client
from embedded_aws.runtime import RUNTIME_PROVIDED_PACKAGES, RuntimeNotAvailable, find_python, prepare_runtime_libs

ROOT = Path(__file__).resolve().parent.parent
LAMBDA_UNZIPPED_LIMIT = 250 * 1024 * 1024
FIXED_DATE = (1980, 1, 1, 0, 0, 0)
# Lambda's python3.12 runs on Amazon Linux 2023 (glibc 2.34): manylinux_2_28 wheels work there too.
PLATFORMS = ("manylinux2014_x86_64", "manylinux_2_28_x86_64")
# Never imported by the handlers: tests, C headers and sources, and Arrow components we don't use.
PRUNE_GLOBS = (
    "**/__pycache__",
    "pyarrow/tests",
    "pyarrow/include",
    "pyarrow/src",
    "pyarrow/**/*.pyx",
    "pyarrow/**/*.pxd",
    "pyarrow/**/*.pxi",
    "pyarrow/**/*.h",
    "pyarrow/**/*.cc",
    "pyarrow/*flight*",
    "pyarrow/libarrow_flight*",
    "pyarrow/*gandiva*",
    "pyarrow/libgandiva*",
    "pyarrow/libparquet*.a",
)


def install_dependencies(requirements: Path, target: Path, python_version: str) -> None:
    stamp = target / ".requirements.sha256"
    recipe = f"{python_version}|{PLATFORMS}|{RUNTIME_PROVIDED_PACKAGES}|{PRUNE_GLOBS}".encode()
    digest = hashlib.sha256(requirements.read_bytes() + recipe).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        print(f"dependencies: up to date in {target.relative_to(ROOT)}")
        return
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    print(
        f"dependencies: installing {requirements.relative_to(ROOT)} for Linux x86_64 / CPython {python_version} …",
        flush=True,
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            *[arg for platform in PLATFORMS for arg in ("--platform", platform)],
            "--implementation",
            "cp",
            "--python-version",
            python_version,
            "--only-binary=:all:",
            "--target",
            str(target),
            "-r",
            str(requirements),
        ],
        check=True,
    )
    for name in RUNTIME_PROVIDED_PACKAGES:  # the runtime ships them: bundled again they add size and skew
        for path in target.glob(f"{name}*"):
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    for pattern in PRUNE_GLOBS:
        for path in target.glob(pattern):
            shutil.rmtree(path) if path.is_dir() else path.unlink()
    shutil.rmtree(target / "bin", ignore_errors=True)
    stamp.write_text(digest)


def _entries(source: Path, prefix: str = "") -> list[tuple[str, Path]]:
    files = []
    for path in source.rglob("*"):
        if path.is_file() and "__pycache__" not in path.parts and path.name != ".requirements.sha256":
            files.append((prefix + path.relative_to(source).as_posix(), path))
    return files


def bytecode_entry(name: str, path: Path, scratch: Path) -> tuple[str, bytes]:
    """The archive name and bytes of a module's compiled form, for the Python running this."""
    compiled = scratch / "module.pyc"
    py_compile.compile(
        str(path),
        cfile=str(compiled),
        dfile=name,
        doraise=True,
        invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH,
    )
    return importlib.util.cache_from_source(name), compiled.read_bytes()


def build_zip(code_dir: Path, deps_dir: Path, output: Path, bytecode: bool = False) -> tuple[int, int]:
    """Write the zip; `bytecode`: add each module's .pyc (compiled by this interpreter, which must
    be the runtime's Python version)."""
    import tempfile

    files = sorted(_entries(deps_dir) + _entries(code_dir, prefix=f"{code_dir.name}/"))
    entries: list[tuple[str, Path | bytes]] = list(files)
    if bytecode:
        with tempfile.TemporaryDirectory(prefix="pyc-") as scratch:
            for name, path in files:
                if path.suffix == ".py":
                    try:
                        entries.append(bytecode_entry(name, path, Path(scratch)))
                    except py_compile.PyCompileError:
                        continue  # e.g. a template with invalid syntax: it is never imported
        entries.sort(key=lambda entry: entry[0])
    output.parent.mkdir(parents=True, exist_ok=True)
    temporary = output.with_suffix(".zip.tmp")
    unzipped = 0
    with zipfile.ZipFile(temporary, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6) as archive:
        for name, source in entries:
            info = zipfile.ZipInfo(name, date_time=FIXED_DATE)
            executable = name.endswith(".so") or ".so." in name.rsplit("/", 1)[-1]
            info.external_attr = ((0o755 if executable else 0o644) | 0o100000) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            data = source if isinstance(source, bytes) else source.read_bytes()
            unzipped += len(data)
            archive.writestr(info, data)
    temporary.replace(output)
    return unzipped, output.stat().st_size


# One handler module per function: the package's modules, so a new function is checked without a list to update.
HANDLERS = tuple(sorted(path.stem for path in (ROOT / "lambdas" / "pipeline" / "handlers").glob("[!_]*.py")))


def smoke_import(zip_path: Path, python: str) -> str | None:
    """Imports every handler from the unzipped artifact the way Lambda would (isolated, no host
    site-packages; boto3 only from the runtime dir). Returns an error text, or None when all import."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="lambda-smoke-") as tmp:
        with zipfile.ZipFile(zip_path) as archive:
            archive.extractall(Path(tmp) / "task")
        runtime_libs = prepare_runtime_libs(Path(tmp) / "runtime")
        imports = "; ".join(f"import pipeline.handlers.{name}" for name in HANDLERS)
        result = subprocess.run(
            [
                python,
                "-I",
                "-S",
                "-c",
                f"import sys; sys.path[:0] = [{str(Path(tmp) / 'task')!r}, {str(runtime_libs)!r}]; {imports}",
            ],
            capture_output=True,
            text=True,
            env={
                "PATH": "/usr/bin:/bin",
                "TZ": ":UTC",
                "AWS_DEFAULT_REGION": local_client.REGION,
                "BRONZE_BUCKET": "smoke",
                "TABLE_NAME": "smoke",
            },
        )
        return None if result.returncode == 0 else result.stderr.strip().splitlines()[-1]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--output", type=lambda text: Path(text).resolve(), default=ROOT / "build" / "lambda.zip")
    parser.add_argument("--requirements", type=Path, default=ROOT / "lambdas" / "requirements.txt")
    parser.add_argument("--python-version", default="3.12", help="the Lambda runtime's Python version")
    args = parser.parse_args(argv)

    deps_dir = ROOT / "build" / f"lambda-deps-py{args.python_version}"
    install_dependencies(args.requirements, deps_dir, args.python_version)
    code_dir = ROOT / "lambdas" / "pipeline"
    # .pyc files are specific to one Python version: only the runtime's own version may write them.
    bytecode = f"{sys.version_info.major}.{sys.version_info.minor}" == args.python_version
    inputs = hashlib.sha256((deps_dir / ".requirements.sha256").read_bytes())
    # The recipe too: a change to this packager (or to bytecode) rebuilds.
    inputs.update(Path(__file__).read_bytes() + bytes([bytecode]))
    for name, path in sorted(_entries(code_dir)):
        inputs.update(name.encode() + b"\0" + path.read_bytes())
    stamp = args.output.parent / (args.output.name + ".inputs")
    if args.output.exists() and stamp.exists() and stamp.read_text() == inputs.hexdigest():
        print(f"package: {args.output.relative_to(ROOT)} is up to date")
        return 0
    if not bytecode:
        print(f"package: no .pyc files (this is Python {platform.python_version()}, the runtime {args.python_version})")
    unzipped, zipped = build_zip(code_dir, deps_dir, args.output, bytecode=bytecode)
    sha = hashlib.sha256(args.output.read_bytes()).hexdigest()
    (args.output.parent / (args.output.name + ".sha256")).write_text(sha + "\n")
    print(
        f"package: {args.output.relative_to(ROOT)}  zipped {zipped / 1e6:.1f} MB, unzipped {unzipped / 1e6:.1f} MB "
        f"(Lambda limit {LAMBDA_UNZIPPED_LIMIT / 1e6:.0f} MB), sha256 {sha[:16]}…"
    )
    if unzipped > LAMBDA_UNZIPPED_LIMIT:
        print(
            f"error: unzipped size {unzipped} bytes exceeds Lambda's limit of {LAMBDA_UNZIPPED_LIMIT} bytes",
            file=sys.stderr,
        )
        return 1
    # The Linux wheels only load on Linux x86_64; elsewhere the emulator or AWS will tell.
    if platform.system() == "Linux" and platform.machine() == "x86_64":
        try:
            python = find_python(f"python{args.python_version}")
        except RuntimeNotAvailable as exc:
            print(f"package: import check skipped ({exc})")
            return 0
        error = smoke_import(args.output, python)
        if error:
            print(f"error: a handler does not import from the package: {error}", file=sys.stderr)
            return 1
        print(
            f"package: all {len(HANDLERS)} handlers import from the unzipped package (isolated python{args.python_version})"
        )
    stamp.write_text(inputs.hexdigest())
    return 0


if __name__ == "__main__":
    sys.exit(main())
