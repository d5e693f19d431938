// The per-target kernel interface: one GEMM entry per weight type. GEMV (decode) is the n_tok == 1 case.
//
//   y[t * ldy + r] = dot(weight row r, activation row t)   r in [0, n_rows), t in [0, n_tok)
//
// Weight rows are n values in the weight dtype (w_stride bytes apart); activation rows are n values already
// rounded to the weight type's vec-dot type (kernels/vec_dot.h; a_stride bytes apart).
#pragma once

#include <cstdint>

#include "tensor/dtype.h"

namespace pocket::kernels::simd {

using GemmFn = void (*)(const uint8_t* w, int64_t w_stride, int64_t n_rows, const uint8_t* a, int64_t a_stride,
                        int64_t n_tok, int64_t n, float* y, int64_t ldy);

// Each compiled target returns its kernel for a weight type, or nullptr if it has none.
GemmFn scalar_kernel(DType weight);
#if defined(POCKET_HAVE_AVX2)
GemmFn avx2_kernel(DType weight);
#endif
#if defined(POCKET_HAVE_AVX512)
GemmFn avx512_kernel(DType weight);
#endif
#if defined(POCKET_HAVE_NEON)
GemmFn neon_kernel(DType weight);          // simd/neon.cc: plain Advanced SIMD
GemmFn neon_dotprod_kernel(DType weight);  // simd/neon_dotprod.cc: + sdot (ARMv8.2 dot product)
#endif

}  // namespace pocket::kernels::simd
