// Packed block layouts of ggml's quantized types (ggml-common.h), byte for byte as stored in GGUF files.
// The structs are declared packed (alignment 1) so that a block may be read through a pointer at any address in a
// mapped file; none of them has internal padding, so their sizes equal ggml's. `d`/`m`/`dmin` fields are IEEE
// half floats stored as raw bits (see fp16_to_fp32 in dtype.h); values are little-endian like the host (x86-64,
// aarch64).
#pragma once

#include <cstdint>

namespace pocket {

inline constexpr int kQK4_0 = 32;
inline constexpr int kQK4_1 = 32;
inline constexpr int kQK5_0 = 32;
inline constexpr int kQK5_1 = 32;
inline constexpr int kQK8_0 = 32;
inline constexpr int kQK8_1 = 32;
inline constexpr int kQK4_NL = 32;
inline constexpr int kQK_K = 256;         // super-block size of the K-quants and most IQ types
inline constexpr int kKScaleBytes = 12;   // packed 6-bit scales/mins of Q4_K/Q5_K, 6-bit scales of Q3_K

#pragma pack(push, 1)

// 4.5 bpw: x = d * (q - 8), q in [0, 15]; element j in the low nibble of qs[j], element j+16 in the high nibble.
struct block_q4_0 {
  uint16_t d;
  uint8_t qs[kQK4_0 / 2];
};
// 5 bpw: x = d * q + m.
struct block_q4_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qs[kQK4_1 / 2];
};
// 5.5 bpw: x = d * (q - 16), q = nibble | (bit j of qh) << 4.
struct block_q5_0 {
  uint16_t d;
  uint8_t qh[4];
  uint8_t qs[kQK5_0 / 2];
};
// 6 bpw: x = d * q + m.
struct block_q5_1 {
  uint16_t d;
  uint16_t m;
  uint8_t qh[4];
  uint8_t qs[kQK5_1 / 2];
};
// 8.5 bpw: x = d * q.
struct block_q8_0 {
  uint16_t d;
  int8_t qs[kQK8_0];
};
// 9 bpw: x = d * q; s = d * sum(q) (activation format).
struct block_q8_1 {
  uint16_t d;
  uint16_t s;
  int8_t qs[kQK8_1];
};

// 2.625 bpw: 16 sub-blocks of 16; scales[i] = 4-bit scale | 4-bit min << 4; x = d*sc*q - dmin*m.
struct block_q2_K {
  uint8_t scales[kQK_K / 16];
  uint8_t qs[kQK_K / 4];
  uint16_t d;
  uint16_t dmin;
};
// 3.4375 bpw: 16 sub-blocks of 16 with 6-bit signed scales; high bit of each quant in hmask.
struct block_q3_K {
  uint8_t hmask[kQK_K / 8];
  uint8_t qs[kQK_K / 4];
  uint8_t scales[kKScaleBytes];
  uint16_t d;
};
// 4.5 bpw: 8 sub-blocks of 32 with 6-bit scales and mins; x = d*sc*q - dmin*m.
struct block_q4_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kKScaleBytes];
  uint8_t qs[kQK_K / 2];
};
// 5.5 bpw: as Q4_K plus a fifth bit per quant in qh.
struct block_q5_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[kKScaleBytes];
  uint8_t qh[kQK_K / 8];
  uint8_t qs[kQK_K / 2];
};
// 6.5625 bpw: 16 sub-blocks of 16 with 8-bit signed scales; x = d * sc * (q - 32).
struct block_q6_K {
  uint8_t ql[kQK_K / 2];
  uint8_t qh[kQK_K / 4];
  int8_t scales[kQK_K / 16];
  uint16_t d;
};
// Activation format for K-quant dot products: f32 scale, 8-bit quants, sums of each group of 16 quants.
struct block_q8_K {
  float d;
  int8_t qs[kQK_K];
  int16_t bsums[kQK_K / 16];
};

// 4.5 bpw non-linear: x = d * kIQ4NLValues[q].
struct block_iq4_nl {
  uint16_t d;
  uint8_t qs[kQK4_NL / 2];
};
// 4.25 bpw: 8 sub-blocks of 32 with 6-bit scales (low 4 bits in scales_l, high 2 bits in scales_h).
struct block_iq4_xs {
  uint16_t d;
  uint16_t scales_h;
  uint8_t scales_l[kQK_K / 64];
  uint8_t qs[kQK_K / 2];
};

#pragma pack(pop)

// ggml's block sizes (bytes), checked here and against the type table in dtype.cc.
static_assert(sizeof(block_q4_0) == 18);
static_assert(sizeof(block_q4_1) == 20);
static_assert(sizeof(block_q5_0) == 22);
static_assert(sizeof(block_q5_1) == 24);
static_assert(sizeof(block_q8_0) == 34);
static_assert(sizeof(block_q8_1) == 36);
static_assert(sizeof(block_q2_K) == 84);
static_assert(sizeof(block_q3_K) == 110);
static_assert(sizeof(block_q4_K) == 144);
static_assert(sizeof(block_q5_K) == 176);
static_assert(sizeof(block_q6_K) == 210);
static_assert(sizeof(block_q8_K) == 292);
static_assert(sizeof(block_iq4_nl) == 18);
static_assert(sizeof(block_iq4_xs) == 136);

// The 16 levels of IQ4_NL / IQ4_XS (ggml's kvalues_iq4nl).
inline constexpr int8_t kIQ4NLValues[16] = {-127, -104, -83, -65, -49, -35, -22, -10,
                                            1,    13,   25,  38,  53,  69,  89,  113};

}  // namespace pocket
