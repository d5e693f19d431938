#include "base/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <vector>

namespace pocket {
namespace {

TEST(ThreadPool, CoversEveryIndexOnce) {
  for (int threads : {1, 2, 3, 4}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.size(), threads);
    for (int64_t n : {0, 1, 2, 3, 5, 100, 1001}) {
      for (int rep = 0; rep < 20; ++rep) {
        std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
        std::atomic<int> calls{0};
        pool.parallel_for(n, [&](int64_t b, int64_t e) {
          ++calls;
          EXPECT_LT(b, e);
          for (int64_t i = b; i < e; ++i) ++hits[static_cast<size_t>(i)];
        });
        for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[static_cast<size_t>(i)].load(), 1) << n << " " << i;
        EXPECT_LE(calls.load(), threads);
      }
    }
  }
}

TEST(ThreadPool, SharedPoolResizes) {
  EXPECT_EQ(ThreadPool::shared(2).size(), 2);
  EXPECT_EQ(ThreadPool::shared(3).size(), 3);
  EXPECT_EQ(ThreadPool::shared(0).size(), 1);
}

TEST(ThreadPool, PhysicalCores) { EXPECT_GE(physical_core_count(), 1); }

}  // namespace
}  // namespace pocket
