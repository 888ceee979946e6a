"""The artifact builder: deterministic zips, the right layout, nothing the runtime already has."""

from __future__ import annotations

import hashlib
import os
import zipfile

from lake_tools import package_lambda


def make_tree(root, files):
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def test_same_sources_give_the_same_bytes_whatever_the_file_times(tmp_path):
    code = tmp_path / "pipeline"
    deps = tmp_path / "deps"
    make_tree(code, {"__init__.py": "", "handlers/ingest.py": "def handler(e, c): return e\n"})
    make_tree(deps, {"pyarrow/__init__.py": "", "pyarrow/lib.so": "binary", ".requirements.sha256": "x"})
    first = tmp_path / "a.zip"
    package_lambda.build_zip(code, deps, first)
    for path in list(code.rglob("*")) + list(deps.rglob("*")):
        os.utime(path, (1_700_000_000, 1_700_000_000))
    (code / "__pycache__").mkdir()
    (code / "__pycache__" / "x.pyc").write_bytes(b"cache")
    second = tmp_path / "b.zip"
    package_lambda.build_zip(code, deps, second)
    assert hashlib.sha256(first.read_bytes()).digest() == hashlib.sha256(second.read_bytes()).digest()


def test_layout_is_code_under_its_package_and_dependencies_at_the_root(tmp_path):
    code = tmp_path / "pipeline"
    deps = tmp_path / "deps"
    make_tree(code, {"__init__.py": "", "handlers/api.py": ""})
    make_tree(deps, {"aws_lambda_powertools/__init__.py": "", "pyarrow/lib.so": "x", ".requirements.sha256": "x"})
    output = tmp_path / "lambda.zip"
    unzipped, zipped = package_lambda.build_zip(code, deps, output)
    with zipfile.ZipFile(output) as archive:
        names = archive.namelist()
        modes = {info.filename: (info.external_attr >> 16) & 0o777 for info in archive.infolist()}
    assert names == sorted(names)
    assert set(names) == {
        "pipeline/__init__.py",
        "pipeline/handlers/api.py",
        "aws_lambda_powertools/__init__.py",
        "pyarrow/lib.so",
    }
    assert modes["pyarrow/lib.so"] == 0o755 and modes["pipeline/handlers/api.py"] == 0o644
    assert unzipped == len("x")  # the stamp file is not packaged
    assert zipped == output.stat().st_size


def test_runtime_provided_packages_are_not_bundled():
    assert {"boto3", "botocore"} <= set(package_lambda.RUNTIME_PROVIDED_PACKAGES)
    requirements = (package_lambda.ROOT / "lambdas" / "requirements.txt").read_text()
    assert "boto3" not in [
        line.split(">")[0].split("=")[0].strip()
        for line in requirements.splitlines()
        if line and not line.startswith("#")
    ]


def test_modules_ship_with_their_bytecode_the_same_bytes_every_build(tmp_path):
    import importlib.util
    import marshal
    import zipfile

    code = tmp_path / "pipeline"
    deps = tmp_path / "deps"
    make_tree(code, {"__init__.py": "", "handlers/api.py": "VALUE = 1\n", "broken.py": "def (:\n"})
    make_tree(deps, {"aws_lambda_powertools/__init__.py": "X = 2\n", ".requirements.sha256": "x"})
    first, second = tmp_path / "a.zip", tmp_path / "b.zip"
    package_lambda.build_zip(code, deps, first, bytecode=True)
    package_lambda.build_zip(code, deps, second, bytecode=True)
    assert first.read_bytes() == second.read_bytes()
    pyc = importlib.util.cache_from_source("pipeline/handlers/api.py")
    with zipfile.ZipFile(first) as archive:
        names = archive.namelist()
        data = archive.read(pyc)
    assert names == sorted(names)
    assert importlib.util.cache_from_source("aws_lambda_powertools/__init__.py") in names
    assert importlib.util.cache_from_source("pipeline/broken.py") not in names  # not compilable: left out
    # An unchecked-hash pyc (flags 0b01): Python trusts it without looking at file times.
    assert data[:4] == importlib.util.MAGIC_NUMBER and int.from_bytes(data[4:8], "little") == 1
    namespace: dict = {}
    exec(marshal.loads(data[16:]), namespace)  # noqa: S102 - our own bytecode, compiled above
    assert namespace["VALUE"] == 1


def test_the_serving_handlers_import_neither_pyarrow_nor_pandas_nor_boto3():
    """api and live must start fast (docs/DESIGN.md, "LATEST: the serving path"): a clean interpreter
    that imports them has loaded none of the heavy packages."""
    import subprocess
    import sys

    heavy = ("pyarrow", "pandas", "boto3", "numpy")
    script = (
        "import sys; import pipeline.handlers.api, pipeline.handlers.live; "
        f"print(','.join(m for m in {heavy!r} if m in sys.modules))"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_the_ingest_handler_imports_no_pyarrow():
    """ingest validates records one by one (pipeline.validation) and writes JSON lines: Arrow is the
    transform's, and importing it would double ingest's cold start memory (34 -> 71 MB measured)."""
    import subprocess
    import sys

    script = "import sys; import pipeline.handlers.ingest; print('pyarrow' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
