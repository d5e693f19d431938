// Every compiled target that this CPU runs (scalar included) against the scalar reference vec_dot, for every
// weight type, over random and edge-case inputs, GEMV and GEMM shapes. Bound: kernel_test_util.h.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "kernel_test_util.h"
#include "kernels/dispatch.h"
#include "kernels/vec_dot.h"

namespace pocket::kernels {
namespace {

using namespace testing;  // NOLINT

struct Case {
  DType type;
  int64_t blocks;
  Scales scales;
  int act_mode;  // 0 random, 1 zeros, 2 large (1e4)
};

// Checks target t's GEMM for one case over all (rows, tokens) shapes; returns the number of compared outputs.
int check_case(SimdTarget target, const Case& c, std::mt19937& rng) {
  const DTypeInfo& info = dtype_info(c.type);
  const DTypeInfo& act = *vec_dot_dtype(c.type);
  const int64_t n = c.blocks * (info.block_elems == 1 ? 32 : info.block_elems) + (info.block_elems == 1 ? 5 : 0);
  const KernelChoice k = kernel_for(c.type, target);
  EXPECT_NE(k.gemm, nullptr);
  const int64_t ws = row_bytes(info, n), as = row_bytes(act, n);
  constexpr int64_t kMaxRows = 5, kMaxTok = 17;
  std::vector<uint8_t> w(static_cast<size_t>(ws * kMaxRows)), a(static_cast<size_t>(as * kMaxTok));
  for (int64_t r = 0; r < kMaxRows; ++r) random_weight_row(c.type, n, rng, c.scales, w.data() + r * ws);
  for (int64_t t = 0; t < kMaxTok; ++t) {
    auto x = random_floats(n, rng, c.act_mode == 2 ? 1e4f : 1.0f);
    if (c.act_mode == 1) std::fill(x.begin(), x.end(), 0.0f);
    quantize_activation_row(act.id, x.data(), a.data() + t * as, n);
  }
  const VecDotFn ref = ref_vec_dot(c.type);
  int compared = 0;
  for (int64_t rows : {1, 2, 3, 5}) {
    for (int64_t toks : {1, 2, 3, 4, 5, 17}) {
      std::vector<float> y(static_cast<size_t>(toks * kMaxRows + 1), -1.0f);
      k.gemm(w.data(), ws, rows, a.data(), as, toks, n, y.data(), kMaxRows);
      for (int64_t t = 0; t < toks; ++t) {
        for (int64_t r = 0; r < rows; ++r) {
          const float want = ref(w.data() + r * ws, a.data() + t * as, n);
          const float got = y[t * kMaxRows + r];
          const double bound = pair_bound(c.type, w.data() + r * ws, act.id, a.data() + t * as, n);
          if (std::isnan(want)) {
            EXPECT_TRUE(std::isnan(got)) << info.name << " got " << got;
          } else if (std::isinf(want)) {
            EXPECT_EQ(got, want);
          } else {
            EXPECT_LE(std::fabs(static_cast<double>(got) - want), bound)
                << target_name(target) << " " << info.name << " n=" << n << " rows=" << rows << " toks=" << toks
                << " r=" << r << " t=" << t << " scales=" << static_cast<int>(c.scales) << " act=" << c.act_mode
                << " got=" << got << " want=" << want;
          }
          ++compared;
        }
      }
      // Outputs outside the tile are untouched.
      for (int64_t t = 0; t < toks; ++t) {
        for (int64_t r = rows; r < kMaxRows; ++r) EXPECT_EQ(y[t * kMaxRows + r], -1.0f);
      }
    }
  }
  return compared;
}

class SimdVsRef : public ::testing::TestWithParam<SimdTarget> {};

TEST_P(SimdVsRef, EveryTypeEveryShape) {
  const SimdTarget target = GetParam();
  if (!cpu_supports(target)) GTEST_SKIP() << target_name(target) << " not supported by this CPU";
  std::mt19937 rng(42);
  int compared = 0;
  for (DType type : kAllKernelTypes) {
    const bool k_quant = dtype_info(type).block_elems == 256;
    const std::vector<int64_t> blocks = k_quant ? std::vector<int64_t>{1, 2, 3} : std::vector<int64_t>{1, 2, 3, 7, 24};
    for (int64_t nb : blocks) {
      for (Scales s : {Scales::kRandom, Scales::kZero, Scales::kMax, Scales::kNegative}) {
        for (int act_mode : {0, 1, 2}) {
          if (s == Scales::kMax && act_mode == 2 && !k_quant && dtype_info(type).block_elems == 1) continue;
          compared += check_case(target, Case{type, nb, s, act_mode}, rng);
        }
      }
    }
  }
  EXPECT_GT(compared, 0);
  std::printf("%s: %d outputs compared\n", target_name(target), compared);
}

TEST_P(SimdVsRef, ReportsServingTarget) {
  const SimdTarget target = GetParam();
  for (DType type : kAllKernelTypes) {
    const KernelChoice k = kernel_for(type, target);
    ASSERT_NE(k.gemm, nullptr);
    EXPECT_EQ(k.target, target) << dtype_info(type).name << " has no " << target_name(target) << " kernel";
  }
}

std::vector<SimdTarget> targets() { return compiled_targets(); }

INSTANTIATE_TEST_SUITE_P(Targets, SimdVsRef, ::testing::ValuesIn(targets()),
                         [](const ::testing::TestParamInfo<SimdTarget>& info) {
                           return std::string(target_name(info.param));
                         });

TEST(Dispatch, UnsupportedTypeHasNoKernel) {
  EXPECT_EQ(kernel_for(DType::kIQ2_XXS, active_target()).gemm, nullptr);
  EXPECT_FALSE(describe_kernels().empty());
  std::printf("active target %s: %s\n", target_name(active_target()), describe_kernels().c_str());
}

}  // namespace
}  // namespace pocket::kernels
