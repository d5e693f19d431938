// GGUF reader. Layout (little-endian):
//   header:       "GGUF" | version u32 | n_tensors u64 | n_kv u64
//   kv[n_kv]:     key (u64 length + bytes) | type u32 | value   (arrays: elem type u32 | count u64 | elems)
//   tensor[n]:    name (string) | n_dims u32 | ne[n_dims] u64 | type u32 | offset u64 (from the data section)
//   padding to general.alignment (default 32), then the data section.
// Every read goes through Cursor, which refuses to step past the end; every size is computed with checked
// arithmetic; counts are bounded by the bytes left before anything is reserved.
#include "format/gguf.h"

#include <algorithm>
#include <fmt/ranges.h>
#include <cstring>

#include "base/checked_math.h"
#include "base/utf8.h"

namespace pocket {
namespace {

constexpr uint64_t kMaxKeyBytes = 65535;
constexpr uint64_t kMaxTensorNameBytes = 64;
constexpr uint32_t kDefaultAlignment = 32;
// Metadata arrays are decoded into 8-byte elements (or std::string), so a long array of 1-byte values could cost
// up to 8x (strings ~4x) the file's bytes. The largest real arrays are vocabularies of ~256K tokens; 2^26 elements
// bounds a decoded array to 512 MiB whatever the file claims.
constexpr uint64_t kMaxArrayElements = uint64_t{1} << 26;

// Bytes of one element of a fixed-size metadata type; 0 for string/array.
uint64_t fixed_type_size(GgufType type) {
  switch (type) {
    case GgufType::kUint8: case GgufType::kInt8: case GgufType::kBool: return 1;
    case GgufType::kUint16: case GgufType::kInt16: return 2;
    case GgufType::kUint32: case GgufType::kInt32: case GgufType::kFloat32: return 4;
    case GgufType::kUint64: case GgufType::kInt64: case GgufType::kFloat64: return 8;
    case GgufType::kString: case GgufType::kArray: return 0;
  }
  return 0;
}

bool is_known_type(uint32_t raw) { return raw <= static_cast<uint32_t>(GgufType::kFloat64); }

// A bounds-checked reader over the file's bytes.
class Cursor {
 public:
  explicit Cursor(std::span<const uint8_t> bytes) : bytes_(bytes) {}
  uint64_t pos() const { return pos_; }
  uint64_t left() const { return bytes_.size() - pos_; }

  bool read_raw(void* out, uint64_t n) {
    if (n > left()) return false;
    std::memcpy(out, bytes_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  template <typename T>
  bool read(T& out) { return read_raw(&out, sizeof(T)); }
  bool read_string(std::string& out, uint64_t& length) {
    if (!read(length) || length > left()) return false;
    out.assign(reinterpret_cast<const char*>(bytes_.data() + pos_), length);
    pos_ += length;
    return true;
  }

 private:
  std::span<const uint8_t> bytes_;
  uint64_t pos_ = 0;
};

}  // namespace

const char* gguf_type_name(GgufType type) {
  switch (type) {
    case GgufType::kUint8: return "u8";
    case GgufType::kInt8: return "i8";
    case GgufType::kUint16: return "u16";
    case GgufType::kInt16: return "i16";
    case GgufType::kUint32: return "u32";
    case GgufType::kInt32: return "i32";
    case GgufType::kFloat32: return "f32";
    case GgufType::kBool: return "bool";
    case GgufType::kString: return "string";
    case GgufType::kArray: return "array";
    case GgufType::kUint64: return "u64";
    case GgufType::kInt64: return "i64";
    case GgufType::kFloat64: return "f64";
  }
  return "unknown";
}

bool GgufValue::is_integer() const {
  switch (type) {
    case GgufType::kUint8: case GgufType::kInt8: case GgufType::kUint16: case GgufType::kInt16:
    case GgufType::kUint32: case GgufType::kInt32: case GgufType::kUint64: case GgufType::kInt64:
      return true;
    default:
      return false;
  }
}

std::optional<int64_t> GgufValue::as_int() const {
  switch (type) {
    case GgufType::kUint8: case GgufType::kUint16: case GgufType::kUint32: case GgufType::kUint64:
      if (u > static_cast<uint64_t>(INT64_MAX)) return std::nullopt;
      return static_cast<int64_t>(u);
    case GgufType::kInt8: case GgufType::kInt16: case GgufType::kInt32: case GgufType::kInt64:
      return i;
    default:
      return std::nullopt;
  }
}

std::optional<double> GgufValue::as_float() const {
  if (type == GgufType::kFloat32 || type == GgufType::kFloat64) return f;
  if (type == GgufType::kUint8 || type == GgufType::kUint16 || type == GgufType::kUint32 ||
      type == GgufType::kUint64)
    return static_cast<double>(u);
  if (is_integer()) return static_cast<double>(i);
  return std::nullopt;
}

uint64_t GgufValue::array_length() const {
  if (type != GgufType::kArray) return 0;
  if (elem_type == GgufType::kString) return strs.size();
  if (elem_type == GgufType::kFloat32 || elem_type == GgufType::kFloat64) return floats.size();
  return ints.size();
}

int64_t GgufTensorInfo::rows() const {
  int64_t r = 1;
  for (size_t d = 1; d < shape.size(); ++d) r *= shape[d];
  return r;
}

// Parses one file; holds the state of a parse so helpers stay small. Every error names the file.
class GgufParser {
 public:
  GgufParser(std::span<const uint8_t> bytes, std::string name) : cursor_(bytes), name_(std::move(name)) {
    file_.name_ = name_;
    file_.bytes_ = bytes;
  }

  Result<GgufFile> parse() {
    POCKET_RETURN_IF_ERROR(parse_header());
    POCKET_RETURN_IF_ERROR(parse_metadata());
    POCKET_RETURN_IF_ERROR(check_known_keys());
    POCKET_RETURN_IF_ERROR(parse_tensor_infos());
    POCKET_RETURN_IF_ERROR(place_data_section());
    return std::move(file_);
  }

 private:
  template <typename... Args>
  Status error(fmt::format_string<Args...> format, Args&&... args) {
    return bad_input("{}: {}", name_, fmt::format(format, std::forward<Args>(args)...));
  }
  Status truncated(std::string_view what) {
    return error("file is truncated: {} at byte {} runs past the end of the file ({} bytes)", what,
                 cursor_.pos(), file_.bytes_.size());
  }

  Status parse_header() {
    char magic[4];
    if (!cursor_.read_raw(magic, 4)) return truncated("the GGUF magic");
    if (std::memcmp(magic, "GGUF", 4) != 0) {
      return error("not a GGUF file: the first 4 bytes are not \"GGUF\"");
    }
    if (!cursor_.read(file_.version_)) return truncated("the version");
    if (file_.version_ != 2 && file_.version_ != 3) {
      return error("unsupported GGUF version {} (supported: 2, 3)", file_.version_);
    }
    if (!cursor_.read(n_tensors_)) return truncated("the tensor count");
    if (!cursor_.read(n_kv_)) return truncated("the metadata count");
    // Each kv needs at least a key length, a 1-byte key and a type; each tensor info at least 8+1+4+8+4+8 bytes.
    if (n_kv_ > cursor_.left() / 13) {
      return error("metadata count {} is impossible: only {} bytes follow the header", n_kv_, cursor_.left());
    }
    if (n_tensors_ > cursor_.left() / 33) {
      return error("tensor count {} is impossible: only {} bytes follow the header", n_tensors_, cursor_.left());
    }
    return ok_status();
  }

  Status parse_metadata() {
    file_.kvs_.reserve(n_kv_);
    for (uint64_t k = 0; k < n_kv_; ++k) {
      GgufKv kv;
      uint64_t length = 0;
      if (!cursor_.read_string(kv.key, length)) return truncated(fmt::format("the key of metadata entry {}", k));
      POCKET_RETURN_IF_ERROR(check_key(kv.key, k));
      uint32_t raw_type = 0;
      if (!cursor_.read(raw_type)) return truncated(fmt::format("the type of key '{}'", kv.key));
      if (!is_known_type(raw_type)) return error("key '{}': unknown value type {}", kv.key, raw_type);
      kv.value.type = static_cast<GgufType>(raw_type);
      POCKET_RETURN_IF_ERROR(read_value(kv.key, kv.value));
      if (file_.kv_index_.count(kv.key) != 0) return error("duplicate key '{}'", kv.key);
      file_.kv_index_.emplace(kv.key, file_.kvs_.size());
      file_.kvs_.push_back(std::move(kv));
    }
    return ok_status();
  }

  Status check_key(const std::string& key, uint64_t index) {
    if (key.empty()) return error("metadata entry {} has an empty key", index);
    if (key.size() > kMaxKeyBytes) {
      return error("metadata entry {}: key is {} bytes long (at most {})", index, key.size(), kMaxKeyBytes);
    }
    if (key.find('\0') != std::string::npos) return error("metadata entry {}: key contains a NUL byte", index);
    if (!is_valid_utf8(key)) return error("metadata entry {}: key is not valid UTF-8", index);
    return ok_status();
  }

  Status read_value(const std::string& key, GgufValue& value) {
    if (value.type == GgufType::kArray) return read_array(key, value);
    return read_scalar(key, value.type, value);
  }

  // Reads one scalar of `type` into the matching field of `out`.
  Status read_scalar(const std::string& key, GgufType type, GgufValue& out) {
    auto need = [&](auto& v) { return cursor_.read(v); };
    bool ok = true;
    switch (type) {
      case GgufType::kUint8: { uint8_t v{}; ok = need(v); out.u = v; break; }
      case GgufType::kInt8: { int8_t v{}; ok = need(v); out.i = v; break; }
      case GgufType::kUint16: { uint16_t v{}; ok = need(v); out.u = v; break; }
      case GgufType::kInt16: { int16_t v{}; ok = need(v); out.i = v; break; }
      case GgufType::kUint32: { uint32_t v{}; ok = need(v); out.u = v; break; }
      case GgufType::kInt32: { int32_t v{}; ok = need(v); out.i = v; break; }
      case GgufType::kUint64: { uint64_t v{}; ok = need(v); out.u = v; break; }
      case GgufType::kInt64: { int64_t v{}; ok = need(v); out.i = v; break; }
      case GgufType::kFloat32: { float v{}; ok = need(v); out.f = v; break; }
      case GgufType::kFloat64: { double v{}; ok = need(v); out.f = v; break; }
      case GgufType::kBool: {
        uint8_t v = 0;
        ok = need(v);
        if (ok && v > 1) return error("key '{}': bool value is byte {} (expected 0 or 1)", key, v);
        out.b = v != 0;
        break;
      }
      case GgufType::kString: {
        uint64_t length = 0;
        ok = cursor_.read_string(out.s, length);
        if (ok && !is_valid_utf8(out.s)) return error("key '{}': string value is not valid UTF-8", key);
        break;
      }
      case GgufType::kArray:
        return error("key '{}': nested arrays are not supported", key);
    }
    if (!ok) return truncated(fmt::format("the value of key '{}'", key));
    return ok_status();
  }

  Status read_array(const std::string& key, GgufValue& value) {
    uint32_t raw_elem = 0;
    uint64_t count = 0;
    if (!cursor_.read(raw_elem)) return truncated(fmt::format("the element type of array '{}'", key));
    if (!is_known_type(raw_elem)) return error("key '{}': unknown array element type {}", key, raw_elem);
    value.elem_type = static_cast<GgufType>(raw_elem);
    if (value.elem_type == GgufType::kArray) return error("key '{}': nested arrays are not supported", key);
    if (!cursor_.read(count)) return truncated(fmt::format("the length of array '{}'", key));
    // Bound the count by the bytes left before reserving anything: a string element takes >= 8 bytes.
    uint64_t min_elem = value.elem_type == GgufType::kString ? 8 : fixed_type_size(value.elem_type);
    if (count > cursor_.left() / min_elem) {
      return error("key '{}': array of {} {} elements runs past the end of the file ({} bytes left)", key, count,
                   gguf_type_name(value.elem_type), cursor_.left());
    }
    if (count > kMaxArrayElements) {
      return error("key '{}': array of {} elements is longer than pocket accepts ({})", key, count,
                   kMaxArrayElements);
    }
    GgufValue elem;
    if (value.elem_type == GgufType::kString) {
      value.strs.reserve(count);
    } else if (value.elem_type == GgufType::kFloat32 || value.elem_type == GgufType::kFloat64) {
      value.floats.reserve(count);
    } else {
      value.ints.reserve(count);
    }
    for (uint64_t e = 0; e < count; ++e) {
      elem.type = value.elem_type;
      Status status = read_scalar(key, value.elem_type, elem);
      if (!status.ok()) {
        if (value.elem_type == GgufType::kString && status.message().find("UTF-8") != std::string::npos) {
          return error("key '{}': element {} is not valid UTF-8", key, e);
        }
        return status;
      }
      append_element(value, elem);
    }
    return ok_status();
  }

  static void append_element(GgufValue& array, GgufValue& elem) {
    switch (array.elem_type) {
      case GgufType::kString: array.strs.push_back(std::move(elem.s)); break;
      case GgufType::kFloat32: case GgufType::kFloat64: array.floats.push_back(elem.f); break;
      case GgufType::kBool: array.ints.push_back(elem.b ? 1 : 0); break;
      case GgufType::kUint8: case GgufType::kUint16: case GgufType::kUint32: case GgufType::kUint64:
        array.ints.push_back(static_cast<int64_t>(elem.u));
        break;
      default: array.ints.push_back(elem.i); break;
    }
  }

  Status expect_type(const std::string& key, GgufType type, const char* expected) {
    const GgufValue* v = file_.find(key);
    if (v == nullptr || v->type == type) return ok_status();
    return error("key '{}' has type {}, expected {}", key, gguf_type_name(v->type), expected);
  }

  Status expect_array(const std::string& key, std::initializer_list<GgufType> elems, const char* expected) {
    const GgufValue* v = file_.find(key);
    if (v == nullptr) return ok_status();
    bool ok = v->type == GgufType::kArray &&
              std::find(elems.begin(), elems.end(), v->elem_type) != elems.end();
    if (ok) return ok_status();
    std::string actual = v->type == GgufType::kArray
                             ? fmt::format("array of {}", gguf_type_name(v->elem_type))
                             : gguf_type_name(v->type);
    return error("key '{}' has type {}, expected {}", key, actual, expected);
  }

  // Known keys must have the types the rest of pocket (and llama.cpp) rely on.
  Status check_known_keys() {
    POCKET_RETURN_IF_ERROR(expect_type("general.alignment", GgufType::kUint32, "u32"));
    if (auto alignment = file_.get_int("general.alignment")) {
      if (*alignment == 0 || (*alignment & (*alignment - 1)) != 0) {
        return error("key 'general.alignment' is {}, expected a power of two", *alignment);
      }
      file_.alignment_ = static_cast<uint32_t>(*alignment);
    } else {
      file_.alignment_ = kDefaultAlignment;
    }
    POCKET_RETURN_IF_ERROR(expect_type("general.architecture", GgufType::kString, "string"));
    if (auto arch = file_.architecture()) {
      std::string key = *arch + ".context_length";
      const GgufValue* v = file_.find(key);
      if (v != nullptr && !v->is_integer()) {
        return error("key '{}' has type {}, expected an integer", key, gguf_type_name(v->type));
      }
    }
    POCKET_RETURN_IF_ERROR(expect_type("tokenizer.ggml.model", GgufType::kString, "string"));
    POCKET_RETURN_IF_ERROR(expect_type("tokenizer.ggml.pre", GgufType::kString, "string"));
    POCKET_RETURN_IF_ERROR(expect_type("tokenizer.chat_template", GgufType::kString, "string"));
    POCKET_RETURN_IF_ERROR(expect_array("tokenizer.ggml.tokens", {GgufType::kString}, "array of string"));
    POCKET_RETURN_IF_ERROR(expect_array("tokenizer.ggml.merges", {GgufType::kString}, "array of string"));
    POCKET_RETURN_IF_ERROR(expect_array("tokenizer.ggml.scores", {GgufType::kFloat32}, "array of f32"));
    POCKET_RETURN_IF_ERROR(expect_array("tokenizer.ggml.token_type", {GgufType::kInt32}, "array of i32"));
    return ok_status();
  }

  Status parse_tensor_infos() {
    file_.tensors_.reserve(n_tensors_);
    for (uint64_t t = 0; t < n_tensors_; ++t) {
      GgufTensorInfo info;
      POCKET_RETURN_IF_ERROR(read_tensor_info(t, info));
      if (file_.tensor_index_.count(info.name) != 0) return error("duplicate tensor name '{}'", info.name);
      file_.tensor_index_.emplace(info.name, file_.tensors_.size());
      file_.tensors_.push_back(std::move(info));
    }
    return ok_status();
  }

  Status read_tensor_info(uint64_t index, GgufTensorInfo& info) {
    uint64_t length = 0;
    if (!cursor_.read_string(info.name, length)) return truncated(fmt::format("the name of tensor {}", index));
    if (info.name.empty()) return error("tensor {} has an empty name", index);
    if (info.name.size() > kMaxTensorNameBytes) {
      return error("tensor {}: name is {} bytes long (at most {})", index, info.name.size(), kMaxTensorNameBytes);
    }
    if (info.name.find('\0') != std::string::npos) return error("tensor {}: name contains a NUL byte", index);
    if (!is_valid_utf8(info.name)) return error("tensor {}: name is not valid UTF-8", index);
    uint32_t n_dims = 0;
    if (!cursor_.read(n_dims)) return truncated(fmt::format("the dimension count of tensor '{}'", info.name));
    if (n_dims < 1 || n_dims > 4) {
      return error("tensor '{}': {} dimensions (expected 1 to 4)", info.name, n_dims);
    }
    for (uint32_t d = 0; d < n_dims; ++d) {
      uint64_t ne = 0;
      if (!cursor_.read(ne)) return truncated(fmt::format("the shape of tensor '{}'", info.name));
      if (ne < 1 || ne > static_cast<uint64_t>(INT64_MAX)) {
        return error("tensor '{}': dimension {} is {} (expected 1 to 2^63-1)", info.name, d, ne);
      }
      info.shape.push_back(static_cast<int64_t>(ne));
    }
    uint32_t type_id = 0;
    if (!cursor_.read(type_id)) return truncated(fmt::format("the type of tensor '{}'", info.name));
    info.dtype = dtype_info(type_id);
    if (info.dtype == nullptr) return error("tensor '{}': unknown tensor type id {}", info.name, type_id);
    if (!cursor_.read(info.offset)) return truncated(fmt::format("the offset of tensor '{}'", info.name));
    return compute_tensor_size(info);
  }

  Status compute_tensor_size(GgufTensorInfo& info) {
    uint64_t elements = 1;
    for (int64_t ne : info.shape) {
      auto product = checked_mul(elements, static_cast<uint64_t>(ne));
      if (!product || *product > static_cast<uint64_t>(INT64_MAX)) {
        return error("tensor '{}': element count overflows (shape {})", info.name, fmt::join(info.shape, "x"));
      }
      elements = *product;
    }
    info.n_elements = elements;
    const DTypeInfo& t = *info.dtype;
    if (info.shape[0] % t.block_elems != 0) {
      return error("tensor '{}': row length {} is not a multiple of the {} block size {}", info.name,
                   info.shape[0], t.name, t.block_elems);
    }
    auto bytes = checked_mul(elements / static_cast<uint64_t>(t.block_elems), static_cast<uint64_t>(t.block_bytes));
    if (!bytes) return error("tensor '{}': byte size overflows", info.name);
    info.n_bytes = *bytes;
    if (info.offset % file_.alignment_ != 0) {
      return error("tensor '{}': offset {} is not a multiple of the alignment {}", info.name, info.offset,
                   file_.alignment_);
    }
    return ok_status();
  }

  // The data section starts at the next alignment boundary; every tensor must lie inside the file, and no two
  // tensors may overlap.
  Status place_data_section() {
    auto data_offset = checked_align_up(cursor_.pos(), file_.alignment_);
    if (!data_offset) return error("data section offset overflows");
    uint64_t file_size = file_.bytes_.size();
    // A file without tensors needs no data section (vocab-only files end right after the metadata).
    file_.data_offset_ = file_.tensors_.empty() ? std::min(*data_offset, file_size) : *data_offset;
    if (file_.tensors_.empty()) return ok_status();
    if (file_.data_offset_ > file_size) {
      return error("data section starts at byte {}, past the end of the file ({} bytes)", file_.data_offset_,
                   file_size);
    }
    uint64_t data_size = file_size - file_.data_offset_;
    std::vector<const GgufTensorInfo*> by_offset;
    for (const auto& info : file_.tensors_) {
      auto end = checked_add(info.offset, info.n_bytes);
      if (!end || *end > data_size) {
        return error("tensor '{}': data offset {} + {} bytes is past the end of the data section ({} bytes, "
                     "file {} bytes)", info.name, info.offset, info.n_bytes, data_size, file_size);
      }
      by_offset.push_back(&info);
    }
    std::sort(by_offset.begin(), by_offset.end(), [](auto* a, auto* b) { return a->offset < b->offset; });
    for (size_t k = 1; k < by_offset.size(); ++k) {
      const auto* prev = by_offset[k - 1];
      if (prev->offset + prev->n_bytes > by_offset[k]->offset) {
        return error("tensors '{}' and '{}' overlap (offsets {} + {} bytes and {})", prev->name,
                     by_offset[k]->name, prev->offset, prev->n_bytes, by_offset[k]->offset);
      }
    }
    return ok_status();
  }

  Cursor cursor_;
  std::string name_;
  GgufFile file_;
  uint64_t n_tensors_ = 0;
  uint64_t n_kv_ = 0;
};

Result<GgufFile> GgufFile::from_bytes(std::span<const uint8_t> bytes, std::string name) {
  return GgufParser(bytes, std::move(name)).parse();
}

Result<GgufFile> GgufFile::open(const std::string& path) {
  POCKET_ASSIGN_OR_RETURN(MappedFile mapped, MappedFile::open(path));
  auto mapping = std::make_shared<MappedFile>(std::move(mapped));
  POCKET_ASSIGN_OR_RETURN(GgufFile file, from_bytes(mapping->bytes(), path));
  file.mapping_ = std::move(mapping);
  return file;
}

const GgufValue* GgufFile::find(std::string_view key) const {
  auto it = kv_index_.find(std::string(key));
  return it == kv_index_.end() ? nullptr : &kvs_[it->second].value;
}

std::optional<std::string> GgufFile::get_string(std::string_view key) const {
  const GgufValue* v = find(key);
  if (v == nullptr || v->type != GgufType::kString) return std::nullopt;
  return v->s;
}

std::optional<int64_t> GgufFile::get_int(std::string_view key) const {
  const GgufValue* v = find(key);
  return v == nullptr ? std::nullopt : v->as_int();
}

std::optional<double> GgufFile::get_float(std::string_view key) const {
  const GgufValue* v = find(key);
  return v == nullptr ? std::nullopt : v->as_float();
}

std::optional<bool> GgufFile::get_bool(std::string_view key) const {
  const GgufValue* v = find(key);
  if (v == nullptr || v->type != GgufType::kBool) return std::nullopt;
  return v->b;
}

const GgufTensorInfo* GgufFile::find_tensor(std::string_view name) const {
  auto it = tensor_index_.find(std::string(name));
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

std::span<const uint8_t> GgufFile::tensor_bytes(const GgufTensorInfo& info) const {
  return bytes_.subspan(data_offset_ + info.offset, info.n_bytes);
}

}  // namespace pocket
