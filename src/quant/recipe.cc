// llama.cpp's tensor type selection (llama-quant.cpp, importance-matrix-free paths), re-expressed. Only the file
// types pocket can write are handled; the IQ1/IQ2/IQ3 branches (which need an importance matrix) are not.
#include "quant/recipe.h"

#include <array>
#include <cctype>
#include <cstdio>

namespace pocket::quant {
namespace {

// llama.h enum llama_ftype values.
constexpr std::array<FileType, 19> kFileTypes = {{
    {"Q4_0", 2, DType::kQ4_0},    {"Q4_1", 3, DType::kQ4_1},    {"Q5_0", 8, DType::kQ5_0},
    {"Q5_1", 9, DType::kQ5_1},    {"IQ4_NL", 25, DType::kIQ4_NL}, {"IQ4_XS", 30, DType::kIQ4_XS},
    {"Q2_K", 10, DType::kQ2_K},   {"Q3_K_S", 11, DType::kQ3_K}, {"Q3_K_M", 12, DType::kQ3_K},
    {"Q3_K_L", 13, DType::kQ3_K}, {"Q4_K_S", 14, DType::kQ4_K}, {"Q4_K_M", 15, DType::kQ4_K},
    {"Q5_K_S", 16, DType::kQ5_K}, {"Q5_K_M", 17, DType::kQ5_K}, {"Q6_K", 18, DType::kQ6_K},
    {"Q8_0", 7, DType::kQ8_0},    {"F16", 1, DType::kF16},      {"BF16", 32, DType::kBF16},
    {"F32", 0, DType::kF32},
}};

// ftype ids used by the rules below.
enum : uint32_t {
  kQ4_0 = 2, kQ5_0 = 8, kQ2_K = 10, kQ3_K_S = 11, kQ3_K_M = 12, kQ3_K_L = 13, kQ4_K_S = 14, kQ4_K_M = 15,
  kQ5_K_S = 16, kQ5_K_M = 17, kIQ4_NL = 25, kIQ4_XS = 30,
};

bool equal_ignore_case(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::toupper(static_cast<unsigned char>(a[i])) != std::toupper(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

bool contains(const std::string& s, std::string_view part) { return s.find(part) != std::string::npos; }

enum class Category { kTokenEmbd, kAttnQ, kAttnV, kAttnK, kAttnQkv, kAttnKvB, kAttnOutput, kFfnUp, kFfnGate,
                      kFfnDown, kOutput, kOther };

Category category_of(const std::string& name) {
  if (name == "output.weight") return Category::kOutput;
  if (name == "token_embd.weight" || name == "per_layer_token_embd.weight") return Category::kTokenEmbd;
  if (contains(name, "attn_qkv.weight")) return Category::kAttnQkv;
  if (contains(name, "attn_kv_b.weight")) return Category::kAttnKvB;
  if (contains(name, "attn_v.weight")) return Category::kAttnV;
  if (contains(name, "attn_k.weight")) return Category::kAttnK;
  if (contains(name, "attn_q.weight")) return Category::kAttnQ;
  if (contains(name, "attn_output.weight")) return Category::kAttnOutput;
  if (contains(name, "ffn_up")) return Category::kFfnUp;
  if (contains(name, "ffn_gate")) return Category::kFfnGate;
  if (contains(name, "ffn_down")) return Category::kFfnDown;
  return Category::kOther;
}

bool is_attn_v_like(Category c) { return c == Category::kAttnV || c == Category::kAttnQkv || c == Category::kAttnKvB; }

// Block number of "blk.N.*", or -1.
int block_of(const std::string& name) {
  int layer = -1;
  if (std::sscanf(name.c_str(), "blk.%d.", &layer) != 1) return -1;
  return layer;
}

// ggml_n_dims: dimensions up to the last one larger than 1.
int n_dims(const std::vector<int64_t>& shape) {
  for (int i = static_cast<int>(shape.size()) - 1; i >= 1; --i) {
    if (shape[i] > 1) return i + 1;
  }
  return 1;
}

bool use_more_bits(int i_layer, int n_layers) {
  return i_layer < n_layers / 8 || i_layer >= 7 * n_layers / 8 || (i_layer - n_layers / 8) % 3 == 2;
}

struct State {
  const ModelShape& model;
  uint32_t ftype;
  bool has_tied_embeddings = true;
  int n_attention_wv = 0, i_attention_wv = 0;
  int n_layer = 0, i_ffn_down = 0;
  int n_fallback = 0;

  int n_gqa() const { return model.n_head_kv > 0 ? model.n_head / model.n_head_kv : 0; }
  bool is_70b() const {
    return model.arch == "llama" && model.n_layer == 80 && model.n_head != model.n_head_kv;
  }
  // Layer of an ffn tensor: the running counter, or (mixtures of experts) the number in its name.
  int ffn_layer(int counter, const std::string& name) const {
    if (model.n_expert > 1) {
      const int layer = block_of(name);
      if (layer >= 0 && layer < n_layer) return layer;
    }
    return counter;
  }
};

DType output_type(const State& s, const TensorDesc& t, DType new_type) {
  const int64_t block = dtype_info(new_type).block_elems;
  if (s.model.arch == "falcon" || t.shape[0] % block != 0) return DType::kQ8_0;
  if (new_type != DType::kQ8_0) return DType::kQ6_K;
  return new_type;
}

DType attn_v_type(State& s, DType new_type) {
  const uint32_t f = s.ftype;
  if (f == kQ2_K) {
    new_type = s.n_gqa() >= 4 ? DType::kQ4_K : DType::kQ3_K;
  } else if (f == kQ3_K_M) {
    new_type = s.i_attention_wv < 2 ? DType::kQ5_K : DType::kQ4_K;
  } else if (f == kQ3_K_L) {
    new_type = DType::kQ5_K;
  } else if ((f == kIQ4_NL || f == kIQ4_XS) && s.n_gqa() >= 4) {
    new_type = DType::kQ5_K;
  } else if ((f == kQ4_K_M || f == kQ5_K_M) && use_more_bits(s.i_attention_wv, s.n_attention_wv)) {
    new_type = DType::kQ6_K;
  } else if (f == kQ4_K_S && s.i_attention_wv < 4) {
    new_type = DType::kQ5_K;
  }
  // 70B: 8 heads share attn_v, so it is 8x smaller than attn_q; more bits cost little.
  if (s.is_70b() && (new_type == DType::kQ3_K || new_type == DType::kQ4_K)) new_type = DType::kQ5_K;
  if (s.model.n_expert == 8) new_type = DType::kQ8_0;
  ++s.i_attention_wv;
  return new_type;
}

DType ffn_down_type(State& s, const std::string& name, DType new_type) {
  const uint32_t f = s.ftype;
  const int i_layer = s.ffn_layer(s.i_ffn_down, name);
  const int n_layer = s.n_layer;
  const bool falcon = s.model.arch == "falcon";
  if (f == kQ2_K) {
    new_type = DType::kQ3_K;
  } else if (f == kQ3_K_M) {
    new_type = i_layer < n_layer / 16                        ? DType::kQ5_K
               : !falcon || use_more_bits(i_layer, n_layer) ? DType::kQ4_K
                                                             : DType::kQ3_K;
  } else if (f == kQ3_K_L) {
    new_type = falcon ? DType::kQ4_K : DType::kQ5_K;
  } else if (f == kQ4_K_M) {
    if (falcon) {
      new_type = i_layer < n_layer / 16 ? DType::kQ6_K
                 : use_more_bits(i_layer, n_layer) ? DType::kQ5_K : DType::kQ4_K;
    } else if (use_more_bits(i_layer, n_layer)) {
      new_type = DType::kQ6_K;
    }
  } else if (i_layer < n_layer / 8 && (f == kIQ4_NL || f == kIQ4_XS)) {  // no importance matrix
    new_type = DType::kQ5_K;
  } else if (f == kQ5_K_M && use_more_bits(i_layer, n_layer)) {
    new_type = DType::kQ6_K;
  } else if (f == kQ4_K_S && !falcon && i_layer < n_layer / 8) {
    new_type = DType::kQ5_K;
  }
  // (Q4_0/Q5_0 change the first ffn_down layers only with an importance matrix.)
  ++s.i_ffn_down;
  return new_type;
}

DType attn_output_type(const State& s, DType new_type) {
  const uint32_t f = s.ftype;
  if (s.model.arch == "falcon") return f == kQ3_K_L ? DType::kQ4_K : new_type;
  if (s.model.n_expert == 8) {
    if (f == kQ2_K || f == kQ3_K_S || f == kQ3_K_M || f == kIQ4_NL || f == kQ4_K_S || f == kQ4_K_M || f == kIQ4_XS) {
      return DType::kQ5_K;
    }
    return new_type;
  }
  if (f == kQ2_K) return DType::kQ3_K;
  if (f == kQ3_K_M) return DType::kQ4_K;
  if (f == kQ3_K_L) return DType::kQ5_K;
  return new_type;
}

// llama_tensor_get_type_impl for the file types pocket writes.
DType mixture_type(State& s, const TensorDesc& t, Category cat, DType new_type) {
  const uint32_t f = s.ftype;
  if (cat == Category::kOutput || (s.has_tied_embeddings && cat == Category::kTokenEmbd)) {
    return output_type(s, t, new_type);
  }
  if (cat == Category::kTokenEmbd) return new_type;
  if (is_attn_v_like(cat)) return attn_v_type(s, new_type);
  if (cat == Category::kAttnK) return s.model.n_expert == 8 ? DType::kQ8_0 : new_type;
  if (cat == Category::kFfnDown) return ffn_down_type(s, t.name, new_type);
  if (cat == Category::kAttnOutput) return attn_output_type(s, new_type);
  if (cat == Category::kAttnQkv) {
    if (f == kQ3_K_M || f == kQ3_K_L) return DType::kQ4_K;
    if (f == kQ4_K_M) return DType::kQ5_K;
    if (f == kQ5_K_M) return DType::kQ6_K;
  }
  return new_type;
}

// A type whose block fits the row length (llama.cpp tensor_type_fallback).
DType fallback_type(State& s, const TensorDesc& t, DType type) {
  const int64_t ncols = t.shape[0];
  if (ncols % dtype_info(type).block_elems == 0) return type;
  ++s.n_fallback;
  DType result = DType::kF16;
  switch (type) {
    case DType::kIQ4_XS: result = DType::kIQ4_NL; break;
    case DType::kQ2_K: case DType::kQ3_K: result = DType::kQ4_0; break;
    case DType::kQ4_K: result = DType::kQ5_0; break;
    case DType::kQ5_K: result = DType::kQ5_1; break;
    case DType::kQ6_K: result = DType::kQ8_0; break;
    default: break;  // legacy 32-blocks: F16 below
  }
  if (ncols % dtype_info(result).block_elems != 0) result = DType::kF16;
  return result;
}

bool is_quantized(DType t) { return t != DType::kF32 && t != DType::kF16 && t != DType::kBF16; }

}  // namespace

std::span<const FileType> all_file_types() { return kFileTypes; }

const FileType* file_type_by_name(std::string_view name) {
  if (equal_ignore_case(name, "Q3_K")) name = "Q3_K_M";
  if (equal_ignore_case(name, "Q4_K")) name = "Q4_K_M";
  if (equal_ignore_case(name, "Q5_K")) name = "Q5_K_M";
  for (const auto& f : kFileTypes) {
    if (equal_ignore_case(name, f.name)) return &f;
  }
  return nullptr;
}

Result<TypeOverride> parse_type_override(std::string_view spec) {
  const size_t eq = spec.rfind('=');
  if (eq == std::string_view::npos || eq == 0 || eq + 1 == spec.size()) {
    return bad_input("--tensor-type '{}': expected PATTERN=TYPE", spec);
  }
  TypeOverride o;
  o.pattern = std::string(spec.substr(0, eq));
  const std::string_view type_name = spec.substr(eq + 1);
  const DTypeInfo* type = dtype_by_name(type_name);
  if (type == nullptr || type->quant == nullptr) {
    return bad_input("--tensor-type '{}': '{}' is not a tensor type pocket can quantize to", spec, type_name);
  }
  o.type = type->id;
  try {
    o.regex = std::regex(o.pattern);
  } catch (const std::regex_error& e) {
    return bad_input("--tensor-type '{}': pattern '{}' is not a valid regular expression: {}", spec, o.pattern,
                     e.what());
  }
  return o;
}

bool llama_tensor_order(const std::string& a, const std::string& b) {
  const int la = block_of(a);
  const int lb = block_of(b);
  if (la != lb) return la < lb;
  return a < b;
}

bool tensor_allows_quantization(const TensorDesc& t) {
  if (n_dims(t.shape) < 2) return false;
  const std::string& name = t.name;
  if (name.size() < 6 || name.compare(name.size() - 6, 6, "weight") != 0) return false;
  static constexpr std::string_view kKeep[] = {
      "_norm.weight", "ffn_gate_inp.weight", "ffn_gate_tid2eid.weight", "altup", "laurel", "per_layer_model_proj",
      "ssm_conv1d", "shortconv.conv.weight", "indexer.k_proj.weight", "indexer.q_proj.weight", "time_mix_first.weight",
      "time_mix_w0.weight", "time_mix_w1.weight", "time_mix_w2.weight", "time_mix_v0.weight", "time_mix_v1.weight",
      "time_mix_v2.weight", "time_mix_a0.weight", "time_mix_a1.weight", "time_mix_a2.weight", "time_mix_g1.weight",
      "time_mix_g2.weight", "time_mix_decay_w1.weight", "time_mix_decay_w2.weight", "time_mix_lerp_fused.weight",
      "attn_rel_b.weight", ".position_embd", "sam.pos_embd", "sam.neck.", "sam.net_", ".rel_pos", ".patch_embd",
      ".patch_merger", "a.rvq.codebook", "mm.a.code_embd"};
  for (std::string_view part : kKeep) {
    if (contains(name, part)) return false;
  }
  return name != "position_embd.weight" && name != "token_types.weight";
}

std::vector<DType> plan_tensor_types(const ModelShape& model, const std::vector<TensorDesc>& tensors,
                                     const RecipeOptions& options, int* n_fallback) {
  State s{model, options.file_type->id};
  s.n_layer = model.n_layer;
  for (const auto& t : tensors) {
    const Category cat = category_of(t.name);
    if (is_attn_v_like(cat)) ++s.n_attention_wv;
    if (cat == Category::kOutput) s.has_tied_embeddings = false;
  }
  const DType default_type = options.file_type->default_type;
  std::vector<DType> result;
  result.reserve(tensors.size());
  for (const auto& t : tensors) {
    if (!tensor_allows_quantization(t)) {
      result.push_back(t.type);
      continue;
    }
    DType new_type = default_type;
    if (is_quantized(default_type)) {
      bool manual = false;
      for (const auto& o : options.overrides) {
        if (std::regex_search(t.name, o.regex)) {
          new_type = o.type;
          manual = true;
          break;
        }
      }
      if (!manual && !options.pure) new_type = mixture_type(s, t, category_of(t.name), new_type);
      new_type = fallback_type(s, t, new_type);
    }
    result.push_back(new_type);
  }
  if (n_fallback != nullptr) *n_fallback = s.n_fallback;
  return result;
}

}  // namespace pocket::quant
