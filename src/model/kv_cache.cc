#include "model/kv_cache.h"

#include <algorithm>

#include "tensor/half.h"

namespace pocket {

std::string_view kv_type_name(KvType t) { return t == KvType::kF32 ? "f32" : "f16"; }

KvCache::KvCache(int64_t n_layer, int64_t n_ctx, int64_t k_row, int64_t v_row, KvType type)
    : n_layer_(n_layer), n_ctx_(n_ctx), k_row_(k_row), v_row_(v_row), type_(type) {
  const size_t nk = static_cast<size_t>(n_layer * n_ctx * k_row);
  const size_t nv = static_cast<size_t>(n_layer * n_ctx * v_row);
  if (type == KvType::kF32) {
    k32_.resize(nk);
    v32_.resize(nv);
  } else {
    k16_.resize(nk);
    v16_.resize(nv);
  }
}

Status KvCache::check_room(int64_t n) const {
  if (n_past_ + n > n_ctx_) {
    return bad_input("context is full: {} positions used + {} new > context size {} (raise --ctx)", n_past_, n,
                     n_ctx_);
  }
  return ok_status();
}

void KvCache::store(int64_t layer, int64_t pos, const float* k_row, const float* v_row) {
  const size_t ko = static_cast<size_t>((layer * n_ctx_ + pos) * k_row_);
  const size_t vo = static_cast<size_t>((layer * n_ctx_ + pos) * v_row_);
  if (type_ == KvType::kF32) {
    std::copy(k_row, k_row + k_row_, k32_.begin() + ko);
    std::copy(v_row, v_row + v_row_, v32_.begin() + vo);
    return;
  }
  for (int64_t i = 0; i < k_row_; ++i) k16_[ko + i] = float_to_half(k_row[i]);
  for (int64_t i = 0; i < v_row_; ++i) v16_[vo + i] = float_to_half(v_row[i]);
}

namespace {
const float* view(const std::vector<float>& f32, const std::vector<uint16_t>& f16, size_t offset, size_t count,
                  std::vector<float>& scratch) {
  if (!f32.empty()) return f32.data() + offset;
  scratch.resize(count);
  for (size_t i = 0; i < count; ++i) scratch[i] = half_to_float(f16[offset + i]);
  return scratch.data();
}
}  // namespace

const float* KvCache::keys(int64_t layer, int64_t n, std::vector<float>& scratch) const {
  return view(k32_, k16_, static_cast<size_t>(layer * n_ctx_ * k_row_), static_cast<size_t>(n * k_row_), scratch);
}

const float* KvCache::values(int64_t layer, int64_t n, std::vector<float>& scratch) const {
  return view(v32_, v16_, static_cast<size_t>(layer * n_ctx_ * v_row_), static_cast<size_t>(n * v_row_), scratch);
}

const uint16_t* KvCache::keys_f16(int64_t layer) const {
  return k16_.empty() ? nullptr : k16_.data() + layer * n_ctx_ * k_row_;
}

const uint16_t* KvCache::values_f16(int64_t layer) const {
  return v16_.empty() ? nullptr : v16_.data() + layer * n_ctx_ * v_row_;
}

}  // namespace pocket
