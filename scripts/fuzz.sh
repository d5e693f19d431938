#!/usr/bin/env bash
# Runs every libFuzzer target built in build-fuzz/ for SECONDS each, seeded from real inputs:
#   fuzz_gguf           the hostile GGUF corpus (gguf_corpus_writer) plus the embedded model
#   fuzz_tokenizer      lines of shared/text/tinystory-eval.txt (vocab: $POCKET_FUZZ_VOCAB or the gpt-2 vocab)
#   fuzz_chat_template  the 40 real chat templates in shared/templates/templates
#   scripts/fuzz.sh [SECONDS=60]
# Fails (non-zero) if any target finds a crash, a sanitizer report, a leak or a timeout.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
build=$root/build-fuzz
shared=${POCKET_SHARED:-$root/../shared}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

seed() {  # seed TARGET CORPUS_DIR
  case "$1" in
    fuzz_gguf)
      "$(find "$build" -name gguf_corpus_writer -type f -perm -u+x | head -1)" "$2" >/dev/null
      cp "$root/models/tiny-stories.gguf" "$2/" ;;
    fuzz_tokenizer)
      split -l 1 -a 3 "$shared/text/tinystory-eval.txt" "$2/line-" ;;
    fuzz_chat_template)
      cp "$shared"/templates/templates/*.jinja "$2/" ;;
  esac
}

status=0
for name in fuzz_gguf fuzz_tokenizer fuzz_chat_template; do
  target=$(find "$build" -name "$name" -type f -perm -u+x | head -1)
  if [[ -z $target ]]; then
    echo "fuzz: $name was not built in $build"; status=1; continue
  fi
  corpus=$work/$name
  mkdir -p "$corpus"
  seed "$name" "$corpus"
  echo "fuzz: $name for ${seconds}s from $(ls "$corpus" | wc -l) seeds"
  if ! "$target" "$corpus" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$work/" >"$work/$name.log" 2>&1; then
    echo "fuzz: $name FAILED"; tail -40 "$work/$name.log"; status=1
  else
    grep -E 'stat::number_of_executed_units' "$work/$name.log" | tail -1
  fi
done
exit $status
