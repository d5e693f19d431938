// Roofline probes (bench_probes.h). x86 paths are compiled with target attributes and chosen by CPUID, so the
// binary runs anywhere; other CPUs get portable scalar loops (reported as "scalar").
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define POCKET_X86 1
#endif

#include "bench_probes.h"

namespace pocket::bench {
namespace {

using Clock = std::chrono::steady_clock;

enum class Isa { kScalar, kAvx2, kAvx512Vnni };

Isa best_isa() {
#ifdef POCKET_X86
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512vnni")) {
    return Isa::kAvx512Vnni;
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return Isa::kAvx2;
#endif
  return Isa::kScalar;
}

// Runs fn(thread_index) on `threads` threads started together; returns wall seconds.
template <typename Fn>
double run_threads(int threads, Fn fn) {
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      ready.fetch_add(1);
      while (!go.load(std::memory_order_acquire)) {
      }
      fn(t);
    });
  }
  while (ready.load() < threads) {
  }
  auto t0 = Clock::now();
  go.store(true, std::memory_order_release);
  for (auto& th : pool) th.join();
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

volatile uint64_t g_sink = 0;

#ifdef POCKET_X86
__attribute__((target("avx2"))) uint64_t sum_avx2(const uint8_t* p, size_t n) {
  __m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
  for (size_t i = 0; i + 128 <= n; i += 128) {
    a0 = _mm256_add_epi64(a0, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i)));
    a1 = _mm256_add_epi64(a1, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 32)));
    a2 = _mm256_add_epi64(a2, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 64)));
    a3 = _mm256_add_epi64(a3, _mm256_load_si256(reinterpret_cast<const __m256i*>(p + i + 96)));
  }
  __m256i s = _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3));
  alignas(32) uint64_t out[4];
  _mm256_store_si256(reinterpret_cast<__m256i*>(out), s);
  return out[0] + out[1] + out[2] + out[3];
}
#endif

uint64_t sum_scalar(const uint8_t* p, size_t n) {
  const uint64_t* q = reinterpret_cast<const uint64_t*>(p);
  uint64_t a = 0, b = 0, c = 0, d = 0;
  for (size_t i = 0; i + 4 <= n / 8; i += 4) a += q[i], b += q[i + 1], c += q[i + 2], d += q[i + 3];
  return a + b + c + d;
}

constexpr int64_t kPeakIters = 20'000'000;

#ifdef POCKET_X86
__attribute__((target("avx512f"))) double fma_avx512(int64_t iters) {
  __m512 m = _mm512_set1_ps(static_cast<float>(g_sink | 1) * 1e-9f + 0.999999f), c = _mm512_set1_ps(1e-7f);
  __m512 a[12];
  for (auto& x : a) x = _mm512_set1_ps(1.0f);
  for (int64_t i = 0; i < iters; ++i) {
    for (auto& x : a) x = _mm512_fmadd_ps(x, m, c);
  }
  __m512 s = a[0];
  for (int k = 1; k < 12; ++k) s = _mm512_add_ps(s, a[k]);
  g_sink = g_sink + static_cast<uint64_t>(_mm512_reduce_add_ps(s));
  return 12.0 * 16 * 2 * static_cast<double>(iters);
}

__attribute__((target("avx2,fma"))) double fma_avx2(int64_t iters) {
  __m256 m = _mm256_set1_ps(static_cast<float>(g_sink | 1) * 1e-9f + 0.999999f), c = _mm256_set1_ps(1e-7f);
  __m256 a[12];
  for (auto& x : a) x = _mm256_set1_ps(1.0f);
  for (int64_t i = 0; i < iters; ++i) {
    for (auto& x : a) x = _mm256_fmadd_ps(x, m, c);
  }
  __m256 s = a[0];
  for (int k = 1; k < 12; ++k) s = _mm256_add_ps(s, a[k]);
  alignas(32) float out[8];
  _mm256_store_ps(out, s);
  g_sink = g_sink + static_cast<uint64_t>(out[0]);
  return 12.0 * 8 * 2 * static_cast<double>(iters);
}

__attribute__((target("avx512f,avx512bw,avx512vnni"))) double dot_vnni(int64_t iters) {
  __m512i u = _mm512_set1_epi8(static_cast<char>(1 + (g_sink & 1))), s8 = _mm512_set1_epi8(3);
  __m512i a[12];
  for (auto& x : a) x = _mm512_setzero_si512();
  for (int64_t i = 0; i < iters; ++i) {
    for (auto& x : a) x = _mm512_dpbusd_epi32(x, u, s8);
  }
  __m512i s = a[0];
  for (int k = 1; k < 12; ++k) s = _mm512_add_epi32(s, a[k]);
  // The lanes wrap by design (only the instruction count matters); sum them as unsigned, where wrapping is
  // defined, rather than with _mm512_reduce_add_epi32, whose int additions UBSan rightly reports.
  alignas(64) uint32_t lanes[16];
  _mm512_store_si512(lanes, s);
  uint32_t total = 0;
  for (uint32_t lane : lanes) total += lane;
  g_sink = g_sink + total;
  return 12.0 * 64 * 2 * static_cast<double>(iters);  // 64 u8·i8 multiply-adds per instruction
}

__attribute__((target("avx2"))) double dot_avx2(int64_t iters) {
  __m256i u = _mm256_set1_epi8(static_cast<char>(1 + (g_sink & 1))), s8 = _mm256_set1_epi8(3);
  __m256i ones = _mm256_set1_epi16(1);
  __m256i a[8];
  for (auto& x : a) x = _mm256_setzero_si256();
  for (int64_t i = 0; i < iters; ++i) {
    // The AVX2 int8 path of the kernels: maddubs (u8·i8 pairs -> i16), madd (-> i32), add.
    for (auto& x : a) x = _mm256_add_epi32(x, _mm256_madd_epi16(_mm256_maddubs_epi16(u, s8), ones));
  }
  __m256i s = a[0];
  for (int k = 1; k < 8; ++k) s = _mm256_add_epi32(s, a[k]);
  alignas(32) int32_t out[8];
  _mm256_store_si256(reinterpret_cast<__m256i*>(out), s);
  g_sink = g_sink + static_cast<uint64_t>(out[0]);
  return 8.0 * 32 * 2 * static_cast<double>(iters);
}
#endif

double scalar_fma(int64_t iters) {
  float a[8] = {1, 1, 1, 1, 1, 1, 1, 1};
  float m = static_cast<float>(g_sink | 1) * 1e-9f + 0.999999f;
  for (int64_t i = 0; i < iters; ++i) {
    for (float& x : a) x = x * m + 1e-7f;
  }
  g_sink = g_sink + static_cast<uint64_t>(a[0] + a[7]);
  return 8.0 * 2 * static_cast<double>(iters);
}

double scalar_dot(int64_t iters) {
  uint32_t a[8] = {};  // unsigned: the sums wrap on long runs, which is defined for unsigned
  uint32_t u = static_cast<uint32_t>(1 + (g_sink & 1));
  for (int64_t i = 0; i < iters; ++i) {
    for (uint32_t& x : a) x += u * 3;
  }
  g_sink = g_sink + static_cast<uint64_t>(a[0] + a[7]);
  return 8.0 * 2 * static_cast<double>(iters);
}

// Best of 3 runs of `kernel` on all threads; ops/s.
template <typename Kernel>
double peak(int threads, int64_t iters, Kernel kernel) {
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    std::vector<double> ops(threads);
    double s = run_threads(threads, [&](int t) { ops[t] = kernel(iters); });
    double total = 0;
    for (double o : ops) total += o;
    best = std::max(best, total / s);
  }
  return best;
}

}  // namespace

const char* peak_isa() {
  switch (best_isa()) {
    case Isa::kAvx512Vnni: return "avx512vnni";
    case Isa::kAvx2: return "avx2";
    default: return "scalar";
  }
}

double bandwidth_gbs(int threads, int passes) {
  constexpr size_t kBytes = size_t{512} << 20;  // 512 MiB: far beyond any last-level cache here
  uint8_t* buf = static_cast<uint8_t*>(std::aligned_alloc(4096, kBytes));
  if (buf == nullptr) return 0;
  // Touch every page (and give it non-zero content) so the passes measure DRAM reads, not page faults.
  run_threads(threads, [&](int t) {
    size_t lo = kBytes / threads * t, hi = kBytes / threads * (t + 1);
    std::memset(buf + lo, static_cast<int>(t + 1), hi - lo);
  });
  bool avx2 = best_isa() != Isa::kScalar;
  double best = 0;
  for (int pass = 0; pass < passes; ++pass) {
    std::vector<uint64_t> sums(threads);
    double s = run_threads(threads, [&](int t) {
      size_t chunk = kBytes / threads / 128 * 128;
      const uint8_t* p = buf + chunk * t;
#ifdef POCKET_X86
      sums[t] = avx2 ? sum_avx2(p, chunk) : sum_scalar(p, chunk);
#else
      (void)avx2;
      sums[t] = sum_scalar(p, chunk);
#endif
    });
    for (uint64_t v : sums) g_sink = g_sink + v;
    best = std::max(best, static_cast<double>(kBytes / threads / 128 * 128 * threads) / s / 1e9);
  }
  std::free(buf);
  return best;
}

double f32_peak_gflops(int threads) {
  switch (best_isa()) {
#ifdef POCKET_X86
    case Isa::kAvx512Vnni: return peak(threads, kPeakIters, fma_avx512) / 1e9;
    case Isa::kAvx2: return peak(threads, kPeakIters, fma_avx2) / 1e9;
#endif
    default: return peak(threads, kPeakIters / 4, scalar_fma) / 1e9;
  }
}

double int8_peak_gops(int threads) {
  switch (best_isa()) {
#ifdef POCKET_X86
    case Isa::kAvx512Vnni: return peak(threads, kPeakIters, dot_vnni) / 1e9;
    case Isa::kAvx2: return peak(threads, kPeakIters, dot_avx2) / 1e9;
#endif
    default: return peak(threads, kPeakIters / 4, scalar_dot) / 1e9;
  }
}

}  // namespace pocket::bench
