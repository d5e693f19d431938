#include "sample/sampler.h"

#include <cstring>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_map>

namespace pocket {

uint64_t Rng::next() {
  uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

double Rng::uniform() { return static_cast<double>(next() >> 11) * 0x1p-53; }

// Two passes, as one scan with a running index is a loop-carried compare-and-branch per logit (~10 us for 32000
// of them, per token per stream): the maximum over 16 independent lanes (four SIMD vectors), then the
// first index holding it. Same result as the scan `if (l[i] > best) best = l[i]`: a NaN never wins, except at
// index 0 (nothing compares greater than it), and the lowest index wins among equal maxima.
int32_t argmax(std::span<const float> logits) {
  const size_t n = logits.size();
  if (n == 0) return 0;
  // Four 4-float GCC/Clang vectors: lane-wise > and ?: compile to the target's SIMD compares and blends (SSE2,
  // NEON), which plain loops at -O2 do not; four of them keep the compares independent.
  using Lanes = float __attribute__((vector_size(16)));
  constexpr size_t kWidth = sizeof(Lanes) / sizeof(float), kStep = 4 * kWidth;
  Lanes m[4];
  for (Lanes& v : m) {
    for (size_t l = 0; l < kWidth; ++l) v[l] = logits[0];
  }
  size_t i = 0;
  for (; i + kStep <= n; i += kStep) {
    for (size_t k = 0; k < 4; ++k) {
      Lanes x;
      std::memcpy(&x, &logits[i + k * kWidth], sizeof x);
      m[k] = x > m[k] ? x : m[k];
    }
  }
  float best = logits[0];
  for (const Lanes& v : m) {
    for (size_t l = 0; l < kWidth; ++l) best = v[l] > best ? v[l] : best;
  }
  for (; i < n; ++i) best = logits[i] > best ? logits[i] : best;
  for (size_t j = 0; j < n; ++j) {
    if (logits[j] == best) return static_cast<int32_t>(j);
  }
  return 0;  // best is a NaN at index 0
}

std::vector<std::pair<int32_t, float>> top_k(std::span<const float> logits, int k) {
  std::vector<int32_t> ids(logits.size());
  std::iota(ids.begin(), ids.end(), 0);
  const size_t n = std::min(ids.size(), static_cast<size_t>(std::max(k, 0)));
  std::partial_sort(ids.begin(), ids.begin() + n, ids.end(), [&](int32_t a, int32_t b) {
    return logits[a] > logits[b] || (logits[a] == logits[b] && a < b);
  });
  std::vector<std::pair<int32_t, float>> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) out.emplace_back(ids[i], logits[ids[i]]);
  return out;
}

Candidates Candidates::from_logits(std::span<const float> logits) {
  Candidates c;
  c.ids.resize(logits.size());
  std::iota(c.ids.begin(), c.ids.end(), 0);
  c.logits.assign(logits.begin(), logits.end());
  return c;
}

namespace {
// Whether apply_penalties would change anything.
bool has_penalties(std::span<const int32_t> history, const SamplerParams& p) {
  return p.penalty_last_n != 0 && !history.empty() &&
         (p.repeat_penalty != 1.0f || p.presence_penalty != 0.0f || p.frequency_penalty != 0.0f);
}
}  // namespace

void apply_penalties(std::span<float> logits, std::span<const int32_t> history, const SamplerParams& p) {
  if (!has_penalties(history, p)) return;
  size_t window = p.penalty_last_n < 0 ? history.size()
                                       : std::min(history.size(), static_cast<size_t>(p.penalty_last_n));
  std::unordered_map<int32_t, int> counts;
  for (size_t i = history.size() - window; i < history.size(); ++i) ++counts[history[i]];
  for (const auto& [id, count] : counts) {
    if (id < 0 || static_cast<size_t>(id) >= logits.size()) continue;
    float& l = logits[id];
    l = l > 0 ? l / p.repeat_penalty : l * p.repeat_penalty;
    l -= static_cast<float>(count) * p.frequency_penalty + p.presence_penalty;
  }
}

void sort_descending(Candidates& c) {
  std::vector<size_t> order(c.ids.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return c.logits[a] > c.logits[b] || (c.logits[a] == c.logits[b] && c.ids[a] < c.ids[b]);
  });
  Candidates s;
  for (size_t i : order) {
    s.ids.push_back(c.ids[i]);
    s.logits.push_back(c.logits[i]);
    if (!c.probs.empty()) s.probs.push_back(c.probs[i]);
  }
  c = std::move(s);
}

void keep_top_k(Candidates& c, int k) {
  sort_descending(c);
  if (k <= 0 || static_cast<size_t>(k) >= c.ids.size()) return;
  c.ids.resize(k);
  c.logits.resize(k);
  if (!c.probs.empty()) c.probs.resize(k);
}

void softmax(Candidates& c, float temperature) {
  const float t = temperature > 0 ? temperature : 1.0f;
  float max = -INFINITY;
  for (float l : c.logits) max = std::max(max, l / t);
  double sum = 0;
  c.probs.resize(c.logits.size());
  for (size_t i = 0; i < c.logits.size(); ++i) {
    c.probs[i] = std::exp(c.logits[i] / t - max);
    sum += c.probs[i];
  }
  for (auto& p : c.probs) p = static_cast<float>(p / sum);
}

namespace {
void truncate(Candidates& c, size_t n) {
  c.ids.resize(n);
  c.logits.resize(n);
  c.probs.resize(n);
}
}  // namespace

void keep_top_p(Candidates& c, float p) {
  if (p >= 1.0f || c.ids.empty()) return;
  sort_descending(c);
  softmax(c, 1.0f);
  double cum = 0;
  size_t keep = c.ids.size();
  for (size_t i = 0; i < c.ids.size(); ++i) {
    cum += c.probs[i];
    if (cum >= p) {
      keep = i + 1;
      break;
    }
  }
  truncate(c, keep);
}

void keep_min_p(Candidates& c, float p) {
  if (p <= 0.0f || c.ids.empty()) return;
  sort_descending(c);
  softmax(c, 1.0f);
  const float threshold = p * c.probs[0];
  size_t keep = 1;
  while (keep < c.probs.size() && c.probs[keep] >= threshold) ++keep;
  truncate(c, keep);
}

int32_t draw(const Candidates& c, Rng& rng) {
  double total = 0;
  for (float p : c.probs) total += p;
  const double r = rng.uniform() * total;
  double cum = 0;
  for (size_t i = 0; i < c.probs.size(); ++i) {
    cum += c.probs[i];
    if (r < cum) return c.ids[i];
  }
  return c.ids.back();
}

int32_t sample(std::span<const float> logits, std::span<const int32_t> history, const SamplerParams& p, Rng& rng) {
  // Greedy without penalties (the common server case) needs no copy of the n_vocab logits.
  if (p.temperature <= 0.0f && !has_penalties(history, p)) return argmax(logits);
  std::vector<float> adjusted(logits.begin(), logits.end());
  apply_penalties(adjusted, history, p);
  if (p.temperature <= 0.0f) return argmax(adjusted);
  Candidates c = Candidates::from_logits(adjusted);
  keep_top_k(c, p.top_k);
  keep_top_p(c, p.top_p);
  keep_min_p(c, p.min_p);
  softmax(c, p.temperature);
  return draw(c, rng);
}

}  // namespace pocket
