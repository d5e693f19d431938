#!/usr/bin/env bash
# Aggregate generation throughput of `pocket serve` with 1, 2, 4 and 8 concurrent streams.
#   scripts/bench-serve.sh [-b BUILD/pocket] [-m MODEL.gguf] [-n TOKENS] [-t THREADS] [-c "1 2 4 8"] [-r ROUNDS]
#                          [-k f16|f32 (KV cache type; default: the server's, f16)]
# Starts a server (--parallel = the largest concurrency) on a free loopback port; for each concurrency runs that
# many streaming /v1/completions at once (greedy, max_tokens TOKENS, different prompts) and prints completion
# tokens / wall time, plus per-stream decode speed (tokens after the first / time after the first token).
# Needs node >= 18 (fetch). Rounds alternate over the concurrencies; each reports its median and range.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
pocket="${here}/../build/pocket"
model=""
tokens=128
threads=0
concurrency="1 2 4 8"
rounds=5
kv=""
while getopts "b:m:n:t:c:r:k:" opt; do
  case "$opt" in
    b) pocket="$OPTARG" ;;
    m) model="$OPTARG" ;;
    n) tokens="$OPTARG" ;;
    t) threads="$OPTARG" ;;
    c) concurrency="$OPTARG" ;;
    r) rounds="$OPTARG" ;;
    k) kv="$OPTARG" ;;
    *) sed -n 2,8p "$0"; exit 2 ;;
  esac
done
max_c=0
for c in $concurrency; do (( c > max_c )) && max_c=$c; done
args=(serve --port 0 --parallel "$max_c" --quiet --ctx 1024)
[[ -n "$model" ]] && args+=(-m "$model")
(( threads > 0 )) && args+=(--threads "$threads")
[[ -n "$kv" ]] && args+=(--kv-type "$kv")
log="$(mktemp)"
"$pocket" "${args[@]}" >"$log" 2>&1 &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null; rm -f "$log"' EXIT
url=""
for _ in $(seq 1 600); do
  url="$(grep -o 'http://127\.0\.0\.1:[0-9]*' "$log" || true)"
  [[ -n "$url" ]] && break
  kill -0 $pid 2>/dev/null || { cat "$log"; exit 1; }
  sleep 0.1
done
[[ -n "$url" ]] || { echo "server did not start"; cat "$log"; exit 1; }
echo "server: $url  model: ${model:-embedded}  tokens/stream: $tokens  threads: ${threads:-all}  kv: ${kv:-default}"
URL="$url" TOKENS="$tokens" CONC="$concurrency" ROUNDS="$rounds" node --input-type=module <<'JS'
const url = process.env.URL, tokens = Number(process.env.TOKENS), rounds = Number(process.env.ROUNDS);
const prompts = ['Once upon a time', 'One day, a little girl', 'Tom had a big', 'The sun was', 'Lily and Ben went',
  'There was a cat', 'A small bird', 'In the park'];
async function stream(i) {
  const t0 = performance.now();
  const r = await fetch(`${url}/v1/completions`, { method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ prompt: prompts[i % prompts.length], max_tokens: tokens, temperature: 0, stream: true,
      stream_options: { include_usage: true } }) });
  let first = 0, usage = null, buf = '';
  for await (const chunk of r.body) {
    buf += Buffer.from(chunk).toString();
    let k;
    while ((k = buf.indexOf('\n\n')) >= 0) {
      const line = buf.slice(0, k); buf = buf.slice(k + 2);
      if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
      const j = JSON.parse(line.slice(6));
      if (!first && j.choices?.[0]?.text) first = performance.now();
      if (j.usage) usage = j.usage;
    }
  }
  const end = performance.now();
  return { n: usage.completion_tokens, decode: (usage.completion_tokens - 1) / ((end - first) / 1000) };
}
await stream(0);  // warm-up
// Rounds alternate over the concurrencies (1, 2, 4, 8, 1, 2, ...) so that a slow spell of a shared machine falls
// on all of them alike; each concurrency reports the median of its rounds and their range.
const concs = process.env.CONC.split(/\s+/).map(Number);
const runs = new Map(concs.map((c) => [c, []]));
for (let r = 0; r < rounds; r++) {
  for (const c of concs) {
    const t0 = performance.now();
    const res = await Promise.all(Array.from({ length: c }, (_, i) => stream(i)));
    const sec = (performance.now() - t0) / 1000;
    const n = res.reduce((a, x) => a + x.n, 0);
    runs.get(c).push({ n, sec, agg: n / sec, per: res.reduce((a, x) => a + x.decode, 0) / c });
  }
}
const median = (xs) => { const s = [...xs].sort((a, b) => a - b), m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const rows = concs.map((c) => { const rs = runs.get(c), aggs = rs.map((x) => x.agg);
  return { c, n: rs[0].n, agg: median(aggs), min: Math.min(...aggs), max: Math.max(...aggs),
    per: median(rs.map((x) => x.per)) }; });
console.log(`${rounds} alternating rounds; medians (min-max) of aggregate completion tok/s`);
console.log('streams  tokens/round  aggregate tok/s (min-max)  per-stream decode tok/s  vs 1 stream');
for (const r of rows) {
  const range = `(${r.min.toFixed(0)}-${r.max.toFixed(0)})`;
  console.log(`${String(r.c).padStart(7)}  ${String(r.n).padStart(12)}  ${r.agg.toFixed(1).padStart(9)} ` +
    `${range.padStart(15)}  ${r.per.toFixed(1).padStart(23)}  ${(r.agg / rows[0].agg).toFixed(2).padStart(10)}x`);
}
JS
