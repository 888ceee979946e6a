#!/usr/bin/env sh
# Writes a Terraform CLI config that installs hashicorp/aws from a local filesystem mirror when one
# exists (offline machines, CI); online machines without a mirror get a config that changes nothing.
# Usage: tools/write_tf_cli_config.sh OUTPUT_FILE   (then export TF_CLI_CONFIG_FILE=OUTPUT_FILE)
set -eu
out="$1"
mkdir -p "$(dirname "$out")"
mirror="${TF_PROVIDER_MIRROR:-}"
if [ -z "$mirror" ]; then
  for candidate in /opt/tf-plugins /usr/share/terraform/plugins "$HOME/.terraform.d/plugins"; do
    if [ -d "$candidate/registry.terraform.io/hashicorp/aws" ]; then mirror="$candidate"; break; fi
  done
fi
if [ -n "$mirror" ]; then
  cat >"$out" <<CFG
# Written by tools/write_tf_cli_config.sh: hashicorp/aws comes from the local mirror.
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["registry.terraform.io/hashicorp/aws"]
  }
  direct {
    exclude = ["registry.terraform.io/hashicorp/aws"]
  }
}
CFG
  echo "terraform: using provider mirror $mirror" >&2
else
  echo "# Written by tools/write_tf_cli_config.sh: no local provider mirror found; providers come from the registry." >"$out"
  echo "terraform: no provider mirror found, using the registry" >&2
fi
