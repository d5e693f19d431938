#!/usr/bin/env bash
# Sets up, builds and runs pocket's whole test suite: the release build, the aarch64 kernels under qemu-user, the
# same suite under AddressSanitizer + UndefinedBehaviorSanitizer, and the libFuzzer targets for a fixed time each.
#   scripts/test.sh            everything (what CI runs)
#   POCKET_FUZZ_SECONDS=N      seconds per fuzz target (default 60)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
export POCKET_SHARED=${POCKET_SHARED:-$(cd "$root/.." && pwd)/shared}
bash "$root/scripts/setup.sh"

echo "== release build and tests"
bash "$root/scripts/build.sh" release
(cd "$root/build" && ctest --output-on-failure -j "$(nproc)")

echo "== aarch64: NEON kernels cross-built and tested under qemu-user"
bash "$root/scripts/cross-aarch64.sh"

echo "== AddressSanitizer + UndefinedBehaviorSanitizer build and tests"
bash "$root/scripts/build.sh" asan
(cd "$root/build-asan" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --output-on-failure -j "$(nproc)" -LE slow)

echo "== fuzzing"
bash "$root/scripts/build.sh" fuzz
bash "$root/scripts/fuzz.sh" "${POCKET_FUZZ_SECONDS:-60}"
