# Source this file (`. tools/local-env.sh`) to use tflocal, awslocal, the simulator and pytest by
# hand against the local emulator, exactly as the Makefile does. It changes only this shell. The venv has
# the project installed editable (make setup), so python -m simulador / tools.* work from any folder.
_repo="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)"
[ -x "$_repo/.venv/bin/python" ] || { echo "run 'make setup' first" >&2; return 1 2>/dev/null || exit 1; }
. "$_repo/.venv/bin/activate"
[ -f "$_repo/build/terraform.tfrc" ] || "$_repo/tools/write_tf_cli_config.sh" "$_repo/build/terraform.tfrc"
export TF_CLI_CONFIG_FILE="$_repo/build/terraform.tfrc"
eval "$(python -m embedded_aws ${EMULATOR_PORT:+--port "$EMULATOR_PORT"} env)"  # endpoint (AWS_ENDPOINT_URL kept when set; EMULATOR_PORT), test credentials, region
export S3_ENDPOINT="$AWS_ENDPOINT_URL"   # tflocal: path-style S3 on the endpoint (no DNS needed)
export DISABLE_DEPRECATION_NOTICE=1
echo "local AWS environment: $AWS_ENDPOINT_URL (unset AWS_ENDPOINT_URL before using real AWS)"
unset _repo
