// Scalar reference vec_dot kernels (see vec_dot.h). Compiled with -ffp-contract=off: every float operation below
// is a separately rounded IEEE operation in ggml's order.
#include "kernels/vec_dot.h"

#include <cmath>
#include <cstring>

#include "tensor/blocks.h"
#include "tensor/half.h"

namespace pocket::kernels {
namespace ref {

// Q4_K / Q5_K: unpacks the 12 bytes of 6-bit scales and mins into scales[8] (bytes 0..7) and mins[8] (8..15).
void unpack_k_scales(const uint8_t* packed, uint8_t out[16]) {
  constexpr uint32_t kmask1 = 0x3f3f3f3f, kmask2 = 0x0f0f0f0f, kmask3 = 0x03030303;
  uint32_t u[4];
  std::memcpy(u, packed, 12);
  u[3] = ((u[2] >> 4) & kmask2) | (((u[1] >> 6) & kmask3) << 4);
  const uint32_t uaux = u[1] & kmask1;
  u[1] = (u[2] & kmask2) | (((u[0] >> 6) & kmask3) << 4);
  u[2] = uaux;
  u[0] &= kmask1;
  std::memcpy(out, u, 16);
}

namespace {

// (int8_t)roundf(v) as ggml writes it, defined for NaN / out-of-range values (x86 cvttss2si semantics).
int8_t round_to_i8(float v) {
  const float r = std::round(v);
  const int32_t i = (r > -2147483648.0f && r < 2147483648.0f) ? static_cast<int32_t>(r) : INT32_MIN;
  return static_cast<int8_t>(static_cast<uint8_t>(i & 0xff));
}


// Shared tail of the Q3_K..Q6_K reference: ggml's 8-lane integer accumulation of 16 sub-blocks of 16 with
// per-sub-block scales, aux[256] the decoded weights. Adds d * lane into sums[8].
void accumulate_lanes16(const int8_t* aux, const int8_t* q8, const int* scale16, float d, float sums[8]) {
  int32_t aux32[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int16_t aux16[8];
  for (int j = 0; j < kQK_K / 16; ++j) {
    for (int h = 0; h < 2; ++h) {
      for (int l = 0; l < 8; ++l) aux16[l] = static_cast<int16_t>(q8[l] * aux[l]);
      for (int l = 0; l < 8; ++l) aux32[l] += scale16[j] * aux16[l];
      q8 += 8;
      aux += 8;
    }
  }
  for (int l = 0; l < 8; ++l) sums[l] += d * static_cast<float>(aux32[l]);
}

}  // namespace

void quant_row_q8_1(const float* x, void* dst, int64_t n) {
  auto* y = static_cast<block_q8_1*>(dst);
  for (int64_t i = 0; i < n / kQK8_1; ++i, x += kQK8_1) {
    float amax = 0.0f;
    for (int j = 0; j < kQK8_1; ++j) {
      const float a = std::fabs(x[j]);
      amax = amax > a ? amax : a;
    }
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    y[i].d = float_to_half(d);
    int sum = 0;
    for (int j = 0; j < kQK8_1 / 2; ++j) {
      y[i].qs[j] = round_to_i8(x[j] * id);
      y[i].qs[j + kQK8_1 / 2] = round_to_i8(x[j + kQK8_1 / 2] * id);
      sum += y[i].qs[j] + y[i].qs[j + kQK8_1 / 2];
    }
    y[i].s = float_to_half(static_cast<float>(sum) * d);
  }
}

float vec_dot_q4_0(const void* vw, const void* va, int64_t n) {
  const auto* x = static_cast<const block_q4_0*>(vw);
  const auto* y = static_cast<const block_q8_0*>(va);
  float sumf = 0;
  for (int64_t ib = 0; ib < n / kQK8_0; ++ib) {
    int sumi0 = 0, sumi1 = 0;
    for (int j = 0; j < kQK8_0 / 2; ++j) {
      sumi0 += ((x[ib].qs[j] & 0x0F) - 8) * y[ib].qs[j];
      sumi1 += ((x[ib].qs[j] >> 4) - 8) * y[ib].qs[j + kQK8_0 / 2];
    }
    sumf += static_cast<float>(sumi0 + sumi1) * half_to_float(x[ib].d) * half_to_float(y[ib].d);
  }
  return sumf;
}

float vec_dot_q4_1(const void* vw, const void* va, int64_t n) {
  const auto* x = static_cast<const block_q4_1*>(vw);
  const auto* y = static_cast<const block_q8_1*>(va);
  float sumf = 0;
  for (int64_t ib = 0; ib < n / kQK8_1; ++ib) {
    int sumi0 = 0, sumi1 = 0;
    for (int j = 0; j < kQK8_1 / 2; ++j) {
      sumi0 += (x[ib].qs[j] & 0x0F) * y[ib].qs[j];
      sumi1 += (x[ib].qs[j] >> 4) * y[ib].qs[j + kQK8_1 / 2];
    }
    sumf += (half_to_float(x[ib].d) * half_to_float(y[ib].d)) * static_cast<float>(sumi0 + sumi1) +
            half_to_float(x[ib].m) * half_to_float(y[ib].s);
  }
  return sumf;
}

float vec_dot_q5_0(const void* vw, const void* va, int64_t n) {
  const auto* x = static_cast<const block_q5_0*>(vw);
  const auto* y = static_cast<const block_q8_0*>(va);
  float sumf = 0;
  for (int64_t ib = 0; ib < n / kQK8_0; ++ib) {
    uint32_t qh;
    std::memcpy(&qh, x[ib].qh, sizeof(qh));
    int sumi0 = 0, sumi1 = 0;
    for (int j = 0; j < kQK8_0 / 2; ++j) {
      const int h0 = ((qh >> j) & 1u) << 4;
      const int h1 = ((qh >> (j + 16)) & 1u) << 4;
      sumi0 += (((x[ib].qs[j] & 0x0F) | h0) - 16) * y[ib].qs[j];
      sumi1 += (((x[ib].qs[j] >> 4) | h1) - 16) * y[ib].qs[j + kQK8_0 / 2];
    }
    sumf += (half_to_float(x[ib].d) * half_to_float(y[ib].d)) * static_cast<float>(sumi0 + sumi1);
  }
  return sumf;
}

float vec_dot_q5_1(const void* vw, const void* va, int64_t n) {
  const auto* x = static_cast<const block_q5_1*>(vw);
  const auto* y = static_cast<const block_q8_1*>(va);
  float sumf = 0;
  for (int64_t ib = 0; ib < n / kQK8_1; ++ib) {
    uint32_t qh;
    std::memcpy(&qh, x[ib].qh, sizeof(qh));
    int sumi0 = 0, sumi1 = 0;
    for (int j = 0; j < kQK8_1 / 2; ++j) {
      const int h0 = ((qh >> j) & 1u) << 4;
      const int h1 = ((qh >> (j + 16)) & 1u) << 4;
      sumi0 += ((x[ib].qs[j] & 0x0F) | h0) * y[ib].qs[j];
      sumi1 += ((x[ib].qs[j] >> 4) | h1) * y[ib].qs[j + kQK8_1 / 2];
    }
    sumf += (half_to_float(x[ib].d) * half_to_float(y[ib].d)) * static_cast<float>(sumi0 + sumi1) +
            half_to_float(x[ib].m) * half_to_float(y[ib].s);
  }
  return sumf;
}

float vec_dot_q8_0(const void* vw, const void* va, int64_t n) {
  const auto* x = static_cast<const block_q8_0*>(vw);
  const auto* y = static_cast<const block_q8_0*>(va);
  float sumf = 0;
  for (int64_t ib = 0; ib < n / kQK8_0; ++ib) {
    int sumi = 0;
    for (int j = 0; j < kQK8_0; ++j) sumi += x[ib].qs[j] * y[ib].qs[j];
    sumf += static_cast<float>(sumi) * (half_to_float(x[ib].d) * half_to_float(y[ib].d));
  }
  return sumf;
}

float vec_dot_iq4_nl(const void* vw, const void* va, int64_t n) {
  const auto* x = static_cast<const block_iq4_nl*>(vw);
  const auto* y = static_cast<const block_q8_0*>(va);
  float sumf = 0;
  for (int64_t ib = 0; ib < n / kQK4_NL; ++ib) {
    const float d = half_to_float(y[ib].d) * half_to_float(x[ib].d);
    int sumi1 = 0, sumi2 = 0;
    for (int j = 0; j < kQK4_NL / 2; ++j) {
      sumi1 += y[ib].qs[j] * kIQ4NLValues[x[ib].qs[j] & 0xf];
      sumi2 += y[ib].qs[j + kQK4_NL / 2] * kIQ4NLValues[x[ib].qs[j] >> 4];
    }
    sumf += d * static_cast<float>(sumi1 + sumi2);
  }
  return sumf;
}

float vec_dot_q2_K(const void* vw, const void* va, int64_t n) {
  const auto* x = static_cast<const block_q2_K*>(vw);
  const auto* y = static_cast<const block_q8_K*>(va);
  float sumf = 0;
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const uint8_t* q2 = x[i].qs;
    const int8_t* q8 = y[i].qs;
    const uint8_t* sc = x[i].scales;
    int summs = 0;
    for (int j = 0; j < 16; ++j) summs += y[i].bsums[j] * (sc[j] >> 4);
    const float dall = y[i].d * half_to_float(x[i].d);
    const float dmin = y[i].d * half_to_float(x[i].dmin);
    int isum = 0;
    int is = 0;
    for (int k = 0; k < kQK_K / 128; ++k) {
      for (int shift = 0; shift < 8; shift += 2) {
        for (int half = 0; half < 2; ++half) {
          const int d = sc[is++] & 0xF;
          int isuml = 0;
          for (int l = 16 * half; l < 16 * half + 16; ++l) isuml += q8[l] * ((q2[l] >> shift) & 3);
          isum += d * isuml;
        }
        q8 += 32;
      }
      q2 += 32;
    }
    sumf += dall * static_cast<float>(isum) - dmin * static_cast<float>(summs);
  }
  return sumf;
}

float vec_dot_q3_K(const void* vw, const void* va, int64_t n) {
  constexpr uint32_t kmask1 = 0x03030303, kmask2 = 0x0f0f0f0f;
  const auto* x = static_cast<const block_q3_K*>(vw);
  const auto* y = static_cast<const block_q8_K*>(va);
  float sums[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int8_t aux8[kQK_K];
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const uint8_t* q3 = x[i].qs;
    const uint8_t* hm = x[i].hmask;
    int8_t* a = aux8;
    uint8_t m = 1;
    for (int j = 0; j < kQK_K; j += 128) {
      for (int shift = 0; shift < 8; shift += 2) {
        for (int l = 0; l < 32; ++l) a[l] = static_cast<int8_t>(((q3[l] >> shift) & 3) - ((hm[l] & m) ? 0 : 4));
        a += 32;
        m = static_cast<uint8_t>(m << 1);
      }
      q3 += 32;
    }
    uint32_t auxs[4];
    std::memcpy(auxs, x[i].scales, 12);
    const uint32_t tmp = auxs[2];
    auxs[2] = ((auxs[0] >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4);
    auxs[3] = ((auxs[1] >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4);
    auxs[0] = (auxs[0] & kmask2) | (((tmp >> 0) & kmask1) << 4);
    auxs[1] = (auxs[1] & kmask2) | (((tmp >> 2) & kmask1) << 4);
    int8_t scales[16];
    std::memcpy(scales, auxs, 16);
    int scale16[16];
    for (int j = 0; j < 16; ++j) scale16[j] = scales[j] - 32;
    accumulate_lanes16(aux8, y[i].qs, scale16, half_to_float(x[i].d) * y[i].d, sums);
  }
  float sumf = 0;
  for (int l = 0; l < 8; ++l) sumf += sums[l];
  return sumf;
}

namespace {

// Q4_K and Q5_K share everything but the fifth bit (qh == nullptr for Q4_K).
template <typename Block>
float vec_dot_q45_K(const Block* x, const block_q8_K* y, int64_t n, bool has_high) {
  float sums[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  float sumf = 0;
  int8_t aux8[kQK_K];
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const uint8_t* q4 = x[i].qs;
    int8_t* a = aux8;
    uint8_t m = 1;
    for (int j = 0; j < kQK_K / 64; ++j) {
      for (int l = 0; l < 32; ++l) a[l] = static_cast<int8_t>(q4[l] & 0xF);
      if constexpr (sizeof(Block) == sizeof(block_q5_K)) {
        for (int l = 0; l < 32; ++l) a[l] = static_cast<int8_t>(a[l] + ((x[i].qh[l] & m) ? 16 : 0));
      }
      a += 32;
      m = static_cast<uint8_t>(m << 1);
      for (int l = 0; l < 32; ++l) a[l] = static_cast<int8_t>(q4[l] >> 4);
      if constexpr (sizeof(Block) == sizeof(block_q5_K)) {
        for (int l = 0; l < 32; ++l) a[l] = static_cast<int8_t>(a[l] + ((x[i].qh[l] & m) ? 16 : 0));
      }
      a += 32;
      m = static_cast<uint8_t>(m << 1);
      q4 += 32;
    }
    (void)has_high;
    uint8_t sm[16];
    unpack_k_scales(x[i].scales, sm);
    int sumi = 0;
    for (int j = 0; j < kQK_K / 16; ++j) sumi += y[i].bsums[j] * sm[8 + j / 2];
    int scale16[16];
    for (int j = 0; j < 16; ++j) scale16[j] = sm[j / 2];  // 8 sub-blocks of 32 = 16 halves of 16
    accumulate_lanes16(aux8, y[i].qs, scale16, half_to_float(x[i].d) * y[i].d, sums);
    const float dmin = half_to_float(x[i].dmin) * y[i].d;
    sumf -= dmin * static_cast<float>(sumi);
  }
  for (int l = 0; l < 8; ++l) sumf += sums[l];
  return sumf;
}

}  // namespace

float vec_dot_q4_K(const void* vw, const void* va, int64_t n) {
  return vec_dot_q45_K(static_cast<const block_q4_K*>(vw), static_cast<const block_q8_K*>(va), n, false);
}

float vec_dot_q5_K(const void* vw, const void* va, int64_t n) {
  return vec_dot_q45_K(static_cast<const block_q5_K*>(vw), static_cast<const block_q8_K*>(va), n, true);
}

float vec_dot_q6_K(const void* vw, const void* va, int64_t n) {
  const auto* x = static_cast<const block_q6_K*>(vw);
  const auto* y = static_cast<const block_q8_K*>(va);
  float sums[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int8_t aux8[kQK_K];
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const uint8_t* q4 = x[i].ql;
    const uint8_t* qh = x[i].qh;
    int8_t* a = aux8;
    for (int j = 0; j < kQK_K; j += 128) {
      for (int l = 0; l < 32; ++l) {
        a[l + 0] = static_cast<int8_t>(((q4[l + 0] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32);
        a[l + 32] = static_cast<int8_t>(((q4[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32);
        a[l + 64] = static_cast<int8_t>(((q4[l + 0] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
        a[l + 96] = static_cast<int8_t>(((q4[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
      }
      a += 128;
      q4 += 64;
      qh += 32;
    }
    int scale16[16];
    for (int j = 0; j < 16; ++j) scale16[j] = x[i].scales[j];
    accumulate_lanes16(aux8, y[i].qs, scale16, half_to_float(x[i].d) * y[i].d, sums);
  }
  float sumf = 0;
  for (int l = 0; l < 8; ++l) sumf += sums[l];
  return sumf;
}

float vec_dot_f16(const void* vw, const void* va, int64_t n) {
  const auto* x = static_cast<const uint16_t*>(vw);
  const auto* y = static_cast<const uint16_t*>(va);
  double sumf = 0.0;
  for (int64_t i = 0; i < n; ++i) sumf += static_cast<double>(half_to_float(x[i]) * half_to_float(y[i]));
  return static_cast<float>(sumf);
}

float vec_dot_bf16(const void* vw, const void* va, int64_t n) {
  const auto* x = static_cast<const uint16_t*>(vw);
  const auto* y = static_cast<const uint16_t*>(va);
  double sumf = 0.0;
  for (int64_t i = 0; i < n; ++i) sumf += static_cast<double>(bf16_bits_to_float(x[i]) * bf16_bits_to_float(y[i]));
  return static_cast<float>(sumf);
}

float vec_dot_f32(const void* vw, const void* va, int64_t n) {
  const auto* x = static_cast<const float*>(vw);
  const auto* y = static_cast<const float*>(va);
  double sumf = 0.0;
  for (int64_t i = 0; i < n; ++i) sumf += static_cast<double>(x[i] * y[i]);
  return static_cast<float>(sumf);
}

}  // namespace ref

const DTypeInfo* vec_dot_dtype(DType weight) {
  switch (weight) {
    case DType::kQ4_0: case DType::kQ5_0: case DType::kQ8_0: case DType::kIQ4_NL:
      return &dtype_info(DType::kQ8_0);
    case DType::kQ4_1: case DType::kQ5_1:
      return &dtype_info(DType::kQ8_1);
    case DType::kQ2_K: case DType::kQ3_K: case DType::kQ4_K: case DType::kQ5_K: case DType::kQ6_K:
      return &dtype_info(DType::kQ8_K);
    case DType::kF16: case DType::kBF16: case DType::kF32:
      return &dtype_info(weight);
    default:
      return nullptr;
  }
}

void quantize_activation_row(DType vec_dot_type, const float* x, void* dst, int64_t n) {
  if (vec_dot_type == DType::kQ8_1) {
    ref::quant_row_q8_1(x, dst, n);
    return;
  }
  dtype_info(vec_dot_type).quant(x, dst, n);
}

VecDotFn ref_vec_dot(DType weight) {
  switch (weight) {
    case DType::kQ4_0: return ref::vec_dot_q4_0;
    case DType::kQ4_1: return ref::vec_dot_q4_1;
    case DType::kQ5_0: return ref::vec_dot_q5_0;
    case DType::kQ5_1: return ref::vec_dot_q5_1;
    case DType::kQ8_0: return ref::vec_dot_q8_0;
    case DType::kIQ4_NL: return ref::vec_dot_iq4_nl;
    case DType::kQ2_K: return ref::vec_dot_q2_K;
    case DType::kQ3_K: return ref::vec_dot_q3_K;
    case DType::kQ4_K: return ref::vec_dot_q4_K;
    case DType::kQ5_K: return ref::vec_dot_q5_K;
    case DType::kQ6_K: return ref::vec_dot_q6_K;
    case DType::kF16: return ref::vec_dot_f16;
    case DType::kBF16: return ref::vec_dot_bf16;
    case DType::kF32: return ref::vec_dot_f32;
    default: return nullptr;
  }
}

}  // namespace pocket::kernels
