"""A downloaded tree (GitHub's ZIP or a tarball: the files, no .git) passes the checks a clone passes.

The README map's folder check then lists files by walking the folder with .gitignore's rules
(repo_files.py), and ruff must skip the venvs and build outputs by its own configuration: it honours
.gitignore only inside a git checkout. The tree is copied from the work tree (what `git archive` would
hold, plus uncommitted changes), with ignored folders added that hold badly formatted Python.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from readme_map import folders_missing_from_the_map
from repo_files import git_files, has_git, unsupported_gitignore_lines, walk_files

ROOT = Path(__file__).resolve().parents[2]
# Where make, pip, Terraform and the emulator write: ignored by .gitignore, excluded in pyproject's ruff config.
IGNORED_FOLDERS = [
    ".venv/lib",
    ".venv-tools/lib",
    "build/tf-validate",
    ".terraform/modules",
    ".emulator",
    "bootstrap/.terraform",
]
BADLY_FORMATTED = "x = {  'a':1 }\nimport os\n"  # ruff format and ruff check both object


def test_gitignore_uses_only_what_the_walk_understands() -> None:
    assert unsupported_gitignore_lines(ROOT) == []


@pytest.fixture(scope="module")
def downloaded_tree(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, set[str]]:
    if not has_git(ROOT):
        pytest.skip("no git checkout to export from: this tree is already a download")
    tree = tmp_path_factory.mktemp("download") / "econ-lake"
    files = git_files(ROOT)
    for name in files:
        (tree / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, tree / name)
    for folder in IGNORED_FOLDERS:
        (tree / folder).mkdir(parents=True)
        (tree / folder / "bad.py").write_text(BADLY_FORMATTED)
    # A cache that ignores itself, as ruff's (`make lint` writes .ruff_cache; .gitignore does not name it).
    (tree / ".ruff_cache").mkdir()
    (tree / ".ruff_cache" / ".gitignore").write_text("# Automatically created by ruff.\n*\n")
    (tree / ".ruff_cache" / "CACHEDIR.TAG").write_text("Signature: 8a477f597d28d172789f06886806bc55\n")
    (tree / "tools" / "__pycache__").mkdir()
    (tree / "tools" / "__pycache__" / "bad.cpython-312.pyc").write_bytes(b"\0")
    assert not (tree / ".git").exists()
    return tree, files


def test_the_walk_lists_what_git_lists(downloaded_tree: tuple[Path, set[str]]) -> None:
    tree, files = downloaded_tree
    assert walk_files(tree) == files


def test_the_readme_map_check_passes_without_git(downloaded_tree: tuple[Path, set[str]]) -> None:
    tree, _ = downloaded_tree
    assert folders_missing_from_the_map(tree) == []


@pytest.mark.parametrize("command", [["format", "--check"], ["check"]], ids=["ruff format --check", "ruff check"])
def test_ruff_skips_the_ignored_folders_without_git(downloaded_tree: tuple[Path, set[str]], command: list[str]) -> None:
    tree, _ = downloaded_tree
    result = subprocess.run(
        [sys.executable, "-m", "ruff", *command, "--no-cache", "."], cwd=tree, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
