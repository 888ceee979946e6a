"""lake_cli.terraform_outputs: the stack's outputs -> one typed StackOutputs, from text, a file, stdin,
a Terraform directory; and the one error when no stack is named."""

from __future__ import annotations

import io
import json
import re
import stat
from pathlib import Path

import pytest
from stack_outputs import LOCAL_OUTPUTS, terraform_output_json

from lake_cli import invoke_aggregate, terraform_outputs
from lake_cli.terraform_outputs import (
    FunctionNames,
    NoStackError,
    StackLocation,
    StackOutputs,
    StackOutputsError,
    StateBackend,
    TerraformOutputsError,
)

ROOT = Path(__file__).resolve().parents[2]
AWS_ONLY = {
    "glue_database": "econ_lake_dev",
    "athena_workgroup": "econ-lake-dev-lake",
    "athena_results_bucket": "econ-lake-dev-athena-results-123456789012",
    "athena_events_exactly_once_query_id": "q-1",
    "alarm_topic_arn": "arn:aws:sns:us-east-1:123456789012:econ-lake-dev-alarms",
    "state_backend": {
        "bucket": "econ-lake-tfstate-123456789012",
        "key": "econ-lake/dev/terraform.tfstate",
        "encrypt": True,
        "use_lockfile": True,
    },
}


def test_terraform_json_and_plain_values_give_the_same_typed_stack():
    from_terraform = StackOutputs.from_outputs(json.loads(terraform_output_json()))
    assert from_terraform == StackOutputs.from_outputs(LOCAL_OUTPUTS)
    assert from_terraform.silver_bucket == "econ-lake-local-silver"
    assert from_terraform.ingest_dlq_url == LOCAL_OUTPUTS["dlq_url"]  # the output is named dlq_url
    assert from_terraform.function_names == FunctionNames(
        ingest="econ-lake-local-ingest",
        transform="econ-lake-local-transform",
        aggregate="econ-lake-local-aggregate",
        live="econ-lake-local-live",
        api="econ-lake-local-api",
    )
    # The AWS-only outputs are null in local, which Terraform leaves out.
    assert from_terraform.glue_database is None and from_terraform.state_backend is None


def test_the_aws_only_outputs_are_typed_too():
    stack = StackOutputs.from_outputs(json.loads(terraform_output_json({**LOCAL_OUTPUTS, **AWS_ONLY})))
    assert stack.state_backend == StateBackend(
        "econ-lake-tfstate-123456789012", "econ-lake/dev/terraform.tfstate", True, True
    )
    assert stack.athena_workgroup == "econ-lake-dev-lake"
    assert stack.to_outputs() == {**LOCAL_OUTPUTS, **AWS_ONLY}


def test_to_outputs_reads_back_and_leaves_null_outputs_out():
    stack = StackOutputs.from_outputs(LOCAL_OUTPUTS)
    assert stack.to_outputs() == LOCAL_OUTPUTS
    assert StackOutputs.from_outputs(json.loads(json.dumps(stack.to_outputs()))) == stack
    assert stack.function_names.as_dict() == LOCAL_OUTPUTS["function_names"]
    assert stack.bucket_names() == tuple(
        LOCAL_OUTPUTS[f"{layer}_bucket"] for layer in ("bronze", "silver", "gold", "artifacts")
    )


def test_outputs_beyond_the_stacks_are_ignored():
    assert StackOutputs.from_outputs({**LOCAL_OUTPUTS, "a_new_output": 1}) == StackOutputs.from_outputs(LOCAL_OUTPUTS)


def test_every_missing_output_is_named_in_one_error():
    outputs = {name: value for name, value in LOCAL_OUTPUTS.items() if name not in ("silver_bucket", "dlq_url")}
    outputs["function_names"] = {k: v for k, v in LOCAL_OUTPUTS["function_names"].items() if k != "aggregate"}
    with pytest.raises(StackOutputsError) as error:
        StackOutputs.from_outputs(outputs, source="the Terraform outputs in x.json")
    message = str(error.value)
    assert message.startswith("the Terraform outputs in x.json are not this stack's outputs (outputs.tf): ")
    assert "silver_bucket is missing" in message
    assert "dlq_url is missing" in message
    assert "function_names.aggregate is missing" in message
    assert isinstance(error.value, TerraformOutputsError) and isinstance(error.value, ValueError)


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("table_name", 3, "table_name is a number, not a non-empty string"),
        ("api_url", "", "api_url is empty, not a non-empty string"),
        ("stream_arn", ["a"], "stream_arn is a list, not a non-empty string"),
        ("environment", True, "environment is a boolean, not a non-empty string"),
        ("function_names", "econ-api", "function_names is a string, not an object"),
        (
            "state_backend",
            {**AWS_ONLY["state_backend"], "encrypt": "yes"},
            "state_backend.encrypt is a string, not a boolean",
        ),
    ],
)
def test_an_output_of_the_wrong_type_is_named(name, value, problem):
    with pytest.raises(StackOutputsError, match=re.escape(problem)):
        StackOutputs.from_outputs({**LOCAL_OUTPUTS, name: value})


def test_a_wrapped_output_of_the_wrong_type_is_named_too():
    outputs = json.loads(terraform_output_json())
    outputs["gold_bucket"] = {"value": 7, "type": "number", "sensitive": False}
    with pytest.raises(StackOutputsError, match="gold_bucket is a number"):
        StackOutputs.from_outputs(outputs)


def test_no_outputs_is_the_one_no_stack_error():
    with pytest.raises(NoStackError) as error:
        StackOutputs.from_outputs({}, source="the Terraform outputs of /stack")
    assert (
        str(error.value) == f"no deployed stack in the Terraform outputs of /stack: {terraform_outputs.NO_STACK_HINT}"
    )
    with pytest.raises(NoStackError, match=re.escape(f"no deployed stack: {terraform_outputs.NO_STACK_HINT}")):
        terraform_outputs.require_stack(None)
    assert "lake --stack PATH" in terraform_outputs.NO_STACK_HINT


def test_stack_outputs_reads_every_output_of_outputs_tf():
    declared = re.findall(r'^output "(\w+)"', (ROOT / "outputs.tf").read_text(), flags=re.MULTILINE)
    assert terraform_outputs.stack_output_names() == declared


@pytest.mark.parametrize("text", ["", "  \n"])
def test_empty_text_means_no_state_yet(text):
    assert terraform_outputs.outputs_from_text(text) == {}


@pytest.mark.parametrize(("text", "reason"), [("{nope", "not JSON"), ("[1, 2]", "a JSON list, not an object")])
def test_bad_text_is_one_clear_error(text, reason):
    with pytest.raises(TerraformOutputsError, match="cannot read the Terraform outputs") as error:
        terraform_outputs.outputs_from_text(text)
    assert reason in str(error.value)


def test_a_plain_object_value_is_not_taken_for_terraforms_wrapper():
    # state_backend's value is an object; only {value, type, ...} is Terraform's wrapper.
    assert terraform_outputs.plain_values({"state_backend": AWS_ONLY["state_backend"]}) == {
        "state_backend": AWS_ONLY["state_backend"]
    }
    assert terraform_outputs.plain_values({"x": {"value": 1, "type": "number"}}) == {"x": 1}


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


def test_a_stack_from_a_file_stdin_or_a_terraform_directory(tmp_path, monkeypatch):
    expected = StackOutputs.from_outputs(LOCAL_OUTPUTS)
    path = tmp_path / "outputs.json"
    path.write_text(terraform_output_json())
    assert StackLocation(str(path)).read() == expected
    monkeypatch.setattr("sys.stdin", io.StringIO(terraform_output_json()))
    assert StackLocation("-").read() == expected
    terraform = fake_terraform(tmp_path, terraform_output_json())
    assert StackLocation(str(tmp_path), terraform=terraform).read() == expected
    with pytest.raises(TerraformOutputsError, match="cannot read the Terraform outputs"):
        StackLocation(str(tmp_path / "missing.json")).read()


def test_a_directory_without_a_deployed_stack_says_so(tmp_path):
    terraform = fake_terraform(tmp_path, "{}\n")
    with pytest.raises(NoStackError, match=f"no deployed stack in the Terraform outputs of {re.escape(str(tmp_path))}"):
        StackLocation(str(tmp_path), terraform=terraform).read()


def test_read_outputs_runs_terraform_in_the_stacks_folder(tmp_path):
    terraform = fake_terraform(tmp_path, terraform_output_json())
    assert terraform_outputs.read_outputs(terraform, tmp_path) == LOCAL_OUTPUTS
    assert terraform_outputs.read_stack(terraform, tmp_path) == StackOutputs.from_outputs(LOCAL_OUTPUTS)
    failing = fake_terraform(tmp_path, "", exit_code=1)
    with pytest.raises(TerraformOutputsError, match="failed \\(1\\): no state"):
        terraform_outputs.read_outputs(failing, tmp_path)
    with pytest.raises(TerraformOutputsError, match="cannot run"):
        terraform_outputs.read_outputs(str(tmp_path / "no-such-terraform"), tmp_path)


class FakeLambda:
    """Records invocations; answers with `body` and, when given, a FunctionError."""

    def __init__(self, body: dict, function_error: str | None = None) -> None:
        self.body, self.function_error, self.calls = body, function_error, []

    def invoke(self, FunctionName: str, InvocationType: str, Payload: bytes) -> dict:
        self.calls.append((FunctionName, InvocationType, Payload))
        response = {"StatusCode": 200, "Payload": io.BytesIO(json.dumps(self.body).encode())}
        return response | ({"FunctionError": self.function_error} if self.function_error else {})


def test_lake_aggregate_takes_the_function_from_the_stack(monkeypatch, capsys):
    monkeypatch.setattr(
        "sys.stdin", io.StringIO(terraform_output_json())
    )  # `tflocal output -json | lake --stack - ...`
    client = FakeLambda({"gold_rows": 3})
    assert invoke_aggregate.main([], stack=StackLocation("-"), lambda_client=client) == 0
    assert client.calls == [("econ-lake-local-aggregate", "RequestResponse", b"{}")]
    assert json.loads(capsys.readouterr().out) == {"gold_rows": 3}
    # By name too; a FunctionError is exit code 1, with the error printed.
    failing = FakeLambda({"errorType": "KeyError"}, function_error="Unhandled")
    assert invoke_aggregate.main(["econ-aggregate"], lambda_client=failing) == 1
    assert json.loads(capsys.readouterr().out) == {"errorType": "KeyError"}
    # No stack: the one message, exit code 2.
    assert invoke_aggregate.main([], lambda_client=client) == 2
    assert terraform_outputs.NO_STACK_HINT in capsys.readouterr().err


def test_lake_aggregate_asks_for_a_full_refresh_or_a_compaction():
    client = FakeLambda({"partitions": 1})
    assert invoke_aggregate.main(["econ-aggregate", "--full-refresh"], lambda_client=client) == 0
    assert invoke_aggregate.main(["econ-aggregate", "--compact"], lambda_client=client) == 0
    assert [json.loads(payload) for _, _, payload in client.calls] == [{"full_refresh": True}, {"compact": True}]
    with pytest.raises(SystemExit):  # one or the other
        invoke_aggregate.main(["econ-aggregate", "--compact", "--full-refresh"], lambda_client=client)
