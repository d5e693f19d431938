// The AVX2 target (compiled with -mavx2 -mfma -mf16c): maddubs-based integer dot products.
#include <immintrin.h>

#include <cstring>
#include <vector>

#include "kernels/simd/gemm_kernels.h"
#include "tensor/blocks.h"
#include "tensor/half.h"

namespace pocket::kernels::simd {
namespace avx2_impl {
#define POCKET_X86_VNNI 0
#include "kernels/simd/x86_gemm.inc"
#undef POCKET_X86_VNNI
}  // namespace avx2_impl

GemmFn avx2_kernel(DType weight) { return avx2_impl::lookup_kernel(weight); }

}  // namespace pocket::kernels::simd
