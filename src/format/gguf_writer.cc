// GGUF writer, version 3, little-endian (the layout gguf.cc reads):
//   header:      "GGUF" | version u32 = 3 | n_tensors u64 | n_kv u64
//   kv[n_kv]:    key (u64 length + bytes) | type u32 | value   (arrays: elem type u32 | count u64 | elems)
//   tensor[n]:   name (string) | n_dims u32 | ne[n_dims] u64 | type u32 | offset u64 (from the data section)
//   zero padding up to a multiple of the alignment (from the start of the file), then the data section, in which
//   every tensor starts at a multiple of the alignment (each tensor's bytes are zero-padded to the alignment).
// The alignment is the writer's; "general.alignment" is written whenever it is not the default 32.
#include "format/gguf_writer.h"

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>

#include "base/atomic_file.h"
#include "base/check.h"
#include "base/checked_math.h"

namespace pocket {
namespace {

constexpr uint32_t kGgufVersion = 3;
constexpr uint32_t kDefaultAlignment = 32;
constexpr size_t kMaxTensorNameBytes = 64;  // ggml's GGML_MAX_NAME; the reader refuses longer names
constexpr const char* kAlignmentKey = "general.alignment";

bool is_power_of_two(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

// Appends little-endian encodings to a byte vector. (pocket only targets little-endian hosts: x86-64, arm64.)
class ByteSink {
 public:
  explicit ByteSink(std::vector<uint8_t>& out) : out_(out) {}
  void bytes(const void* p, size_t n) {
    if (n == 0) return;
    size_t at = out_.size();
    out_.resize(at + n);
    std::memcpy(out_.data() + at, p, n);
  }
  template <typename T>
  void pod(T v) { bytes(&v, sizeof(v)); }
  void string(std::string_view s) {
    pod<uint64_t>(s.size());
    bytes(s.data(), s.size());
  }
  void zeros(size_t n) { out_.insert(out_.end(), n, 0); }
  size_t size() const { return out_.size(); }

 private:
  std::vector<uint8_t>& out_;
};

// One element of an integer or bool array, narrowed to the element type's width (u64 is stored bit-cast).
void write_int_elem(ByteSink& sink, GgufType type, int64_t v) {
  switch (type) {
    case GgufType::kUint8: sink.pod(static_cast<uint8_t>(v)); break;
    case GgufType::kInt8: sink.pod(static_cast<int8_t>(v)); break;
    case GgufType::kUint16: sink.pod(static_cast<uint16_t>(v)); break;
    case GgufType::kInt16: sink.pod(static_cast<int16_t>(v)); break;
    case GgufType::kUint32: sink.pod(static_cast<uint32_t>(v)); break;
    case GgufType::kInt32: sink.pod(static_cast<int32_t>(v)); break;
    case GgufType::kUint64: sink.pod(static_cast<uint64_t>(v)); break;
    case GgufType::kInt64: sink.pod(static_cast<int64_t>(v)); break;
    case GgufType::kBool: sink.pod(static_cast<uint8_t>(v != 0 ? 1 : 0)); break;
    default: POCKET_CHECK(false && "not an integer element type");
  }
}

void write_scalar(ByteSink& sink, const GgufValue& v) {
  switch (v.type) {
    case GgufType::kUint8: sink.pod(static_cast<uint8_t>(v.u)); break;
    case GgufType::kInt8: sink.pod(static_cast<int8_t>(v.i)); break;
    case GgufType::kUint16: sink.pod(static_cast<uint16_t>(v.u)); break;
    case GgufType::kInt16: sink.pod(static_cast<int16_t>(v.i)); break;
    case GgufType::kUint32: sink.pod(static_cast<uint32_t>(v.u)); break;
    case GgufType::kInt32: sink.pod(static_cast<int32_t>(v.i)); break;
    case GgufType::kUint64: sink.pod(static_cast<uint64_t>(v.u)); break;
    case GgufType::kInt64: sink.pod(static_cast<int64_t>(v.i)); break;
    case GgufType::kFloat32: sink.pod(static_cast<float>(v.f)); break;
    case GgufType::kFloat64: sink.pod(static_cast<double>(v.f)); break;
    case GgufType::kBool: sink.pod(static_cast<uint8_t>(v.b ? 1 : 0)); break;
    case GgufType::kString: sink.string(v.s); break;
    case GgufType::kArray: POCKET_CHECK(false && "arrays are written by write_value");
  }
}

// type u32 | value (arrays: elem type u32 | count u64 | elems).
void write_value(ByteSink& sink, const GgufValue& v) {
  sink.pod(static_cast<uint32_t>(v.type));
  if (v.type != GgufType::kArray) {
    write_scalar(sink, v);
    return;
  }
  sink.pod(static_cast<uint32_t>(v.elem_type));
  sink.pod<uint64_t>(v.array_length());
  switch (v.elem_type) {
    case GgufType::kString:
      for (const auto& s : v.strs) sink.string(s);
      break;
    case GgufType::kFloat32:
      for (double f : v.floats) sink.pod(static_cast<float>(f));
      break;
    case GgufType::kFloat64:
      for (double f : v.floats) sink.pod(f);
      break;
    default:
      for (int64_t i : v.ints) write_int_elem(sink, v.elem_type, i);
      break;
  }
}

uint64_t align_up(uint64_t v, uint64_t alignment) { return (v + alignment - 1) / alignment * alignment; }

}  // namespace

void GgufWriter::set(std::string key, GgufValue value) {
  // Arrays of arrays cannot be represented by GgufValue (and no reader accepts them).
  POCKET_CHECK(value.type != GgufType::kArray || value.elem_type != GgufType::kArray);
  if (key == kAlignmentKey) {
    // The key decides the layout: the writer adopts it, so key and layout always agree.
    POCKET_CHECK(value.type == GgufType::kUint32 && is_power_of_two(value.u));
    alignment_ = static_cast<uint32_t>(value.u);
  }
  for (auto& kv : kvs_) {
    if (kv.key == key) {  // setting a key again replaces its value in place (as gguf_set_* does)
      kv.value = std::move(value);
      return;
    }
  }
  kvs_.push_back(GgufKv{std::move(key), std::move(value)});
}

void GgufWriter::set_string(std::string key, std::string value) {
  GgufValue v;
  v.type = GgufType::kString;
  v.s = std::move(value);
  set(std::move(key), std::move(v));
}

void GgufWriter::set_u32(std::string key, uint32_t value) {
  GgufValue v;
  v.type = GgufType::kUint32;
  v.u = value;
  set(std::move(key), std::move(v));
}

void GgufWriter::set_i32(std::string key, int32_t value) {
  GgufValue v;
  v.type = GgufType::kInt32;
  v.i = value;
  set(std::move(key), std::move(v));
}

void GgufWriter::set_u64(std::string key, uint64_t value) {
  GgufValue v;
  v.type = GgufType::kUint64;
  v.u = value;
  set(std::move(key), std::move(v));
}

void GgufWriter::set_f32(std::string key, float value) {
  GgufValue v;
  v.type = GgufType::kFloat32;
  v.f = value;
  set(std::move(key), std::move(v));
}

void GgufWriter::set_bool(std::string key, bool value) {
  GgufValue v;
  v.type = GgufType::kBool;
  v.b = value;
  set(std::move(key), std::move(v));
}

void GgufWriter::set_string_array(std::string key, std::vector<std::string> values) {
  GgufValue v;
  v.type = GgufType::kArray;
  v.elem_type = GgufType::kString;
  v.strs = std::move(values);
  set(std::move(key), std::move(v));
}

void GgufWriter::set_f32_array(std::string key, std::vector<float> values) {
  GgufValue v;
  v.type = GgufType::kArray;
  v.elem_type = GgufType::kFloat32;
  v.floats.assign(values.begin(), values.end());
  set(std::move(key), std::move(v));
}

void GgufWriter::set_i32_array(std::string key, std::vector<int32_t> values) {
  GgufValue v;
  v.type = GgufType::kArray;
  v.elem_type = GgufType::kInt32;
  v.ints.assign(values.begin(), values.end());
  set(std::move(key), std::move(v));
}

void GgufWriter::copy_metadata(const GgufFile& source) {
  for (const auto& kv : source.metadata()) set(kv.key, kv.value);
}

Result<uint64_t> GgufWriter::check_tensor(const std::string& name, DType type,
                                          const std::vector<int64_t>& shape) const {
  if (name.empty()) return bad_input("tensor name is empty");
  if (name.size() > kMaxTensorNameBytes) {
    return bad_input("tensor '{}': name is {} bytes long (at most {})", name, name.size(), kMaxTensorNameBytes);
  }
  for (const auto& t : tensors_) {
    if (t.name == name) return bad_input("duplicate tensor name '{}'", name);
  }
  const DTypeInfo* info = dtype_info(static_cast<uint32_t>(type));
  if (info == nullptr) return bad_input("tensor '{}': unknown tensor type id {}", name, static_cast<uint32_t>(type));
  if (shape.empty() || shape.size() > 4) {
    return bad_input("tensor '{}': {} dimensions (expected 1 to 4)", name, shape.size());
  }
  uint64_t elements = 1;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] < 1) return bad_input("tensor '{}': dimension {} is {} (expected at least 1)", name, d, shape[d]);
    auto product = checked_mul(elements, static_cast<uint64_t>(shape[d]));
    if (!product || *product > static_cast<uint64_t>(INT64_MAX)) {
      return bad_input("tensor '{}': element count overflows", name);
    }
    elements = *product;
  }
  if (shape[0] % info->block_elems != 0) {
    return bad_input("tensor '{}': row length {} is not a multiple of the {} block size {}", name, shape[0],
                     info->name, info->block_elems);
  }
  auto expected = checked_mul(elements / static_cast<uint64_t>(info->block_elems),
                              static_cast<uint64_t>(info->block_bytes));
  if (!expected) return bad_input("tensor '{}': byte count overflows", name);
  return *expected;
}

Status GgufWriter::add_tensor(std::string name, DType type, std::vector<int64_t> shape,
                              std::span<const uint8_t> data) {
  POCKET_ASSIGN_OR_RETURN(uint64_t expected, check_tensor(name, type, shape));
  if (expected != data.size()) {
    return bad_input("tensor '{}': {} data is {} bytes, expected {}", name, dtype_info(static_cast<uint32_t>(type))->name,
                     data.size(), expected);
  }
  tensors_.push_back(Tensor{std::move(name), type, std::move(shape), {data.begin(), data.end()}, expected});
  return ok_status();
}

Status GgufWriter::declare_tensor(std::string name, DType type, std::vector<int64_t> shape) {
  POCKET_ASSIGN_OR_RETURN(uint64_t expected, check_tensor(name, type, shape));
  tensors_.push_back(Tensor{std::move(name), type, std::move(shape), {}, expected});
  return ok_status();
}

std::vector<uint8_t> GgufWriter::header_bytes() const {
  POCKET_CHECK(is_power_of_two(alignment_));
  bool has_alignment_key = std::any_of(kvs_.begin(), kvs_.end(), [](auto& kv) { return kv.key == kAlignmentKey; });
  bool add_alignment_key = !has_alignment_key && alignment_ != kDefaultAlignment;

  std::vector<uint8_t> out;
  ByteSink sink(out);

  sink.bytes("GGUF", 4);
  sink.pod<uint32_t>(kGgufVersion);
  sink.pod<uint64_t>(tensors_.size());
  sink.pod<uint64_t>(kvs_.size() + (add_alignment_key ? 1 : 0));
  for (const auto& kv : kvs_) {
    sink.string(kv.key);
    write_value(sink, kv.value);
  }
  if (add_alignment_key) {
    GgufValue v;
    v.type = GgufType::kUint32;
    v.u = alignment_;
    sink.string(kAlignmentKey);
    write_value(sink, v);
  }

  uint64_t offset = 0;  // from the start of the data section
  for (const auto& t : tensors_) {
    sink.string(t.name);
    sink.pod<uint32_t>(t.shape.size());
    for (int64_t ne : t.shape) sink.pod<uint64_t>(ne);
    sink.pod<uint32_t>(static_cast<uint32_t>(t.type));
    sink.pod<uint64_t>(offset);
    offset += align_up(t.n_bytes, alignment_);
  }
  sink.zeros(align_up(sink.size(), alignment_) - sink.size());
  return out;
}

std::vector<uint8_t> GgufWriter::to_bytes() const {
  std::vector<uint8_t> out = header_bytes();
  ByteSink sink(out);
  for (const auto& t : tensors_) {
    POCKET_CHECK(t.data.size() == t.n_bytes);  // declared tensors are only written by write(path, fill)
    sink.bytes(t.data.data(), t.data.size());
    sink.zeros(align_up(t.data.size(), alignment_) - t.data.size());
  }
  return out;
}

Status GgufWriter::write(const std::string& path, const TensorFill& fill) const {
  POCKET_ASSIGN_OR_RETURN(AtomicFile file, AtomicFile::create(path));
  const std::vector<uint8_t> header = header_bytes();
  POCKET_RETURN_IF_ERROR(file.write(header.data(), header.size()));
  std::vector<uint8_t> buffer;  // one declared tensor at a time
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const Tensor& t = tensors_[i];
    std::span<const uint8_t> bytes = t.data;
    if (t.data.size() != t.n_bytes) {
      if (!fill) return failure("cannot write {}: tensor '{}' was declared but nothing fills it", path, t.name);
      buffer.assign(t.n_bytes, 0);
      POCKET_RETURN_IF_ERROR(fill(i, buffer));
      bytes = buffer;
    }
    POCKET_RETURN_IF_ERROR(file.write(bytes.data(), bytes.size()));
    POCKET_RETURN_IF_ERROR(file.write_zeros(align_up(bytes.size(), alignment_) - bytes.size()));
  }
  return file.commit();
}

}  // namespace pocket
