// Sampling as pure functions over a logits span (llama.cpp's default chain order):
//   penalties (repetition / presence / frequency over the last penalty_last_n tokens)
//   -> top-k -> top-p -> min-p -> temperature -> draw with a seeded RNG.
// temperature <= 0 means greedy: the argmax after penalties. Everything is deterministic given the seed.
#pragma once

#include <cstdint>
#include <span>
#include <utility>
#include <vector>

namespace pocket {

struct SamplerParams {
  float temperature = 0.8f;      // <= 0: greedy
  int top_k = 40;                // <= 0: off
  float top_p = 0.95f;           // >= 1: off
  float min_p = 0.05f;           // <= 0: off
  float repeat_penalty = 1.0f;   // 1: off. Logits of seen tokens: positive / penalty, negative * penalty
  float presence_penalty = 0.0f; // subtracted once from every seen token's logit
  float frequency_penalty = 0.0f;// subtracted per occurrence
  int penalty_last_n = 64;       // window of recent tokens the penalties look at (0: off, -1: all)
  uint64_t seed = 0;
};

// splitmix64: tiny, fast, and the same sequence on every platform and standard library.
class Rng {
 public:
  explicit Rng(uint64_t seed) : state_(seed) {}
  uint64_t next();
  double uniform();  // [0, 1) with 53 random bits

 private:
  uint64_t state_;
};

// The index of the largest logit (the lowest index among equal maxima).
int32_t argmax(std::span<const float> logits);
// The k largest (id, logit) pairs, largest first, ties by lower id.
std::vector<std::pair<int32_t, float>> top_k(std::span<const float> logits, int k);

// A candidate set: ids with logits, and probabilities once softmax() has run.
struct Candidates {
  std::vector<int32_t> ids;
  std::vector<float> logits;
  std::vector<float> probs;
  static Candidates from_logits(std::span<const float> logits);
};

// Each step below is a pure function of its inputs (candidates are modified in place).
void apply_penalties(std::span<float> logits, std::span<const int32_t> history, const SamplerParams& p);
void sort_descending(Candidates& c);          // by logit, ties by lower id
void keep_top_k(Candidates& c, int k);        // sorts; keeps the k best
void softmax(Candidates& c, float temperature);  // probs = softmax(logits / temperature)
void keep_top_p(Candidates& c, float p);      // smallest prefix with cumulative probability >= p (>= 1 kept)
void keep_min_p(Candidates& c, float p);      // keeps probs >= p * max prob
int32_t draw(const Candidates& c, Rng& rng);  // from c.probs (renormalized)

// The whole chain. `history` is every token so far (prompt included); the penalties use its tail.
int32_t sample(std::span<const float> logits, std::span<const int32_t> history, const SamplerParams& p, Rng& rng);

}  // namespace pocket
