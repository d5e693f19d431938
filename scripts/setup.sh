#!/usr/bin/env bash
# Installs every Debian package pocket's build and tests need. Idempotent: when everything is present it does
# nothing; otherwise, as root on Debian 12, it runs `apt-get update` once and installs what is missing.
set -euo pipefail
packages=(
  build-essential cmake ninja-build pkg-config git python3
  libgtest-dev libgmock-dev libbenchmark-dev
  libcli11-dev nlohmann-json3-dev libpcre2-dev libhwy-dev libfmt-dev
  libcpp-httplib-dev libedit-dev
  clang libclang-rt-14-dev   # libFuzzer and sanitizer runtimes for the fuzz target
  tmux                       # drives `pocket chat` in the integration test
  g++-aarch64-linux-gnu qemu-user   # scripts/cross-aarch64.sh: NEON kernels built for arm64, tested under qemu
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
