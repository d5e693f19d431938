// GGUF writer (version 3): any metadata and tensors, written so that GgufFile reads back the same values.
// Used by quantize, synth and the tests (including the hostile-file corpus, which post-edits the bytes).
#pragma once

#include <cstdint>
#include <functional>
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
  // A tensor whose bytes are produced only while writing (by write()'s `fill`), so a large file never sits in
  // memory. Same checks as add_tensor.
  Status declare_tensor(std::string name, DType type, std::vector<int64_t> shape);

  // The whole file as bytes (every tensor must have been added with its data).
  std::vector<uint8_t> to_bytes() const;

  // Fills `out` (exactly the tensor's size) with the bytes of declared tensor `index` (the index among all
  // tensors, in the order added).
  using TensorFill = std::function<Status(size_t index, std::span<uint8_t> out)>;
  // Writes to `path` through an AtomicFile, so a failed write leaves nothing behind. Declared tensors are filled
  // one at a time by `fill` (needed when any tensor was declared without data).
  Status write(const std::string& path, const TensorFill& fill = {}) const;

 private:
  struct Tensor {
    std::string name;
    DType type;
    std::vector<int64_t> shape;
    std::vector<uint8_t> data;  // empty for a declared tensor
    uint64_t n_bytes = 0;
  };
  Result<uint64_t> check_tensor(const std::string& name, DType type, const std::vector<int64_t>& shape) const;
  // Everything before the data section: header, metadata, tensor infos, padding.
  std::vector<uint8_t> header_bytes() const;
  uint32_t alignment_;
  std::vector<GgufKv> kvs_;
  std::vector<Tensor> tensors_;
};

}  // namespace pocket
