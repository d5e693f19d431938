// KL divergence of a model against a base model's saved log-probabilities, as llama-perplexity's
// --kl-divergence-base FILE [--kl-divergence] does, with the same file (byte layout below, little-endian), so
// files written by pocket are read by llama-perplexity and the other way round:
//
//   "_logits_"                                  8 bytes
//   int32 n_ctx, int32 n_vocab, int32 n_chunk
//   int32 tokens[n_chunk · n_ctx]               the text's tokens, as tokenized (no BOS substitution)
//   per window, per scored position j = n_ctx/2 .. n_ctx−2 (n_ctx − 1 − n_ctx/2 rows), one row of
//   nv = 2·⌈n_vocab/2⌉ + 4 uint16:
//     float scale, float min_log_prob           (the first 4 uint16)
//     uint16 q[n_vocab]                         log p(i) ≈ scale·q[i] + min_log_prob; the log-probabilities are
//                                               clamped below at max − 16 (q = 0), scale = range / 65535
//     (uint16 0 padding when n_vocab is odd)
//
// Each statistic is llama.cpp's: KLD = Σ_i p_base(i)·(log p_base(i) − log p(i)) over ids with log p_base > −16;
// top-1 agreement ("Same top p") compares the argmax of the logits with the argmax of the saved row; Δp is
// p(next token) − p_base(next token).
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "engine/perplexity.h"
#include "model/model.h"

namespace pocket {

// uint16 per saved row for a vocabulary of n_vocab.
int64_t base_row_width(int64_t n_vocab);

// Encodes one position's logits into a saved row (base_row_width(n_vocab) uint16) and returns the NLL of `next`
// computed as llama.cpp does when saving (max + log Σ exp − logit[next], in float).
double encode_log_probs(const float* logits, int64_t n_vocab, int32_t next, uint16_t* row);

class BaseLogitsWriter {
 public:
  // Creates `path` (replacing it) and writes the header and all tokens of the n_chunk windows.
  static Result<std::unique_ptr<BaseLogitsWriter>> create(const std::string& path, int32_t n_ctx, int32_t n_vocab,
                                                          int32_t n_chunk, std::span<const int32_t> tokens);
  ~BaseLogitsWriter();
  // Appends the rows of one window (n_ctx − 1 − n_ctx/2 rows).
  Status write_rows(std::span<const uint16_t> rows);
  // Flushes and closes; an error names the file.
  Status finish();

 private:
  BaseLogitsWriter(std::string path, std::FILE* f) : path_(std::move(path)), f_(f) {}
  std::string path_;
  std::FILE* f_ = nullptr;
};

class BaseLogitsReader {
 public:
  // Opens `path` and checks the magic, the header values and that the size is exactly the header's.
  static Result<std::unique_ptr<BaseLogitsReader>> open(const std::string& path);
  ~BaseLogitsReader();

  int32_t n_ctx() const { return n_ctx_; }
  int32_t n_vocab() const { return n_vocab_; }
  int32_t n_chunk() const { return n_chunk_; }
  const std::vector<int32_t>& tokens() const { return tokens_; }
  const std::string& path() const { return path_; }
  // Reads the next window's rows into `rows` ([n_ctx − 1 − n_ctx/2, base_row_width]).
  Status read_rows(std::vector<uint16_t>& rows);

 private:
  BaseLogitsReader() = default;
  std::string path_;
  std::FILE* f_ = nullptr;
  int32_t n_ctx_ = 0, n_vocab_ = 0, n_chunk_ = 0;
  std::vector<int32_t> tokens_;
};

// Percentiles as llama.cpp prints them (linear interpolation between sorted values).
struct Percentiles {
  double max = 0, p99_9 = 0, p99 = 0, p95 = 0, p90 = 0, p75 = 0, median = 0, p25 = 0, p10 = 0, p5 = 0, p1 = 0,
         p0_1 = 0, min = 0;
};
Percentiles percentiles(std::vector<float> values);

struct KlResult {
  int64_t n_ctx = 0;
  int64_t n_chunks = 0;
  int64_t count = 0;                 // scored positions
  MeanErr ppl;                       // PPL(Q) ± err
  MeanErr ppl_base;                  // PPL(base) ± err from the saved rows
  double log_ppl_correlation = 0;    // Cor(ln PPL(Q), ln PPL(base))
  MeanErr log_ppl_ratio;             // mean ln(PPL(Q)/PPL(base)) ± err
  MeanErr ppl_ratio;                 // PPL(Q)/PPL(base) ± err
  MeanErr ppl_diff;                  // PPL(Q) − PPL(base) ± err
  MeanErr kld;                       // mean KLD ± err (nats)
  Percentiles kld_pct;
  MeanErr delta_p;                   // mean Δp ± err (fraction, not %)
  Percentiles delta_p_pct;
  MeanErr delta_p_rms;               // RMS Δp ± err
  MeanErr same_top;                  // top-1 agreement ± err (fraction)
};

// Evaluates the windows of `base` (its tokens, its n_ctx; at most max_chunks of them when options.max_chunks >=
// 0) with `model` and compares them with the saved rows. `bos` as for compute_perplexity. options.n_ctx is
// ignored (the file's n_ctx is used). Errors: vocabulary size differs from the file's, token ids out of range,
// truncated file, forward errors.
Result<KlResult> compute_kl_divergence(const Model& model, BaseLogitsReader& base, int32_t bos,
                                       const PerplexityOptions& options);

}  // namespace pocket
