// Per-session key/value cache: for every layer and KV head, the K and V vectors of n_ctx positions, stored as f32
// or f16, head-major:
//   K of (layer, head): [n_ctx, head_dim_k], V of (layer, head): [n_ctx, head_dim_v], row-major.
// One head's positions lie next to each other, so the attention of one head streams one block of memory (a
// row-per-position layout puts the other heads between them: a stride the hardware prefetcher does not follow).
// Positions [0, n_past) are filled; the forward pass appends after them. A full cache is a clear error
// (no sliding strategy).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "base/large_buffer.h"
#include "base/status.h"

namespace pocket {

enum class KvType { kF32, kF16 };
std::string_view kv_type_name(KvType t);  // "f32" / "f16"

// The rows of one layer: head h's row j (head_dim values) starts at data + h * head_stride + j * head_dim.
template <class T>
struct KvRows {
  const T* data = nullptr;
  int64_t head_stride = 0;  // elements
  const T* head(int64_t h) const { return data + h * head_stride; }
};

class KvCache {
 public:
  KvCache(int64_t n_layer, int64_t n_ctx, int64_t n_head_kv, int64_t head_dim_k, int64_t head_dim_v, KvType type);

  int64_t n_ctx() const { return n_ctx_; }
  int64_t n_past() const { return n_past_; }
  KvType type() const { return type_; }
  // Whether n more positions fit; the error names the context size.
  Status check_room(int64_t n) const;
  void advance(int64_t n) { n_past_ += n; }
  void clear() { n_past_ = 0; }
  // Drops positions >= n (keeps a common prefix).
  void truncate(int64_t n) { if (n < n_past_) n_past_ = n; }

  // Writes one position's K and V as the projections give them (k_row [n_head_kv * head_dim_k], heads one after
  // another; v_row likewise), rounded to f16 when the cache is f16.
  void store(int64_t layer, int64_t pos, const float* k_row, const float* v_row);
  // Positions [0, n) of one layer as f32: in place when the cache is f32; an f16 cache is converted into
  // `scratch` (head_stride n * head_dim there).
  KvRows<float> keys(int64_t layer, int64_t n, std::vector<float>& scratch) const;
  KvRows<float> values(int64_t layer, int64_t n, std::vector<float>& scratch) const;
  // An f16 cache's rows of one layer in place (IEEE halves); data == nullptr for an f32 cache.
  KvRows<uint16_t> keys_f16(int64_t layer) const;
  KvRows<uint16_t> values_f16(int64_t layer) const;

 private:
  int64_t n_layer_, n_ctx_, n_head_kv_, hd_k_, hd_v_;
  KvType type_;
  int64_t n_past_ = 0;
  // [n_layer, n_head_kv, n_ctx, head_dim] f32 or f16 values (type_), on huge pages (base/large_buffer.h): one
  // decode step reads a few KiB from each of n_layer * n_head_kv places per sequence.
  LargeBuffer k_, v_;
  float* k32() const { return k_.as<float>(); }
  float* v32() const { return v_.as<float>(); }
  uint16_t* k16() const { return k_.as<uint16_t>(); }
  uint16_t* v16() const { return v_.as<uint16_t>(); }
};

}  // namespace pocket
