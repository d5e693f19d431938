// The plain NEON target (ARMv8-A Advanced SIMD, on every aarch64 CPU): the int8 dot products are smull + sadalp.
// It serves CPUs without the dot-product extension (e.g. Cortex-A53/A72); neon_dotprod.cc is the sdot variant.
#include <arm_neon.h>

#include <cstddef>
#include <cstring>

#include "kernels/simd/gemm_kernels.h"
#include "tensor/blocks.h"
#include "tensor/half.h"

namespace pocket::kernels::simd {
namespace neon_impl {
#define POCKET_NEON_DOTPROD 0
#include "kernels/simd/neon_gemm.inc"
#undef POCKET_NEON_DOTPROD
}  // namespace neon_impl

GemmFn neon_kernel(DType weight) { return neon_impl::lookup_kernel(weight); }

}  // namespace pocket::kernels::simd
