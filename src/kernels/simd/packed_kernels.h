// Kernels on packed 16-row strips (kernels/packed.h) and the activation quantizers that feed them.
//
// Activations: each token row is quantized to the weight type's standard vec-dot blocks (Q8_0 for Q8_0/Q4_0,
// Q8_K for Q4_K; bit-identical to the scalar reference quantizer for finite inputs) plus an aux row of 4-byte
// values: n_d f32 block scales, then int32 corrections:
//   Q8_0 / Q4_0 weights: c[b] = -off * sum(q of block b)  (off 128 / 8: the weights enter vpdpbusd as u = w + off)
//   Q4_K weights:       c[4 sb + i] = int16 pair (bsum32[2i], bsum32[2i+1]) of super-block sb (sums of 32 q)
#pragma once

#include <cstdint>

#include "kernels/packed.h"

namespace pocket::kernels::simd {

struct PackedActs {
  const uint8_t* q = nullptr;  // token rows of vec-dot blocks
  int64_t q_stride = 0;        // bytes
  const float* aux = nullptr;  // token rows of aux values
  int64_t aux_stride = 0;      // 4-byte units per token
  int64_t n_d = 0;             // f32 scales per aux row (the int32 corrections follow)
  const uint8_t* tile = nullptr;  // the same tokens regrouped per block (avx512_pack_act_tile), or none
};

// Aux values per token row for a packed weight of type t and cols values.
int64_t packed_aux_n_d(DType t, int64_t cols);
int64_t packed_aux_stride(DType t, int64_t cols);

#if defined(POCKET_HAVE_AVX512)
// Quantizes one token row x[cols] for weight type t into q (vec-dot blocks) and aux.
void avx512_quantize_packed_act(DType t, const float* x, int64_t cols, uint8_t* q, float* aux);
// Bytes of the activation tile that the kernels for weight type t read for a batch of n_tok tokens of cols values
// (0: they read the rows). Built once per product, before its strips are split over the threads.
int64_t avx512_act_tile_bytes(DType t, int64_t cols, int64_t n_tok);
// Regroups the n_tok rows of a into that tile at out.
void avx512_pack_act_tile(const PackedActs& a, int64_t cols, int64_t n_tok, uint8_t* out);
// y[t * ldy + row] for rows of strips [s0, s1) and tokens [0, n_tok).
void avx512_packed_gemm(const PackedWeight& w, int64_t s0, int64_t s1, const PackedActs& a, int64_t n_tok, float* y,
                        int64_t ldy);
#endif

// Scalar reference of the activation preparation (for tests and non-AVX-512 builds): the reference quantizer
// plus the aux row.
void ref_quantize_packed_act(DType t, const float* x, int64_t cols, uint8_t* q, float* aux);

}  // namespace pocket::kernels::simd
