// A file written as a whole or not at all: bytes go to a temporary file in the target's directory, which commit()
// flushes to disk and renames over the target. Dropping an uncommitted AtomicFile deletes the temporary file, so
// a failed or interrupted write never leaves a half-written file under the target's name.
#pragma once

#include <cstddef>
#include <string>

#include "base/status.h"

namespace pocket {

class AtomicFile {
 public:
  // Creates the temporary file beside `path`. Errors name the path and the system's reason.
  static Result<AtomicFile> create(const std::string& path);

  AtomicFile(AtomicFile&& other) noexcept;
  AtomicFile& operator=(AtomicFile&&) = delete;
  AtomicFile(const AtomicFile&) = delete;
  ~AtomicFile();

  const std::string& path() const { return path_; }
  // Appends n bytes (retrying short writes).
  Status write(const void* data, size_t n);
  // Appends n zero bytes.
  Status write_zeros(size_t n);
  // Makes the file rw-r--r--, fsyncs it and renames it to path(). After an error nothing is left behind.
  Status commit();

 private:
  AtomicFile(std::string path, std::string tmp, int fd) : path_(std::move(path)), tmp_(std::move(tmp)), fd_(fd) {}
  void discard();

  std::string path_, tmp_;
  int fd_ = -1;
};

}  // namespace pocket
