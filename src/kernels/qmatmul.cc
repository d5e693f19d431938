#include "kernels/qmatmul.h"

#include <algorithm>
#include <vector>

#include "base/check.h"
#include "base/thread_pool.h"
#include "kernels/vec_dot.h"

namespace pocket::kernels {
namespace {

// Tile sizes: a tile's activations (kTokTile rows, ~0.8 KiB per 768 Q8_0 values) stay in L1/L2 while kRowTile
// weight rows stream past them; every weight row is read ceil(n_tokens / kTokTile) times.
constexpr int64_t kTokTile = 128;
constexpr int64_t kRowTile = int64_t{1} << 40;  // one call per thread chunk: the VNNI kernel packs the token tile once

}  // namespace

bool qmatmul_supported(const WeightView& w) {
  if (w.dtype == nullptr || w.data == nullptr) return false;
  const DTypeInfo* act = vec_dot_dtype(w.dtype->id);
  if (act == nullptr) return false;
  return w.cols > 0 && w.cols % w.dtype->block_elems == 0 && w.cols % act->block_elems == 0;
}

int64_t quantized_activation_row_bytes(const WeightView& w) {
  return row_bytes(*vec_dot_dtype(w.dtype->id), w.cols);
}

void quantize_activations(const WeightView& w, const float* x, int64_t n_tokens, uint8_t* xq) {
  const DType act = vec_dot_dtype(w.dtype->id)->id;
  const int64_t stride = quantized_activation_row_bytes(w);
  for (int64_t t = 0; t < n_tokens; ++t) quantize_activation_row(act, x + t * w.cols, xq + t * stride, w.cols);
}

void qmatmul_prequantized(const WeightView& w, const uint8_t* xq, int64_t n_tokens, float* y, int n_threads,
                          simd::GemmFn gemm) {
  const int64_t a_stride = quantized_activation_row_bytes(w);
  const int64_t w_stride = w.row_stride();
  const int64_t rows = w.rows;
  // Split rows in multiples of 8 (the kernels' row tiles stay intact), one chunk per thread.
  const int64_t n_units = (rows + 7) / 8;
  auto run = [&](int64_t u0, int64_t u1) {
    const int64_t r0 = u0 * 8, r1 = std::min(rows, u1 * 8);
    for (int64_t t0 = 0; t0 < n_tokens; t0 += kTokTile) {
      const int64_t nt = std::min(kTokTile, n_tokens - t0);
      for (int64_t rb = r0; rb < r1; rb += kRowTile) {
        const int64_t nr = std::min(kRowTile, r1 - rb);
        gemm(w.data + rb * w_stride, w_stride, nr, xq + t0 * a_stride, a_stride, nt, w.cols, y + t0 * rows + rb,
             rows);
      }
    }
  };
  if (n_threads <= 1 || n_units == 1) {
    run(0, n_units);
    return;
  }
  ThreadPool::shared(n_threads).parallel_for(n_units, run);
}

void qmatmul(const WeightView& w, const float* x, int64_t n_tokens, float* y, int n_threads, SimdTarget target) {
  POCKET_CHECK(qmatmul_supported(w));
  const KernelChoice k = kernel_for(w.dtype->id, target);
  if (w.dtype->id == DType::kF32) {  // activations stay f32: no copy
    qmatmul_prequantized(w, reinterpret_cast<const uint8_t*>(x), n_tokens, y, n_threads, k.gemm);
    return;
  }
  thread_local std::vector<uint8_t> xq;
  const size_t need = static_cast<size_t>(quantized_activation_row_bytes(w) * n_tokens);
  if (xq.size() < need) xq.resize(need);
  const int64_t stride = quantized_activation_row_bytes(w);
  if (n_threads > 1 && n_tokens >= 8) {  // prefill: the rows of x are independent
    uint8_t* out = xq.data();
    ThreadPool::shared(n_threads).parallel_for(n_tokens, [&](int64_t t0, int64_t t1) {
      quantize_activations(w, x + t0 * w.cols, t1 - t0, out + t0 * stride);
    });
  } else {
    quantize_activations(w, x, n_tokens, xq.data());
  }
  qmatmul_prequantized(w, xq.data(), n_tokens, y, n_threads, k.gemm);
}

void qmatmul(const WeightView& w, const float* x, int64_t n_tokens, float* y, int n_threads) {
  qmatmul(w, x, n_tokens, y, n_threads, active_target());
}

}  // namespace pocket::kernels
