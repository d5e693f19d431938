// The fast-path attention helpers (ops.h: dot_f32_fast, dot_rows_f32, weighted_rows_f32, their multi-row
// variants, axpy_f32, softmax_fast) against the scalar reference ops or double-precision sums, within f32
// rounding bounds of their different summation orders.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "kernels/matmul.h"
#include "kernels/ops.h"
#include "tensor/half.h"

namespace pocket::kernels {
namespace {

std::vector<float> randoms(int64_t n, std::mt19937& rng) {
  std::normal_distribution<float> d(0.0f, 1.0f);
  std::vector<float> v(static_cast<size_t>(n));
  for (auto& x : v) x = d(rng);
  return v;
}

constexpr double kEps = 1.0 / (1 << 23);

TEST(FastOps, DotRowsMatchScalarDot) {
  std::mt19937 rng(3);
  for (int64_t hd : {64, 128, 256, 80, 7}) {
    for (int64_t n_keys : {1, 15, 16, 17, 100}) {
      const int64_t stride = hd * 3 + 5;
      const auto q = randoms(hd, rng);
      const auto k = randoms(stride * n_keys, rng);
      std::vector<float> got(static_cast<size_t>(n_keys));
      dot_rows_f32(q.data(), k.data(), stride, n_keys, hd, got.data());
      for (int64_t j = 0; j < n_keys; ++j) {
        double want = 0, mag = 0;
        for (int64_t i = 0; i < hd; ++i) {
          want += static_cast<double>(q[i]) * k[j * stride + i];
          mag += std::fabs(static_cast<double>(q[i]) * k[j * stride + i]);
        }
        ASSERT_NEAR(got[j], want, 2.0 * hd * kEps * mag + 1e-30) << "hd=" << hd << " n=" << n_keys << " j=" << j;
        ASSERT_NEAR(dot_f32_fast(q.data(), &k[j * stride], hd), want, 2.0 * hd * kEps * mag + 1e-30);
      }
    }
  }
}

TEST(FastOps, WeightedRowsMatchScalarSum) {
  std::mt19937 rng(4);
  for (int64_t hdv : {64, 128, 256, 48, 5}) {
    for (int64_t n : {1, 3, 40}) {
      const int64_t stride = hdv * 2 + 3;
      auto p = randoms(n, rng);
      p[0] = 0.0f;
      const auto v = randoms(stride * n, rng);
      std::vector<float> got(static_cast<size_t>(hdv), 123.0f), ax(static_cast<size_t>(hdv), 0.0f);
      weighted_rows_f32(p.data(), v.data(), stride, n, hdv, got.data());
      for (int64_t j = 0; j < n; ++j) axpy_f32(p[j], &v[j * stride], ax.data(), hdv);
      for (int64_t i = 0; i < hdv; ++i) {
        double want = 0, mag = 0;
        for (int64_t j = 0; j < n; ++j) {
          want += static_cast<double>(p[j]) * v[j * stride + i];
          mag += std::fabs(static_cast<double>(p[j]) * v[j * stride + i]);
        }
        ASSERT_NEAR(got[i], want, 2.0 * n * kEps * mag + 1e-30) << hdv << " " << n << " " << i;
        ASSERT_NEAR(ax[i], want, 2.0 * n * kEps * mag + 1e-30);
      }
    }
  }
}

constexpr float kSentinel = -12345.0f;  // fills padding cells that the multi-row helpers must not write

// got[r * stride + c] (r < rows, c < cols) against sum_i term(r, c, i) over i < n_terms in double precision,
// within 2·n_terms·2^-23·sum|terms| (f32 sums in another order); the padding cells [cols, stride) of every row
// must still hold kSentinel.
template <class Term>
void expect_double_sums(const std::vector<float>& got, int64_t rows, int64_t cols, int64_t stride, int64_t n_terms,
                        Term term, const std::string& what) {
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      double want = 0, mag = 0;
      for (int64_t i = 0; i < n_terms; ++i) {
        const double t = term(r, c, i);
        want += t;
        mag += std::fabs(t);
      }
      ASSERT_NEAR(got[r * stride + c], want, 2.0 * n_terms * kEps * mag + 1e-30) << what << " r=" << r << " c=" << c;
    }
    for (int64_t c = cols; c < stride; ++c) ASSERT_EQ(got[r * stride + c], kSentinel) << what << " padding r=" << r;
  }
}

TEST(FastOps, DotRowsMultiMatchDoubleSum) {
  std::mt19937 rng(6);
  for (int64_t hd : {64, 128, 256, 80, 7}) {
    for (int64_t nq : {1, 2, 3, 4, 5, 8, 16, 17}) {
      for (int64_t n_keys : {1, 15, 16, 17, 100}) {
        const int64_t q_stride = hd + 3, k_stride = hd * 2 + 5, s_stride = n_keys + 7;
        const auto q = randoms(q_stride * nq, rng);
        const auto k = randoms(k_stride * n_keys, rng);
        std::vector<float> got(static_cast<size_t>(s_stride * nq), kSentinel);
        dot_rows_multi_f32(q.data(), q_stride, nq, k.data(), k_stride, n_keys, hd, got.data(), s_stride);
        expect_double_sums(got, nq, n_keys, s_stride, hd,
                           [&](int64_t r, int64_t j, int64_t d) {
                             return static_cast<double>(q[r * q_stride + d]) * k[j * k_stride + d];
                           },
                           fmt::format("dot hd={} nq={} n={}", hd, nq, n_keys));
      }
    }
  }
}

TEST(FastOps, WeightedRowsMultiMatchDoubleSum) {
  std::mt19937 rng(7);
  for (int64_t hdv : {64, 128, 256, 80, 7}) {
    for (int64_t nq : {1, 2, 3, 4, 5, 8, 16, 17}) {
      // 600 keys: the AVX-512 kernel accumulates over chunks of 256 keys.
      for (int64_t n_keys : {1, 15, 16, 17, 100, 600}) {
        const int64_t p_stride = n_keys + 3, v_stride = hdv * 2 + 5, out_stride = hdv + 9;
        auto p = randoms(p_stride * nq, rng);
        for (int64_t r = 0; r < nq; ++r) {
          for (int64_t j = 0; j < n_keys; ++j) {
            // Zeros as attention produces them: a causal tail (keys past row r's position), keys before a sliding
            // window (all rows; and more in odd rows), and scattered zeros.
            const bool causal = j > n_keys - nq + r, window = j < n_keys / 8 || (r % 2 == 1 && j < n_keys / 4);
            if (causal || window || (j + r) % 7 == 0) p[r * p_stride + j] = 0.0f;
          }
        }
        const auto v = randoms(v_stride * n_keys, rng);
        std::vector<float> got(static_cast<size_t>(out_stride * nq), kSentinel);
        weighted_rows_multi_f32(p.data(), p_stride, nq, v.data(), v_stride, n_keys, hdv, got.data(), out_stride);
        expect_double_sums(got, nq, hdv, out_stride, n_keys,
                           [&](int64_t r, int64_t i, int64_t j) {
                             return static_cast<double>(p[r * p_stride + j]) * v[j * v_stride + i];
                           },
                           fmt::format("weighted hdv={} nq={} n={}", hdv, nq, n_keys));
      }
    }
  }
}

// The f16-cache helpers read half values in place; they must give exactly what converting the rows to f32 and
// calling the f32 helpers gives (the decode path uses one, the prompt path the other, on the same cache).
TEST(FastOps, F16RowsEqualConvertedF32Rows) {
  std::mt19937 rng(8);
  for (int64_t hd : {64, 128, 256, 80, 7}) {
    for (int64_t n : {1, 15, 16, 17, 100}) {
      const int64_t stride = hd * 3 + 5;
      const auto q = randoms(hd, rng);
      auto p = randoms(n, rng);
      p[n / 2] = 0.0f;
      const auto raw = randoms(stride * n, rng);
      std::vector<uint16_t> half(raw.size());
      std::vector<float> widened(raw.size());
      for (size_t i = 0; i < raw.size(); ++i) half[i] = float_to_half(raw[i]), widened[i] = half_to_float(half[i]);
      std::vector<float> got(static_cast<size_t>(n)), want(static_cast<size_t>(n));
      dot_rows_f16(q.data(), half.data(), stride, n, hd, got.data());
      dot_rows_f32(q.data(), widened.data(), stride, n, hd, want.data());
      for (int64_t j = 0; j < n; ++j) ASSERT_EQ(got[j], want[j]) << "dot hd=" << hd << " n=" << n << " j=" << j;
      std::vector<float> out(static_cast<size_t>(hd)), out_want(static_cast<size_t>(hd));
      weighted_rows_f16(p.data(), half.data(), stride, n, hd, out.data());
      weighted_rows_f32(p.data(), widened.data(), stride, n, hd, out_want.data());
      for (int64_t i = 0; i < hd; ++i) ASSERT_EQ(out[i], out_want[i]) << "weighted hd=" << hd << " n=" << n << " i=" << i;
    }
  }
}

TEST(FastOps, SoftmaxMatchesReference) {
  std::mt19937 rng(5);
  for (int64_t n : {1, 2, 16, 17, 513}) {
    auto x = randoms(n, rng);
    for (auto& e : x) e *= 8.0f;
    if (n > 3) x[2] = -std::numeric_limits<float>::infinity(), x[3] = -200.0f;
    auto ref = x;
    softmax(ref.data(), n);
    softmax_fast(x.data(), n);
    for (int64_t i = 0; i < n; ++i) ASSERT_NEAR(x[i], ref[i], 4e-6 * ref[i] + 1e-9) << n << " " << i;
    if (n > 3) EXPECT_EQ(x[2], 0.0f);
  }
}

TEST(FastOps, SwigluMatchesReference) {
  std::mt19937 rng(6);
  for (int64_t n : {1, 15, 16, 17, 2048}) {
    auto gate = randoms(n, rng), up = randoms(n, rng);
    for (auto& g : gate) g *= 6.0f;
    if (n > 4) gate[0] = 0.0f, gate[1] = -120.0f, gate[2] = 95.0f, gate[3] = -0.0f, gate[4] = 1e-30f;
    std::vector<float> ref(static_cast<size_t>(n)), out(static_cast<size_t>(n));
    swiglu(gate.data(), up.data(), n, ref.data());
    swiglu_fast(gate.data(), up.data(), n, out.data());
    for (int64_t i = 0; i < n; ++i) {
      ASSERT_NEAR(out[i], ref[i], 4 * kEps * std::fabs(ref[i]) + 1e-37) << n << " " << i << " g=" << gate[i];
    }
    swiglu_fast(gate.data(), up.data(), n, up.data());  // in place over up, as the FFN calls it
    EXPECT_EQ(up, out);
  }
}

// Every half to float, bit for bit (NaNs included: both keep the payload and set the quiet bit).
TEST(FastOps, HalvesToFloatsMatchScalarOnEveryHalf) {
  std::vector<uint16_t> h(65536 + 5);
  for (size_t i = 0; i < h.size(); ++i) h[i] = static_cast<uint16_t>(i);
  std::vector<float> out(h.size());
  halves_to_floats(h.data(), static_cast<int64_t>(h.size()), out.data());
  for (size_t i = 0; i < h.size(); ++i) {
    ASSERT_EQ(std::bit_cast<uint32_t>(out[i]), std::bit_cast<uint32_t>(half_to_float(h[i]))) << std::hex << h[i];
  }
}

// Floats to halves as float_to_half: round to nearest even (ties included), half subnormals, overflow to inf.
TEST(FastOps, FloatsToHalvesMatchScalar) {
  std::vector<float> x = {0.0f, -0.0f, 1.0f, 65504.0f, 65519.99f, 65520.0f, -1e9f, INFINITY, -INFINITY,
                          0x1p-14f, 0x1p-24f, 0x1p-25f, 0x1.8p-25f, 0x1p-26f, 1e-40f, 1.0f + 0x1p-11f,
                          1.0f + 0x3p-11f, -(1.0f + 0x1p-11f), 6.1e-5f};
  std::mt19937 rng(7);
  std::uniform_int_distribution<uint32_t> bits(0, 0xffffffffu);
  while (x.size() < 100003) {  // random bit patterns, and random floats of the magnitudes a cache holds
    const float f = std::bit_cast<float>(bits(rng));
    if (!std::isnan(f)) x.push_back(f);
    x.push_back(std::ldexp(static_cast<float>(bits(rng) % 2000000) / 1000000.0f - 1.0f, static_cast<int>(bits(rng) % 40) - 28));
  }
  std::vector<uint16_t> out(x.size());
  floats_to_halves(x.data(), static_cast<int64_t>(x.size()), out.data());
  for (size_t i = 0; i < x.size(); ++i) ASSERT_EQ(out[i], float_to_half(x[i])) << std::hexfloat << x[i];
  const float nan = std::nanf("");
  uint16_t h = 0;
  floats_to_halves(&nan, 1, &h);
  EXPECT_TRUE(std::isnan(half_to_float(h)));
}

}  // namespace
}  // namespace pocket::kernels
