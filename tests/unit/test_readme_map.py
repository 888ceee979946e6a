"""README's "Where things are" map names every folder and file a newcomer looks for, and only real ones."""

from __future__ import annotations

import re
from pathlib import Path

from readme_map import folders_missing_from_the_map, map_text

ROOT = Path(__file__).resolve().parents[2]
PIPELINE = ROOT / "lambdas" / "pipeline"
# Where a bare file name in the map (`cli.py`) may live.
FOLDERS = (PIPELINE, ROOT / "lake_cli", ROOT / "tools", ROOT / "embedded_aws", ROOT / "tests" / "unit")


def named_paths() -> set[str]:
    return set(re.findall(r"`([^` ]+)`", map_text(ROOT)))


def test_every_name_in_the_map_exists() -> None:
    for name in named_paths():
        if "<" in name or name.startswith("local."):
            continue  # a pattern (handlers/<function>.py) or a Terraform local
        candidates = [
            ROOT / name,
            *(folder / name for folder in FOLDERS),
        ]
        assert any(path.exists() for path in candidates), f"README map names {name!r}, which does not exist"


def test_every_tracked_top_level_folder_and_pipeline_module_is_in_the_map() -> None:
    missing = folders_missing_from_the_map(ROOT)
    assert not missing, f"README map lacks the folders {missing}"
    modules = {path.name for path in PIPELINE.glob("*.py") if path.name != "__init__.py"}
    named = named_paths()
    unnamed = sorted(name for name in modules if not any(path.rsplit("/", 1)[-1] == name for path in named))
    assert not unnamed, f"README map lacks the pipeline modules {unnamed}"
