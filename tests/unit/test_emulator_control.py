"""lake_tools.emulator_control (make up/down/status): which emulator, which image, the kind file, the health wait.
Docker and the embedded emulator are replaced by recorders; nothing is started."""

from __future__ import annotations

import json

import pytest

from lake_tools import emulator_control, localstack_pin

COMMUNITY, TOKEN = "localstack/localstack@sha256:" + "1" * 64, "localstack/localstack@sha256:" + "2" * 64


def never_asked() -> bool:
    raise AssertionError("a forced choice must not ask Docker")


def test_auto_picks_localstack_only_when_docker_answers():
    assert emulator_control.choose_kind("auto", lambda: True) == ("localstack", "a Docker daemon answers")
    assert emulator_control.choose_kind("auto", lambda: False) == ("embedded", "no Docker daemon answers")
    assert emulator_control.choose_kind("moto", never_asked) == ("embedded", "EMULATOR=moto")
    assert emulator_control.choose_kind("localstack", never_asked) == ("localstack", "EMULATOR=localstack")


def test_the_token_image_needs_a_token():
    assert emulator_control.localstack_image(COMMUNITY, TOKEN, {})[0] == COMMUNITY
    assert emulator_control.localstack_image(COMMUNITY, TOKEN, {"LOCALSTACK_AUTH_TOKEN": ""})[0] == COMMUNITY
    image, why = emulator_control.localstack_image(COMMUNITY, TOKEN, {"LOCALSTACK_AUTH_TOKEN": "t"})
    assert image == TOKEN and why == "LOCALSTACK_AUTH_TOKEN is set"


@pytest.fixture
def recorded(monkeypatch, tmp_path):
    """Records the docker compose and embedded emulator commands instead of running them."""
    calls: list[tuple] = []

    def compose(args, *command, image=None):
        calls.append(("compose", *command, image))
        return 0

    def embedded(args, command):
        calls.append(("embedded", command))
        return 0

    monkeypatch.setattr(emulator_control, "compose", compose)
    monkeypatch.setattr(emulator_control, "embedded", embedded)
    monkeypatch.setattr(emulator_control, "docker_answers", lambda: False)
    monkeypatch.delenv("LOCALSTACK_AUTH_TOKEN", raising=False)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    return calls


def control(tmp_path, *arguments: str) -> int:
    common = ["--state-dir", str(tmp_path / "state"), "--stack-dir", str(tmp_path), "--port", "4999"]
    return emulator_control.main([*common, *arguments])


def test_up_without_docker_starts_the_embedded_emulator(recorded, tmp_path, capsys):
    assert control(tmp_path, "up") == 0
    assert recorded == [("embedded", "up")]
    assert (tmp_path / "state" / "kind").read_text() == "embedded\n"
    assert capsys.readouterr().out == (
        "==> emulator: embedded (moto server + local Lambda runtime) on port 4999 (no Docker daemon answers)\n"
    )


def test_up_localstack_uses_the_pinned_image_and_waits_for_health(recorded, tmp_path, capsys, monkeypatch):
    answers = iter([None, None, {"services": {"s3": "running"}}])
    monkeypatch.setattr(emulator_control, "localstack_health", lambda endpoint: next(answers))
    monkeypatch.setattr(emulator_control.time, "sleep", lambda seconds: None)
    assert control(tmp_path, "up", "--emulator", "localstack", "--community-image", COMMUNITY) == 0
    assert recorded == [("compose", "up", "-d", COMMUNITY)]
    assert (tmp_path / "state" / "kind").read_text() == "localstack\n"
    out = capsys.readouterr().out
    assert f"==> emulator: LocalStack {COMMUNITY} (no LOCALSTACK_AUTH_TOKEN" in out
    assert out.endswith("waiting for LocalStack health.. ok\n")


def test_up_localstack_defaults_to_the_makefiles_pins(recorded, tmp_path, monkeypatch):
    monkeypatch.setattr(emulator_control, "wait_for_localstack", lambda endpoint: True)
    monkeypatch.setenv("LOCALSTACK_AUTH_TOKEN", "t")
    assert control(tmp_path, "up", "--emulator", "localstack") == 0
    assert recorded == [("compose", "up", "-d", localstack_pin.makefile_images()["LOCALSTACK_IMAGE_WITH_TOKEN"])]


def test_localstack_that_never_gets_healthy_fails(recorded, tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(emulator_control, "localstack_health", lambda endpoint: None)
    monkeypatch.setattr(emulator_control.time, "sleep", lambda seconds: None)
    assert emulator_control.wait_for_localstack("http://localhost:1", attempts=3) is False
    assert capsys.readouterr().out == "waiting for LocalStack health...\n"
    monkeypatch.setattr(emulator_control, "wait_for_localstack", lambda endpoint: False)
    assert control(tmp_path, "up", "--emulator", "localstack") == 1
    assert "error: LocalStack did not become healthy; see: docker compose -f" in capsys.readouterr().err


def test_down_stops_the_kind_that_was_started_and_forgets_the_stack(recorded, tmp_path):
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "kind").write_text("localstack\n")
    for name in ("terraform.tfstate", "terraform.tfstate.backup"):
        (tmp_path / name).write_text("{}")
    assert control(tmp_path, "down") == 0
    assert recorded == [("compose", "down", None)]
    assert not any(
        (tmp_path / name).exists() for name in ("state/kind", "terraform.tfstate", "terraform.tfstate.backup")
    )
    assert control(tmp_path, "down") == 0  # no kind file: the embedded emulator
    assert recorded[-1] == ("embedded", "down")


def test_a_failed_stop_keeps_the_state(recorded, tmp_path, monkeypatch):
    monkeypatch.setattr(emulator_control, "embedded", lambda args, command: 3)
    (tmp_path / "terraform.tfstate").write_text("{}")
    assert control(tmp_path, "down") == 3
    assert (tmp_path / "terraform.tfstate").exists()


def test_status_prints_localstacks_health(recorded, tmp_path, capsys, monkeypatch):
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "kind").write_text("localstack\n")
    monkeypatch.setattr(emulator_control, "localstack_health", lambda endpoint: {"services": {"s3": "running"}})
    assert control(tmp_path, "status") == 0
    assert json.loads(capsys.readouterr().out) == {"services": {"s3": "running"}}
    monkeypatch.setattr(emulator_control, "localstack_health", lambda endpoint: None)
    assert control(tmp_path, "status") == 0
    assert capsys.readouterr().out == "LocalStack: not answering\n"
    (tmp_path / "state" / "kind").write_text("embedded\n")
    assert control(tmp_path, "status") == 0
    assert recorded == [("embedded", "status")]


def test_help_and_a_wrong_emulator(capsys):
    with pytest.raises(SystemExit) as done:
        emulator_control.main(["--help"])
    assert done.value.code == 0 and "up" in capsys.readouterr().out
    with pytest.raises(SystemExit) as done:
        emulator_control.main(["up", "--emulator", "docker"])
    assert done.value.code == 2 and "invalid choice" in capsys.readouterr().err
