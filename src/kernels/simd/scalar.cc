// The scalar target: the reference vec_dot per (row, token) pair.
#include "kernels/simd/gemm_kernels.h"
#include "kernels/vec_dot.h"

namespace pocket::kernels::simd {
namespace {

template <VecDotFn Dot>
void scalar_gemm(const uint8_t* w, int64_t w_stride, int64_t n_rows, const uint8_t* a, int64_t a_stride,
                 int64_t n_tok, int64_t n, float* y, int64_t ldy) {
  for (int64_t r = 0; r < n_rows; ++r) {
    for (int64_t t = 0; t < n_tok; ++t) y[t * ldy + r] = Dot(w + r * w_stride, a + t * a_stride, n);
  }
}

}  // namespace

GemmFn scalar_kernel(DType weight) {
  switch (weight) {
    case DType::kQ4_0: return scalar_gemm<ref::vec_dot_q4_0>;
    case DType::kQ4_1: return scalar_gemm<ref::vec_dot_q4_1>;
    case DType::kQ5_0: return scalar_gemm<ref::vec_dot_q5_0>;
    case DType::kQ5_1: return scalar_gemm<ref::vec_dot_q5_1>;
    case DType::kQ8_0: return scalar_gemm<ref::vec_dot_q8_0>;
    case DType::kIQ4_NL: return scalar_gemm<ref::vec_dot_iq4_nl>;
    case DType::kQ2_K: return scalar_gemm<ref::vec_dot_q2_K>;
    case DType::kQ3_K: return scalar_gemm<ref::vec_dot_q3_K>;
    case DType::kQ4_K: return scalar_gemm<ref::vec_dot_q4_K>;
    case DType::kQ5_K: return scalar_gemm<ref::vec_dot_q5_K>;
    case DType::kQ6_K: return scalar_gemm<ref::vec_dot_q6_K>;
    case DType::kF16: return scalar_gemm<ref::vec_dot_f16>;
    case DType::kBF16: return scalar_gemm<ref::vec_dot_bf16>;
    case DType::kF32: return scalar_gemm<ref::vec_dot_f32>;
    default: return nullptr;
  }
}

}  // namespace pocket::kernels::simd
