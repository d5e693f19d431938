// Quantization recipes: llama.cpp's file types ("Q4_K_M", ...) and its per-tensor type selection
// (llama-quant.cpp llama_tensor_get_type: higher precision for output/embeddings and some attn_v / ffn_down layers,
// fallbacks when a row length is not a multiple of the block size, --pure, --tensor-type overrides), so that
// `pocket quantize` gives each tensor the type llama-quantize would (without an importance matrix).
#pragma once

#include <cstdint>
#include <optional>
#include <regex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "tensor/dtype.h"

namespace pocket::quant {

// A llama.cpp file type (llama.h `enum llama_ftype`): the value written to general.file_type, and the tensor type
// most weights get.
struct FileType {
  const char* name;    // "Q4_K_M"
  uint32_t id;         // LLAMA_FTYPE_MOSTLY_Q4_K_M = 15
  DType default_type;  // Q4_K
};

// Every file type pocket can write, in llama-quantize's listing order.
std::span<const FileType> all_file_types();
// By name, ignoring case; llama-quantize's aliases Q3_K, Q4_K, Q5_K mean the _M variants. nullptr if unknown.
const FileType* file_type_by_name(std::string_view name);

// What the recipe needs to know about the model (from its metadata).
struct ModelShape {
  std::string arch;      // general.architecture
  int n_layer = 0;       // {arch}.block_count
  int n_head = 0;        // {arch}.attention.head_count (layer 0 if per layer)
  int n_head_kv = 0;     // {arch}.attention.head_count_kv (defaults to n_head)
  int n_expert = 0;      // {arch}.expert_count
};

// A tensor as the recipe sees it: name, shape (ne0 first), current type.
struct TensorDesc {
  std::string name;
  std::vector<int64_t> shape;
  DType type = DType::kF32;
};

// `--tensor-type PATTERN=TYPE`: tensors whose name matches PATTERN (std::regex_search, ECMAScript, as llama.cpp)
// get TYPE. The first matching override wins.
struct TypeOverride {
  std::string pattern;
  std::regex regex;
  DType type = DType::kF32;
};
// Parses "PATTERN=TYPE" (TYPE a ggml tensor type name, any case). Errors name the --tensor-type flag.
Result<TypeOverride> parse_type_override(std::string_view spec);

struct RecipeOptions {
  const FileType* file_type = nullptr;
  bool pure = false;                    // every quantizable tensor gets default_type (norms etc. stay)
  std::vector<TypeOverride> overrides;  // applied before the mixture rules, only when default_type is quantized
};

// The order in which llama.cpp visits tensors (and writes them): tensors outside blocks first, then by block
// number, each group by name. The mixture rules count attn_v / ffn_down tensors in this order.
bool llama_tensor_order(const std::string& a, const std::string& b);

// Whether llama.cpp would quantize this tensor at all (2-d or more, a "weight", not a norm, gate_inp, ...).
bool tensor_allows_quantization(const TensorDesc& tensor);

// The target type of every tensor, in the order given (callers pass them sorted by llama_tensor_order).
// Tensors that stay as they are get their current type. `n_fallback` counts tensors that needed a fallback type.
std::vector<DType> plan_tensor_types(const ModelShape& model, const std::vector<TensorDesc>& tensors,
                                     const RecipeOptions& options, int* n_fallback = nullptr);

}  // namespace pocket::quant
