// The NEON dot-product target (compiled with -march=armv8.2-a+dotprod; runs where the CPU reports HWCAP_ASIMDDP,
// e.g. Cortex-A55/A76 and later, Neoverse, Apple M): sdot (vdotq_s32) for the int8 dot products.
#include <arm_neon.h>

#include <cstddef>
#include <cstring>

#include "kernels/simd/gemm_kernels.h"
#include "tensor/blocks.h"
#include "tensor/half.h"

namespace pocket::kernels::simd {
namespace neon_dotprod_impl {
#define POCKET_NEON_DOTPROD 1
#include "kernels/simd/neon_gemm.inc"
#undef POCKET_NEON_DOTPROD
}  // namespace neon_dotprod_impl

GemmFn neon_dotprod_kernel(DType weight) { return neon_dotprod_impl::lookup_kernel(weight); }

}  // namespace pocket::kernels::simd
