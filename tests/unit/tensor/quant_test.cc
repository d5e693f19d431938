// Reference quantizers: hand-computed bytes for small cases, quantize -> dequantize error bounds derived per block
// from the format (half a step, plus the step's own fp16 rounding), and edge cases: all zeros, +-max of the
// format, a single huge value, non-finite input (must not crash, must be deterministic).
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "tensor/blocks.h"
#include "tensor/dtype.h"

namespace pocket {
namespace {

std::vector<uint8_t> quantize(DType type, const std::vector<float>& x) {
  const DTypeInfo& t = dtype_info(type);
  std::vector<uint8_t> out(static_cast<size_t>(row_bytes(t, static_cast<int64_t>(x.size()))), 0xcd);
  t.quant(x.data(), out.data(), static_cast<int64_t>(x.size()));
  return out;
}

std::vector<float> round_trip(DType type, const std::vector<float>& x) {
  const auto q = quantize(type, x);
  std::vector<float> y(x.size());
  dtype_info(type).dequant(q.data(), y.data(), static_cast<int64_t>(x.size()));
  return y;
}

TEST(Quant, Q8_0HandComputed) {
  std::vector<float> x(32, 0.0f);
  x[0] = 127.0f;
  x[1] = -127.0f;
  x[2] = 63.5f;   // roundf: half away from zero
  x[3] = -63.5f;
  x[4] = 0.49f;
  x[5] = 10.2f;
  const auto q = quantize(DType::kQ8_0, x);
  block_q8_0 b;
  std::memcpy(&b, q.data(), sizeof(b));
  EXPECT_EQ(b.d, 0x3c00);  // 127 / 127
  EXPECT_EQ(b.qs[0], 127);
  EXPECT_EQ(b.qs[1], -127);
  EXPECT_EQ(b.qs[2], 64);
  EXPECT_EQ(b.qs[3], -64);
  EXPECT_EQ(b.qs[4], 0);
  EXPECT_EQ(b.qs[5], 10);
}

TEST(Quant, Q4_0HandComputed) {
  // The first value of largest magnitude (-8) sets d = -8 / -8 = 1; levels are trunc(x / d + 8.5), at most 15.
  std::vector<float> x(32, 0.0f);
  const float first[] = {-8, 8, 0, 1, -1, 3.5f, -3.5f, 7.4f};
  std::copy(std::begin(first), std::end(first), x.begin());
  x[16] = 2.0f;
  const auto q = quantize(DType::kQ4_0, x);
  block_q4_0 b;
  std::memcpy(&b, q.data(), sizeof(b));
  EXPECT_EQ(b.d, 0x3c00);
  const int want_low[] = {0, 15, 8, 9, 7, 12, 5, 15};
  for (int j = 0; j < 8; ++j) EXPECT_EQ(b.qs[j] & 15, want_low[j]) << j;
  EXPECT_EQ(b.qs[0] >> 4, 10);  // element 16 = 2
  EXPECT_EQ(b.qs[8], 0x88);     // zeros -> level 8
}

TEST(Quant, AllZeros) {
  const std::vector<float> zeros(256, 0.0f);
  for (DType type : {DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1, DType::kQ8_0, DType::kQ8_K,
                     DType::kF16, DType::kBF16, DType::kF32}) {
    SCOPED_TRACE(dtype_info(type).name);
    for (float v : round_trip(type, zeros)) ASSERT_EQ(v, 0.0f);
  }
  // Exact bytes, as ggml writes them: Q4_0's d is -0 (0 / -8), levels 8; Q5_0 levels 16 (fifth bit set).
  auto q = quantize(DType::kQ4_0, std::vector<float>(32, 0.0f));
  EXPECT_EQ(q[0] | (q[1] << 8), 0x8000);
  for (size_t i = 2; i < q.size(); ++i) EXPECT_EQ(q[i], 0x88);
  q = quantize(DType::kQ5_0, std::vector<float>(32, 0.0f));
  EXPECT_EQ(q[0] | (q[1] << 8), 0x8000);
  for (size_t i = 2; i < 6; ++i) EXPECT_EQ(q[i], 0xff);
  for (size_t i = 6; i < q.size(); ++i) EXPECT_EQ(q[i], 0x00);
  for (DType type : {DType::kQ4_1, DType::kQ5_1, DType::kQ8_0, DType::kQ8_K}) {
    q = quantize(type, std::vector<float>(256, 0.0f));
    for (uint8_t byte : q) ASSERT_EQ(byte, 0) << dtype_info(type).name;
  }
}

// Largest magnitude of each block, with its sign (the first one on ties, as ggml picks it).
float signed_absmax(const float* x, int n) {
  float amax = 0, max = 0;
  for (int j = 0; j < n; ++j) {
    if (amax < std::fabs(x[j])) {
      amax = std::fabs(x[j]);
      max = x[j];
    }
  }
  return max;
}

float fp16_error(float v) { return std::fabs(fp16_to_fp32(fp32_to_fp16(v)) - v); }

// Checks |x - dequant(quant(x))| against a bound derived per block for `type`.
void check_round_trip_bound(DType type, const std::vector<float>& x) {
  const int64_t block = dtype_info(type).block_elems;
  const std::vector<float> y = round_trip(type, x);
  for (size_t b0 = 0; b0 < x.size(); b0 += static_cast<size_t>(block)) {
    const float* xb = x.data() + b0;
    const int n = static_cast<int>(block);
    float lo = xb[0], hi = xb[0];
    for (int j = 0; j < n; ++j) {
      lo = std::min(lo, xb[j]);
      hi = std::max(hi, xb[j]);
    }
    const float max = signed_absmax(xb, n);
    const float amax = std::fabs(max);
    for (int j = 0; j < n; ++j) {
      double bound = 0;
      const double slack = 1e-6 * (std::fabs(hi) + std::fabs(lo)) + 1e-30;
      switch (type) {
        case DType::kQ8_0: {  // step amax/127; levels up to 127 carry the step's fp16 error
          const float d = amax / 127;
          bound = 0.5 * d + 127 * fp16_error(d) + slack;
          break;
        }
        case DType::kQ8_K:  // f32 step: half a step
          bound = 0.5 * (amax / 127) + slack;
          break;
        case DType::kQ4_0:
        case DType::kQ5_0: {  // step |max|/8 (/16); the value opposite max clamps to one step short
          const int half_levels = type == DType::kQ4_0 ? 8 : 16;
          const float d = amax / half_levels;
          const bool clamped = (xb[j] > 0) != (max > 0) && std::fabs(xb[j]) > (half_levels - 0.5f) * d;
          bound = (clamped ? 1.0 : 0.5) * d + half_levels * fp16_error(d) + slack;
          break;
        }
        case DType::kQ4_1:
        case DType::kQ5_1: {  // step (hi - lo)/15 (/31) above the fp16-rounded min
          const int levels = type == DType::kQ4_1 ? 15 : 31;
          const float d = (hi - lo) / levels;
          bound = 0.5 * d + levels * fp16_error(d) + fp16_error(lo) + slack;
          break;
        }
        case DType::kF16:
          bound = std::fabs(xb[j]) * std::ldexp(1.0, -11) + std::ldexp(1.0, -25);
          break;
        case DType::kBF16:
          bound = std::fabs(xb[j]) * std::ldexp(1.0, -8);
          break;
        default:
          bound = 0;
      }
      ASSERT_LE(std::fabs(static_cast<double>(y[b0 + j]) - xb[j]), bound)
          << dtype_info(type).name << " element " << b0 + j << " x=" << xb[j] << " y=" << y[b0 + j];
    }
  }
}

const DType kQuantTypes[] = {DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1, DType::kQ8_0,
                             DType::kQ8_K, DType::kF16,  DType::kBF16, DType::kF32};

TEST(Quant, RoundTripErrorBounds) {
  std::mt19937 gen(42);
  for (float scale : {1e-3f, 1.0f, 300.0f}) {
    std::normal_distribution<float> normal(0.0f, scale);
    std::vector<float> x(4096);
    for (float& v : x) v = normal(gen);
    for (size_t i = 0; i < 512; ++i) x[i] = std::fabs(x[i]) + scale;  // all-positive blocks (min > 0)
    for (size_t i = 512; i < 1024; ++i) x[i] = -std::fabs(x[i]);      // all-negative blocks
    for (DType type : kQuantTypes) {
      SCOPED_TRACE(scale);
      check_round_trip_bound(type, x);
    }
  }
}

TEST(Quant, RoundTripIsExactOnGridValues) {
  // Values already on a type's grid come back unchanged.
  std::vector<float> x(256);
  for (int j = 0; j < 256; ++j) x[j] = static_cast<float>((j % 255) - 127) * 0.5f;
  for (DType type : {DType::kQ8_K}) EXPECT_EQ(round_trip(type, x), x);
  std::vector<float> x8(32);
  for (int j = 0; j < 32; ++j) x8[j] = static_cast<float>(j * 8 - 127);  // amax 127 -> d = 1
  EXPECT_EQ(round_trip(DType::kQ8_0, x8), x8);
}

TEST(Quant, PlusMinusMax) {
  // The largest blocks the formats represent: the step d reaches fp16's max 65504.
  std::vector<float> x(32);
  for (int j = 0; j < 32; ++j) x[j] = (j % 2 ? -1.0f : 1.0f) * 127.0f * 65504.0f;
  auto y = round_trip(DType::kQ8_0, x);
  EXPECT_EQ(y, x);
  for (int j = 0; j < 32; ++j) x[j] = (j % 2 ? 1.0f : -1.0f) * 8.0f * 65504.0f;  // max = -8*65504 -> d = 65504
  y = round_trip(DType::kQ4_0, x);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(y[j], j % 2 ? 7.0f * 65504.0f : -8.0f * 65504.0f) << j;
  // F16 saturates to inf beyond its max, BF16 rounds FLT_MAX up to inf (as ggml does).
  const float big = std::numeric_limits<float>::max();
  y = round_trip(DType::kF16, {65504.0f, -65504.0f, big, -big});
  EXPECT_EQ(y, (std::vector<float>{65504.0f, -65504.0f, INFINITY, -INFINITY}));
  y = round_trip(DType::kBF16, {big, -big, 3.3895314e38f});
  EXPECT_EQ(y, (std::vector<float>{INFINITY, -INFINITY, 3.3895314e38f}));
  // Q8_K keeps an f32 step: FLT_MAX-sized blocks survive.
  std::vector<float> xk(256, 0.0f);
  xk[3] = big;
  xk[4] = -big;
  const auto yk = round_trip(DType::kQ8_K, xk);
  EXPECT_FLOAT_EQ(yk[3], big);
  EXPECT_FLOAT_EQ(yk[4], -big);
  // Beyond what the fp16 step can hold, d becomes inf exactly as in ggml (0x7c00).
  const auto q = quantize(DType::kQ8_0, std::vector<float>(32, 1e10f));
  EXPECT_EQ(q[0] | (q[1] << 8), 0x7c00);
}

TEST(Quant, SingleHugeValue) {
  std::mt19937 gen(7);
  std::uniform_real_distribution<float> small(-1.0f, 1.0f);
  for (DType type : kQuantTypes) {
    SCOPED_TRACE(dtype_info(type).name);
    std::vector<float> x(256);
    for (float& v : x) v = small(gen);
    x[37] = -3e4f;  // dominates its block: the other values fall below half a step
    check_round_trip_bound(type, x);
    const auto y = round_trip(type, x);
    EXPECT_NEAR(y[37], -3e4f, 3e4f / 256);  // within the coarsest relative step here (bf16: 2^-9)
  }
}

TEST(Quant, Q8_KBlockSums) {
  std::mt19937 gen(3);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  std::vector<float> x(512);
  for (float& v : x) v = normal(gen);
  const auto q = quantize(DType::kQ8_K, x);
  for (int b = 0; b < 2; ++b) {
    block_q8_K blk;
    std::memcpy(&blk, q.data() + b * sizeof(blk), sizeof(blk));
    const float amax = std::fabs(signed_absmax(x.data() + 256 * b, 256));
    EXPECT_NEAR(std::fabs(blk.d) * 127.0f, amax, amax * 1e-6f) << "d = |max| / 127 up to rounding";
    int extreme = 0;
    for (int g = 0; g < 16; ++g) {
      int sum = 0;
      for (int j = 0; j < 16; ++j) {
        sum += blk.qs[g * 16 + j];
        if (std::abs(blk.qs[g * 16 + j]) == 127) ++extreme;
      }
      EXPECT_EQ(blk.bsums[g], sum);
    }
    EXPECT_GE(extreme, 1);
  }
}

TEST(Quant, NonFiniteInputIsDeterministic) {
  std::vector<float> x(256, 1.0f);
  x[1] = NAN;
  x[40] = INFINITY;
  x[77] = -INFINITY;
  for (DType type : kQuantTypes) {
    const auto a = quantize(type, x);
    const auto b = quantize(type, x);
    EXPECT_EQ(a, b) << dtype_info(type).name;
  }
}

}  // namespace
}  // namespace pocket
