// LargeBuffer: zero-filled anonymous memory for big, long-lived arrays (repacked weights, KV caches), mapped on
// its own, 2 MiB aligned and marked for transparent huge pages (MADV_HUGEPAGE; Linux's default THP mode is
// "madvise", so without the mark every such array is 4 KiB pages). A decode step streams ~10^4-10^5 pages of
// weights and KV rows; with 4 KiB pages most of those reads also pay a TLB miss and a page walk.
#pragma once

#include <cstddef>
#include <cstdint>

namespace pocket {

class LargeBuffer {
 public:
  LargeBuffer() = default;
  // bytes == 0 gives an empty buffer; data() is nullptr when the memory could not be mapped.
  explicit LargeBuffer(size_t bytes);
  LargeBuffer(const LargeBuffer&) = delete;
  LargeBuffer& operator=(const LargeBuffer&) = delete;
  LargeBuffer(LargeBuffer&& other) noexcept;
  LargeBuffer& operator=(LargeBuffer&& other) noexcept;
  ~LargeBuffer();

  uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  template <class T>
  T* as() const { return reinterpret_cast<T*>(data_); }

 private:
  void release();
  uint8_t* data_ = nullptr;  // 2 MiB aligned
  size_t size_ = 0;
  void* map_ = nullptr;      // the whole mapping (data_ lies inside it)
  size_t map_bytes_ = 0;
};

}  // namespace pocket
