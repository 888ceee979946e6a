"""README's "Where things are" map names every folder and file a newcomer looks for, and only real ones."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PIPELINE = ROOT / "lambdas" / "pipeline"


def map_text() -> str:
    readme = (ROOT / "README.md").read_text()
    start = readme.index("### Where things are")
    return readme[start : readme.index("\n#", start + 1)]


def named_paths() -> set[str]:
    return set(re.findall(r"`([^` ]+)`", map_text()))


def test_every_name_in_the_map_exists() -> None:
    for name in named_paths():
        if "<" in name or name.startswith("local."):
            continue  # a pattern (handlers/<function>.py) or a Terraform local
        candidates = [
            ROOT / name,
            *(folder / name for folder in (PIPELINE, ROOT / "tools", ROOT / "embedded_aws", ROOT / "tests" / "unit")),
        ]
        assert any(path.exists() for path in candidates), f"README map names {name!r}, which does not exist"


def test_every_tracked_top_level_folder_and_pipeline_module_is_in_the_map() -> None:
    tracked = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    folders = {line.split("/", 1)[0] for line in tracked.splitlines() if "/" in line}
    text = map_text()
    missing = sorted(folder for folder in folders if f"`{folder}/" not in text and f"`{folder}" not in text)
    assert not missing, f"README map lacks the folders {missing}"
    modules = {path.name for path in PIPELINE.glob("*.py") if path.name != "__init__.py"}
    named = named_paths()
    unnamed = sorted(name for name in modules if not any(path.rsplit("/", 1)[-1] == name for path in named))
    assert not unnamed, f"README map lacks the pipeline modules {unnamed}"
