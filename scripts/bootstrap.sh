#!/usr/bin/env bash
# Installs every Debian 12 package that building, testing and the demo need. Idempotent and quiet
# when everything is there; run as root (CI and a fresh machine are root).
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache pkg-config git
  libcaf-dev librocksdb-dev libssl-dev libpodofo-dev libboost-dev catch2 nlohmann-json3-dev
  libharfbuzz-dev libdeflate-dev libpng-dev libpoppler-cpp-dev
  fonts-ipaexfont fonts-ipamj-mincho
  poppler-utils openssl curl python3 clang-14 libclang-rt-14-dev
)

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "bootstrap: missing packages: ${missing[*]}; run as root (or install them)" >&2
  exit 1
fi
echo "bootstrap: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
