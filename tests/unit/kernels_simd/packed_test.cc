// Packed 16-row strips (kernels/packed.h): the AVX-512 activation quantizers are bit-identical to the scalar
// reference (finite inputs), and qmatmul on packed weights agrees with the reference vec_dot per (row, token)
// within the pair bound, for row counts that are and are not multiples of 16, 1..70 tokens and 1..3 threads.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "kernel_test_util.h"
#include "kernels/dispatch.h"
#include "kernels/matmul.h"
#include "kernels/packed.h"
#include "kernels/qmatmul.h"
#include "kernels/simd/packed_kernels.h"
#include "kernels/vec_dot.h"

namespace pocket::kernels {
namespace {

using namespace testing;  // NOLINT

constexpr DType kPackedTypes[] = {DType::kQ8_0, DType::kQ4_0, DType::kQ4_K};

#if defined(POCKET_HAVE_AVX512)
TEST(PackedTest, ActivationQuantizerMatchesReferenceBitForBit) {
  if (!cpu_supports(SimdTarget::kAvx512)) GTEST_SKIP();
  std::mt19937 rng(11);
  for (DType type : kPackedTypes) {
    const int64_t cols = 1024;
    const int64_t qb = row_bytes(*vec_dot_dtype(type), cols);
    const int64_t as = simd::packed_aux_stride(type, cols);
    for (int trial = 0; trial < 40; ++trial) {
      auto x = random_floats(cols, rng, trial % 3 == 0 ? 1e-3f : 3.0f);
      if (trial % 5 == 1) std::fill(x.begin(), x.begin() + 256, 0.0f);          // an all-zero block
      if (trial % 5 == 2) {                                                       // ties of magnitude, halves
        x[3] = -2.0f, x[9] = 2.0f, x[40] = 0.5f, x[41] = -1.5f;
        for (int i = 0; i < 32; ++i) x[64 + i] = (i - 16) * 0.25f;
      }
      std::vector<uint8_t> q1(static_cast<size_t>(qb)), q2(q1.size());
      std::vector<float> a1(static_cast<size_t>(as)), a2(a1.size());
      simd::avx512_quantize_packed_act(type, x.data(), cols, q1.data(), a1.data());
      simd::ref_quantize_packed_act(type, x.data(), cols, q2.data(), a2.data());
      ASSERT_EQ(0, std::memcmp(q1.data(), q2.data(), q1.size())) << dtype_info(type).name << " trial " << trial;
      ASSERT_EQ(0, std::memcmp(a1.data(), a2.data(), a1.size() * sizeof(float))) << dtype_info(type).name;
    }
  }
}
#endif

// Stacked packed weights (Q|K|V, gate|up in one matmul) give exactly the outputs of their parts run alone, and
// parts that cannot stack (a non-final part with a partial strip, different widths) are refused.
TEST(PackedTest, StackedWeightsEqualTheirPartsRunAlone) {
  if (!packable(DType::kQ4_0)) GTEST_SKIP() << "active target has no packed kernels";
  std::mt19937 rng(5);
  for (DType type : kPackedTypes) {
    const DTypeInfo& info = dtype_info(type);
    const int64_t cols = info.block_elems == 256 ? 512 : 128;
    const int64_t part_rows[] = {32, 16, 21};  // the last part may end in a partial strip
    std::vector<std::vector<uint8_t>> bufs;
    std::vector<WeightView> parts;
    std::vector<std::shared_ptr<const PackedWeight>> packed;
    for (int64_t rows : part_rows) {
      bufs.emplace_back(static_cast<size_t>(row_bytes(info, cols) * rows));
      for (int64_t r = 0; r < rows; ++r) {
        random_weight_row(type, cols, rng, Scales::kRandom, bufs.back().data() + r * row_bytes(info, cols));
      }
      parts.push_back(WeightView{&info, bufs.back().data(), cols, rows});
      parts.back().packed = pack_weight(parts.back(), 1);
      ASSERT_NE(parts.back().packed, nullptr);
      packed.push_back(parts.back().packed);
    }
    WeightView stacked = parts[0];
    stacked.rows = 32 + 16 + 21;
    stacked.packed = stack_packed(packed);
    ASSERT_NE(stacked.packed, nullptr);
    for (int64_t tokens : {1, 5, 9}) {
      const auto x = random_floats(cols * tokens, rng, 1.0f);
      std::vector<float> all(static_cast<size_t>(stacked.rows * tokens));
      qmatmul(stacked, x.data(), tokens, all.data(), 2, SimdTarget::kAvx512);
      int64_t row0 = 0;
      for (const WeightView& part : parts) {
        std::vector<float> alone(static_cast<size_t>(part.rows * tokens));
        qmatmul(part, x.data(), tokens, alone.data(), 2, SimdTarget::kAvx512);
        for (int64_t t = 0; t < tokens; ++t) {
          for (int64_t r = 0; r < part.rows; ++r) {
            ASSERT_EQ(all[t * stacked.rows + row0 + r], alone[t * part.rows + r])
                << info.name << " token " << t << " row " << row0 + r;
          }
        }
        row0 += part.rows;
      }
    }
    // The partial strip of a non-final part would misalign every later row: refused.
    const std::vector<std::shared_ptr<const PackedWeight>> misaligned = {packed[2], packed[0]};
    EXPECT_EQ(stack_packed(misaligned), nullptr);
    const std::vector<std::shared_ptr<const PackedWeight>> missing = {packed[0], nullptr};
    EXPECT_EQ(stack_packed(missing), nullptr);
  }
}

TEST(PackedTest, PackedQmatmulMatchesReferencePairs) {
  if (!packable(DType::kQ4_0)) GTEST_SKIP() << "active target has no packed kernels";
  std::mt19937 rng(7);
  int checked = 0;
  for (DType type : kPackedTypes) {
    const DTypeInfo& info = dtype_info(type);
    const int64_t cols = info.block_elems == 256 ? 768 : 160;
    for (int64_t rows : {16, 37, 70}) {
      std::vector<uint8_t> wbuf(static_cast<size_t>(row_bytes(info, cols) * rows));
      for (int64_t r = 0; r < rows; ++r) {
        random_weight_row(type, cols, rng, Scales::kRandom, wbuf.data() + r * row_bytes(info, cols));
      }
      WeightView w{&info, wbuf.data(), cols, rows};
      w.packed = pack_weight(w, 2);
      ASSERT_NE(w.packed, nullptr);
      // 1-8: one tile of activations per call (every tile kernel); > 8: strip pairs, tails of 4 + 4 + 3, 4 x 3 + 1, ..
      for (int64_t tokens : {1, 2, 3, 4, 5, 6, 7, 8, 11, 13, 70}) {
        const auto x = random_floats(cols * tokens, rng, 1.0f);
        const DTypeInfo& act = *vec_dot_dtype(type);
        const int64_t as = row_bytes(act, cols);
        std::vector<uint8_t> xq(static_cast<size_t>(as * tokens));
        quantize_activations(w, x.data(), tokens, xq.data());
        for (int threads : {1, 2, 3}) {
          std::vector<float> y(static_cast<size_t>(rows * tokens), -1.0f);
          qmatmul(w, x.data(), tokens, y.data(), threads, SimdTarget::kAvx512);
          for (int64_t t = 0; t < tokens; ++t) {
            const uint8_t* arow = xq.data() + t * as;
            for (int64_t r = 0; r < rows; ++r) {
              const float want = ref_vec_dot(type)(w.row(r), arow, cols);
              const float got = y[t * rows + r];
              ASSERT_LE(std::fabs(static_cast<double>(got) - want), pair_bound(type, w.row(r), act.id, arow, cols))
                  << info.name << " rows=" << rows << " tokens=" << tokens << " threads=" << threads << " r=" << r
                  << " t=" << t;
              ++checked;
            }
          }
        }
      }
    }
  }
  EXPECT_GT(checked, 0);
}

TEST(PackedTest, OnlyPackedTypesArePacked) {
  const DTypeInfo& info = dtype_info(DType::kQ6_K);
  std::vector<uint8_t> wbuf(static_cast<size_t>(row_bytes(info, 256) * 4));
  const WeightView w{&info, wbuf.data(), 256, 4};
  EXPECT_EQ(pack_weight(w), nullptr);
}

}  // namespace
}  // namespace pocket::kernels
