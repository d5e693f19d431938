#!/bin/sh
# Runs the GGUF libFuzzer target from the hostile corpus.
# Usage: run_fuzz.sh BUILD_DIR [SECONDS]   (BUILD_DIR configured with clang and -DPOCKET_FUZZ=ON)
# A crashing input is saved in the current directory as crash-<sha1> (reproduce: fuzz_gguf crash-<sha1>).
set -eu
build=$1
seconds=${2:-60}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$build/tests/unit/format/gguf_corpus_writer" "$work/seeds" >/dev/null
mkdir "$work/corpus"
exec "$build/tests/fuzz/gguf/fuzz_gguf" -max_total_time="$seconds" -max_len=8192 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix=./ "$work/corpus" "$work/seeds"
