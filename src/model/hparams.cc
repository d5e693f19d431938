#include "model/hparams.h"

#include <cmath>

namespace pocket {
namespace {

class KeyReader {
 public:
  KeyReader(const GgufFile& file, std::string_view arch) : file_(file), prefix_(std::string(arch) + ".") {}

  // A required positive integer key.
  Result<int64_t> required_int(std::string_view suffix) const {
    const std::string key = prefix_ + std::string(suffix);
    auto v = file_.get_int(key);
    if (!v) {
      return bad_input("{}: key '{}' is missing or not an integer (required for this architecture)",
                       file_.name(), key);
    }
    if (*v <= 0 || *v > (int64_t{1} << 31)) {
      return bad_input("{}: key '{}' is {}, expected a positive integer below 2^31", file_.name(), key, *v);
    }
    return *v;
  }
  Result<int64_t> optional_int(std::string_view suffix, int64_t fallback) const {
    const std::string key = prefix_ + std::string(suffix);
    if (file_.find(key) == nullptr) return fallback;
    return required_int(suffix);
  }
  Result<float> optional_float(std::string_view suffix, float fallback) const {
    const std::string key = prefix_ + std::string(suffix);
    if (file_.find(key) == nullptr) return fallback;
    auto v = file_.get_float(key);
    if (!v || !std::isfinite(*v)) return bad_input("{}: key '{}' is not a finite number", file_.name(), key);
    return static_cast<float>(*v);
  }
  std::optional<std::string> optional_string(std::string_view suffix) const {
    return file_.get_string(prefix_ + std::string(suffix));
  }
  std::string key(std::string_view suffix) const { return prefix_ + std::string(suffix); }

 private:
  const GgufFile& file_;
  std::string prefix_;
};

Status read_rope(const GgufFile& file, const KeyReader& keys, const ArchSpec& arch, Hparams& hp) {
  POCKET_ASSIGN_OR_RETURN(int64_t n_rot, keys.optional_int("rope.dimension_count", hp.head_dim_k));
  if (n_rot % 2 != 0 || n_rot > hp.head_dim_k) {
    return bad_input("{}: key '{}' is {}, expected an even number <= head dimension {}", file.name(),
                     keys.key("rope.dimension_count"), n_rot, hp.head_dim_k);
  }
  hp.n_rot = static_cast<int>(n_rot);
  POCKET_ASSIGN_OR_RETURN(hp.rope_base, keys.optional_float("rope.freq_base", 10000.0f));
  const float swa_default = arch.swa_rope_base > 0 ? arch.swa_rope_base : hp.rope_base;
  POCKET_ASSIGN_OR_RETURN(hp.rope_base_swa, keys.optional_float("rope.freq_base_swa", swa_default));
  auto scaling = keys.optional_string("rope.scaling.type");
  POCKET_ASSIGN_OR_RETURN(float factor, keys.optional_float("rope.scaling.factor", 0.0f));
  if (!scaling || *scaling == "none") return ok_status();
  if (*scaling == "linear") {
    if (factor > 0) hp.rope_freq_scale = 1.0f / factor;
    return ok_status();
  }
  return bad_input("{}: key '{}' is '{}': only 'none' and 'linear' rope scaling are supported", file.name(),
                   keys.key("rope.scaling.type"), *scaling);
}

}  // namespace

bool Hparams::layer_is_swa(int64_t il) const {
  if (swa_pattern <= 0 || n_swa <= 0) return false;
  return il % swa_pattern < swa_pattern - 1;
}

Result<Hparams> read_hparams(const GgufFile& file, const ArchSpec& arch) {
  KeyReader keys(file, arch.name);
  Hparams hp;
  POCKET_ASSIGN_OR_RETURN(hp.n_embd, keys.required_int("embedding_length"));
  POCKET_ASSIGN_OR_RETURN(hp.n_layer, keys.required_int("block_count"));
  POCKET_ASSIGN_OR_RETURN(hp.n_head, keys.required_int("attention.head_count"));
  POCKET_ASSIGN_OR_RETURN(hp.n_head_kv, keys.optional_int("attention.head_count_kv", hp.n_head));
  POCKET_ASSIGN_OR_RETURN(hp.n_ff, keys.required_int("feed_forward_length"));
  POCKET_ASSIGN_OR_RETURN(hp.n_ctx_train, keys.optional_int("context_length", 2048));
  if (hp.n_head % hp.n_head_kv != 0) {
    return bad_input("{}: key '{}' is {}, expected a divisor of the head count {}", file.name(),
                     keys.key("attention.head_count_kv"), hp.n_head_kv, hp.n_head);
  }
  if (hp.n_embd % hp.n_head != 0 && file.find(keys.key("attention.key_length")) == nullptr) {
    return bad_input("{}: embedding length {} is not a multiple of the head count {} and '{}' is absent",
                     file.name(), hp.n_embd, hp.n_head, keys.key("attention.key_length"));
  }
  POCKET_ASSIGN_OR_RETURN(hp.head_dim_k, keys.optional_int("attention.key_length", hp.n_embd / hp.n_head));
  POCKET_ASSIGN_OR_RETURN(hp.head_dim_v, keys.optional_int("attention.value_length", hp.head_dim_k));
  POCKET_RETURN_IF_ERROR(read_rope(file, keys, arch, hp));
  POCKET_ASSIGN_OR_RETURN(hp.norm_eps, keys.optional_float("attention.layer_norm_rms_epsilon", 1e-5f));
  hp.swa_pattern = arch.swa_pattern;
  if (arch.swa_pattern > 0) {
    POCKET_ASSIGN_OR_RETURN(hp.n_swa, keys.optional_int("attention.sliding_window", 4096));
  }
  POCKET_ASSIGN_OR_RETURN(hp.attn_softcap, keys.optional_float("attn_logit_softcapping", 0.0f));
  POCKET_ASSIGN_OR_RETURN(hp.final_softcap, keys.optional_float("final_logit_softcapping", 0.0f));
  const float default_scale = 1.0f / std::sqrt(static_cast<float>(hp.head_dim_k));
  POCKET_ASSIGN_OR_RETURN(hp.attn_scale, keys.optional_float("attention.scale", default_scale));
  if (hp.attn_scale == 0.0f) hp.attn_scale = default_scale;
  return hp;
}

}  // namespace pocket
