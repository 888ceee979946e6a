"""README's "Where things are" map, read for the checks on it: tests/unit/test_readme_map.py on this
tree, tests/unit/test_downloaded_tree.py on a copy without .git.

tests/support is on the tests' import path (pyproject.toml, pythonpath).
"""

from __future__ import annotations

from pathlib import Path

from repo_files import repository_files


def map_text(root: Path) -> str:
    readme = (root / "README.md").read_text()
    start = readme.index("### Where things are")
    return readme[start : readme.index("\n#", start + 1)]


def folders_missing_from_the_map(root: Path) -> list[str]:
    """Top-level folders with a file git would track (in a downloaded tree: by .gitignore) the map lacks."""
    folders = {name.split("/", 1)[0] for name in repository_files(root) if "/" in name}
    text = map_text(root)
    return sorted(folder for folder in folders if f"`{folder}/" not in text and f"`{folder}" not in text)
