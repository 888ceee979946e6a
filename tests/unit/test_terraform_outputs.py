"""lake_cli.terraform_outputs: `terraform output -json` -> {name: value}, from text, a file, stdin, options or terraform."""

from __future__ import annotations

import argparse
import io
import json
import stat

import pytest

from lake_cli import invoke_aggregate, terraform_outputs

TERRAFORM_JSON = {
    "silver_bucket": {"value": "econ-lake-local-silver", "type": "string", "sensitive": False},
    "function_names": {"value": {"api": "econ-api", "ingest": "econ-ingest"}, "type": ["map", "string"]},
    "api_url": {"value": "http://x/", "type": "string", "sensitive": False},
}
PLAIN = {
    "silver_bucket": "econ-lake-local-silver",
    "function_names": {"api": "econ-api", "ingest": "econ-ingest"},
    "api_url": "http://x/",
}


def test_terraform_json_and_plain_values_give_the_same_dict():
    assert terraform_outputs.plain_values(TERRAFORM_JSON) == PLAIN
    assert terraform_outputs.plain_values(PLAIN) == PLAIN
    assert terraform_outputs.outputs_from_text(json.dumps(TERRAFORM_JSON)) == PLAIN


@pytest.mark.parametrize("text", ["", "  \n"])
def test_empty_text_means_no_state_yet(text):
    assert terraform_outputs.outputs_from_text(text) == {}


@pytest.mark.parametrize(("text", "reason"), [("{nope", "not JSON"), ("[1, 2]", "a JSON list, not an object")])
def test_bad_text_is_one_clear_error(text, reason):
    with pytest.raises(terraform_outputs.TerraformOutputsError, match="cannot read the Terraform outputs") as error:
        terraform_outputs.outputs_from_text(text)
    assert reason in str(error.value)
    assert isinstance(error.value, ValueError)  # callers that caught the JSON error still catch it


def test_from_a_file_or_stdin(tmp_path, monkeypatch):
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(TERRAFORM_JSON))
    assert terraform_outputs.outputs_from_file(path) == PLAIN
    assert terraform_outputs.outputs_from_file(str(path)) == PLAIN
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(TERRAFORM_JSON)))
    assert terraform_outputs.outputs_from_file("-") == PLAIN
    with pytest.raises(terraform_outputs.TerraformOutputsError, match="cannot read the Terraform outputs"):
        terraform_outputs.outputs_from_file(tmp_path / "missing.json")


def test_the_command_line_options(tmp_path):
    parser = argparse.ArgumentParser()
    terraform_outputs.add_arguments(parser, "bucket names")
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(TERRAFORM_JSON))
    assert terraform_outputs.outputs_from_args(parser.parse_args([])) == {}
    assert terraform_outputs.outputs_from_args(parser.parse_args(["--terraform-outputs", str(path)])) == PLAIN
    json_args = parser.parse_args(["--terraform-outputs-json", json.dumps(TERRAFORM_JSON)])
    assert terraform_outputs.outputs_from_args(json_args) == PLAIN
    assert "bucket names" in " ".join(parser.format_help().split())  # help text wraps


def fake_terraform(tmp_path, stdout: str, exit_code: int = 0):
    """A `terraform` that prints `stdout` for `output -json` and exits with `exit_code`."""
    (tmp_path / "stdout.json").write_text(stdout)
    script = tmp_path / "terraform"
    script.write_text(
        f'#!/bin/sh\n[ "$1 $2" = "output -json" ] || exit 9\ncat "{tmp_path / "stdout.json"}"\n'
        f'echo "no state" >&2\nexit {exit_code}\n'
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return str(script)


def test_read_outputs_runs_terraform_in_the_stacks_folder(tmp_path):
    terraform = fake_terraform(tmp_path, json.dumps(TERRAFORM_JSON))
    assert terraform_outputs.read_outputs(terraform, tmp_path) == PLAIN
    failing = fake_terraform(tmp_path, "", exit_code=1)
    with pytest.raises(terraform_outputs.TerraformOutputsError, match="failed \\(1\\): no state"):
        terraform_outputs.read_outputs(failing, tmp_path)


class FakeLambda:
    """Records invocations; answers with `body` and, when given, a FunctionError."""

    def __init__(self, body: dict, function_error: str | None = None) -> None:
        self.body, self.function_error, self.calls = body, function_error, []

    def invoke(self, FunctionName: str, InvocationType: str, Payload: bytes) -> dict:
        self.calls.append((FunctionName, InvocationType, Payload))
        response = {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(self.body).encode())}
        return response | ({"FunctionError": self.function_error} if self.function_error else {})


def test_make_aggregate_takes_the_function_from_the_outputs(monkeypatch, capsys):
    outputs = {"function_names": {"value": {"aggregate": "econ-aggregate"}, "type": ["map", "string"]}}
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(outputs)))  # `tflocal output -json | ...`
    client = FakeLambda({"gold_rows": 3})
    assert invoke_aggregate.main(["--terraform-outputs", "-"], lambda_client=client) == 0
    assert client.calls == [("econ-aggregate", "RequestResponse", b"{}")]
    assert json.loads(capsys.readouterr().out) == {"gold_rows": 3}
    # By name too; a FunctionError is exit code 1, with the error printed.
    failing = FakeLambda({"errorType": "KeyError"}, function_error="Unhandled")
    assert invoke_aggregate.main(["econ-aggregate"], lambda_client=failing) == 1
    assert json.loads(capsys.readouterr().out) == {"errorType": "KeyError"}
    # No stack: a clear message, exit code 2.
    assert invoke_aggregate.main(["--terraform-outputs-json", ""], lambda_client=client) == 2
    assert "function_names.aggregate" in capsys.readouterr().err


def test_lake_aggregate_asks_for_a_full_refresh_or_a_compaction():
    client = FakeLambda({"partitions": 1})
    assert invoke_aggregate.main(["econ-aggregate", "--full-refresh"], lambda_client=client) == 0
    assert invoke_aggregate.main(["econ-aggregate", "--compact"], lambda_client=client) == 0
    assert [json.loads(payload) for _, _, payload in client.calls] == [{"full_refresh": True}, {"compact": True}]
    with pytest.raises(SystemExit):  # one or the other
        invoke_aggregate.main(["econ-aggregate", "--compact", "--full-refresh"], lambda_client=client)
