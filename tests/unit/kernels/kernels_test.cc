#include <cmath>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "tensor/dtype.h"

namespace pocket::kernels {
namespace {

TEST(Ops, RmsNorm) {
  const float x[4] = {1, 2, 3, 4};
  const float w[4] = {1, 1, 2, 0.5f};
  float y[4];
  rmsnorm(x, w, 4, 0.0f, y);
  const float r = 1.0f / std::sqrt(30.0f / 4);
  EXPECT_NEAR(y[0], 1 * r, 1e-6);
  EXPECT_NEAR(y[2], 3 * r * 2, 1e-6);
  EXPECT_NEAR(y[3], 4 * r * 0.5f, 1e-6);
}

TEST(Ops, SoftmaxAndLogSumExp) {
  float x[3] = {1, 2, -INFINITY};
  EXPECT_NEAR(log_sum_exp(x, 2), std::log(std::exp(1.0) + std::exp(2.0)), 1e-9);
  softmax(x, 3);
  EXPECT_NEAR(x[0], 1 / (1 + std::exp(1.0)), 1e-6);
  EXPECT_EQ(x[2], 0.0f);
}

TEST(Ops, RopeNormalRotatesAdjacentPairsNeoxRotatesHalves) {
  RopeParams p;
  p.n_rot = 4;
  p.freq_base = 100.0f;
  float cs[4];
  rope_cache(p, 3, cs);
  // pair 0: angle 3; pair 1: angle 3 * 100^(-2/4) = 0.3
  EXPECT_NEAR(cs[0], std::cos(3.0), 1e-6);
  EXPECT_NEAR(cs[3], std::sin(0.3), 1e-6);
  float normal[4] = {1, 0, 1, 0};
  rope_apply(p, cs, normal, 1, 4);
  EXPECT_NEAR(normal[0], std::cos(3.0), 1e-6);
  EXPECT_NEAR(normal[1], std::sin(3.0), 1e-6);
  EXPECT_NEAR(normal[2], std::cos(0.3), 1e-6);
  EXPECT_NEAR(normal[3], std::sin(0.3), 1e-6);
  p.style = RopeStyle::kNeox;
  float neox[4] = {1, 1, 0, 0};  // pairs (x0, x2) and (x1, x3)
  rope_apply(p, cs, neox, 1, 4);
  EXPECT_NEAR(neox[0], std::cos(3.0), 1e-6);
  EXPECT_NEAR(neox[2], std::sin(3.0), 1e-6);
  EXPECT_NEAR(neox[1], std::cos(0.3), 1e-6);
  EXPECT_NEAR(neox[3], std::sin(0.3), 1e-6);
}

TEST(Ops, RopeFrequencyFactorsAndScale) {
  RopeParams p;
  p.n_rot = 4;
  p.freq_base = 100.0f;
  p.freq_scale = 0.5f;
  const float factors[2] = {1.0f, 4.0f};
  p.freq_factors = factors;
  float cs[4];
  rope_cache(p, 2, cs);
  EXPECT_NEAR(cs[0], std::cos(2.0 * 0.5), 1e-6);
  EXPECT_NEAR(cs[2], std::cos(0.2 / 4 * 0.5), 1e-6);
}

TEST(Ops, GeluMatchesTanhApproximationThroughF16) {
  for (float x : {-3.0f, -0.5f, 0.0f, 0.7f, 2.0f}) {
    const double exact = 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
    EXPECT_NEAR(gelu(x), exact, 2e-3 * std::max(1.0, std::fabs(exact))) << x;
  }
  EXPECT_EQ(gelu(-11.0f), 0.0f);
  EXPECT_EQ(gelu(12.0f), 12.0f);
  EXPECT_NEAR(silu(1.0f), 1.0 / (1 + std::exp(-1.0)), 1e-6);
}

// The exact path equals a naive dequantize-then-dot for every quantized type with a reference quantizer or
// dequantizer, on random rows; the fast path stays close (activation rounding only).
TEST(Matmul, ExactPathEqualsNaiveDequantDot) {
  std::mt19937 rng(5);
  std::normal_distribution<float> dist(0.0f, 1.0f);
  const int64_t cols = 512, rows = 5, n_tokens = 3;
  std::vector<float> wf(rows * cols), x(n_tokens * cols);
  for (auto& v : wf) v = dist(rng);
  for (auto& v : x) v = dist(rng);
  for (DType type : {DType::kF32, DType::kF16, DType::kBF16, DType::kQ8_0, DType::kQ4_0, DType::kQ4_1,
                     DType::kQ5_0, DType::kQ5_1}) {
    const DTypeInfo& info = dtype_info(type);
    ASSERT_NE(info.quant, nullptr) << info.name;
    std::vector<uint8_t> packed(rows * row_bytes(info, cols));
    for (int64_t r = 0; r < rows; ++r) info.quant(&wf[r * cols], packed.data() + r * row_bytes(info, cols), cols);
    WeightView w{&info, packed.data(), cols, rows};
    std::vector<float> y(n_tokens * rows), fast(n_tokens * rows), row(cols);
    matmul(w, x.data(), n_tokens, y.data(), MatmulPath::kExact, 2);
    matmul(w, x.data(), n_tokens, fast.data(), MatmulPath::kFast, 1);
    for (int64_t r = 0; r < rows; ++r) {
      dequant_row(w, r, row.data());
      for (int64_t t = 0; t < n_tokens; ++t) {
        double want = 0;
        for (int64_t c = 0; c < cols; ++c) want += static_cast<double>(row[c]) * x[t * cols + c];
        EXPECT_NEAR(y[t * rows + r], want, 1e-3) << info.name;
        // Q8 activations: relative error ~1/127 per value, random signs: well within 0.5 on |dot| ~ 22.
        EXPECT_NEAR(fast[t * rows + r], want, 0.5) << info.name;
      }
    }
  }
}

TEST(Matmul, ActivationTypes) {
  EXPECT_EQ(activation_dtype(dtype_info(DType::kF32)), nullptr);
  EXPECT_EQ(activation_dtype(dtype_info(DType::kQ4_0))->id, DType::kQ8_0);
  EXPECT_EQ(activation_dtype(dtype_info(DType::kQ4_K))->id, DType::kQ8_K);
  EXPECT_EQ(activation_dtype(dtype_info(DType::kBF16))->id, DType::kBF16);
}

}  // namespace
}  // namespace pocket::kernels
