"""Every relative link in README.md and docs/*.md reaches a file, and every #anchor a heading of it.

Anchors are GitHub's: the heading's text lowercased, punctuation other than hyphens, underscores
and spaces removed, spaces turned into hyphens; a repeated heading gets -1, -2, … Links to
http(s) and mailto are not followed.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lake_tools.bench_page import PHASE_TITLES

ROOT = Path(__file__).resolve().parents[2]
# Pages a command writes, with the headings it can write: a link into one not written yet
# (docs/benchmarks.md before a run is recorded) is checked against them.
GENERATED = {"docs/benchmarks.md": "\n".join(["# Benchmarks", *(f"## {title}" for title in PHASE_TITLES.values())])}

FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
# [text](target) and ![alt](target), the target up to the first space (a title may follow).
LINK = re.compile(r"!?\[(?:[^\]\[]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+[\"'][^)]*[\"'])?\s*\)")
CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")


def pages() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def prose_lines(text: str) -> list[str]:
    """The lines outside fenced code blocks, with inline code spans removed."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(line)
    return lines


def slug(heading: str) -> str:
    text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", heading)  # a link in a heading: its text
    text = re.sub(r"<[^>]+>", "", text).strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(text: str) -> set[str]:
    found: set[str] = set()
    seen: dict[str, int] = {}
    for line in prose_lines(text):
        match = HEADING.match(line)
        if not match:
            continue
        base = slug(match.group(2))
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def links(text: str) -> list[str]:
    return [target for line in prose_lines(text) for target in LINK.findall(CODE_SPAN.sub("", line))]


def broken_links(page: Path) -> list[str]:
    problems = []
    for target in links(page.read_text(encoding="utf-8")):
        if re.match(r"^(https?:|mailto:)", target, re.IGNORECASE):
            continue
        path_part, _, anchor = target.partition("#")
        linked = (page.parent / path_part).resolve() if path_part else page
        name = linked.relative_to(ROOT).as_posix() if linked.is_relative_to(ROOT) else str(linked)
        if linked.exists():
            text = linked.read_text(encoding="utf-8") if linked.suffix == ".md" else ""
        elif name in GENERATED:
            text = GENERATED[name]
        else:
            problems.append(f"{target}: no file {name}")
            continue
        if anchor and linked.suffix == ".md" and anchor not in anchors(text):
            problems.append(f"{target}: {name} has no heading with the anchor #{anchor}")
    return problems


@pytest.mark.parametrize("page", pages(), ids=lambda page: page.relative_to(ROOT).as_posix())
def test_every_relative_link_and_anchor_resolves(page: Path) -> None:
    problems = broken_links(page)
    assert not problems, f"{page.relative_to(ROOT)}: " + "; ".join(problems)


def test_anchors_follow_github() -> None:
    text = "# To an AWS account\n## The `lake` command\n## Held for a day: v2, now!\n## Notes\n## Notes\n```\n# not a heading\n```\n"
    assert anchors(text) == {"to-an-aws-account", "the-lake-command", "held-for-a-day-v2-now", "notes", "notes-1"}


def test_links_outside_code_are_found(tmp_path: Path) -> None:
    text = 'see [a](a.md#x), ![img](p.png "title") and `[not](this.md)`\n```\n[nor](that.md)\n```\n'
    assert links(text) == ["a.md#x", "p.png"]
    (tmp_path / "a.md").write_text("# Y\n")
    page = tmp_path / "page.md"
    page.write_text("[a](a.md#x) [b](b.md) [c](#y) [d](https://example.com/#z)\n# Y\n")
    assert [problem.split(":")[0] for problem in broken_links(page)] == ["a.md#x", "b.md"]
