#include "model/kv_cache.h"

#include <algorithm>
#include <new>

#include "kernels/ops.h"

namespace pocket {

std::string_view kv_type_name(KvType t) { return t == KvType::kF32 ? "f32" : "f16"; }

KvCache::KvCache(int64_t n_layer, int64_t n_ctx, int64_t n_head_kv, int64_t head_dim_k, int64_t head_dim_v,
                 KvType type)
    : n_layer_(n_layer), n_ctx_(n_ctx), n_head_kv_(n_head_kv), hd_k_(head_dim_k), hd_v_(head_dim_v), type_(type) {
  const size_t nk = static_cast<size_t>(n_layer * n_head_kv * n_ctx * head_dim_k);
  const size_t nv = static_cast<size_t>(n_layer * n_head_kv * n_ctx * head_dim_v);
  const size_t elem = type == KvType::kF32 ? sizeof(float) : sizeof(uint16_t);
  k_ = LargeBuffer(nk * elem);
  v_ = LargeBuffer(nv * elem);
  // As a std::vector would: the commands report "out of memory" (tools/main.cc) instead of crashing.
  if (nk > 0 && (k_.data() == nullptr || v_.data() == nullptr)) throw std::bad_alloc();
}

Status KvCache::check_room(int64_t n) const {
  if (n_past_ + n > n_ctx_) {
    return bad_input("context is full: {} positions used + {} new > context size {} (raise --ctx)", n_past_, n,
                     n_ctx_);
  }
  return ok_status();
}

namespace {

// Scatters one position's heads (row: [n_head, hd]) into the head-major layer at `layer` ([n_head, n_ctx, hd]).
template <class T>
void scatter(const float* row, int64_t n_head, int64_t n_ctx, int64_t hd, int64_t pos, T* layer) {
  for (int64_t h = 0; h < n_head; ++h) {
    T* dst = layer + (h * n_ctx + pos) * hd;
    const float* src = row + h * hd;
    if constexpr (sizeof(T) == sizeof(float)) {
      std::copy(src, src + hd, dst);
    } else {
      kernels::floats_to_halves(src, hd, dst);
    }
  }
}

// Rows [0, n) of every head of an f16 layer as f32 in scratch ([n_head, n, hd]).
KvRows<float> widen(const uint16_t* layer, int64_t n_head, int64_t n_ctx, int64_t hd, int64_t n,
                    std::vector<float>& scratch) {
  scratch.resize(static_cast<size_t>(n_head * n * hd));
  for (int64_t h = 0; h < n_head; ++h) {
    const uint16_t* src = layer + h * n_ctx * hd;
    float* dst = scratch.data() + h * n * hd;
    kernels::halves_to_floats(src, n * hd, dst);
  }
  return {scratch.data(), n * hd};
}

}  // namespace

void KvCache::store(int64_t layer, int64_t pos, const float* k_row, const float* v_row) {
  const int64_t ko = layer * n_head_kv_ * n_ctx_ * hd_k_, vo = layer * n_head_kv_ * n_ctx_ * hd_v_;
  if (type_ == KvType::kF32) {
    scatter(k_row, n_head_kv_, n_ctx_, hd_k_, pos, k32() + ko);
    scatter(v_row, n_head_kv_, n_ctx_, hd_v_, pos, v32() + vo);
  } else {
    scatter(k_row, n_head_kv_, n_ctx_, hd_k_, pos, k16() + ko);
    scatter(v_row, n_head_kv_, n_ctx_, hd_v_, pos, v16() + vo);
  }
}

KvRows<float> KvCache::keys(int64_t layer, int64_t n, std::vector<float>& scratch) const {
  const int64_t o = layer * n_head_kv_ * n_ctx_ * hd_k_;
  if (type_ == KvType::kF32) return {k32() + o, n_ctx_ * hd_k_};
  return widen(k16() + o, n_head_kv_, n_ctx_, hd_k_, n, scratch);
}

KvRows<float> KvCache::values(int64_t layer, int64_t n, std::vector<float>& scratch) const {
  const int64_t o = layer * n_head_kv_ * n_ctx_ * hd_v_;
  if (type_ == KvType::kF32) return {v32() + o, n_ctx_ * hd_v_};
  return widen(v16() + o, n_head_kv_, n_ctx_, hd_v_, n, scratch);
}

KvRows<uint16_t> KvCache::keys_f16(int64_t layer) const {
  if (type_ != KvType::kF16) return {};
  return {k16() + layer * n_head_kv_ * n_ctx_ * hd_k_, n_ctx_ * hd_k_};
}

KvRows<uint16_t> KvCache::values_f16(int64_t layer) const {
  if (type_ != KvType::kF16) return {};
  return {v16() + layer * n_head_kv_ * n_ctx_ * hd_v_, n_ctx_ * hd_v_};
}

}  // namespace pocket
