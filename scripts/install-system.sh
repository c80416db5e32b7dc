#!/usr/bin/env bash
# Debian packages the system and its tests need: the same browser packages the worker image ships.
set -euo pipefail
packages=(redis-server chromium chromium-headless-shell libnss3-tools xvfb fonts-noto fonts-noto-cjk iproute2 util-linux procps)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# The worker image pins the Chromium that CI tests (worker/Dockerfile's CHROMIUM_VERSION): say when the
# one installed here differs, so the pin is bumped with the version the tests ran against.
check_pin() {
  local pinned installed
  pinned=$(sed -n 's/^ARG CHROMIUM_VERSION=//p' "$(dirname "$0")/../worker/Dockerfile" | head -1)
  installed=$(dpkg-query -W -f='${Version}' chromium-headless-shell 2>/dev/null || true)
  if [ -n "$pinned" ] && [ -n "$installed" ] && [ "$installed" != "$pinned" ]; then
    echo "warning: chromium-headless-shell $installed installed, worker/Dockerfile pins $pinned" >&2
  fi
}
if [ ${#missing[@]} -eq 0 ]; then
  check_pin
  exit 0
fi
echo "installing Debian packages: ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
# Debian enables and starts a system-wide redis-server; the project starts its own.
$SUDO systemctl disable --now redis-server >/dev/null 2>&1 || true
check_pin
