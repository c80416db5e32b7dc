#!/usr/bin/env bash
# Run a command in a loopback-only network namespace: nothing it starts can reach another address.
set -euo pipefail
if [ "$(id -u)" -eq 0 ] && command -v unshare >/dev/null 2>&1; then
  exec unshare --net -- bash -c 'ip link set lo up && exec "$@"' offline "$@"
fi
echo "warning: not root, running without the loopback-only namespace" >&2
exec "$@"
