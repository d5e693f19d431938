#include "base/large_buffer.h"

#include <sys/mman.h>

#include <utility>

namespace pocket {
namespace {
constexpr size_t kHugePage = size_t{2} << 20;
}

LargeBuffer::LargeBuffer(size_t bytes) {
  if (bytes == 0) return;
  // Map one huge page more than asked, so that a 2 MiB-aligned start lies inside; the mark goes on before any
  // page is touched, so the first faults already take huge pages.
  const size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
  const size_t map_bytes = rounded + kHugePage;
  void* map = mmap(nullptr, map_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (map == MAP_FAILED) return;
  const uintptr_t start = (reinterpret_cast<uintptr_t>(map) + kHugePage - 1) / kHugePage * kHugePage;
#if defined(MADV_HUGEPAGE)
  (void)madvise(reinterpret_cast<void*>(start), rounded, MADV_HUGEPAGE);  // advice only: 4 KiB pages still work
#endif
  map_ = map;
  map_bytes_ = map_bytes;
  data_ = reinterpret_cast<uint8_t*>(start);
  size_ = bytes;
}

LargeBuffer::LargeBuffer(LargeBuffer&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)),
      size_(std::exchange(other.size_, 0)),
      map_(std::exchange(other.map_, nullptr)),
      map_bytes_(std::exchange(other.map_bytes_, 0)) {}

LargeBuffer& LargeBuffer::operator=(LargeBuffer&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
    map_ = std::exchange(other.map_, nullptr);
    map_bytes_ = std::exchange(other.map_bytes_, 0);
  }
  return *this;
}

LargeBuffer::~LargeBuffer() { release(); }

void LargeBuffer::release() {
  if (map_ != nullptr) munmap(map_, map_bytes_);
  map_ = nullptr;
  data_ = nullptr;
  size_ = 0;
  map_bytes_ = 0;
}

}  // namespace pocket
