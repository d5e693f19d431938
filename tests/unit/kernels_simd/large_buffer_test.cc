// base/large_buffer.h: zero-filled, 2 MiB-aligned anonymous memory that moves without copying.
#include "base/large_buffer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <utility>

namespace pocket {
namespace {

constexpr uintptr_t kHugePage = uintptr_t{2} << 20;

TEST(LargeBuffer, EmptyWhenZeroBytes) {
  LargeBuffer b(0);
  EXPECT_EQ(b.data(), nullptr);
  EXPECT_EQ(b.size(), 0u);
}

TEST(LargeBuffer, ZeroFilledAlignedAndWritable) {
  for (size_t bytes : {size_t{1}, size_t{4096}, (size_t{2} << 20) + 3, size_t{5} << 20}) {
    LargeBuffer b(bytes);
    ASSERT_NE(b.data(), nullptr) << bytes;
    EXPECT_EQ(b.size(), bytes);
    EXPECT_EQ(reinterpret_cast<uintptr_t>(b.data()) % kHugePage, 0u) << bytes;
    size_t nonzero = 0;
    for (size_t i = 0; i < bytes; ++i) nonzero += b.data()[i] != 0;
    EXPECT_EQ(nonzero, 0u) << bytes;
    b.data()[0] = 1;
    b.data()[bytes - 1] = 2;  // the last byte asked for is inside the mapping
    EXPECT_EQ(b.data()[bytes - 1], 2);
  }
}

TEST(LargeBuffer, MovesOwnership) {
  LargeBuffer a(1 << 20);
  a.as<float>()[7] = 3.5f;
  uint8_t* data = a.data();
  LargeBuffer b(std::move(a));
  EXPECT_EQ(a.data(), nullptr);
  EXPECT_EQ(a.size(), 0u);
  EXPECT_EQ(b.data(), data);
  EXPECT_EQ(b.as<float>()[7], 3.5f);
  LargeBuffer c(4096);
  c = std::move(b);  // c's own mapping is released, b's is taken over
  EXPECT_EQ(c.data(), data);
  EXPECT_EQ(c.size(), size_t{1} << 20);
  EXPECT_EQ(b.data(), nullptr);
}

}  // namespace
}  // namespace pocket
