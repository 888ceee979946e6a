"""What a client of a local emulator sets, in one place for Python: the default port, the test
credentials (the emulators accept any; these are the conventional ones) and the region.

The tools, the tests and the functions the embedded emulator runs take them from here;
tools/local-env.sh from `python -m embedded_aws env`. The Makefile exports its own overridable
defaults for make's recipes (tests/unit/test_makefile.py keeps them equal to these).
"""

from __future__ import annotations

DEFAULT_PORT = 4566
REGION = "us-east-1"
TEST_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test"}


def endpoint_url(port: int = DEFAULT_PORT) -> str:
    return f"http://localhost:{port}"


def client_environment(endpoint: str) -> dict[str, str]:
    """The environment variables that point boto3 (and the AWS CLI, tflocal, ...) at `endpoint`."""
    return {"AWS_ENDPOINT_URL": endpoint, **TEST_CREDENTIALS, "AWS_DEFAULT_REGION": REGION}
