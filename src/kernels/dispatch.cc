#include "kernels/dispatch.h"

#include <cstdlib>
#include <cstring>

#if defined(__aarch64__)
#include <sys/auxv.h>
#endif

namespace pocket::kernels {
namespace {

constexpr DType kKernelTypes[] = {DType::kQ8_0, DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1,
                                  DType::kIQ4_NL, DType::kQ2_K, DType::kQ3_K, DType::kQ4_K, DType::kQ5_K,
                                  DType::kQ6_K, DType::kF16, DType::kBF16, DType::kF32};

bool compiled(SimdTarget t) {
  switch (t) {
    case SimdTarget::kScalar: return true;
#if defined(POCKET_HAVE_AVX2)
    case SimdTarget::kAvx2: return true;
#endif
#if defined(POCKET_HAVE_AVX512)
    case SimdTarget::kAvx512: return true;
#endif
#if defined(POCKET_HAVE_NEON)
    case SimdTarget::kNeon: return true;
    case SimdTarget::kNeonDotprod: return true;
#endif
    default: return false;
  }
}

struct Selection {
  SimdTarget target = SimdTarget::kScalar;
  std::string env_error;
};

Selection select() {
  Selection s;
  for (SimdTarget t : {SimdTarget::kNeonDotprod, SimdTarget::kNeon, SimdTarget::kAvx512, SimdTarget::kAvx2,
                        SimdTarget::kScalar}) {
    if (compiled(t) && cpu_supports(t)) {
      s.target = t;
      break;
    }
  }
  const char* env = std::getenv("POCKET_SIMD");
  if (env != nullptr && *env != '\0') {
    bool found = false;
    for (SimdTarget t : {SimdTarget::kScalar, SimdTarget::kAvx2, SimdTarget::kAvx512, SimdTarget::kNeon,
                          SimdTarget::kNeonDotprod}) {
      if (std::strcmp(env, target_name(t)) != 0) continue;
      found = true;
      if (compiled(t) && cpu_supports(t)) {
        s.target = t;
      } else {
        s.env_error = std::string("POCKET_SIMD=") + env + ": target not " +
                      (compiled(t) ? "supported by this CPU" : "compiled into this build") + "; using " +
                      target_name(s.target);
      }
    }
    if (!found) {
      s.env_error = std::string("POCKET_SIMD=") + env +
                    ": unknown target (expected scalar, avx2, avx512, neon or neon_dotprod); using " +
                    target_name(s.target);
    }
  }
  return s;
}

const Selection& selection() {
  static const Selection s = select();
  return s;
}

}  // namespace

const char* target_name(SimdTarget t) {
  switch (t) {
    case SimdTarget::kScalar: return "scalar";
    case SimdTarget::kAvx2: return "avx2";
    case SimdTarget::kAvx512: return "avx512";
    case SimdTarget::kNeon: return "neon";
    case SimdTarget::kNeonDotprod: return "neon_dotprod";
  }
  return "?";
}

std::vector<SimdTarget> compiled_targets() {
  std::vector<SimdTarget> out;
  for (SimdTarget t : {SimdTarget::kScalar, SimdTarget::kAvx2, SimdTarget::kAvx512, SimdTarget::kNeon,
                        SimdTarget::kNeonDotprod}) {
    if (compiled(t)) out.push_back(t);
  }
  return out;
}

bool cpu_supports(SimdTarget t) {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_cpu_init();
  switch (t) {
    case SimdTarget::kScalar: return true;
    case SimdTarget::kAvx2:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
    case SimdTarget::kAvx512:
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c") &&
             __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni");
    default: return false;  // the aarch64 targets
  }
#elif defined(__aarch64__)
  // Advanced SIMD is architectural on aarch64 Linux; sdot is HWCAP_ASIMDDP (bit 20, spelled out for old headers).
  constexpr unsigned long kHwcapAsimd = 1ul << 1, kHwcapAsimdDp = 1ul << 20;
  const unsigned long hwcap = getauxval(AT_HWCAP);
  switch (t) {
    case SimdTarget::kScalar: return true;
    case SimdTarget::kNeon: return (hwcap & kHwcapAsimd) != 0;
    case SimdTarget::kNeonDotprod: return (hwcap & kHwcapAsimd) != 0 && (hwcap & kHwcapAsimdDp) != 0;
    default: return false;
  }
#else
  return t == SimdTarget::kScalar;
#endif
}

SimdTarget active_target() { return selection().target; }
const std::string& simd_env_error() { return selection().env_error; }

KernelChoice kernel_for(DType weight, SimdTarget t) {
  KernelChoice c;
  switch (t) {
#if defined(POCKET_HAVE_AVX512)
    case SimdTarget::kAvx512: c.gemm = simd::avx512_kernel(weight); break;
#endif
#if defined(POCKET_HAVE_AVX2)
    case SimdTarget::kAvx2: c.gemm = simd::avx2_kernel(weight); break;
#endif
#if defined(POCKET_HAVE_NEON)
    case SimdTarget::kNeon: c.gemm = simd::neon_kernel(weight); break;
    case SimdTarget::kNeonDotprod: c.gemm = simd::neon_dotprod_kernel(weight); break;
#endif
    default: break;
  }
  if (c.gemm != nullptr) {
    c.target = t;
    return c;
  }
  c.gemm = simd::scalar_kernel(weight);
  c.target = SimdTarget::kScalar;
  return c;
}

std::string describe_kernels() {
  std::string out;
  for (DType d : kKernelTypes) {
    if (!out.empty()) out += ' ';
    out += dtype_info(d).name;
    out += '=';
    out += target_name(kernel_for(d).target);
  }
  return out;
}

}  // namespace pocket::kernels
