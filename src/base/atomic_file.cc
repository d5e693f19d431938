#include "base/atomic_file.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace pocket {

Result<AtomicFile> AtomicFile::create(const std::string& path) {
  std::string tmp = path + ".tmp-XXXXXX";
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) return failure("cannot create a temporary file for {}: {}", path, std::strerror(errno));
  return AtomicFile(path, std::move(tmp), fd);
}

AtomicFile::AtomicFile(AtomicFile&& other) noexcept
    : path_(std::move(other.path_)), tmp_(std::move(other.tmp_)), fd_(other.fd_) {
  other.fd_ = -1;
}

AtomicFile::~AtomicFile() { discard(); }

void AtomicFile::discard() {
  if (fd_ < 0) return;
  ::close(fd_);
  ::unlink(tmp_.c_str());
  fd_ = -1;
}

Status AtomicFile::write(const void* data, size_t n) {
  if (fd_ < 0) return failure("cannot write {}: the file is already closed", path_);
  const auto* p = static_cast<const uint8_t*>(data);
  size_t done = 0;
  while (done < n) {
    const ssize_t w = ::write(fd_, p + done, n - done);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) {
      const int err = errno;
      discard();
      return failure("cannot write {}: {}", path_, std::strerror(err));
    }
    done += static_cast<size_t>(w);
  }
  return ok_status();
}

Status AtomicFile::write_zeros(size_t n) {
  static const uint8_t kZeros[256] = {};
  while (n > 0) {
    const size_t k = n < sizeof kZeros ? n : sizeof kZeros;
    POCKET_RETURN_IF_ERROR(write(kZeros, k));
    n -= k;
  }
  return ok_status();
}

Status AtomicFile::commit() {
  if (fd_ < 0) return failure("cannot write {}: the file is already closed", path_);
  // mkstemp creates the file 0600; a model file is readable like any other (rw-r--r--).
  bool synced = ::fchmod(fd_, 0644) == 0 && ::fsync(fd_) == 0;
  int err = errno;
  if (::close(fd_) != 0 && synced) {
    synced = false;
    err = errno;
  }
  fd_ = -1;
  if (!synced) {
    ::unlink(tmp_.c_str());
    return failure("cannot write {}: {}", path_, std::strerror(err));
  }
  if (std::rename(tmp_.c_str(), path_.c_str()) != 0) {
    err = errno;
    ::unlink(tmp_.c_str());
    return failure("cannot rename {} to {}: {}", tmp_, path_, std::strerror(err));
  }
  return ok_status();
}

}  // namespace pocket
