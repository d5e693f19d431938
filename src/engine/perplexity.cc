// llama-perplexity's chunked perplexity (perplexity.h).
#include "engine/perplexity.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "engine/kl_divergence.h"

namespace pocket {
namespace {

using Clock = std::chrono::steady_clock;

// -log p(next) from one row of logits, as llama.cpp's perplexity scoring: float max, double Σ expf(l − max),
// logit − max − log Σ in double.
double token_nll(const float* logits, int64_t n_vocab, int32_t next) {
  float max_logit = logits[0];
  for (int64_t i = 1; i < n_vocab; ++i) max_logit = std::max(max_logit, logits[i]);
  double sum_exp = 0.0;
  for (int64_t i = 0; i < n_vocab; ++i) sum_exp += std::exp(logits[i] - max_logit);
  return -(static_cast<double>(logits[next] - max_logit) - std::log(sum_exp));
}

}  // namespace

MeanErr mean_and_uncertainty(double sum, double sum2, int64_t count, int64_t min_count) {
  if (count < 1) return {};
  const double mean = sum / static_cast<double>(count);
  double var = sum2 / static_cast<double>(count) - mean * mean;
  const double err = var > 0 && count > min_count ? std::sqrt(var / static_cast<double>(count - 1)) : 0.0;
  return {mean, err};
}

int64_t perplexity_chunks(int64_t n_tokens, int64_t n_ctx, int64_t max_chunks) {
  if (n_ctx <= 0) return 0;
  const int64_t n = n_tokens / n_ctx;
  return max_chunks < 0 ? n : std::min(n, max_chunks);
}

Status eval_window(const Model& model, std::span<const int32_t> window, int32_t bos, KvCache& kv,
                   const PerplexityOptions& options, std::vector<float>& logits) {
  const int64_t n_ctx = static_cast<int64_t>(window.size());
  const int64_t n_vocab = model.n_vocab();
  const int64_t n_batch = std::max<int64_t>(1, std::min(options.n_batch, n_ctx));
  std::vector<int32_t> ids(window.begin(), window.end());
  if (bos >= 0 && !ids.empty()) ids[0] = bos;
  kv.clear();
  ForwardOptions fo;
  fo.path = options.path;
  fo.n_threads = std::max(1, options.n_threads);
  fo.all_logits = true;
  logits.resize(static_cast<size_t>(n_ctx * n_vocab));
  std::vector<float> part;
  for (int64_t b = 0; b < n_ctx; b += n_batch) {
    const int64_t n = std::min(n_batch, n_ctx - b);
    POCKET_RETURN_IF_ERROR(model.forward(std::span<const int32_t>(ids).subspan(b, n), kv, fo, part));
    std::copy(part.begin(), part.begin() + n * n_vocab, logits.begin() + b * n_vocab);
  }
  return ok_status();
}

Result<PerplexityResult> compute_perplexity(const Model& model, std::span<const int32_t> tokens, int32_t bos,
                                            const PerplexityOptions& options, BaseLogitsWriter* save) {
  const int64_t n_ctx = options.n_ctx;
  const auto n_tokens = static_cast<int64_t>(tokens.size());
  if (n_ctx < 4) return bad_input("-c: a context of {} tokens leaves nothing to score (need at least 4)", n_ctx);
  if (n_tokens < 2 * n_ctx) {
    return bad_input("-f: the text tokenizes to {} tokens; perplexity with a context of {} needs at least {} "
                     "(2 x the context)", n_tokens, n_ctx, 2 * n_ctx);
  }
  const int64_t n_vocab = model.n_vocab();
  for (int64_t i = 0; i < n_tokens; ++i) {
    if (tokens[i] < 0 || tokens[i] >= n_vocab) {
      return bad_input("token {} at position {} is out of range for the vocabulary of {}", tokens[i], i, n_vocab);
    }
  }
  const int64_t n_chunk = perplexity_chunks(n_tokens, n_ctx, options.max_chunks);
  if (n_chunk < 1) return bad_input("--chunks: {} leaves no window to evaluate", options.max_chunks);
  const int64_t first = n_ctx / 2;
  const int64_t n_rows = n_ctx - 1 - first;
  const int64_t nv = base_row_width(n_vocab);

  KvCache kv = model.make_cache(n_ctx, options.kv_type);
  std::vector<float> logits;
  std::vector<uint16_t> rows(save ? static_cast<size_t>(n_rows * nv) : 0);
  double nll = 0, nll2 = 0;
  int64_t count = 0;
  for (int64_t c = 0; c < n_chunk; ++c) {
    const auto t0 = Clock::now();
    const auto window = tokens.subspan(static_cast<size_t>(c * n_ctx), static_cast<size_t>(n_ctx));
    POCKET_RETURN_IF_ERROR(eval_window(model, window, bos, kv, options, logits));
    for (int64_t r = 0; r < n_rows; ++r) {
      const int64_t j = first + r;
      const float* row = logits.data() + j * n_vocab;
      // The saved file's NLL is llama.cpp's float one; without a file, its double one.
      const double v = save ? encode_log_probs(row, n_vocab, window[j + 1], rows.data() + r * nv)
                            : token_nll(row, n_vocab, window[j + 1]);
      nll += v;
      nll2 += v * v;
    }
    count += n_rows;
    if (save) POCKET_RETURN_IF_ERROR(save->write_rows(rows));
    if (options.progress) {
      options.progress({c + 1, n_chunk, std::exp(nll / static_cast<double>(count)),
                        std::chrono::duration<double>(Clock::now() - t0).count()});
    }
  }
  PerplexityResult result;
  result.n_tokens = n_tokens;
  result.n_ctx = n_ctx;
  result.n_chunks = n_chunk;
  result.n_scored = count;
  const MeanErr m = mean_and_uncertainty(nll, nll2, count);
  result.mean_nll = m.mean;
  result.ppl = std::exp(m.mean);
  result.ppl_stderr = m.err * result.ppl;
  if (save) POCKET_RETURN_IF_ERROR(save->finish());
  return result;
}

}  // namespace pocket
