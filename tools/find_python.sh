#!/usr/bin/env sh
# Prints the path of a Python 3.12 interpreter (the Lambda runtime's version), or fails clearly.
# Order: $PYTHON, python3.12 on PATH (skipping pyenv shims that have no version), pyenv's 3.12.x.
set -eu
if [ -n "${PYTHON:-}" ]; then echo "$PYTHON"; exit 0; fi
for candidate in python3.12; do
  if path=$(command -v "$candidate" 2>/dev/null) && "$path" -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null; then
    echo "$path"; exit 0
  fi
done
if command -v pyenv >/dev/null 2>&1; then
  for version in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.12(\.[0-9]+)?$' | sort -t. -k3 -n -r); do
    path="$(pyenv prefix "$version")/bin/python3.12"
    if [ -x "$path" ]; then echo "$path"; exit 0; fi
  done
fi
echo "error: Python 3.12 not found (needed for the venv and to run python3.12 Lambdas). Install it, or set PYTHON=/path/to/python3.12" >&2
exit 1
