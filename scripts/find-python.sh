#!/usr/bin/env bash
# Print the path of a Python 3.12 interpreter: pyenv's 3.12.x where pyenv is present, else python3.12.
set -euo pipefail
if command -v pyenv >/dev/null 2>&1; then
  version=$(pyenv versions --bare 2>/dev/null | grep -E '^3\.12(\.[0-9]+)?$' | sort -V | tail -1 || true)
  if [ -n "$version" ]; then
    PYENV_VERSION="$version" pyenv which python3.12
    exit 0
  fi
fi
if command -v python3.12 >/dev/null 2>&1 && python3.12 -c 'import sys; assert sys.version_info[:2] == (3, 12)' 2>/dev/null; then
  command -v python3.12
  exit 0
fi
echo "error: Python 3.12 not found (install it, or 'pyenv install 3.12')" >&2
exit 1
