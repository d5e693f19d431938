// Runtime selection of the SIMD target that serves each weight type.
//
// The best target the CPU supports is picked once (CPUID): avx512 (needs AVX-512 F/BW/VL/VNNI) > avx2 (AVX2, FMA,
// F16C) > scalar. POCKET_SIMD=scalar|avx2|avx512 forces one (an unsupported or unknown value is reported by
// simd_env_error() and ignored). A type the chosen target has no kernel for is served by the scalar reference and
// reported as "scalar", never silently.
//
// On aarch64 (getauxval(AT_HWCAP)): neon_dotprod (Advanced SIMD + HWCAP_ASIMDDP, sdot) > neon (plain Advanced
// SIMD, every aarch64 CPU) > scalar; POCKET_SIMD=scalar|neon|neon_dotprod.
#pragma once

#include <string>
#include <vector>

#include "kernels/simd/gemm_kernels.h"
#include "tensor/dtype.h"

namespace pocket::kernels {

enum class SimdTarget { kScalar = 0, kAvx2 = 1, kAvx512 = 2, kNeon = 3, kNeonDotprod = 4 };

const char* target_name(SimdTarget t);
// Targets compiled into this binary, scalar first.
std::vector<SimdTarget> compiled_targets();
// Whether this CPU can run target t (always true for scalar).
bool cpu_supports(SimdTarget t);
// The target chosen at startup (best supported, or POCKET_SIMD).
SimdTarget active_target();
// Non-empty when POCKET_SIMD held a value that could not be honoured (names the value and the choices).
const std::string& simd_env_error();

struct KernelChoice {
  simd::GemmFn gemm = nullptr;        // nullptr: the weight type has no integer kernel at all
  SimdTarget target = SimdTarget::kScalar;  // the target that actually serves it
};
// Target t's kernel for the weight type, falling back to scalar (reported in .target).
KernelChoice kernel_for(DType weight, SimdTarget t);
inline KernelChoice kernel_for(DType weight) { return kernel_for(weight, active_target()); }

// "Q8_0=avx512 Q4_0=avx512 ... F32=avx512" for every type with a kernel, under the active target.
std::string describe_kernels();

}  // namespace pocket::kernels
