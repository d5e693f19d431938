// The AVX-512 target (compiled with -mavx512f -mavx512bw -mavx512vl -mavx512vnni -mavx512bf16 -mavx2 -mfma -mf16c):
// VNNI vpdpbusd for the 32-element block types, 32 vector registers for the rest.
#include <immintrin.h>

#include <cstring>
#include <vector>

#include "kernels/simd/gemm_kernels.h"
#include "tensor/blocks.h"
#include "tensor/half.h"

namespace pocket::kernels::simd {
namespace avx512_impl {
#define POCKET_X86_VNNI 1
#include "kernels/simd/x86_gemm.inc"
#undef POCKET_X86_VNNI
}  // namespace avx512_impl

GemmFn avx512_kernel(DType weight) { return avx512_impl::lookup_kernel(weight); }

}  // namespace pocket::kernels::simd
