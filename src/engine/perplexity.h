// Perplexity as llama.cpp's llama-perplexity computes it (tools/perplexity/perplexity.cpp, `perplexity()`):
//  - the whole text is tokenized once (BOS added when the vocabulary adds it; the caller tokenizes);
//  - n_chunk = n_tokens / n_ctx windows of n_ctx tokens, back to back (a partial last window is dropped), bounded
//    by max_chunks;
//  - each window is evaluated from an empty KV cache, its first token replaced by BOS when the vocabulary adds
//    BOS (the stored token stream keeps the original);
//  - only the second half is scored: the logits at positions j = n_ctx/2 .. n_ctx-2 predict token j+1, so
//    n_ctx - 1 - n_ctx/2 tokens per window;
//  - PPL = exp(mean NLL), and its error ppl · sqrt(var(NLL) / (count − 1)) (llama.cpp's "+/-").
// With a BaseLogitsWriter the scored positions' log-probabilities are saved in llama.cpp's
// --kl-divergence-base format (kl_divergence.h), so the NLL is the one llama.cpp computes when saving.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "base/status.h"
#include "kernels/matmul.h"
#include "model/kv_cache.h"
#include "model/model.h"

namespace pocket {

class BaseLogitsWriter;

// After each window: 1-based index, count, running PPL and the seconds that window took.
struct ChunkProgress {
  int64_t chunk = 0;
  int64_t n_chunks = 0;
  double ppl = 0;
  double seconds = 0;
};
using ChunkProgressFn = std::function<void(const ChunkProgress&)>;

struct PerplexityOptions {
  int64_t n_ctx = 512;      // window (llama-perplexity's default -c 512)
  int64_t n_batch = 2048;   // tokens per forward call; a window takes ceil(n_ctx / n_batch) calls
  int64_t max_chunks = -1;  // < 0: every window (llama-perplexity --chunks)
  KvType kv_type = KvType::kF16;  // llama.cpp's default KV cache type
  kernels::MatmulPath path = kernels::MatmulPath::kFast;
  int n_threads = 1;
  ChunkProgressFn progress;
};

struct PerplexityResult {
  int64_t n_tokens = 0;   // tokens in the whole text
  int64_t n_ctx = 0;
  int64_t n_chunks = 0;   // windows evaluated
  int64_t n_scored = 0;   // tokens scored: n_chunks · (n_ctx − 1 − n_ctx/2)
  double mean_nll = 0;    // nats per scored token
  double ppl = 0;
  double ppl_stderr = 0;
};

// Mean and llama.cpp's uncertainty of sums (sum x, sum x²) over `count` values: {mean, sqrt(var / (count − 1))},
// the uncertainty 0 when var <= 0 or count <= min_count.
struct MeanErr {
  double mean = 0;
  double err = 0;
};
MeanErr mean_and_uncertainty(double sum, double sum2, int64_t count, int64_t min_count = 1);

// The windows of `tokens` as llama-perplexity cuts them: n_tokens / n_ctx, bounded by max_chunks (< 0: all).
int64_t perplexity_chunks(int64_t n_tokens, int64_t n_ctx, int64_t max_chunks);

// Runs one window (n_ctx tokens, first replaced by `bos` when bos >= 0) through the model from an empty cache,
// in forward calls of at most n_batch tokens; `logits` receives [n_ctx, n_vocab].
Status eval_window(const Model& model, std::span<const int32_t> window, int32_t bos, KvCache& kv,
                   const PerplexityOptions& options, std::vector<float>& logits);

// `bos`: the BOS id when the vocabulary adds BOS, else -1. Errors: n_ctx < 4 (nothing to score), fewer than
// 2·n_ctx tokens (llama.cpp's requirement, named with both counts), forward errors, save errors.
Result<PerplexityResult> compute_perplexity(const Model& model, std::span<const int32_t> tokens, int32_t bos,
                                            const PerplexityOptions& options, BaseLogitsWriter* save = nullptr);

}  // namespace pocket
