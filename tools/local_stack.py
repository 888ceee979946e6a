"""A throw-away local stack: a fresh embedded emulator on a free port plus `tflocal apply` of this
repo's Terraform in a temporary copy (so its state never touches the user's working copy).
Used by the end-to-end tests and the benchmark.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

from embedded_aws.local_client import client_environment, endpoint_url
from lake_cli.terraform_outputs import StackOutputs, read_stack
from lake_tools.state_backend import BACKEND_FILE, write_backend

ROOT = Path(__file__).resolve().parent.parent
BUILD = ROOT / "build"
TFLOCAL = str(Path(sys.executable).parent / "tflocal")


def run(command: list[str], env: dict, cwd: Path = ROOT, timeout: float = 900) -> subprocess.CompletedProcess:
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        raise RuntimeError(
            f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    return result


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def emulator_command(port: int, state_dir: Path) -> list[str]:
    return [sys.executable, "-m", "embedded_aws", "--port", str(port), "--state-dir", str(state_dir)]


def start_emulator(port: int, state_dir: Path) -> str:
    run(emulator_command(port, state_dir) + ["up"], dict(os.environ))
    return endpoint_url(port)


def stop_emulator(port: int, state_dir: Path) -> None:
    subprocess.run(emulator_command(port, state_dir) + ["down"], cwd=ROOT, capture_output=True, timeout=60)


def with_terraform_cli_config(env: dict) -> dict:
    """`env` plus the Terraform CLI config (provider mirror when there is one), written once to build/."""
    tfrc = BUILD / "terraform.tfrc"
    if not tfrc.exists():
        run(["sh", "tools/write_tf_cli_config.sh", str(tfrc)], env)
    return {**env, "DISABLE_DEPRECATION_NOTICE": "1", "TF_CLI_CONFIG_FILE": str(tfrc)}


def local_env(endpoint: str) -> dict:
    """Environment for tools talking to the emulator: endpoint, test credentials, offline Terraform."""
    env = dict(os.environ)
    env.update(client_environment(endpoint))
    env["S3_ENDPOINT"] = endpoint  # tflocal's default S3 host name needs DNS; the emulator serves path-style
    return with_terraform_cli_config(env)


def build_package() -> Path:
    zip_path = BUILD / "lambda.zip"
    run([sys.executable, "tools/package_lambda.py", "--output", str(zip_path)], dict(os.environ))
    return zip_path


def terraform_vars(lambda_zip: Path, extra_vars: dict[str, str] | None = None) -> list[str]:
    """The -var options of apply and destroy: the Lambda zip, then `extra_vars`."""
    return [f"-var={name}={value}" for name, value in {"lambda_zip_path": lambda_zip, **(extra_vars or {})}.items()]


def copy_stack(workdir: Path, backend: str = "") -> None:
    """This repo's root module in `workdir`, with `backend` (tools/state_backend.py; "" = local state)."""
    for path in ROOT.glob("*.tf"):
        # tflocal writes its override next to the user's own `tflocal apply`; a copy makes it refuse.
        # The user's backend file is theirs: a copy has its own backend, or none.
        if path.name not in ("localstack_providers_override.tf", BACKEND_FILE):
            shutil.copy(path, workdir)
    shutil.copytree(ROOT / "modules", workdir / "modules", dirs_exist_ok=True)
    shutil.copytree(ROOT / "datos", workdir / "datos", dirs_exist_ok=True)  # analytics.tf reads indicadores.csv
    shutil.copytree(ROOT / "sql", workdir / "sql", dirs_exist_ok=True)  # analytics.tf reads the Athena view
    write_backend(workdir, backend)


def apply_stack(
    env: dict,
    lambda_zip: Path,
    workdir: Path,
    extra_vars: dict[str, str] | None = None,
    terraform: str = TFLOCAL,
    backend: str = "",
) -> StackOutputs:
    """`terraform` is tflocal for an emulator, plain `terraform` for real AWS (environment=dev|prod)."""
    copy_stack(workdir, backend)
    run([terraform, "init", "-input=false"], env, cwd=workdir)
    run(
        [terraform, "apply", "-input=false", "-auto-approve", *terraform_vars(lambda_zip, extra_vars)], env, cwd=workdir
    )
    return read_stack(terraform, workdir, env)


def destroy_stack(
    env: dict, lambda_zip: Path, workdir: Path, extra_vars: dict[str, str] | None = None, terraform: str = TFLOCAL
) -> None:
    run(
        [terraform, "destroy", "-input=false", "-auto-approve", *terraform_vars(lambda_zip, extra_vars)],
        env,
        cwd=workdir,
    )
