#include "kernels/qmatmul.h"

#include <algorithm>
#include <vector>

#include "base/check.h"
#include "base/thread_pool.h"
#include "kernels/simd/packed_kernels.h"
#include "kernels/vec_dot.h"

namespace pocket::kernels {
namespace {

// Tile sizes: a tile's activations (kTokTile rows, ~0.8 KiB per 768 Q8_0 values) stay in L1/L2 while kRowTile
// weight rows stream past them; every weight row is read ceil(n_tokens / kTokTile) times.
constexpr int64_t kTokTile = 128;
constexpr int64_t kRowTile = int64_t{1} << 40;  // one call per thread chunk: the VNNI kernel packs the token tile once

// The packed path (kernels/packed.h): activations quantized with their aux rows (tokens split over the threads
// for a prompt) and, for small batches, regrouped once into the kernels' tile; then the 16-row strips split over
// the threads.
void qmatmul_packed(const WeightView& w, const float* x, int64_t n_tokens, float* y, int n_threads) {
#if defined(POCKET_HAVE_AVX512)
  const PackedWeight& p = *w.packed;
  const DType type = p.type;
  const int64_t cols = w.cols;
  const int64_t q_stride = row_bytes(*vec_dot_dtype(type), cols);
  const int64_t aux_stride = simd::packed_aux_stride(type, cols);
  thread_local std::vector<uint8_t> qbuf;
  thread_local std::vector<float> abuf;
  if (qbuf.size() < static_cast<size_t>(q_stride * n_tokens)) qbuf.resize(static_cast<size_t>(q_stride * n_tokens));
  if (abuf.size() < static_cast<size_t>(aux_stride * n_tokens)) {
    abuf.resize(static_cast<size_t>(aux_stride * n_tokens));
  }
  uint8_t* q = qbuf.data();
  float* aux = abuf.data();
  auto quant = [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      simd::avx512_quantize_packed_act(type, x + t * cols, cols, q + t * q_stride, aux + t * aux_stride);
    }
  };
  if (n_threads > 1 && n_tokens >= 16) {
    ThreadPool::shared(n_threads).parallel_for(n_tokens, quant);
  } else {
    quant(0, n_tokens);
  }
  simd::PackedActs a;
  a.q = q;
  a.q_stride = q_stride;
  a.aux = aux;
  a.aux_stride = aux_stride;
  a.n_d = simd::packed_aux_n_d(type, cols);
  if (const int64_t tile_bytes = simd::avx512_act_tile_bytes(type, cols, n_tokens); tile_bytes > 0) {
    thread_local std::vector<uint8_t> tile;
    if (tile.size() < static_cast<size_t>(tile_bytes)) tile.resize(static_cast<size_t>(tile_bytes));
    simd::avx512_pack_act_tile(a, cols, n_tokens, tile.data());
    a.tile = tile.data();
  }
  auto run = [&](int64_t s0, int64_t s1) { simd::avx512_packed_gemm(p, s0, s1, a, n_tokens, y, w.rows); };
  if (n_threads <= 1 || p.n_strips == 1) {
    run(0, p.n_strips);
  } else {
    ThreadPool::shared(n_threads).parallel_for(p.n_strips, run);
  }
#else
  (void)w, (void)x, (void)n_tokens, (void)y, (void)n_threads;
  POCKET_CHECK(false);
#endif
}

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
  if (w.packed != nullptr && target == SimdTarget::kAvx512 && w.packed->rows == w.rows && w.packed->cols == w.cols) {
    qmatmul_packed(w, x, n_tokens, y, n_threads);
    return;
  }
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
