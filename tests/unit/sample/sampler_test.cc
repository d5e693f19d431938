#include <algorithm>
#include <cmath>
#include <map>
#include <vector>

#include <gtest/gtest.h>

#include "sample/sampler.h"

namespace pocket {
namespace {

// Logits whose softmax is exactly `probs` (log of each probability).
std::vector<float> logits_of(const std::vector<double>& probs) {
  std::vector<float> l;
  for (double p : probs) l.push_back(static_cast<float>(std::log(p)));
  return l;
}

TEST(Sampler, ArgmaxTakesTheLowestIdAmongTies) {
  const std::vector<float> l = {0.5f, 2.0f, -1.0f, 2.0f};
  EXPECT_EQ(argmax(l), 1);
}

// The two-pass argmax against the one-pass scan it replaced, on vocab-sized rows with ties, NaNs, infinities and
// signed zeros at lane and tail positions.
TEST(Sampler, ArgmaxMatchesAScanOnLongRows) {
  auto scan = [](const std::vector<float>& l) {
    int32_t best = 0;
    for (size_t i = 1; i < l.size(); ++i) {
      if (l[i] > l[static_cast<size_t>(best)]) best = static_cast<int32_t>(i);
    }
    return best;
  };
  const float nan = std::nanf(""), inf = INFINITY;
  for (size_t n : {1u, 15u, 16u, 17u, 32000u, 32003u}) {
    std::vector<float> l(n);
    for (size_t i = 0; i < n; ++i) l[i] = std::sin(static_cast<float>(i) * 0.37f);
    EXPECT_EQ(argmax(l), scan(l)) << n;
    l[n - 1] = 5.0f;  // the maximum in the tail
    EXPECT_EQ(argmax(l), scan(l)) << n;
    l[n / 2] = 5.0f;  // a tie before it
    EXPECT_EQ(argmax(l), scan(l)) << n;
    l[n / 3] = nan;
    EXPECT_EQ(argmax(l), scan(l)) << n;
    l[0] = nan;  // nothing compares greater than a NaN at index 0
    EXPECT_EQ(argmax(l), 0) << n;
    std::fill(l.begin(), l.end(), -inf);
    EXPECT_EQ(argmax(l), 0) << n;
    l[n - 1] = 0.0f, l[n / 2] = -0.0f;  // equal zeros: the first one
    EXPECT_EQ(argmax(l), scan(l)) << n;
    l[n - 1] = inf;
    EXPECT_EQ(argmax(l), static_cast<int32_t>(n - 1)) << n;
  }
}

TEST(Sampler, TopKOrdersByLogitThenId) {
  const std::vector<float> l = {0.5f, 2.0f, -1.0f, 2.0f, 1.0f};
  auto top = top_k(l, 3);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(top[0].first, 1);
  EXPECT_EQ(top[1].first, 3);
  EXPECT_EQ(top[2].first, 4);
  EXPECT_EQ(top_k(l, 10).size(), 5u);
}

TEST(Sampler, SoftmaxWithTemperature) {
  // logits {1, 2, 3} at T = 2: exp(0.5), exp(1), exp(1.5) normalized.
  Candidates c = Candidates::from_logits(std::vector<float>{1, 2, 3});
  softmax(c, 2.0f);
  const double z = std::exp(0.5) + std::exp(1.0) + std::exp(1.5);
  EXPECT_NEAR(c.probs[0], std::exp(0.5) / z, 1e-6);
  EXPECT_NEAR(c.probs[1], std::exp(1.0) / z, 1e-6);
  EXPECT_NEAR(c.probs[2], std::exp(1.5) / z, 1e-6);
}

TEST(Sampler, TopKKeepsTheBest) {
  Candidates c = Candidates::from_logits(std::vector<float>{0.1f, 3.0f, 2.0f, -1.0f});
  keep_top_k(c, 2);
  ASSERT_EQ(c.ids.size(), 2u);
  EXPECT_EQ(c.ids[0], 1);
  EXPECT_EQ(c.ids[1], 2);
}

TEST(Sampler, TopPKeepsTheSmallestPrefixReachingP) {
  // probabilities 0.5, 0.3, 0.15, 0.05
  Candidates c = Candidates::from_logits(logits_of({0.15, 0.5, 0.05, 0.3}));
  keep_top_p(c, 0.75f);  // 0.5 + 0.3 = 0.8 >= 0.75
  ASSERT_EQ(c.ids.size(), 2u);
  EXPECT_EQ(c.ids[0], 1);
  EXPECT_EQ(c.ids[1], 3);
  Candidates d = Candidates::from_logits(logits_of({0.15, 0.5, 0.05, 0.3}));
  keep_top_p(d, 0.4f);  // the top token alone reaches 0.4
  EXPECT_EQ(d.ids.size(), 1u);
  Candidates e = Candidates::from_logits(logits_of({0.15, 0.5, 0.05, 0.3}));
  keep_top_p(e, 1.0f);  // off
  EXPECT_EQ(e.ids.size(), 4u);
}

TEST(Sampler, MinPKeepsTokensAboveAFractionOfTheBest) {
  Candidates c = Candidates::from_logits(logits_of({0.15, 0.5, 0.05, 0.3}));
  keep_min_p(c, 0.25f);  // threshold 0.125: keeps 0.5, 0.3, 0.15 (not 0.05)
  ASSERT_EQ(c.ids.size(), 3u);
  EXPECT_EQ(c.ids[2], 0);
}

TEST(Sampler, RepetitionPresenceFrequencyPenalties) {
  std::vector<float> l = {2.0f, -2.0f, 1.0f, 4.0f};
  SamplerParams p;
  p.repeat_penalty = 2.0f;
  p.presence_penalty = 0.5f;
  p.frequency_penalty = 0.25f;
  p.penalty_last_n = 3;
  const std::vector<int32_t> history = {3, 0, 1, 1};  // window of 3: {0, 1, 1}; token 3 is outside it
  apply_penalties(l, history, p);
  EXPECT_FLOAT_EQ(l[0], 2.0f / 2 - 0.25f * 1 - 0.5f);   // seen once
  EXPECT_FLOAT_EQ(l[1], -2.0f * 2 - 0.25f * 2 - 0.5f);  // seen twice, negative logit multiplied
  EXPECT_FLOAT_EQ(l[2], 1.0f);                          // unseen
  EXPECT_FLOAT_EQ(l[3], 4.0f);                          // outside the window
}

TEST(Sampler, TemperatureZeroIsGreedyAfterPenalties) {
  const std::vector<float> l = {1.0f, 3.0f, 2.5f};
  SamplerParams p;
  p.temperature = 0;
  Rng rng(1);
  EXPECT_EQ(sample(l, {}, p, rng), 1);
  p.repeat_penalty = 2.0f;
  const std::vector<int32_t> history = {1};
  EXPECT_EQ(sample(l, history, p, rng), 2);  // 3 / 2 = 1.5 < 2.5
}

TEST(Sampler, SeededSamplingIsReproducible) {
  const std::vector<float> l = logits_of({0.1, 0.2, 0.3, 0.4});
  SamplerParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  Rng a(1234), b(1234), c(99);
  std::vector<int32_t> sa, sb, sc;
  for (int i = 0; i < 50; ++i) {
    sa.push_back(sample(l, {}, p, a));
    sb.push_back(sample(l, {}, p, b));
    sc.push_back(sample(l, {}, p, c));
  }
  EXPECT_EQ(sa, sb);
  EXPECT_NE(sa, sc);
}

TEST(Sampler, DrawFrequenciesFollowTheDistribution) {
  const std::vector<double> probs = {0.1, 0.2, 0.3, 0.4};
  const std::vector<float> l = logits_of(probs);
  SamplerParams p;
  p.temperature = 1.0f;
  p.top_k = 0;
  p.top_p = 1.0f;
  p.min_p = 0.0f;
  Rng rng(7);
  std::map<int32_t, int> counts;
  constexpr int kDraws = 20000;
  for (int i = 0; i < kDraws; ++i) ++counts[sample(l, {}, p, rng)];
  for (int id = 0; id < 4; ++id) {
    // Binomial standard deviation at p <= 0.4 and 20000 draws is <= 0.0035: allow ~4 sigma.
    EXPECT_NEAR(counts[id] / static_cast<double>(kDraws), probs[id], 0.015) << "id " << id;
  }
}

TEST(Sampler, TopKOneIsGreedyAtAnyTemperature) {
  const std::vector<float> l = {1.0f, 3.0f, 2.5f};
  SamplerParams p;
  p.temperature = 5.0f;
  p.top_k = 1;
  Rng rng(3);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(sample(l, {}, p, rng), 1);
}

}  // namespace
}  // namespace pocket
