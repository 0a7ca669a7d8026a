#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks to build and test zerolr, with apt-get.
# Idempotent, and silent when everything is already there.
set -euo pipefail

packages=(
  build-essential cmake ninja-build clang-14 libclang-rt-14-dev
  libeigen3-dev libboost-dev libmpfr-dev libgmp-dev
  librapidcheck-dev libgtest-dev libgmock-dev libbenchmark-dev
  libcli11-dev nlohmann-json3-dev
  libtorch-dev
  python3 python3-torch python3-numpy python3-pytest
)
# libtorch-dev is the real client the audit runs against (clients/libtorch, ctest label client);
# python3-torch (Debian's /usr/bin/python3) is the other: zerolr-audit --python and python/.
# Optional extras, named by the caller: ZEROLR_EXTRA_PACKAGES="afl++".
if [[ -n "${ZEROLR_EXTRA_PACKAGES:-}" ]]; then
  read -r -a extra <<<"$ZEROLR_EXTRA_PACKAGES"
  packages+=("${extra[@]}")
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

echo "install-deps: installing ${missing[*]}"
sudo_cmd=()
[[ $(id -u) -ne 0 ]] && sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
