#!/usr/bin/env bash
# Installs the Debian packages locent builds against. Idempotent: packages already present are
# skipped, and apt is only touched when something is missing.
set -euo pipefail
packages=(
  build-essential cmake ninja-build
  libgtest-dev libbenchmark-dev
  librandom123-dev libcli11-dev nlohmann-json3-dev libfmt-dev libtomlplusplus-dev
  python3-numpy python3-matplotlib
  libopenmpi-dev openmpi-bin
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}" >&2
  sudo_cmd=()
  [[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
