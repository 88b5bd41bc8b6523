#!/usr/bin/env bash
# Prepares a fresh Debian machine for building and running Strata. Idempotent: re-running it
# installs nothing that is already present.
#   scripts/bootstrap.sh            apt packages + the default model
#   scripts/bootstrap.sh --no-model apt packages only
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(libopenblas-dev libnuma-dev zlib1g-dev pkg-config unzip)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "bootstrap: installing ${missing[*]}" >&2
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ "${1:-}" != "--no-model" ]; then
    scripts/fetch-model.sh
fi
