#!/usr/bin/env bash
# Cross-builds pocket's kernels for aarch64 and runs their tests under qemu-user (what CI runs for arm64).
#
#   scripts/cross-aarch64.sh          configure + build build-aarch64/, run the tests, exit non-zero on any failure
#   POCKET_JOBS=N                     build parallelism (default: nproc)
#
# Builds only pocket_base, pocket_tensor, pocket_kernels and their tests (tests/unit/{tensor,kernels,kernels_simd})
# through the small CMake project in scripts/cross-aarch64/ with cmake/aarch64-toolchain.cmake (Debian's
# g++-aarch64-linux-gnu; GoogleTest compiled from /usr/src/googletest; fmt header-only). The tests run as
# `qemu-aarch64 -L /usr/aarch64-linux-gnu` (the toolchain's CMAKE_CROSSCOMPILING_EMULATOR):
#   1. QEMU_CPU=max (has the dot-product extension): every compiled target (scalar, neon, neon_dotprod) against the
#      scalar reference, with neon_dotprod the target chosen at run time;
#   2. POCKET_SIMD=scalar: the tests of the default (active-target) path again, on the forced scalar target;
#   3. QEMU_CPU=cortex-a72 (ARMv8.0, no sdot): the dispatcher must fall back to plain neon, whose tests run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build-aarch64
jobs=${POCKET_JOBS:-$(nproc)}
start=$SECONDS

for tool in aarch64-linux-gnu-g++ qemu-aarch64 cmake; do
  if ! command -v "$tool" >/dev/null; then
    echo "cross-aarch64: '$tool' not found; run scripts/setup.sh (Debian: g++-aarch64-linux-gnu qemu-user)" >&2
    exit 1
  fi
done
export POCKET_SHARED=${POCKET_SHARED:-$(cd "$root/.." && pwd)/shared}

echo "== aarch64 cross build ($build)"
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if [[ ! -f $build/CMakeCache.txt ]]; then
  cmake -S "$root/scripts/cross-aarch64" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_TOOLCHAIN_FILE="$root/cmake/aarch64-toolchain.cmake" >/dev/null
fi
cmake --build "$build" -j "$jobs"
simd_test=$build/tests/unit/kernels_simd/kernels_simd_unit_test
if command -v file >/dev/null && ! file "$simd_test" | grep -q "ARM aarch64"; then
  echo "cross-aarch64: $simd_test is not an aarch64 executable" >&2
  exit 1
fi
qemu=(qemu-aarch64 -L /usr/aarch64-linux-gnu)

# Runs the Dispatch test under the given environment and checks the target it reports as active.
expect_active() {
  local want=$1
  shift
  local out
  out=$(env "$@" "${qemu[@]}" "$simd_test" --gtest_filter='Dispatch.*' 2>&1) || { echo "$out" >&2; return 1; }
  if ! grep -q "^active target $want:" <<<"$out"; then
    echo "cross-aarch64: with $* the active SIMD target is not $want:" >&2
    echo "$out" >&2
    return 1
  fi
  echo "$*: active target $want"
}

echo "== aarch64 tests under qemu (QEMU_CPU=max: neon_dotprod)"
expect_active neon_dotprod QEMU_CPU=max
(cd "$build" && QEMU_CPU=max ctest --output-on-failure)

echo "== aarch64 tests under qemu with POCKET_SIMD=scalar"
expect_active scalar QEMU_CPU=max POCKET_SIMD=scalar
# The per-target suites (Targets/*) name their target explicitly and ran above; what POCKET_SIMD changes is the
# default path (matmul, qmatmul without a target, Dispatch), i.e. everything else.
(cd "$build" && QEMU_CPU=max POCKET_SIMD=scalar GTEST_FILTER='-Targets/*' ctest --output-on-failure)

echo "== aarch64 without the dot-product extension (QEMU_CPU=cortex-a72: plain neon)"
expect_active neon QEMU_CPU=cortex-a72
QEMU_CPU=cortex-a72 "${qemu[@]}" "$simd_test" --gtest_brief=1 --gtest_filter='Targets/*/neon:Dispatch.*'

echo "cross-aarch64: all passed in $((SECONDS - start)) s"
