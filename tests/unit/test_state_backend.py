"""Where each environment keeps its Terraform state (tools/state_backend.py, run by `make tf-init`)."""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import pytest

from lake_tools import state_backend
from lake_tools.state_backend import BACKEND_FILE, backend_block, desired_backend, state_key


def settings(text: str) -> dict[str, str]:
    return dict(re.findall(r"^\s+(\w+)\s*=\s*(\S+)$", text, re.MULTILINE))


def test_each_environment_has_its_own_key():
    keys = {environment: state_key("econ-lake", environment) for environment in ("local", "dev", "prod")}
    assert keys == {
        "local": "econ-lake/local/terraform.tfstate",
        "dev": "econ-lake/dev/terraform.tfstate",
        "prod": "econ-lake/prod/terraform.tfstate",
    }


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_aws_environments_use_s3_with_native_locking(environment):
    text = desired_backend(environment, "econ-lake", "econ-lake-tfstate-123456789012", "eu-west-1")
    assert 'backend "s3"' in text
    assert settings(text) == {
        "bucket": '"econ-lake-tfstate-123456789012"',
        "key": f'"econ-lake/{environment}/terraform.tfstate"',
        "region": '"eu-west-1"',
        "encrypt": "true",
        "use_lockfile": "true",  # S3 conditional writes: no DynamoDB lock table
    }


def test_the_settings_come_from_the_definition_terraform_reads():
    """bootstrap/state_backend.json is the one definition: bootstrap/ and the root's output state_backend
    (asserted by terraform test) read it, and so does this tool."""
    definition = json.loads(
        (Path(state_backend.__file__).resolve().parents[1] / "bootstrap" / "state_backend.json").read_text()
    )
    assert definition["key"] == "${project}/${environment}/terraform.tfstate"
    assert definition["encrypt"] is True and definition["use_lockfile"] is True
    assert state_backend.definition() == definition


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_aws_environments_refuse_local_state(environment):
    with pytest.raises(ValueError, match="make bootstrap"):
        desired_backend(environment, "econ-lake", "", "us-east-1")


def test_local_keeps_local_state_unless_a_bucket_is_named():
    assert desired_backend("local", "econ-lake", "", "us-east-1") == ""
    on_emulator = settings(desired_backend("local", "econ-lake", "tfstate", "us-east-1"))
    assert on_emulator["key"] == '"econ-lake/local/terraform.tfstate"'
    assert on_emulator["use_path_style"] == "true"  # the emulator's buckets are not DNS names


def fake_terraform(tmp_path: Path) -> Path:
    """A terraform that records its arguments and does nothing else."""
    script = tmp_path / "terraform"
    script.write_text(f'#!/bin/sh\necho "$@" >> {tmp_path / "calls"}\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def calls(tmp_path: Path) -> list[str]:
    path = tmp_path / "calls"
    return path.read_text().splitlines() if path.exists() else []


def test_init_runs_only_when_the_backend_changes(tmp_path):
    root = tmp_path / "root"
    (root / ".terraform").mkdir(parents=True)
    terraform = str(fake_terraform(tmp_path))
    dev = backend_block("bucket", state_key("econ-lake", "dev"), "us-east-1")
    prod = backend_block("bucket", state_key("econ-lake", "prod"), "us-east-1")

    assert state_backend.init(root, dev, terraform) is True
    assert (root / BACKEND_FILE).read_text() == dev
    assert state_backend.init(root, dev, terraform) is False  # same backend: no init
    assert state_backend.init(root, prod, terraform) is True  # another environment: reconfigure
    assert state_backend.init(root, "", terraform) is True  # back to local state
    assert not (root / BACKEND_FILE).exists()
    assert calls(tmp_path) == ["init -input=false -reconfigure"] * 3


def test_the_command_line_explains_a_missing_bucket(tmp_path, capsys):
    code = state_backend.main(["init", "--dir", str(tmp_path), "--environment", "prod", "--bucket", ""])
    assert code == 2
    assert "STATE_BUCKET" in capsys.readouterr().err
    assert not (tmp_path / BACKEND_FILE).exists()


def test_before_make_bootstrap_there_is_no_bucket_to_read(tmp_path):
    assert state_backend.bootstrap_bucket(tmp_path) == ""
