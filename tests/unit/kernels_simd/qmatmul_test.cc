// qmatmul (tiling, threads, activation quantization) against the per-pair reference, and against the exact f32
// matmul (kernels::matmul kExact) within the bound that activation rounding implies.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

#include "kernel_test_util.h"
#include "kernels/matmul.h"
#include "kernels/qmatmul.h"
#include "kernels/vec_dot.h"

namespace pocket::kernels {
namespace {

using namespace testing;  // NOLINT

struct Problem {
  DType type;
  int64_t rows, cols, tokens;
};

class QmatmulTest : public ::testing::TestWithParam<SimdTarget> {};

TEST_P(QmatmulTest, MatchesReferencePairsAndExactMatmul) {
  const SimdTarget target = GetParam();
  if (!cpu_supports(target)) GTEST_SKIP();
  std::mt19937 rng(5);
  int checked = 0;
  for (DType type : kAllKernelTypes) {
    const DTypeInfo& info = dtype_info(type);
    const int64_t cols = info.block_elems == 256 ? 512 : 96;
    for (const Problem& p : {Problem{type, 37, cols, 1}, Problem{type, 70, cols, 5}, Problem{type, 9, cols, 70}}) {
      std::vector<uint8_t> wbuf(static_cast<size_t>(row_bytes(info, p.cols) * p.rows));
      for (int64_t r = 0; r < p.rows; ++r) {
        random_weight_row(type, p.cols, rng, Scales::kRandom, wbuf.data() + r * row_bytes(info, p.cols));
      }
      const WeightView w{&info, wbuf.data(), p.cols, p.rows};
      ASSERT_TRUE(qmatmul_supported(w));
      const auto x = random_floats(p.cols * p.tokens, rng, 1.0f);
      for (int threads : {1, 2, 3}) {
        std::vector<float> y(static_cast<size_t>(p.rows * p.tokens)), ye(y.size());
        qmatmul(w, x.data(), p.tokens, y.data(), threads, target);
        matmul(w, x.data(), p.tokens, ye.data(), MatmulPath::kExact, 1);
        const DTypeInfo& act = *vec_dot_dtype(type);
        const int64_t as = row_bytes(act, p.cols);
        std::vector<uint8_t> xq(static_cast<size_t>(as * p.tokens));
        quantize_activations(w, x.data(), p.tokens, xq.data());
        for (int64_t t = 0; t < p.tokens; ++t) {
          const uint8_t* arow = type == DType::kF32 ? reinterpret_cast<const uint8_t*>(x.data() + t * p.cols)
                                                    : xq.data() + t * as;
          const auto xhat = activation_values(act.id, arow, p.cols);
          std::vector<float> wd(static_cast<size_t>(p.cols));
          for (int64_t r = 0; r < p.rows; ++r) {
            const uint8_t* wrow = w.row(r);
            const float want = ref_vec_dot(type)(wrow, arow, p.cols);
            const float got = y[t * p.rows + r];
            ASSERT_LE(std::fabs(static_cast<double>(got) - want), pair_bound(type, wrow, act.id, arow, p.cols))
                << info.name << " rows=" << p.rows << " tokens=" << p.tokens << " threads=" << threads;
            // Against the exact path: |sum w (x - xhat)| plus both paths' rounding.
            info.dequant(wrow, wd.data(), p.cols);
            double qerr = 0, mag = 0;
            for (int64_t c = 0; c < p.cols; ++c) {
              qerr += std::fabs(static_cast<double>(wd[c]) * (x[t * p.cols + c] - xhat[c]));
              mag += std::fabs(static_cast<double>(wd[c]) * x[t * p.cols + c]);
            }
            const double bound = qerr + pair_bound(type, wrow, act.id, arow, p.cols) +
                                 2.0 * (p.cols + 16) * std::ldexp(1.0, -24) * mag;
            ASSERT_LE(std::fabs(static_cast<double>(got) - ye[t * p.rows + r]), bound) << info.name;
            ++checked;
          }
        }
      }
    }
  }
  EXPECT_GT(checked, 0);
}

INSTANTIATE_TEST_SUITE_P(Targets, QmatmulTest, ::testing::ValuesIn(compiled_targets()),
                         [](const ::testing::TestParamInfo<SimdTarget>& info) {
                           return std::string(target_name(info.param));
                         });

}  // namespace
}  // namespace pocket::kernels
