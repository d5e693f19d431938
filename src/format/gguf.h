// GGUF reader (versions 2 and 3): metadata, tensor infos and the data section, from a read-only memory mapping
// or from bytes embedded in the executable. Model files are hostile input: every count, length, offset and size is
// checked against the bytes that are actually there, with overflow-checked arithmetic, before it is used.
// Errors are values naming the file, key or tensor and expected vs actual.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/mapped_file.h"
#include "base/status.h"
#include "tensor/dtype.h"

namespace pocket {

// GGUF metadata value types (gguf.h `enum gguf_type`).
enum class GgufType : uint32_t {
  kUint8 = 0, kInt8 = 1, kUint16 = 2, kInt16 = 3, kUint32 = 4, kInt32 = 5, kFloat32 = 6, kBool = 7,
  kString = 8, kArray = 9, kUint64 = 10, kInt64 = 11, kFloat64 = 12,
};
const char* gguf_type_name(GgufType type);  // "u32", "string", "array", ...

// One metadata value. Scalars use one of u/i/f/b/s by type; arrays use one of the typed vectors by elem_type.
// Arrays of arrays are rejected by the reader (no model uses them; ggml refuses them too).
struct GgufValue {
  GgufType type = GgufType::kUint8;
  GgufType elem_type = GgufType::kUint8;  // when type == kArray
  uint64_t u = 0;        // kUint8/16/32/64
  int64_t i = 0;         // kInt8/16/32/64
  double f = 0;          // kFloat32/64
  bool b = false;        // kBool
  std::string s;         // kString
  std::vector<std::string> strs;  // array of kString
  std::vector<int64_t> ints;      // array of any integer type or bool (u64 stored bit-cast)
  std::vector<double> floats;     // array of kFloat32/64

  bool is_integer() const;                  // any integer scalar type
  std::optional<int64_t> as_int() const;    // integer scalar (u64 > INT64_MAX: nullopt)
  std::optional<double> as_float() const;   // float or integer scalar
  uint64_t array_length() const;            // 0 unless kArray
};

struct GgufKv {
  std::string key;
  GgufValue value;
};

// A tensor as declared in the file. shape lists ne0 (the contiguous dimension) first.
struct GgufTensorInfo {
  std::string name;
  const DTypeInfo* dtype = nullptr;  // never null once read: unknown type ids are an error
  std::vector<int64_t> shape;        // 1..4 dims, each >= 1
  uint64_t offset = 0;               // from the start of the data section
  uint64_t n_elements = 0;
  uint64_t n_bytes = 0;
  int64_t rows() const;              // product of dims after ne0
};

class GgufFile {
 public:
  // Maps and parses `path`. The name used in errors is the path.
  static Result<GgufFile> open(const std::string& path);
  // Parses bytes that outlive the returned object (e.g. embedded in the executable); `name` is used in errors.
  static Result<GgufFile> from_bytes(std::span<const uint8_t> bytes, std::string name);

  const std::string& name() const { return name_; }
  uint32_t version() const { return version_; }
  uint64_t file_size() const { return bytes_.size(); }
  uint32_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }  // absolute offset of the data section

  const std::vector<GgufKv>& metadata() const { return kvs_; }
  const GgufValue* find(std::string_view key) const;
  // Typed lookups: nullopt if absent or of another type (the reader has already checked known keys' types).
  std::optional<std::string> get_string(std::string_view key) const;
  std::optional<int64_t> get_int(std::string_view key) const;     // any integer type
  std::optional<double> get_float(std::string_view key) const;    // float or integer type
  std::optional<bool> get_bool(std::string_view key) const;
  // "general.architecture", or nullopt.
  std::optional<std::string> architecture() const { return get_string("general.architecture"); }

  const std::vector<GgufTensorInfo>& tensors() const { return tensors_; }
  const GgufTensorInfo* find_tensor(std::string_view name) const;
  // The tensor's bytes inside the mapping (already bounds-checked by the reader).
  std::span<const uint8_t> tensor_bytes(const GgufTensorInfo& info) const;

 private:
  friend class GgufParser;
  std::string name_;
  std::shared_ptr<MappedFile> mapping_;  // null for embedded bytes
  std::span<const uint8_t> bytes_;
  uint32_t version_ = 0;
  uint32_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::vector<GgufKv> kvs_;
  std::unordered_map<std::string, size_t> kv_index_;
  std::vector<GgufTensorInfo> tensors_;
  std::unordered_map<std::string, size_t> tensor_index_;
};

}  // namespace pocket
