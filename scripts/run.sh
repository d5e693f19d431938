#!/usr/bin/env bash
# Sets up, builds and runs pocket's main job: generating a story with the embedded default model.
#   scripts/run.sh [PROMPT] [more `pocket run` flags...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bash "$root/scripts/setup.sh"
bash "$root/scripts/build.sh" release >/dev/null
prompt=${1:-Once upon a time}
shift || true
exec "$root/build/pocket" run -p "$prompt" -n 200 "$@"
