"""The GitHub workflows run only the action code they name: every `uses:` is pinned to a full commit SHA,
with the release tag it was resolved from in a comment, like the LocalStack images' digests."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.y*ml"))
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(?P<ref>\S+)(?P<rest>.*)$", re.MULTILINE)
PINNED = re.compile(r"^(?P<action>[\w.-]+/[\w.-]+(?:/[\w./-]+)?)@(?P<sha>[0-9a-f]{40})$")
TAG_COMMENT = re.compile(r"^\s+#\s+(?P<tag>v\d+(?:\.\d+){0,2})\s*$")


def uses_lines() -> list[tuple[str, str, str]]:
    """(workflow file, ref, what follows it on the line) for every `uses:` that is not a local action."""
    found = []
    for workflow in WORKFLOWS:
        for match in USES.finditer(workflow.read_text()):
            if not match["ref"].startswith("./"):
                found.append((workflow.name, match["ref"], match["rest"]))
    return found


def test_there_are_workflows_with_actions() -> None:
    assert WORKFLOWS and len(uses_lines()) >= 5


def test_every_action_is_pinned_to_a_commit_sha_with_its_tag_in_a_comment() -> None:
    unpinned = [f"{name}: {ref}{rest}" for name, ref, rest in uses_lines() if not PINNED.match(ref)]
    assert not unpinned, f"not pinned to a 40-hex commit SHA: {unpinned}"
    untagged = [f"{name}: {ref}{rest}" for name, ref, rest in uses_lines() if not TAG_COMMENT.match(rest)]
    assert not untagged, f"no `# vX.Y.Z` tag comment: {untagged}"


def test_each_action_has_one_pin_everywhere() -> None:
    """The same action at two SHAs, or one SHA under two tags, is an upgrade done halfway."""
    pins: dict[str, set[tuple[str, str]]] = {}
    for _, ref, rest in uses_lines():
        pinned, tag = PINNED.match(ref), TAG_COMMENT.match(rest)
        pins.setdefault(pinned["action"], set()).add((pinned["sha"], tag["tag"]))
    assert {action: len(versions) for action, versions in pins.items()} == dict.fromkeys(pins, 1)


def test_checkouts_do_not_keep_the_token() -> None:
    for workflow in WORKFLOWS:
        text = workflow.read_text()
        checkouts = len(re.findall(r"uses:\s*actions/checkout@", text))
        assert text.count("persist-credentials: false") == checkouts, workflow.name
