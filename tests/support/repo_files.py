"""The repository's files as git sees them, also in a downloaded tree (a ZIP or tarball, no .git).

With git and a .git folder: `git ls-files --cached --others --exclude-standard` (tracked files plus new,
not ignored ones). Without: a walk of the folder that skips what the root .gitignore ignores, and the
folders that ignore themselves (a `.gitignore` of `*`, as ruff's cache has). The walk
understands the forms .gitignore uses here, names and globs with an optional trailing slash;
`unsupported_gitignore_lines` lists any other form, and a test keeps that list empty, so the two ways
cannot drift apart silently.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import subprocess
from pathlib import Path


def gitignore_patterns(root: Path) -> list[str]:
    path = root / ".gitignore"
    lines = path.read_text().splitlines() if path.exists() else []
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def unsupported_gitignore_lines(root: Path) -> list[str]:
    """Negations (!), anchored or nested paths (a/b, /a) and ** are beyond the walk's matching."""
    return [p for p in gitignore_patterns(root) if p.startswith("!") or "/" in p.rstrip("/") or "**" in p]


def is_ignored(name: str, is_dir: bool, patterns: list[str]) -> bool:
    """One path component against the patterns; `dir/` patterns match folders only, as in git."""
    for pattern in patterns:
        if pattern.endswith("/"):
            if is_dir and fnmatch.fnmatchcase(name, pattern[:-1]):
                return True
        elif fnmatch.fnmatchcase(name, pattern):
            return True
    return False


def ignores_itself(folder: Path) -> bool:
    """A folder whose own .gitignore says `*` (tools mark their caches so): git lists none of its files."""
    return (folder / ".gitignore").is_file() and "*" in gitignore_patterns(folder)


def walk_files(root: Path) -> set[str]:
    """Every file under root, relative and with '/', minus .git and what .gitignore ignores."""
    patterns = gitignore_patterns(root)
    found = set()
    for folder, dirs, files in os.walk(root):
        dirs[:] = [
            d
            for d in dirs
            if d != ".git" and not is_ignored(d, True, patterns) and not ignores_itself(Path(folder) / d)
        ]
        relative = Path(folder).relative_to(root)
        found.update((relative / name).as_posix() for name in files if not is_ignored(name, False, patterns))
    return found


def has_git(root: Path) -> bool:
    return shutil.which("git") is not None and (root / ".git").exists()


def git_files(root: Path) -> set[str]:
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=root,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    # A file deleted in the work tree but not yet in the index is still listed by --cached.
    return {name for name in listed.split("\0") if name and (root / name).exists()}


def repository_files(root: Path) -> set[str]:
    return git_files(root) if has_git(root) else walk_files(root)
