// Micro-benchmarks of qmatmul per weight type x SIMD target x shape, GEMV (1 token, decode) and GEMM (a prefill
// batch), at stories110m shapes (rows x cols: 768x768 attention, 2048x768 FFN up/gate, 768x2048 FFN down,
// 32000x768 output). Counters: GB/s of weight bytes read per call, GOP/s with 2 ops per multiply-add.
// Names: <gemv|gemm>/<type>/<target>/<rows>x<cols>/t<threads>[/n<tokens>].
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "base/thread_pool.h"
#include "kernels/dispatch.h"
#include "kernels/qmatmul.h"
#include "kernels/vec_dot.h"
#include "tensor/half.h"

namespace pocket::kernels {
namespace {

constexpr DType kTypes[] = {DType::kQ8_0, DType::kQ4_0, DType::kQ4_K, DType::kQ6_K, DType::kQ5_K, DType::kQ3_K,
                            DType::kQ2_K, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1, DType::kIQ4_NL, DType::kF16,
                            DType::kBF16, DType::kF32};

struct Shape {
  int64_t rows, cols;
};
constexpr Shape kShapes[] = {{768, 768}, {2048, 768}, {768, 2048}, {32000, 768}};

// Random weights with sane fp16 scales: the kernels' speed does not depend on the values.
std::vector<uint8_t> make_weights(DType t, int64_t rows, int64_t cols) {
  const DTypeInfo& info = dtype_info(t);
  std::vector<uint8_t> w(static_cast<size_t>(row_bytes(info, cols) * rows));
  std::mt19937 rng(1);
  if (info.block_elems == 1) {
    std::normal_distribution<float> g(0.0f, 0.02f);
    std::vector<float> row(static_cast<size_t>(cols));
    for (int64_t r = 0; r < rows; ++r) {
      for (auto& v : row) v = g(rng);
      info.quant(row.data(), w.data() + r * row_bytes(info, cols), cols);
    }
    return w;
  }
  for (auto& b : w) b = static_cast<uint8_t>(rng());
  // Overwrite every 16-bit field that could be a NaN/inf half with a small value: simplest is to clear the exponent
  // MSBs of all halves at the block's scale offsets; the quants are any bytes.
  const uint16_t small = float_to_half(0.01f);
  const int64_t nb = static_cast<int64_t>(w.size()) / info.block_bytes;
  for (int64_t b = 0; b < nb; ++b) {
    uint8_t* blk = w.data() + b * info.block_bytes;
    auto set = [&](int64_t off) { std::memcpy(blk + off, &small, 2); };
    if (info.block_elems == 32) {
      set(0);
      if (t == DType::kQ4_1 || t == DType::kQ5_1) set(2);
    } else if (t == DType::kQ4_K || t == DType::kQ5_K) {
      set(0), set(2);
    } else {
      set(info.block_bytes - 2);
      if (t == DType::kQ2_K) set(info.block_bytes - 4);
    }
  }
  return w;
}

void run(benchmark::State& state, DType type, SimdTarget target, Shape shape, int64_t n_tok, int threads) {
  const DTypeInfo& info = dtype_info(type);
  const auto wbuf = make_weights(type, shape.rows, shape.cols);
  WeightView w{&info, wbuf.data(), shape.cols, shape.rows};
  // The avx512 target runs on 16-row packed strips where the type has them (kernels/packed.h), as at model load.
  if (target == SimdTarget::kAvx512) w.packed = pack_weight(w, threads);
  std::vector<float> x(static_cast<size_t>(shape.cols * n_tok)), y(static_cast<size_t>(shape.rows * n_tok));
  std::mt19937 rng(2);
  std::normal_distribution<float> g(0.0f, 1.0f);
  for (auto& v : x) v = g(rng);
  ThreadPool::shared(threads);  // create the pool outside the timing
  for (auto _ : state) {
    qmatmul(w, x.data(), n_tok, y.data(), threads, target);
    benchmark::DoNotOptimize(y.data());
    benchmark::ClobberMemory();
  }
  const double bytes = static_cast<double>(wbuf.size());
  const double ops = 2.0 * static_cast<double>(shape.rows) * shape.cols * n_tok;
  state.counters["GB/s"] = benchmark::Counter(bytes * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["GOP/s"] = benchmark::Counter(ops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(std::string(target_name(kernel_for(type, target).target)) + (w.packed ? "+packed" : ""));
}

void register_all(int threads, int64_t gemm_tokens) {
  for (DType type : kTypes) {
    for (SimdTarget target : compiled_targets()) {
      if (!cpu_supports(target)) continue;
      for (const Shape& s : kShapes) {
        const std::string shape = std::to_string(s.rows) + "x" + std::to_string(s.cols);
        const std::string base = std::string(dtype_info(type).name) + "/" + target_name(target) + "/" + shape +
                                 "/t" + std::to_string(threads);
        benchmark::RegisterBenchmark(("gemv/" + base).c_str(), run, type, target, s, 1, threads)
            ->UseRealTime()
            ->MinTime(0.2);
        benchmark::RegisterBenchmark(("gemm/" + base + "/n" + std::to_string(gemm_tokens)).c_str(), run, type,
                                     target, s, gemm_tokens, threads)
            ->UseRealTime()
            ->MinTime(0.2);
      }
    }
  }
}

}  // namespace
}  // namespace pocket::kernels

// Environment: POCKET_BENCH_THREADS (default: physical cores), POCKET_BENCH_TOKENS (GEMM batch, default 128).
int main(int argc, char** argv) {
  const char* t = std::getenv("POCKET_BENCH_THREADS");
  const char* n = std::getenv("POCKET_BENCH_TOKENS");
  const int threads = t != nullptr ? std::atoi(t) : pocket::physical_core_count();
  const int64_t tokens = n != nullptr ? std::atoll(n) : 128;
  std::printf("active SIMD target: %s (%s)\n", pocket::kernels::target_name(pocket::kernels::active_target()),
              pocket::kernels::describe_kernels().c_str());
  pocket::kernels::register_all(threads, tokens);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
