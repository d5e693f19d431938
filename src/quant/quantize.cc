// The quantize driver: plan (recipe.h), convert each tensor to f32 and quantize its rows on N threads, write.
// Memory: the input is mapped; the output is streamed tensor by tensor (GgufWriter::write with a fill) through a
// temporary file renamed into place, so the peak is one tensor in f32 plus its quantized bytes.
#include "quant/quantize.h"

#include <sys/stat.h>

#include <algorithm>
#include <cstring>
#include <numeric>
#include <thread>

#include "base/thread_pool.h"

#include "format/gguf.h"
#include "format/gguf_writer.h"
#include "quant/recipe.h"
#include "tensor/dtype.h"

namespace pocket::quant {
namespace {

constexpr uint32_t kQuantizationVersion = 2;  // ggml's GGML_QNT_VERSION

std::string file_type_names() {
  std::string names;
  for (const auto& f : all_file_types()) {
    if (!names.empty()) names += ", ";
    names += f.name;
  }
  return names;
}

// Refuses to write over the input: the same path, or another name of the same file (hard link, symlink, ./x).
Status check_paths(const std::string& input, const std::string& output) {
  if (input == output) return bad_input("output {}: is the input file; refusing to overwrite it", output);
  struct stat in_st {};
  struct stat out_st {};
  if (::stat(input.c_str(), &in_st) != 0) return bad_input("{}: cannot open the input file", input);
  if (::stat(output.c_str(), &out_st) == 0 && in_st.st_dev == out_st.st_dev && in_st.st_ino == out_st.st_ino) {
    return bad_input("output {}: is the same file as the input {}; refusing to overwrite it", output, input);
  }
  return ok_status();
}

int int_or(const GgufFile& file, const std::string& key, int fallback) {
  if (auto v = file.get_int(key)) return static_cast<int>(*v);
  const GgufValue* value = file.find(key);  // per-layer arrays (e.g. head_count_kv): layer 0
  if (value != nullptr && value->type == GgufType::kArray && !value->ints.empty()) {
    return static_cast<int>(value->ints[0]);
  }
  return fallback;
}

ModelShape model_shape(const GgufFile& file) {
  ModelShape m;
  m.arch = file.architecture().value_or("");
  m.n_layer = int_or(file, m.arch + ".block_count", 0);
  m.n_head = int_or(file, m.arch + ".attention.head_count", 0);
  m.n_head_kv = int_or(file, m.arch + ".attention.head_count_kv", m.n_head);
  m.n_expert = int_or(file, m.arch + ".expert_count", 0);
  return m;
}

// The tensor's values as f32 (dequantized or converted in parallel if needed).
Status load_f32(const GgufFile& file, const GgufTensorInfo& info, bool allow_requantize, int threads,
                std::vector<float>& out) {
  const DTypeInfo& type = *info.dtype;
  const bool plain = type.id == DType::kF32 || type.id == DType::kF16 || type.id == DType::kBF16;
  if (type.dequant == nullptr) {
    return bad_input("tensor '{}': cannot convert from {} (no dequantizer)", info.name, type.name);
  }
  if (!plain && !allow_requantize) {
    return bad_input("tensor '{}': is already quantized ({}); requantizing loses quality "
                     "(pass --allow-requantize to do it anyway)", info.name, type.name);
  }
  out.resize(info.n_elements);
  const std::span<const uint8_t> bytes = file.tensor_bytes(info);
  const int64_t ne0 = info.shape[0];
  const int64_t rows = static_cast<int64_t>(info.n_elements) / ne0;
  const int64_t row_size = row_bytes(type, ne0);
  ThreadPool::shared(threads).parallel_for(rows, [&](int64_t first, int64_t end) {
    type.dequant(bytes.data() + first * row_size, out.data() + first * ne0, (end - first) * ne0);
  });
  return ok_status();
}

struct Planned {
  const GgufTensorInfo* info;
  DType target;
};

Result<std::vector<Planned>> plan(const GgufFile& file, const QuantizeOptions& options, const FileType& ftype,
                                  int* n_fallback) {
  RecipeOptions recipe;
  recipe.file_type = &ftype;
  recipe.pure = options.pure;
  for (const auto& spec : options.tensor_types) {
    auto o = parse_type_override(spec);
    if (!o.ok()) return o.status();
    recipe.overrides.push_back(std::move(*o));
  }
  std::vector<const GgufTensorInfo*> order;
  for (const auto& t : file.tensors()) order.push_back(&t);
  std::stable_sort(order.begin(), order.end(),
                   [](const GgufTensorInfo* a, const GgufTensorInfo* b) { return llama_tensor_order(a->name, b->name); });
  std::vector<TensorDesc> descs;
  for (const auto* t : order) descs.push_back(TensorDesc{t->name, t->shape, t->dtype->id});
  const std::vector<DType> types = plan_tensor_types(model_shape(file), descs, recipe, n_fallback);
  std::vector<Planned> result;
  for (size_t i = 0; i < order.size(); ++i) result.push_back(Planned{order[i], types[i]});
  return result;
}

}  // namespace

Result<QuantizeSummary> quantize_model(const QuantizeOptions& options, const ProgressFn& progress) {
  const FileType* ftype = file_type_by_name(options.type);
  if (ftype == nullptr) {
    return bad_input("TYPE '{}': unknown quantization type (expected one of {})", options.type, file_type_names());
  }
  if (Status s = check_paths(options.input, options.output); !s.ok()) return s;
  auto file = GgufFile::open(options.input);
  if (!file.ok()) return file.status();
  const int threads = options.threads > 0 ? options.threads
                                          : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));

  QuantizeSummary summary;
  summary.file_type = ftype->id;
  auto planned = plan(*file, options, *ftype, &summary.n_fallback);
  if (!planned.ok()) return planned.status();

  GgufWriter writer;
  for (const auto& kv : file->metadata()) {
    if (kv.key == "split.no" || kv.key == "split.count" || kv.key == "split.tensors.count") continue;
    // Set below, after everything else: llama-quantize's gguf_set_val moves an existing key to the end, so an
    // input that already has general.file_type gets it last (same metadata order, same bytes).
    if (kv.key == "general.quantization_version" || kv.key == "general.file_type") continue;
    writer.set(kv.key, kv.value);
  }
  writer.set_u32("general.quantization_version", kQuantizationVersion);
  writer.set_u32("general.file_type", ftype->id);

  // Declare every tensor, then stream the file: each tensor is converted and quantized only when its turn to be
  // written comes, so memory holds one tensor at a time.
  for (const Planned& p : *planned) {
    const GgufTensorInfo& info = *p.info;
    const DTypeInfo& target = dtype_info(p.target);
    if (p.target != info.dtype->id && target.quant == nullptr) {
      return bad_input("tensor '{}': pocket cannot quantize to {}", info.name, target.name);
    }
    if (Status s = writer.declare_tensor(info.name, p.target, info.shape); !s.ok()) {
      return s.with_context(options.output + ": ");
    }
  }
  std::vector<float> f32;
  Status written = writer.write(options.output, [&](size_t index, std::span<uint8_t> out) -> Status {
    const Planned& p = (*planned)[index];
    const GgufTensorInfo& info = *p.info;
    const DTypeInfo& target = dtype_info(p.target);
    if (p.target == info.dtype->id) {
      const std::span<const uint8_t> data = file->tensor_bytes(info);
      std::copy(data.begin(), data.end(), out.begin());
    } else {
      POCKET_RETURN_IF_ERROR(load_f32(*file, info, options.allow_requantize, threads, f32));
      const int64_t ne0 = info.shape[0];
      const int64_t row_size = row_bytes(target, ne0);
      ThreadPool::shared(threads).parallel_for(static_cast<int64_t>(out.size()) / row_size,
                                               [&](int64_t first, int64_t end) {
        target.quant(f32.data() + first * ne0, out.data() + first * row_size, (end - first) * ne0);
      });
      ++summary.n_quantized;
    }
    summary.input_bytes += info.n_bytes;
    summary.output_bytes += out.size();
    summary.n_elements += info.n_elements;
    ++summary.n_tensors;
    if (progress) {
      progress(QuantizeProgress{static_cast<int>(index) + 1, static_cast<int>(planned->size()), info.name,
                                info.dtype->name, target.name, info.n_bytes, out.size()});
    }
    return ok_status();
  });
  if (!written.ok()) return written;
  return summary;
}

}  // namespace pocket::quant
