// AVX-512 VNNI kernels on packed 16-row strips (layouts in kernels/packed.h), compiled with the avx512 flags.
//
// Micro-kernel: 16 rows (the lanes of one zmm) x T tokens. For each 4-value group g of a block, one 64-byte
// weight vector (u8) meets T broadcast 4-byte activation groups (s8) in T vpdpbusd; integer block sums are exact
// (|sum| <= 32 * 255 * 127 for 32-blocks), then scaled in f32 per block: acc += f32(isum) * (d_w * d_a).
// The offset of unsigned weights (u = w + off) is removed by starting each block's integer sum at -off * sum(a).
#include <immintrin.h>

#include <cstring>

#include "kernels/simd/packed_kernels.h"
#include "tensor/blocks.h"
#include "tensor/half.h"

namespace pocket::kernels::simd {
namespace {

inline __m512i bcast4(const int8_t* p) {
  int32_t v;
  std::memcpy(&v, p, 4);
  return _mm512_set1_epi32(v);
}

// Asks for the block kPrefetchBlocks ahead (the strips of a thread's range are contiguous, so this runs on into
// the next strip). Used from 4 tokens per strip up: there the kernel is compute-bound enough that the hardware
// prefetcher alone leaves the loads of the next blocks exposed (A/B: 8-token batches ~10-20 % faster); a 1-token
// decode is a pure stream that the hardware prefetcher already serves.
constexpr int64_t kPrefetchBlocks = 4;
inline void prefetch_ahead(const uint8_t* blk, int64_t block_bytes) {
  const uint8_t* next = blk + kPrefetchBlocks * block_bytes;
  for (int64_t off = 0; off < block_bytes; off += 64) _mm_prefetch(reinterpret_cast<const char*>(next + off), _MM_HINT_T0);
}

// ---- 32-element block types (Q8_0, Q4_0) --------------------------------------------------------------------

// Where the 32-element kernels find token t's block b. Rows: the quantizer's rows (PackedActs), one pointer per
// token. Tile: the same values regrouped per block for a tile of T tokens (avx512_pack_act_tile), so that one
// pointer and constant offsets reach all of them. With rows, the 3 * T pointers of an 8-token kernel do not fit
// the general registers: GCC parks them in vector registers and moves them back every block.
template <int T>
struct RowActs {
  const block_q8_0* q[T];
  const float* d[T];
  const int32_t* c[T];
  RowActs(const PackedActs& a, int64_t t0) {
    for (int t = 0; t < T; ++t) {
      q[t] = reinterpret_cast<const block_q8_0*>(a.q + (t0 + t) * a.q_stride);
      d[t] = a.aux + (t0 + t) * a.aux_stride;
      c[t] = reinterpret_cast<const int32_t*>(d[t] + a.n_d);
    }
  }
  const int8_t* qs(int t, int64_t b) const { return q[t][b].qs; }
  float scale(int t, int64_t b) const { return d[t][b]; }
  int32_t corr(int t, int64_t b) const { return c[t][b]; }
};

// Tokens per call of the one-strip 32-element kernels; batches of up to this many read a tile.
constexpr int kMaxTok32 = 8;
// Tile block b (kTileBlockBytes(T) bytes): int32 corr[T], f32 d[T], int8 qs[T][32].
constexpr int64_t kTileBlockBytes(int64_t t) { return t * (8 + kQK8_0); }
template <int T>
struct TileActs {
  const uint8_t* p;
  const uint8_t* block(int64_t b) const { return p + b * kTileBlockBytes(T); }
  const int8_t* qs(int t, int64_t b) const { return reinterpret_cast<const int8_t*>(block(b) + 8 * T + kQK8_0 * t); }
  float scale(int t, int64_t b) const {
    float v;
    std::memcpy(&v, block(b) + 4 * T + 4 * t, 4);
    return v;
  }
  int32_t corr(int t, int64_t b) const {
    int32_t v;
    std::memcpy(&v, block(b) + 4 * t, 4);
    return v;
  }
};

template <DType kType, int T, class Acts>
void micro32_acts(const uint8_t* strip, int64_t block_bytes, int64_t nb, const Acts& a, float* y, int64_t ldy,
                  __mmask16 mask) {
  __m512 facc[T];
  for (int t = 0; t < T; ++t) facc[t] = _mm512_setzero_ps();
  const __m512i m4 = _mm512_set1_epi8(0x0F);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk = strip + b * block_bytes;
    if constexpr (T >= 4) prefetch_ahead(blk, block_bytes);
    __m512i isum[T];
    for (int t = 0; t < T; ++t) isum[t] = _mm512_set1_epi32(a.corr(t, b));
    if constexpr (kType == DType::kQ8_0) {
      for (int g = 0; g < 8; ++g) {
        const __m512i w = _mm512_loadu_si512(blk + 32 + 64 * g);
        for (int t = 0; t < T; ++t) isum[t] = _mm512_dpbusd_epi32(isum[t], w, bcast4(a.qs(t, b) + 4 * g));
      }
    } else {
      for (int j = 0; j < 4; ++j) {
        const __m512i x = _mm512_loadu_si512(blk + 32 + 64 * j);
        const __m512i lo = _mm512_and_si512(x, m4);
        const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(x, 4), m4);
        for (int t = 0; t < T; ++t) {
          isum[t] = _mm512_dpbusd_epi32(isum[t], lo, bcast4(a.qs(t, b) + 4 * j));
          isum[t] = _mm512_dpbusd_epi32(isum[t], hi, bcast4(a.qs(t, b) + 16 + 4 * j));
        }
      }
    }
    const __m512 wd = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk)));
    for (int t = 0; t < T; ++t) {
      facc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[t]), _mm512_mul_ps(wd, _mm512_set1_ps(a.scale(t, b))), facc[t]);
    }
  }
  for (int t = 0; t < T; ++t) _mm512_mask_storeu_ps(y + t * ldy, mask, facc[t]);
}

template <DType kType, int T>
void micro32(const uint8_t* strip, int64_t block_bytes, int64_t nb, const PackedActs& a, int64_t t0, float* y,
             int64_t ldy, __mmask16 mask) {
  micro32_acts<kType, T>(strip, block_bytes, nb, RowActs<T>(a, t0), y, ldy, mask);
}
template <DType kType, int T>
void micro32_tile(const uint8_t* strip, int64_t block_bytes, int64_t nb, const uint8_t* tile, float* y, int64_t ldy,
                  __mmask16 mask) {
  micro32_acts<kType, T>(strip, block_bytes, nb, TileActs<T>{tile}, y, ldy, mask);
}

// Two strips (32 rows) x T <= 4 tokens: every activation broadcast feeds two vpdpbusd instead of one. At 8 tokens
// per strip the one-strip kernel issues a broadcast per vpdpbusd, and the instruction count, not the vpdpbusd
// throughput, bounds it; two passes of this one over a strip pair issue about a fifth fewer instructions (the
// pair's weights stay in L1/L2 for the second pass). Same arithmetic per (row, token) as micro32: bit-identical.
template <DType kType, int T>
void micro32x2(const uint8_t* strip, int64_t strip_bytes, int64_t block_bytes, int64_t nb, const PackedActs& a,
               int64_t t0, float* y, int64_t ldy, __mmask16 mask1) {
  __m512 facc[2][T];
  const block_q8_0* aq[T];
  const float* ad[T];
  const int32_t* ac[T];
  for (int t = 0; t < T; ++t) {
    facc[0][t] = facc[1][t] = _mm512_setzero_ps();
    aq[t] = reinterpret_cast<const block_q8_0*>(a.q + (t0 + t) * a.q_stride);
    ad[t] = a.aux + (t0 + t) * a.aux_stride;
    ac[t] = reinterpret_cast<const int32_t*>(ad[t] + a.n_d);
  }
  const __m512i m4 = _mm512_set1_epi8(0x0F);
  for (int64_t b = 0; b < nb; ++b) {
    const uint8_t* blk0 = strip + b * block_bytes;
    const uint8_t* blk1 = blk0 + strip_bytes;
    prefetch_ahead(blk0, block_bytes);
    prefetch_ahead(blk1, block_bytes);
    __m512i isum[2][T];
    for (int t = 0; t < T; ++t) isum[0][t] = isum[1][t] = _mm512_set1_epi32(ac[t][b]);
    if constexpr (kType == DType::kQ8_0) {
      for (int g = 0; g < 8; ++g) {
        const __m512i w0 = _mm512_loadu_si512(blk0 + 32 + 64 * g), w1 = _mm512_loadu_si512(blk1 + 32 + 64 * g);
        for (int t = 0; t < T; ++t) {
          const __m512i x = bcast4(aq[t][b].qs + 4 * g);
          isum[0][t] = _mm512_dpbusd_epi32(isum[0][t], w0, x);
          isum[1][t] = _mm512_dpbusd_epi32(isum[1][t], w1, x);
        }
      }
    } else {
      for (int j = 0; j < 4; ++j) {
        const __m512i x0 = _mm512_loadu_si512(blk0 + 32 + 64 * j), x1 = _mm512_loadu_si512(blk1 + 32 + 64 * j);
        const __m512i lo0 = _mm512_and_si512(x0, m4), hi0 = _mm512_and_si512(_mm512_srli_epi16(x0, 4), m4);
        const __m512i lo1 = _mm512_and_si512(x1, m4), hi1 = _mm512_and_si512(_mm512_srli_epi16(x1, 4), m4);
        for (int t = 0; t < T; ++t) {
          const __m512i alo = bcast4(aq[t][b].qs + 4 * j), ahi = bcast4(aq[t][b].qs + 16 + 4 * j);
          isum[0][t] = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(isum[0][t], lo0, alo), hi0, ahi);
          isum[1][t] = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(isum[1][t], lo1, alo), hi1, ahi);
        }
      }
    }
    const __m512 wd0 = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk0)));
    const __m512 wd1 = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk1)));
    for (int t = 0; t < T; ++t) {
      const __m512 at = _mm512_set1_ps(ad[t][b]);
      facc[0][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[0][t]), _mm512_mul_ps(wd0, at), facc[0][t]);
      facc[1][t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum[1][t]), _mm512_mul_ps(wd1, at), facc[1][t]);
    }
  }
  for (int t = 0; t < T; ++t) {
    _mm512_storeu_ps(y + t * ldy, facc[0][t]);
    _mm512_mask_storeu_ps(y + t * ldy + kPackRows, mask1, facc[1][t]);
  }
}

// ---- Q4_K ----------------------------------------------------------------------------------------------------

constexpr int64_t kQ4KScales = 64, kQ4KMins = 64 + 128, kQ4KQs = 64 + 128 + 256;

template <int T>
void micro_q4k(const uint8_t* strip, int64_t block_bytes, int64_t nsb, const PackedActs& a, int64_t t0, float* y,
               int64_t ldy, __mmask16 mask) {
  __m512 facc[T];
  const block_q8_K* aq[T];
  const float* ad[T];
  const int32_t* ac[T];
  for (int t = 0; t < T; ++t) {
    facc[t] = _mm512_setzero_ps();
    aq[t] = reinterpret_cast<const block_q8_K*>(a.q + (t0 + t) * a.q_stride);
    ad[t] = a.aux + (t0 + t) * a.aux_stride;
    ac[t] = reinterpret_cast<const int32_t*>(ad[t] + a.n_d);
  }
  const __m512i m4 = _mm512_set1_epi8(0x0F);
  for (int64_t sb = 0; sb < nsb; ++sb) {
    const uint8_t* blk = strip + sb * block_bytes;
    if constexpr (T >= 4) prefetch_ahead(blk, block_bytes);
    __m512i iacc[T];
    for (int t = 0; t < T; ++t) iacc[t] = _mm512_setzero_si512();
    for (int j = 0; j < 8; ++j) {
      __m512i isum[T];
      for (int t = 0; t < T; ++t) isum[t] = _mm512_setzero_si512();
      const uint8_t* q = blk + kQ4KQs + 256 * j;
      for (int jj = 0; jj < 4; ++jj) {
        const __m512i x = _mm512_loadu_si512(q + 64 * jj);
        const __m512i lo = _mm512_and_si512(x, m4);
        const __m512i hi = _mm512_and_si512(_mm512_srli_epi16(x, 4), m4);
        for (int t = 0; t < T; ++t) {
          const int8_t* aj = aq[t][sb].qs + 32 * j + 4 * jj;
          isum[t] = _mm512_dpbusd_epi32(isum[t], lo, bcast4(aj));
          isum[t] = _mm512_dpbusd_epi32(isum[t], hi, bcast4(aj + 16));
        }
      }
      const __m512i sc = _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(blk + kQ4KScales + 16 * j)));
      for (int t = 0; t < T; ++t) iacc[t] = _mm512_add_epi32(iacc[t], _mm512_mullo_epi32(isum[t], sc));
    }
    __m512i mint[T];
    for (int t = 0; t < T; ++t) mint[t] = _mm512_setzero_si512();
    for (int i = 0; i < 4; ++i) {
      const __m512i m = _mm512_loadu_si512(blk + kQ4KMins + 64 * i);
      for (int t = 0; t < T; ++t) mint[t] = _mm512_dpwssd_epi32(mint[t], m, _mm512_set1_epi32(ac[t][4 * sb + i]));
    }
    const __m512 d = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk)));
    const __m512 dmin = _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(blk + 32)));
    for (int t = 0; t < T; ++t) {
      const __m512 at = _mm512_set1_ps(ad[t][sb]);
      facc[t] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(iacc[t]), _mm512_mul_ps(d, at), facc[t]);
      facc[t] = _mm512_fnmadd_ps(_mm512_cvtepi32_ps(mint[t]), _mm512_mul_ps(dmin, at), facc[t]);
    }
  }
  for (int t = 0; t < T; ++t) _mm512_mask_storeu_ps(y + t * ldy, mask, facc[t]);
}

using MicroFn = void (*)(const uint8_t*, int64_t, int64_t, const PackedActs&, int64_t, float*, int64_t, __mmask16);

template <DType kType, int T>
constexpr MicroFn micro_for() {
  if constexpr (kType == DType::kQ4_K) {
    return micro_q4k<T>;
  } else {
    return micro32<kType, T>;
  }
}

// The lanes of a strip whose first row has `left` rows of the matrix from it onwards.
inline __mmask16 rows_mask(int64_t left) {
  return static_cast<__mmask16>((1u << (left < kPackRows ? left : kPackRows)) - 1u);
}

template <DType kType, int kMaxT>
void gemm_strips(const PackedWeight& w, int64_t s0, int64_t s1, const PackedActs& a, int64_t n_tok, float* y,
                 int64_t ldy) {
  static constexpr MicroFn kFns[8] = {micro_for<kType, 1>(), micro_for<kType, 2>(), micro_for<kType, 3>(),
                                      micro_for<kType, 4>(), micro_for<kType, 5>(), micro_for<kType, 6>(),
                                      micro_for<kType, 7>(), micro_for<kType, 8>()};
  const int64_t nb = w.strip_bytes / w.block_bytes;
  if constexpr (kType != DType::kQ4_K) {
    // Batches of up to kMaxTok32 tokens (decode, served streams) come with a tile (TileActs): 8-stream Q4_0 steps
    // 3-7 % faster, Q8_0 ~13 %, in-process A/B step by step on Zen 4.
    if (a.tile != nullptr) {
      static_assert(kMaxT == kMaxTok32);
      using TileFn = void (*)(const uint8_t*, int64_t, int64_t, const uint8_t*, float*, int64_t, __mmask16);
      static constexpr TileFn kTileFns[8] = {micro32_tile<kType, 1>, micro32_tile<kType, 2>, micro32_tile<kType, 3>,
                                             micro32_tile<kType, 4>, micro32_tile<kType, 5>, micro32_tile<kType, 6>,
                                             micro32_tile<kType, 7>, micro32_tile<kType, 8>};
      for (int64_t s = s0; s < s1; ++s) {
        const int64_t r0 = s * kPackRows;
        kTileFns[n_tok - 1](w.strip(s), w.block_bytes, nb, a.tile, y + r0, ldy, rows_mask(w.rows - r0));
      }
      return;
    }
  }
  // Token chunks whose activations stay in L2 (~512 KiB) while the strips stream past them.
  const int64_t row_bytes = a.q_stride + 4 * a.aux_stride;
  int64_t chunk = (int64_t{512} << 10) / row_bytes;
  chunk = chunk < kMaxT ? kMaxT : chunk / kMaxT * kMaxT;
  for (int64_t c0 = 0; c0 < n_tok; c0 += chunk) {
    const int64_t c1 = c0 + chunk < n_tok ? c0 + chunk : n_tok;
    int64_t s = s0;
    // Strip pairs only for prompts of more than 8 tokens (compute-bound: each strip meets many tokens, and the
    // pair's weights stay in L1/L2 between its passes). Batches of 1-8 tokens (decode, served streams) stream
    // the weights from memory, and there the one-strip kernel is faster: at 5-8 tokens a pair needs two passes
    // (served 8-stream steps were ~20 % slower, A/B on Zen 5), and at 2-4 tokens the pair's two interleaved
    // weight streams per thread made whole-model steps slower than 3-token ones (pocket bench -p 2..4, Q4_0 on
    // Zen 4: one strip 1.3-1.8x faster at 2 tokens, ~1.2x at 3-4).
    const bool pairs = n_tok > kMaxT;
    if constexpr (kType != DType::kQ4_K) {
      using PairFn = void (*)(const uint8_t*, int64_t, int64_t, int64_t, const PackedActs&, int64_t, float*,
                              int64_t, __mmask16);
      static constexpr PairFn kPairFns[4] = {micro32x2<kType, 1>, micro32x2<kType, 2>, micro32x2<kType, 3>,
                                             micro32x2<kType, 4>};
      for (; pairs && s + 1 < s1; s += 2) {
        const int64_t r0 = s * kPackRows;  // strip s is full: only the matrix's last strip can be partial
        const __mmask16 mask1 = rows_mask(w.rows - r0 - kPackRows);
        for (int64_t t0 = c0; t0 < c1; t0 += 4) {
          const int64_t nt = c1 - t0 < 4 ? c1 - t0 : 4;
          kPairFns[nt - 1](w.strip(s), w.strip_bytes, w.block_bytes, nb, a, t0, y + t0 * ldy + r0, ldy, mask1);
        }
      }
    }
    for (; s < s1; ++s) {
      const int64_t r0 = s * kPackRows;
      const __mmask16 mask = rows_mask(w.rows - r0);
      for (int64_t t0 = c0; t0 < c1; t0 += kMaxT) {
        const int64_t nt = c1 - t0 < kMaxT ? c1 - t0 : kMaxT;
        kFns[nt - 1](w.strip(s), w.block_bytes, nb, a, t0, y + t0 * ldy + r0, ldy, mask);
      }
    }
  }
}

// ---- activation quantizers -------------------------------------------------------------------------------------

// roundf (half away from zero) of v, then (int8_t) with x86 cvttss2si semantics (NaN / out of range -> 0).
inline __m128i round_away_to_i8(__m512 v) {
  const __m512 t = _mm512_roundscale_ps(v, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
  const __m512 frac = _mm512_sub_ps(v, t);
  const __mmask16 up = _mm512_cmp_ps_mask(_mm512_abs_ps(frac), _mm512_set1_ps(0.5f), _CMP_GE_OQ);
  const __m512 one = _mm512_or_ps(_mm512_set1_ps(1.0f), _mm512_and_ps(v, _mm512_set1_ps(-0.0f)));
  const __m512 r = _mm512_mask_add_ps(t, up, t, one);
  return _mm512_cvtepi32_epi8(_mm512_cvttps_epi32(r));
}

// One Q8_0 block (ggml's quantize_row_q8_0_ref) and its sum of quants.
inline int quantize_q8_0_block(const float* x, block_q8_0* out) {
  const __m512 x0 = _mm512_loadu_ps(x), x1 = _mm512_loadu_ps(x + 16);
  const float amax = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_abs_ps(x0), _mm512_abs_ps(x1)));
  const float d = amax / 127.0f;
  const float id = d != 0.0f ? 1.0f / d : 0.0f;
  out->d = _cvtss_sh(d, _MM_FROUND_TO_NEAREST_INT);  // F16C, round to nearest even: float_to_half's result
  const __m512 vid = _mm512_set1_ps(id);
  const __m128i q0 = round_away_to_i8(_mm512_mul_ps(x0, vid));
  const __m128i q1 = round_away_to_i8(_mm512_mul_ps(x1, vid));
  // The 32 quants are joined in a register, not reloaded from the two 16-byte stores: a 32-byte load spanning
  // two stores cannot be forwarded and waits for both to retire.
  const __m256i qs = _mm256_inserti128_si256(_mm256_castsi128_si256(q0), q1, 1);
  _mm256_storeu_si256(reinterpret_cast<__m256i*>(out->qs), qs);
  const __m256i q = _mm256_xor_si256(qs, _mm256_set1_epi8(static_cast<char>(0x80)));
  const __m256i s = _mm256_sad_epu8(q, _mm256_setzero_si256());
  const int64_t total = _mm256_extract_epi64(s, 0) + _mm256_extract_epi64(s, 1) + _mm256_extract_epi64(s, 2) +
                        _mm256_extract_epi64(s, 3);
  return static_cast<int>(total) - 128 * 32;
}

// One Q8_K super-block (quant_row_q8_K: iscale = -127 / (signed value of largest magnitude, first on ties),
// round half to even, clamp at 127, bsums per 16). Writes the 8 sums of 32 into bsum32.
inline void quantize_q8_K_block(const float* x, block_q8_K* out, int bsum32[8]) {
  __m512 vmax = _mm512_setzero_ps();
  for (int i = 0; i < 16; ++i) vmax = _mm512_max_ps(vmax, _mm512_abs_ps(_mm512_loadu_ps(x + 16 * i)));
  const float amax = _mm512_reduce_max_ps(vmax);
  if (!(amax > 0.0f)) {
    out->d = 0;
    std::memset(out->qs, 0, sizeof(out->qs));
    std::memset(out->bsums, 0, sizeof(out->bsums));
    for (int j = 0; j < 8; ++j) bsum32[j] = 0;
    return;
  }
  float max = amax;
  const __m512 va = _mm512_set1_ps(amax);
  for (int i = 0; i < 16; ++i) {
    const __mmask16 m = _mm512_cmp_ps_mask(_mm512_abs_ps(_mm512_loadu_ps(x + 16 * i)), va, _CMP_EQ_OQ);
    if (m != 0) {
      max = x[16 * i + __builtin_ctz(m)];
      break;
    }
  }
  const float iscale = -127.f / max;
  const __m512 vs = _mm512_set1_ps(iscale);
  for (int i = 0; i < 16; ++i) {
    __m512i v = _mm512_cvtps_epi32(_mm512_mul_ps(vs, _mm512_loadu_ps(x + 16 * i)));  // nearest, ties to even
    v = _mm512_min_epi32(v, _mm512_set1_epi32(127));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(out->qs + 16 * i), _mm512_cvtepi32_epi8(v));
    out->bsums[i] = static_cast<int16_t>(_mm512_reduce_add_epi32(v));
  }
  for (int j = 0; j < 8; ++j) bsum32[j] = out->bsums[2 * j] + out->bsums[2 * j + 1];
  out->d = 1 / iscale;
}

}  // namespace

void avx512_quantize_packed_act(DType t, const float* x, int64_t cols, uint8_t* q, float* aux) {
  if (t == DType::kQ4_K) {
    const int64_t nsb = cols / kQK_K;
    auto* blocks = reinterpret_cast<block_q8_K*>(q);
    auto* c = reinterpret_cast<int32_t*>(aux + nsb);
    for (int64_t sb = 0; sb < nsb; ++sb) {
      int b32[8];
      quantize_q8_K_block(x + sb * kQK_K, blocks + sb, b32);
      aux[sb] = blocks[sb].d;
      for (int i = 0; i < 4; ++i) {
        c[4 * sb + i] = static_cast<int32_t>((static_cast<uint32_t>(b32[2 * i]) & 0xFFFFu) |
                                             (static_cast<uint32_t>(b32[2 * i + 1]) << 16));
      }
    }
    return;
  }
  const int64_t nb = cols / kQK8_0;
  const int off = t == DType::kQ8_0 ? 128 : 8;
  auto* blocks = reinterpret_cast<block_q8_0*>(q);
  auto* c = reinterpret_cast<int32_t*>(aux + nb);
  for (int64_t b = 0; b < nb; ++b) {
    const int sum = quantize_q8_0_block(x + b * kQK8_0, blocks + b);
    aux[b] = _cvtsh_ss(blocks[b].d);
    c[b] = -off * sum;
  }
}

int64_t avx512_act_tile_bytes(DType t, int64_t cols, int64_t n_tok) {
  const bool tiled = (t == DType::kQ8_0 || t == DType::kQ4_0) && n_tok >= 1 && n_tok <= kMaxTok32;
  return tiled ? cols / kQK8_0 * kTileBlockBytes(n_tok) : 0;
}

void avx512_pack_act_tile(const PackedActs& a, int64_t cols, int64_t n_tok, uint8_t* out) {
  const int64_t nb = cols / kQK8_0, bb = kTileBlockBytes(n_tok);
  for (int64_t t = 0; t < n_tok; ++t) {
    const auto* q = reinterpret_cast<const block_q8_0*>(a.q + t * a.q_stride);
    const float* d = a.aux + t * a.aux_stride;
    const float* c = d + a.n_d;
    for (int64_t b = 0; b < nb; ++b) {
      uint8_t* o = out + b * bb;
      std::memcpy(o + 4 * t, c + b, 4);
      std::memcpy(o + 4 * n_tok + 4 * t, d + b, 4);
      std::memcpy(o + 8 * n_tok + kQK8_0 * t, q[b].qs, kQK8_0);
    }
  }
}

void avx512_packed_gemm(const PackedWeight& w, int64_t s0, int64_t s1, const PackedActs& a, int64_t n_tok, float* y,
                        int64_t ldy) {
  switch (w.type) {
    case DType::kQ8_0: gemm_strips<DType::kQ8_0, kMaxTok32>(w, s0, s1, a, n_tok, y, ldy); break;
    case DType::kQ4_0: gemm_strips<DType::kQ4_0, kMaxTok32>(w, s0, s1, a, n_tok, y, ldy); break;
    case DType::kQ4_K: gemm_strips<DType::kQ4_K, 6>(w, s0, s1, a, n_tok, y, ldy); break;
    default: break;
  }
}

}  // namespace pocket::kernels::simd
