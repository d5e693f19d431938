#include "kernels/matmul.h"
#include "kernels/qmatmul.h"

#include <vector>

#include "base/check.h"
#include "kernels/parallel.h"

namespace pocket::kernels {

void dequant_row(const WeightView& w, int64_t r, float* out) { w.dtype->dequant(w.row(r), out, w.cols); }

const DTypeInfo* activation_dtype(const DTypeInfo& weight_dtype) {
  switch (weight_dtype.id) {
    case DType::kF32: return nullptr;
    case DType::kF16: return &dtype_info(DType::kF16);
    case DType::kBF16: return &dtype_info(DType::kBF16);
    case DType::kQ4_0: case DType::kQ4_1: case DType::kQ5_0: case DType::kQ5_1: case DType::kQ8_0:
    case DType::kIQ4_NL:
      return &dtype_info(DType::kQ8_0);  // Q8_1 for the *_1 types: the same rounded values
    case DType::kQ2_K: case DType::kQ3_K: case DType::kQ4_K: case DType::kQ5_K: case DType::kQ6_K:
    case DType::kIQ4_XS:
      return &dtype_info(DType::kQ8_K);
    default: return nullptr;
  }
}

float dot_f32(const float* a, const float* b, int64_t n) {
  // Eight independent partial sums: vectorizable without reassociation flags, and closer to ggml's SIMD order.
  float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    for (int j = 0; j < 8; ++j) acc[j] += a[i + j] * b[i + j];
  }
  for (; i < n; ++i) acc[0] += a[i] * b[i];
  return ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
}

namespace {

// Rounds each token's activations through the vec-dot type: x_q = dequant(quant(x)). [n_tokens, cols] f32.
std::vector<float> round_activations(const DTypeInfo& act, const float* x, int64_t n_tokens, int64_t cols) {
  std::vector<float> out(static_cast<size_t>(n_tokens * cols));
  std::vector<uint8_t> packed(static_cast<size_t>(row_bytes(act, cols)));
  for (int64_t t = 0; t < n_tokens; ++t) {
    act.quant(x + t * cols, packed.data(), cols);
    act.dequant(packed.data(), out.data() + t * cols, cols);
  }
  return out;
}

}  // namespace

void matmul(const WeightView& w, const float* x, int64_t n_tokens, float* y, MatmulPath path, int n_threads) {
  POCKET_CHECK(w.dtype != nullptr && w.dtype->dequant != nullptr);
  // The fast path: activations quantized to the weight type's vec-dot type and integer dot products, on the
  // best SIMD target the CPU has (qmatmul.h), exactly what llama.cpp's CPU backend computes.
  if (path == MatmulPath::kFast && qmatmul_supported(w)) {
    qmatmul(w, x, n_tokens, y, n_threads);
    return;
  }
  std::vector<float> rounded;
  if (path == MatmulPath::kFast) {
    const DTypeInfo* act = activation_dtype(*w.dtype);
    if (act != nullptr && w.cols % act->block_elems == 0) {
      rounded = round_activations(*act, x, n_tokens, w.cols);
      x = rounded.data();
    }
  }
  const bool is_f32 = w.dtype->id == DType::kF32;
  const int64_t cols = w.cols;
  parallel_for(w.rows, n_threads, w.rows * cols * n_tokens, [&](int64_t begin, int64_t end) {
    std::vector<float> row(is_f32 ? 0 : static_cast<size_t>(cols));
    for (int64_t r = begin; r < end; ++r) {
      const float* wr = reinterpret_cast<const float*>(w.row(r));
      if (!is_f32) {
        dequant_row(w, r, row.data());
        wr = row.data();
      }
      for (int64_t t = 0; t < n_tokens; ++t) y[t * w.rows + r] = dot_f32(wr, x + t * cols, cols);
    }
  });
}

}  // namespace pocket::kernels
