// llama-perplexity's base-logits file and KL-divergence statistics (kl_divergence.h).
#include "engine/kl_divergence.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <filesystem>

namespace pocket {
namespace {

constexpr char kMagic[8] = {'_', 'l', 'o', 'g', 'i', 't', 's', '_'};
constexpr float kLogProbFloor = 16.0f;  // saved rows keep log-probabilities within 16 nats of the maximum

// Round to nearest, ties to even (llama.cpp's nearest_int; values here are in [0, 65535]).
int nearest_int(float v) { return static_cast<int>(std::nearbyint(v)); }

// Running sums over scored positions (llama.cpp's kl_divergence_result).
struct KlSums {
  double nll = 0, nll2 = 0, nll_base = 0, nll_base2 = 0, nll_nll_base = 0;
  double kld = 0, kld2 = 0, p_diff = 0, p_diff2 = 0, p_diff4 = 0;
  int64_t same_top = 0, count = 0;
};

// One position: logits [n_vocab] against a saved row; returns {KLD, Δp}.
std::pair<double, float> compare_row(const float* logits, int64_t n_vocab, const uint16_t* row, int32_t next,
                                     KlSums& s) {
  float max_logit = logits[0];
  int64_t imax = 0;
  for (int64_t i = 1; i < n_vocab; ++i) {
    if (logits[i] > max_logit) {
      max_logit = logits[i];
      imax = i;
    }
  }
  double sum_exp = 0.0;
  for (int64_t i = 0; i < n_vocab; ++i) sum_exp += std::exp(logits[i] - max_logit);
  const float log_sum_exp = static_cast<float>(std::log(sum_exp));
  float scale, min_log_prob;
  std::memcpy(&scale, row, sizeof(float));
  std::memcpy(&min_log_prob, row + 2, sizeof(float));
  const uint16_t* q = row + 4;

  const float nll = max_logit + log_sum_exp - logits[next];
  s.nll += nll;
  s.nll2 += static_cast<double>(nll) * nll;
  const float nll_base = -(scale * q[next] + min_log_prob);
  s.nll_base += nll_base;
  s.nll_base2 += static_cast<double>(nll_base) * nll_base;
  s.nll_nll_base += static_cast<double>(nll) * nll_base;

  const float log_norm = max_logit + log_sum_exp;  // log p(i) = logit(i) − log_norm
  double kld = 0;
  int64_t imax_base = 0;
  float best_base = 0;
  for (int64_t i = 0; i < n_vocab; ++i) {
    const float log_p_base = scale * q[i] + min_log_prob;
    if (i == 0 || log_p_base > best_base) {
      best_base = log_p_base;
      imax_base = i;
    }
    if (log_p_base > -kLogProbFloor) kld += std::exp(log_p_base) * (log_p_base - logits[i] + log_norm);
  }
  s.kld += kld;
  s.kld2 += kld * kld;
  ++s.count;
  if (imax == imax_base) ++s.same_top;

  const float p_diff = std::exp(-nll) - std::exp(-nll_base);
  const double p_diff2 = static_cast<double>(p_diff) * p_diff;
  s.p_diff += p_diff;
  s.p_diff2 += p_diff2;
  s.p_diff4 += p_diff2 * p_diff2;
  return {kld, p_diff};
}

double covariance(double sum_a, double sum_b, double sum_ab, int64_t count) {
  if (count < 10) return 0.0;
  const auto n = static_cast<double>(count);
  return (sum_ab / n - (sum_a / n) * (sum_b / n)) / (n - 1);
}

// llama.cpp's final statistics from the sums.
KlResult summarize(const KlSums& s, std::vector<float> kld_values, std::vector<float> p_diff_values) {
  KlResult r;
  r.count = s.count;
  const MeanErr log_ppl = mean_and_uncertainty(s.nll, s.nll2, s.count, 10);
  const MeanErr log_ppl_base = mean_and_uncertainty(s.nll_base, s.nll_base2, s.count, 10);
  r.ppl = {std::exp(log_ppl.mean), std::exp(log_ppl.mean) * log_ppl.err};
  r.ppl_base = {std::exp(log_ppl_base.mean), std::exp(log_ppl_base.mean) * log_ppl_base.err};
  const double cov = covariance(s.nll, s.nll_base, s.nll_nll_base, s.count);
  const double denom = log_ppl.err * log_ppl_base.err;
  r.log_ppl_correlation = denom > 0 ? cov / denom : 0.0;
  const double ratio_err = std::sqrt(std::max(0.0, log_ppl.err * log_ppl.err +
                                                       log_ppl_base.err * log_ppl_base.err - 2.0 * cov));
  r.log_ppl_ratio = {log_ppl.mean - log_ppl_base.mean, ratio_err};
  r.ppl_ratio = {std::exp(r.log_ppl_ratio.mean), std::exp(r.log_ppl_ratio.mean) * ratio_err};
  const double ppl_cov = r.ppl.mean * r.ppl_base.mean * cov;
  r.ppl_diff = {r.ppl.mean - r.ppl_base.mean,
                std::sqrt(std::max(0.0, r.ppl.err * r.ppl.err + r.ppl_base.err * r.ppl_base.err - 2.0 * ppl_cov))};
  r.kld = mean_and_uncertainty(s.kld, s.kld2, s.count, 10);
  r.kld_pct = percentiles(std::move(kld_values));
  r.delta_p = mean_and_uncertainty(s.p_diff, s.p_diff2, s.count, 10);
  r.delta_p_pct = percentiles(std::move(p_diff_values));
  const MeanErr mse = mean_and_uncertainty(s.p_diff2, s.p_diff4, s.count, 10);
  const double rms = std::sqrt(std::max(0.0, mse.mean));
  r.delta_p_rms = {rms, rms > 0 ? 0.5 / rms * mse.err : 0.0};
  const double top = s.count > 0 ? static_cast<double>(s.same_top) / static_cast<double>(s.count) : 0.0;
  r.same_top = {top, s.count > 1 ? std::sqrt(top * (1 - top) / static_cast<double>(s.count - 1)) : 0.0};
  return r;
}

}  // namespace

int64_t base_row_width(int64_t n_vocab) { return 2 * ((n_vocab + 1) / 2) + 4; }

double encode_log_probs(const float* logits, int64_t n_vocab, int32_t next, uint16_t* row) {
  float max_logit = logits[0];
  float min_logit = logits[0];
  for (int64_t i = 1; i < n_vocab; ++i) {
    max_logit = std::max(max_logit, logits[i]);
    min_logit = std::min(min_logit, logits[i]);
  }
  min_logit = std::max(min_logit, max_logit - kLogProbFloor);
  double sum_exp = 0.0;
  for (int64_t i = 0; i < n_vocab; ++i) sum_exp += std::exp(logits[i] - max_logit);
  const auto log_sum_exp = static_cast<float>(std::log(sum_exp));
  const float min_log_prob = min_logit - max_logit - log_sum_exp;
  const float scale = (max_logit - min_logit) / 65535.f;
  std::memcpy(row, &scale, sizeof(float));
  std::memcpy(row + 2, &min_log_prob, sizeof(float));
  uint16_t* q = row + 4;
  const int64_t nv = base_row_width(n_vocab);
  std::fill(q, row + nv, uint16_t{0});
  if (scale != 0.0f) {
    const float inv_scale = 1.0f / scale;
    for (int64_t i = 0; i < n_vocab; ++i) {
      q[i] = logits[i] > min_logit ? static_cast<uint16_t>(nearest_int(inv_scale * (logits[i] - min_logit))) : 0;
    }
  }
  return static_cast<double>(max_logit + log_sum_exp - logits[next]);
}

// --- writer ---------------------------------------------------------------------------------------------------

Result<std::unique_ptr<BaseLogitsWriter>> BaseLogitsWriter::create(const std::string& path, int32_t n_ctx,
                                                                   int32_t n_vocab, int32_t n_chunk,
                                                                   std::span<const int32_t> tokens) {
  if (static_cast<int64_t>(tokens.size()) < static_cast<int64_t>(n_ctx) * n_chunk) {
    return bad_input("--kl-divergence-base: {} tokens, fewer than {} windows of {}", tokens.size(), n_chunk, n_ctx);
  }
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return failure("--kl-divergence-base: cannot create '{}': {}", path, std::strerror(errno));
  std::unique_ptr<BaseLogitsWriter> w(new BaseLogitsWriter(path, f));
  const int32_t header[3] = {n_ctx, n_vocab, n_chunk};
  const size_t n_tok = static_cast<size_t>(n_ctx) * static_cast<size_t>(n_chunk);
  if (std::fwrite(kMagic, 1, sizeof(kMagic), f) != sizeof(kMagic) || std::fwrite(header, sizeof(int32_t), 3, f) != 3 ||
      std::fwrite(tokens.data(), sizeof(int32_t), n_tok, f) != n_tok) {
    return failure("--kl-divergence-base: cannot write '{}': {}", path, std::strerror(errno));
  }
  return w;
}

BaseLogitsWriter::~BaseLogitsWriter() {
  if (f_ != nullptr) std::fclose(f_);
}

Status BaseLogitsWriter::write_rows(std::span<const uint16_t> rows) {
  if (f_ == nullptr || std::fwrite(rows.data(), sizeof(uint16_t), rows.size(), f_) != rows.size()) {
    return failure("--kl-divergence-base: cannot write '{}': {}", path_, std::strerror(errno));
  }
  return ok_status();
}

Status BaseLogitsWriter::finish() {
  std::FILE* f = f_;
  f_ = nullptr;
  if (f == nullptr) return ok_status();
  const bool flushed = std::fflush(f) == 0;
  if (std::fclose(f) != 0 || !flushed) {
    return failure("--kl-divergence-base: cannot write '{}': {}", path_, std::strerror(errno));
  }
  return ok_status();
}

// --- reader ---------------------------------------------------------------------------------------------------

Result<std::unique_ptr<BaseLogitsReader>> BaseLogitsReader::open(const std::string& path) {
  std::error_code ec;
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return bad_input("--kl-divergence-base: cannot read '{}': {}", path, ec.message());
  std::unique_ptr<BaseLogitsReader> r(new BaseLogitsReader());
  r->path_ = path;
  r->f_ = std::fopen(path.c_str(), "rb");
  if (r->f_ == nullptr) return bad_input("--kl-divergence-base: cannot open '{}': {}", path, std::strerror(errno));
  char magic[8];
  int32_t header[3];
  if (std::fread(magic, 1, 8, r->f_) != 8 || std::memcmp(magic, kMagic, 8) != 0) {
    return bad_input("--kl-divergence-base: '{}' is not a base logits file (expected the magic \"_logits_\")", path);
  }
  if (std::fread(header, sizeof(int32_t), 3, r->f_) != 3) {
    return bad_input("--kl-divergence-base: '{}' is truncated in its header", path);
  }
  r->n_ctx_ = header[0];
  r->n_vocab_ = header[1];
  r->n_chunk_ = header[2];
  if (r->n_ctx_ < 4 || r->n_ctx_ > (1 << 24) || r->n_vocab_ < 1 || r->n_vocab_ > (1 << 24) || r->n_chunk_ < 1 ||
      r->n_chunk_ > (1 << 24)) {
    return bad_input("--kl-divergence-base: '{}' has an invalid header: n_ctx {}, n_vocab {}, n_chunk {}", path,
                     r->n_ctx_, r->n_vocab_, r->n_chunk_);
  }
  const uint64_t n_tok = static_cast<uint64_t>(r->n_ctx_) * static_cast<uint64_t>(r->n_chunk_);
  const uint64_t n_rows = static_cast<uint64_t>(r->n_ctx_ - 1 - r->n_ctx_ / 2);
  const uint64_t expected = 8 + 12 + 4 * n_tok +
                            2 * n_rows * static_cast<uint64_t>(base_row_width(r->n_vocab_)) * r->n_chunk_;
  if (size != expected) {
    return bad_input("--kl-divergence-base: '{}' is {} bytes; its header (n_ctx {}, n_vocab {}, n_chunk {}) "
                     "means {} bytes", path, size, r->n_ctx_, r->n_vocab_, r->n_chunk_, expected);
  }
  r->tokens_.resize(n_tok);
  if (std::fread(r->tokens_.data(), sizeof(int32_t), n_tok, r->f_) != n_tok) {
    return bad_input("--kl-divergence-base: '{}' is truncated in its tokens", path);
  }
  for (size_t i = 0; i < r->tokens_.size(); ++i) {
    if (r->tokens_[i] < 0 || r->tokens_[i] >= r->n_vocab_) {
      return bad_input("--kl-divergence-base: '{}': token {} at position {} is outside the vocabulary of {}", path,
                       r->tokens_[i], i, r->n_vocab_);
    }
  }
  return r;
}

BaseLogitsReader::~BaseLogitsReader() {
  if (f_ != nullptr) std::fclose(f_);
}

Status BaseLogitsReader::read_rows(std::vector<uint16_t>& rows) {
  const size_t n = static_cast<size_t>(n_ctx_ - 1 - n_ctx_ / 2) * static_cast<size_t>(base_row_width(n_vocab_));
  rows.resize(n);
  if (std::fread(rows.data(), sizeof(uint16_t), n, f_) != n) {
    return bad_input("--kl-divergence-base: '{}' is truncated in its log-probabilities", path_);
  }
  return ok_status();
}

// --- statistics -----------------------------------------------------------------------------------------------

Percentiles percentiles(std::vector<float> v) {
  Percentiles p;
  if (v.empty()) return p;
  std::sort(v.begin(), v.end());
  auto at = [&v](double fraction) {
    if (fraction <= 0) return static_cast<double>(v.front());
    if (fraction >= 1) return static_cast<double>(v.back());
    float pos = static_cast<float>(fraction) * static_cast<float>(v.size() - 1);
    const auto ip = static_cast<size_t>(pos);
    pos -= static_cast<float>(ip);
    return static_cast<double>((1 - pos) * v[ip] + pos * v[std::min(ip + 1, v.size() - 1)]);
  };
  const size_t n = v.size();
  p.median = n % 2 == 0 ? 0.5f * (v[n / 2] + v[n / 2 - 1]) : v[n / 2];
  p.max = v.back();
  p.min = v.front();
  p.p99_9 = at(0.999);
  p.p99 = at(0.99);
  p.p95 = at(0.95);
  p.p90 = at(0.90);
  p.p75 = at(0.75);
  p.p25 = at(0.25);
  p.p10 = at(0.10);
  p.p5 = at(0.05);
  p.p1 = at(0.01);
  p.p0_1 = at(0.001);
  return p;
}

Result<KlResult> compute_kl_divergence(const Model& model, BaseLogitsReader& base, int32_t bos,
                                       const PerplexityOptions& options) {
  if (base.n_vocab() != model.n_vocab()) {
    return bad_input("--kl-divergence-base: '{}' was computed with a vocabulary of {} tokens, this model has {}",
                     base.path(), base.n_vocab(), model.n_vocab());
  }
  const int64_t n_ctx = base.n_ctx();
  const int64_t n_chunk = options.max_chunks < 0 ? base.n_chunk() : std::min<int64_t>(base.n_chunk(),
                                                                                         options.max_chunks);
  if (n_chunk < 1) return bad_input("--chunks: {} leaves no window to evaluate", options.max_chunks);
  const int64_t n_vocab = model.n_vocab();
  const int64_t first = n_ctx / 2;
  const int64_t n_rows = n_ctx - 1 - first;
  const int64_t nv = base_row_width(n_vocab);
  KvCache kv = model.make_cache(n_ctx, options.kv_type);
  std::vector<float> logits;
  std::vector<uint16_t> rows;
  std::vector<float> kld_values, p_diff_values;
  kld_values.reserve(static_cast<size_t>(n_rows * n_chunk));
  p_diff_values.reserve(static_cast<size_t>(n_rows * n_chunk));
  KlSums sums;
  const std::span<const int32_t> tokens(base.tokens());
  for (int64_t c = 0; c < n_chunk; ++c) {
    const auto t0 = std::chrono::steady_clock::now();
    POCKET_RETURN_IF_ERROR(base.read_rows(rows));
    const auto window = tokens.subspan(static_cast<size_t>(c * n_ctx), static_cast<size_t>(n_ctx));
    POCKET_RETURN_IF_ERROR(eval_window(model, window, bos, kv, options, logits));
    for (int64_t r = 0; r < n_rows; ++r) {
      const int64_t j = first + r;
      const auto [kld, p_diff] = compare_row(logits.data() + j * n_vocab, n_vocab, rows.data() + r * nv,
                                             window[j + 1], sums);
      kld_values.push_back(static_cast<float>(kld));
      p_diff_values.push_back(p_diff);
    }
    if (options.progress) {
      options.progress({c + 1, n_chunk, std::exp(sums.nll / static_cast<double>(sums.count)),
                        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count()});
    }
  }
  KlResult result = summarize(sums, std::move(kld_values), std::move(p_diff_values));
  result.n_ctx = n_ctx;
  result.n_chunks = n_chunk;
  return result;
}

}  // namespace pocket
