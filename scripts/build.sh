#!/usr/bin/env bash
# Configures and builds one pocket build tree.  scripts/build.sh [release|asan|fuzz]  (default: release)
#   release  build/        optimized, what users run
#   asan     build-asan/   Debug + AddressSanitizer + UndefinedBehaviorSanitizer (-O1 so the suite stays quick)
#   fuzz     build-fuzz/   clang + libFuzzer targets (+ ASan/UBSan)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
kind=${1:-release}
jobs=${POCKET_JOBS:-$(nproc)}
case "$kind" in
  release) dir=build; args=(-DCMAKE_BUILD_TYPE=Release) ;;
  asan) dir=build-asan; args=(-DCMAKE_BUILD_TYPE=Debug -DPOCKET_SANITIZE=ON "-DCMAKE_CXX_FLAGS_DEBUG=-g -O1") ;;
  fuzz) dir=build-fuzz; args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DPOCKET_FUZZ=ON -DPOCKET_SANITIZE=ON
                              -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++) ;;
  *) echo "build.sh: unknown build kind '$kind' (release, asan, fuzz)" >&2; exit 2 ;;
esac
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
if [[ ! -f $root/$dir/CMakeCache.txt ]]; then
  cmake -S "$root" -B "$root/$dir" "${generator[@]}" "${args[@]}" >/dev/null
fi
targets=()
# The fuzz tree only needs its libFuzzer targets (and the GGUF seed writer), not a third full build.
[[ $kind == fuzz ]] && targets=(--target fuzz_gguf fuzz_tokenizer fuzz_chat_template gguf_corpus_writer)
cmake --build "$root/$dir" -j "$jobs" "${targets[@]}"
