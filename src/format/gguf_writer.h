// GGUF writer (version 3): any metadata and tensors, written so that GgufFile reads back the same values.
// Used by quantize, synth and the tests (including the hostile-file corpus, which post-edits the bytes).
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "format/gguf.h"

namespace pocket {

class GgufWriter {
 public:
  explicit GgufWriter(uint32_t alignment = 32) : alignment_(alignment) {}

  // Metadata, written in insertion order.
  void set(std::string key, GgufValue value);
  void set_string(std::string key, std::string value);
  void set_u32(std::string key, uint32_t value);
  void set_i32(std::string key, int32_t value);
  void set_u64(std::string key, uint64_t value);
  void set_f32(std::string key, float value);
  void set_bool(std::string key, bool value);
  void set_string_array(std::string key, std::vector<std::string> values);
  void set_f32_array(std::string key, std::vector<float> values);
  void set_i32_array(std::string key, std::vector<int32_t> values);
  // Copies every key of `source` (e.g. to keep tokenizer and template when quantizing).
  void copy_metadata(const GgufFile& source);

  // A tensor: shape ne0 first; `data` must be exactly row_bytes(dtype, ne0) * rows bytes. The bytes are copied.
  Status add_tensor(std::string name, DType type, std::vector<int64_t> shape, std::span<const uint8_t> data);

  // The whole file as bytes.
  std::vector<uint8_t> to_bytes() const;
  // Writes to `path` (through a temporary file renamed into place, so a failed write leaves nothing behind).
  Status write(const std::string& path) const;

 private:
  struct Tensor {
    std::string name;
    DType type;
    std::vector<int64_t> shape;
    std::vector<uint8_t> data;
  };
  uint32_t alignment_;
  std::vector<GgufKv> kvs_;
  std::vector<Tensor> tensors_;
};

}  // namespace pocket
