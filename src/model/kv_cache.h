// Per-session key/value cache: for every layer, K and V rows of n_ctx positions, stored as f32 or f16.
//   k(layer): [n_ctx, n_head_kv * head_dim_k], v(layer): [n_ctx, n_head_kv * head_dim_v], row-major.
// Positions [0, n_past) are filled; the forward pass appends after them. A full cache is a clear error
// (no sliding strategy).
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace pocket {

enum class KvType { kF32, kF16 };
std::string_view kv_type_name(KvType t);  // "f32" / "f16"

class KvCache {
 public:
  KvCache(int64_t n_layer, int64_t n_ctx, int64_t k_row, int64_t v_row, KvType type);

  int64_t n_ctx() const { return n_ctx_; }
  int64_t n_past() const { return n_past_; }
  KvType type() const { return type_; }
  // Whether n more positions fit; the error names the context size.
  Status check_room(int64_t n) const;
  void advance(int64_t n) { n_past_ += n; }
  void clear() { n_past_ = 0; }
  // Drops positions >= n (keeps a common prefix).
  void truncate(int64_t n) { if (n < n_past_) n_past_ = n; }

  // Writes one position's K and V rows (rounded to f16 when the cache is f16).
  void store(int64_t layer, int64_t pos, const float* k_row, const float* v_row);
  // Positions [0, n) of one layer as f32 rows: k [n, k_row], v [n, v_row]. Points into the cache when it is f32;
  // an f16 cache is converted into `scratch`.
  const float* keys(int64_t layer, int64_t n, std::vector<float>& scratch) const;
  const float* values(int64_t layer, int64_t n, std::vector<float>& scratch) const;
  // An f16 cache's rows of one layer in place ([n_ctx, k_row] / [n_ctx, v_row] IEEE halves); nullptr for f32.
  const uint16_t* keys_f16(int64_t layer) const;
  const uint16_t* values_f16(int64_t layer) const;

 private:
  int64_t n_layer_, n_ctx_, k_row_, v_row_;
  KvType type_;
  int64_t n_past_ = 0;
  std::vector<float> k32_, v32_;       // when f32: [n_layer, n_ctx, row]
  std::vector<uint16_t> k16_, v16_;    // when f16
};

}  // namespace pocket
