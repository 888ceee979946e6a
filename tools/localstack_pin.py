"""`make localstack-pin`: resolve the LocalStack tags to digests and write them where they are used.

Needs Docker and access to Docker Hub (run it on a machine that has both):

    make localstack-pin                                   # community-archive + LOCALSTACK_TAG_WITH_TOKEN
    make localstack-pin LOCALSTACK_TAG_WITH_TOKEN=2026.09.0

The digest is the registry's (multi-platform index) digest, from `docker buildx imagetools inspect`,
or, without buildx, the RepoDigest after `docker pull`. It is written into the Makefile
(`LOCALSTACK_IMAGE_COMMUNITY`, `LOCALSTACK_IMAGE_WITH_TOKEN`, each with its tag in the comment above)
and into docker-compose.localstack.yml (the default image). `--check` only verifies that every
LocalStack image reference in those files is pinned by digest and that both files agree (make lint).
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAKEFILE = ROOT / "Makefile"
COMPOSE = ROOT / "docker-compose.localstack.yml"
REPO = "localstack/localstack"
DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
MAKEFILE_IMAGE_VARIABLES = ("LOCALSTACK_IMAGE_COMMUNITY", "LOCALSTACK_IMAGE_WITH_TOKEN")


def resolve(tag: str) -> str:
    if shutil.which("docker") is None:
        raise SystemExit("docker is not installed: run `make localstack-pin` on a machine with Docker")
    ref = f"{REPO}:{tag}"
    inspect = subprocess.run(["docker", "buildx", "imagetools", "inspect", ref], capture_output=True, text=True)
    for line in inspect.stdout.splitlines() if inspect.returncode == 0 else []:
        if line.startswith("Digest:"):
            return line.split()[1]
    subprocess.run(["docker", "pull", ref], check=True)
    out = subprocess.run(
        ["docker", "image", "inspect", "--format", '{{join .RepoDigests "\\n"}}', ref],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    for line in out.split():
        if line.startswith(REPO + "@"):
            return line.split("@", 1)[1]
    raise SystemExit(f"could not resolve {ref} to a digest")


def write(community_tag: str, community: str, token_tag: str, token: str) -> None:
    for digest in (community, token):
        if not DIGEST.match(digest):
            raise SystemExit(f"not a digest: {digest!r}")
    text = MAKEFILE.read_text()
    text = re.sub(
        r"(?m)^# localstack/localstack:\S+ (\(token-free.*)\n(LOCALSTACK_IMAGE_COMMUNITY \?= ).*$",
        rf"# {REPO}:{community_tag} \1\n\g<2>{REPO}@{community}",
        text,
    )
    text = re.sub(
        r"(?m)^# localstack/localstack:\S+ (\(needs LOCALSTACK_AUTH_TOKEN.*)\n(LOCALSTACK_IMAGE_WITH_TOKEN \?= ).*$",
        rf"# {REPO}:{token_tag} \1\n\g<2>{REPO}@{token}",
        text,
    )
    MAKEFILE.write_text(text)
    compose = COMPOSE.read_text()
    compose = re.sub(
        r"(?m)^(\s+# )localstack/localstack:\S+ (\(.*)\n(\s+image: \$\{LOCALSTACK_IMAGE:-).*\}$",
        rf"\g<1>{REPO}:{community_tag} \2\n\g<3>{REPO}@{community}}}",
        compose,
    )
    COMPOSE.write_text(compose)
    print(f"pinned {REPO}:{community_tag} -> {community}\npinned {REPO}:{token_tag} -> {token}")


def makefile_images(makefile_text: str | None = None) -> dict[str, str]:
    """{variable: image} of the LOCALSTACK_IMAGE_* pins the Makefile defines (a missing one is left out)."""
    text = MAKEFILE.read_text() if makefile_text is None else makefile_text
    found = {name: re.search(rf"(?m)^{name} \?= (\S+)$", text) for name in MAKEFILE_IMAGE_VARIABLES}
    return {name: match.group(1) for name, match in found.items() if match}


def check() -> int:
    compose = COMPOSE.read_text()
    refs = makefile_images()
    default = re.search(r"image: \$\{LOCALSTACK_IMAGE:-(\S+?)\}", compose)
    problems = [f"Makefile: {name} is missing" for name in MAKEFILE_IMAGE_VARIABLES if name not in refs]
    if default:
        refs["docker-compose.localstack.yml default image"] = default.group(1)
    else:
        problems.append("docker-compose.localstack.yml: no `image: ${LOCALSTACK_IMAGE:-...}` default")
    for name, ref in refs.items():
        if not re.fullmatch(rf"{re.escape(REPO)}(:[\w.-]+)?@sha256:[0-9a-f]{{64}}", ref):
            problems.append(f"{name} is not pinned by digest: {ref}")
    if default and "LOCALSTACK_IMAGE_COMMUNITY" in refs and default.group(1) != refs["LOCALSTACK_IMAGE_COMMUNITY"]:
        problems.append("the compose default image differs from the Makefile's LOCALSTACK_IMAGE_COMMUNITY")
    for line in compose.splitlines():
        image = re.match(r"\s*image:\s*(\S+)", line)
        if image and "@sha256:" not in image.group(1):
            problems.append(f"docker-compose.localstack.yml: image not pinned by digest: {image.group(1)}")
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    if not problems:
        print(f"images pinned by digest: {', '.join(sorted(set(refs.values())))}")
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="only verify the pins (offline)")
    parser.add_argument("--community-tag", default="community-archive")
    parser.add_argument("--token-tag", default="latest")
    args = parser.parse_args(argv)
    if args.check:
        return check()
    write(args.community_tag, resolve(args.community_tag), args.token_tag, resolve(args.token_tag))
    return check()


if __name__ == "__main__":
    sys.exit(main())
