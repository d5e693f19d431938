// `pocket info [-m FILE] [--tensors] [--json] [--dequant NAME]`: what a GGUF file holds (CLI.md).
// Reads any well-formed GGUF (vocab-only files, unknown architectures, tensor types pocket cannot compute with);
// a malformed file is one line on stderr and exit code 2.
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "command.h"
#include "model_source.h"
#include "tensor/dtype.h"

namespace pocket {
namespace {

using nlohmann::json;

constexpr size_t kMaxListedArray = 16;  // longer metadata arrays print as {"type", "length"}

struct InfoOptions {
  std::string model;
  bool tensors = false;
  bool as_json = false;
  std::string dequant;
};

json scalar_to_json(const GgufValue& v) {
  switch (v.type) {
    case GgufType::kUint8: case GgufType::kUint16: case GgufType::kUint32: case GgufType::kUint64: return v.u;
    case GgufType::kInt8: case GgufType::kInt16: case GgufType::kInt32: case GgufType::kInt64: return v.i;
    case GgufType::kFloat32: case GgufType::kFloat64: return v.f;
    case GgufType::kBool: return v.b;
    case GgufType::kString: return v.s;
    case GgufType::kArray: break;
  }
  return nullptr;
}

json value_to_json(const GgufValue& v) {
  if (v.type != GgufType::kArray) return scalar_to_json(v);
  uint64_t n = v.array_length();
  if (n > kMaxListedArray) return json{{"type", gguf_type_name(v.elem_type)}, {"length", n}};
  json out = json::array();
  for (uint64_t k = 0; k < n; ++k) {
    if (v.elem_type == GgufType::kString) {
      out.push_back(v.strs[k]);
    } else if (v.elem_type == GgufType::kFloat32 || v.elem_type == GgufType::kFloat64) {
      out.push_back(v.floats[k]);
    } else if (v.elem_type == GgufType::kBool) {
      out.push_back(v.ints[k] != 0);
    } else if (v.elem_type == GgufType::kUint64) {
      out.push_back(static_cast<uint64_t>(v.ints[k]));
    } else {
      out.push_back(v.ints[k]);
    }
  }
  return out;
}

// An integer hyperparameter "{arch}.<suffix>", or null when absent or not a scalar integer.
json arch_int(const GgufFile& file, const std::string& suffix) {
  auto arch = file.architecture();
  if (!arch) return nullptr;
  auto v = file.get_int(*arch + "." + suffix);
  return v ? json(*v) : json(nullptr);
}

json optional_string(const std::optional<std::string>& s) { return s ? json(*s) : json(nullptr); }

json describe(const GgufFile& file, bool with_tensors) {
  uint64_t n_params = 0;
  uint64_t tensor_bytes = 0;
  std::map<std::string, uint64_t> dtype_bytes;
  for (const auto& t : file.tensors()) {
    n_params += t.n_elements;
    tensor_bytes += t.n_bytes;
    dtype_bytes[t.dtype->name] += t.n_bytes;
  }
  const GgufValue* tokens = file.find("tokenizer.ggml.tokens");
  json out = {
      {"file", file.name()},
      {"file_size", file.file_size()},
      {"gguf_version", file.version()},
      {"architecture", optional_string(file.architecture())},
      {"name", optional_string(file.get_string("general.name"))},
      {"n_params", n_params},
      {"n_tensors", file.tensors().size()},
      {"bits_per_weight", n_params == 0 ? 0.0 : 8.0 * static_cast<double>(tensor_bytes) / n_params},
      {"context_length", arch_int(file, "context_length")},
      {"n_embd", arch_int(file, "embedding_length")},
      {"n_layer", arch_int(file, "block_count")},
      {"n_head", arch_int(file, "attention.head_count")},
      {"n_head_kv", arch_int(file, "attention.head_count_kv")},
      {"n_ff", arch_int(file, "feed_forward_length")},
      {"vocab_size", tokens != nullptr ? json(tokens->array_length()) : arch_int(file, "vocab_size")},
      {"tokenizer_model", optional_string(file.get_string("tokenizer.ggml.model"))},
      {"has_chat_template", file.find("tokenizer.chat_template") != nullptr},
      {"dtype_bytes", dtype_bytes},
  };
  json metadata = json::object();
  for (const auto& kv : file.metadata()) metadata[kv.key] = value_to_json(kv.value);
  out["metadata"] = std::move(metadata);
  if (with_tensors) {
    json list = json::array();
    for (const auto& t : file.tensors()) {
      list.push_back({{"name", t.name}, {"type", t.dtype->name}, {"shape", t.shape}, {"offset", t.offset},
                      {"n_bytes", t.n_bytes}, {"computable", t.dtype->dequant != nullptr}});
    }
    out["tensors"] = std::move(list);
  }
  return out;
}

std::string text_of(const json& v) {
  if (v.is_null()) return "-";
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

void print_text(const json& info) {
  static const char* kFields[] = {"file", "file_size", "gguf_version", "architecture", "name", "n_params",
                                  "bits_per_weight", "context_length", "n_embd", "n_layer", "n_head",
                                  "n_head_kv", "n_ff", "vocab_size", "tokenizer_model", "has_chat_template"};
  for (const char* field : kFields) std::printf("%-18s %s\n", field, text_of(info[field]).c_str());
  for (const auto& [type, bytes] : info["dtype_bytes"].items()) {
    std::printf("%-18s %s bytes\n", ("bytes " + type).c_str(), bytes.dump().c_str());
  }
  std::printf("metadata (%zu keys)\n", info["metadata"].size());
  for (const auto& [key, value] : info["metadata"].items()) {
    std::string shown = value.dump();
    if (shown.size() > 100) shown = shown.substr(0, 97) + "...";
    std::printf("  %-40s %s\n", key.c_str(), shown.c_str());
  }
  if (!info.contains("tensors")) return;
  std::printf("tensors (%zu)\n", info["tensors"].size());
  for (const auto& t : info["tensors"]) {
    std::printf("  %-32s %-7s %-20s offset %s\n", t["name"].get<std::string>().c_str(),
                t["type"].get<std::string>().c_str(), t["shape"].dump().c_str(), t["offset"].dump().c_str());
  }
}

// Writes tensor `name` dequantized to little-endian float32 (ne0 fastest) on stdout.
int write_dequantized(const GgufFile& file, const std::string& name) {
  const GgufTensorInfo* t = file.find_tensor(name);
  if (t == nullptr) return report_error(bad_input("{}: no tensor named '{}'", file.name(), name));
  if (t->dtype->dequant == nullptr) {
    return report_error(bad_input("{}: tensor '{}': unsupported tensor type {}", file.name(), name, t->dtype->name));
  }
  auto bytes = file.tensor_bytes(*t);
  const int64_t row = t->shape[0];
  const int64_t stride = row_bytes(*t->dtype, row);
  std::vector<float> values(static_cast<size_t>(row));
  for (int64_t r = 0; r < t->rows(); ++r) {
    t->dtype->dequant(bytes.data() + r * stride, values.data(), row);
    if (std::fwrite(values.data(), sizeof(float), values.size(), stdout) != values.size()) {
      return report_error(failure("writing to stdout failed"));
    }
  }
  return std::fflush(stdout) == 0 ? 0 : report_error(failure("writing to stdout failed"));
}

int run_info(const InfoOptions& options) {
  auto file = open_model_file(options.model);
  if (!file.ok()) return report_error(file.status());
  if (!options.dequant.empty()) return write_dequantized(*file, options.dequant);
  json info = describe(*file, options.tensors);
  if (options.as_json) {
    std::printf("%s\n", info.dump(-1, ' ', false, json::error_handler_t::replace).c_str());
  } else {
    print_text(info);
  }
  return 0;
}

const CommandRegistration kInfo(
    "info", "Show what a GGUF model file holds: architecture, sizes, metadata, tensors",
    [](CLI::App& app) -> std::function<int()> {
      auto options = std::make_shared<InfoOptions>();
      add_model_option(app, options->model);
      app.add_flag("--tensors", options->tensors, "List every tensor (name, type, shape, offset)");
      app.add_flag("--json", options->as_json, "Print one JSON document on stdout");
      app.add_option("--dequant", options->dequant,
                     "Write tensor NAME dequantized to raw little-endian float32 on stdout");
      return [options] { return run_info(*options); };
    });

}  // namespace
}  // namespace pocket
