// MappedFile: a whole file memory-mapped read-only. Model weights are used in place from the mapping.
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "base/status.h"

namespace pocket {

class MappedFile {
 public:
  MappedFile() = default;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  ~MappedFile();

  // Maps `path`; errors name the file ("cannot open model.gguf: No such file or directory").
  static Result<MappedFile> open(const std::string& path);

  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  uint64_t size() const { return size_; }

 private:
  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
};

// Reads a whole file into a string (for text inputs: prompts, templates, JSON).
Result<std::string> read_text_file(const std::string& path);

}  // namespace pocket
