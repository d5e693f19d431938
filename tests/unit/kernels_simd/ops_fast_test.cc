// The fast-path attention helpers (ops.h: dot_f32_fast, dot_rows_f32, weighted_rows_f32, axpy_f32, softmax_fast)
// against the scalar reference ops, within f32 rounding bounds of their different summation orders.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <vector>

#include "kernels/matmul.h"
#include "kernels/ops.h"

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

}  // namespace
}  // namespace pocket::kernels
