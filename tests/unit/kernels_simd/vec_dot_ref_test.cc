// The scalar reference vec_dot kernels against an independent evaluation (dequantize both sides, dot in double),
// hand-computed cases, and the activation quantizers.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kernel_test_util.h"
#include "kernels/vec_dot.h"
#include "tensor/blocks.h"
#include "tensor/half.h"

namespace pocket::kernels {
namespace {

using testing::activation_values;
using testing::kAllKernelTypes;
using testing::pair_bound;
using testing::random_floats;
using testing::random_weight_row;
using testing::Scales;

TEST(VecDotRef, EveryTypeMatchesDequantizedDoubleDot) {
  std::mt19937 rng(1234);
  int checked = 0;
  for (DType t : kAllKernelTypes) {
    const DTypeInfo& info = dtype_info(t);
    const DType act = vec_dot_dtype(t)->id;
    const VecDotFn dot = ref_vec_dot(t);
    ASSERT_NE(dot, nullptr) << info.name;
    for (int64_t blocks : {1, 2, 3, 8}) {
      const int64_t n = blocks * (info.block_elems == 1 ? 32 : info.block_elems);
      for (Scales s : {Scales::kRandom, Scales::kNegative, Scales::kZero}) {
        std::vector<uint8_t> w(static_cast<size_t>(row_bytes(info, n)));
        random_weight_row(t, n, rng, s, w.data());
        const auto x = random_floats(n, rng, 1.0f);
        std::vector<uint8_t> a(static_cast<size_t>(row_bytes(*vec_dot_dtype(t), n)));
        quantize_activation_row(act, x.data(), a.data(), n);
        std::vector<float> wd(static_cast<size_t>(n));
        info.dequant(w.data(), wd.data(), n);
        const auto ad = activation_values(act, a.data(), n);
        double exact = 0;
        for (int64_t i = 0; i < n; ++i) exact += static_cast<double>(wd[i]) * ad[i];
        const float got = dot(w.data(), a.data(), n);
        EXPECT_NEAR(got, exact,
                    pair_bound(t, w.data(), act, a.data(), n) + testing::q8_1_sum_rounding(t, w.data(), a.data(), n))
            << info.name << " n=" << n << " scales=" << static_cast<int>(s);
        ++checked;
      }
    }
  }
  EXPECT_EQ(checked, 14 * 4 * 3);
}

TEST(VecDotRef, Q8_0HandComputed) {
  block_q8_0 w{}, a{};
  w.d = float_to_half(0.5f);
  a.d = float_to_half(2.0f);
  int expect = 0;
  for (int j = 0; j < 32; ++j) {
    w.qs[j] = static_cast<int8_t>(j - 16);
    a.qs[j] = static_cast<int8_t>(3 - j % 7);
    expect += (j - 16) * (3 - j % 7);
  }
  EXPECT_EQ(ref::vec_dot_q8_0(&w, &a, 32), static_cast<float>(expect));
}

TEST(VecDotRef, Q4_0HandComputed) {
  block_q4_0 w{};
  block_q8_0 a{};
  w.d = float_to_half(1.0f);
  a.d = float_to_half(1.0f);
  for (int j = 0; j < 16; ++j) w.qs[j] = static_cast<uint8_t>((j & 0xF) | ((15 - j) << 4));
  int expect = 0;
  for (int j = 0; j < 32; ++j) {
    a.qs[j] = static_cast<int8_t>(j % 5 - 2);
    const int q = j < 16 ? j : 15 - (j - 16);
    expect += (q - 8) * a.qs[j];
  }
  EXPECT_EQ(ref::vec_dot_q4_0(&w, &a, 32), static_cast<float>(expect));
}

TEST(VecDotRef, Q8_1QuantizerMatchesQ8_0AndCarriesSum) {
  std::mt19937 rng(7);
  const auto x = random_floats(32 * 5, rng, 3.0f);
  std::vector<block_q8_0> q0(5);
  std::vector<block_q8_1> q1(5);
  quantize_activation_row(DType::kQ8_0, x.data(), q0.data(), 160);
  quantize_activation_row(DType::kQ8_1, x.data(), q1.data(), 160);
  for (int b = 0; b < 5; ++b) {
    EXPECT_EQ(q0[b].d, q1[b].d);
    int sum = 0;
    for (int j = 0; j < 32; ++j) {
      EXPECT_EQ(q0[b].qs[j], q1[b].qs[j]);
      sum += q1[b].qs[j];
    }
    EXPECT_EQ(q1[b].s, float_to_half(static_cast<float>(sum) * half_to_float(q1[b].d)));
  }
}

TEST(VecDotRef, Q8_KBsumsAreGroupSums) {
  std::mt19937 rng(9);
  const auto x = random_floats(512, rng, 1.0f);
  std::vector<block_q8_K> q(2);
  quantize_activation_row(DType::kQ8_K, x.data(), q.data(), 512);
  for (const auto& b : q) {
    for (int j = 0; j < 16; ++j) {
      int s = 0;
      for (int l = 0; l < 16; ++l) s += b.qs[16 * j + l];
      EXPECT_EQ(b.bsums[j], s);
    }
  }
}

TEST(VecDotRef, VecDotTypes) {
  EXPECT_EQ(vec_dot_dtype(DType::kQ4_0)->id, DType::kQ8_0);
  EXPECT_EQ(vec_dot_dtype(DType::kQ4_1)->id, DType::kQ8_1);
  EXPECT_EQ(vec_dot_dtype(DType::kQ5_1)->id, DType::kQ8_1);
  EXPECT_EQ(vec_dot_dtype(DType::kIQ4_NL)->id, DType::kQ8_0);
  EXPECT_EQ(vec_dot_dtype(DType::kQ6_K)->id, DType::kQ8_K);
  EXPECT_EQ(vec_dot_dtype(DType::kBF16)->id, DType::kBF16);
  EXPECT_EQ(vec_dot_dtype(DType::kIQ2_XXS), nullptr);
}

}  // namespace
}  // namespace pocket::kernels
