#!/usr/bin/env bash
# Runs every libFuzzer target built in build-fuzz/ for SECONDS each, seeded from its corpus.
#   scripts/fuzz.sh [SECONDS=60]
# Fails (non-zero) if any target finds a crash, a sanitizer report, a leak or a timeout.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
build=$root/build-fuzz
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
for target in "$build"/fuzz_*; do
  [[ -x $target ]] || continue
  name=$(basename "$target")
  corpus=$work/$name
  mkdir -p "$corpus"
  if [[ $name == fuzz_gguf && -x $build/gguf_corpus_writer ]]; then
    "$build/gguf_corpus_writer" "$corpus" >/dev/null
  fi
  echo "fuzz: $name for ${seconds}s ($(ls "$corpus" | wc -l) seeds)"
  if ! "$target" "$corpus" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$work/" >"$work/$name.log" 2>&1; then
    echo "fuzz: $name FAILED"; tail -40 "$work/$name.log"; status=1
  else
    grep -E 'stat::number_of_executed_units|Done' "$work/$name.log" | tail -2
  fi
done
exit $status
