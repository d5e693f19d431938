#include "base/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
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
        EXPECT_LE(calls.load(), 4 * threads);  // a few chunks per thread
        if (threads == 1) EXPECT_LE(calls.load(), 1);
      }
    }
  }
}

// Chunks are taken from a shared counter: while one thread is stuck in a chunk (as a worker the OS has
// descheduled would be), the other thread runs all the remaining ones. The stuck chunk waits until the other
// seven are done (up to 20 s, so a loaded or emulated machine that is slow to wake the worker still passes); with a
// static split the other thread would stop after its own half and the wait would time out.
TEST(ThreadPool, OthersTakeTheChunksOfAStalledThread) {
  ThreadPool pool(2);
  for (int rep = 0; rep < 3; ++rep) {
    std::mutex mu;
    std::vector<std::thread::id> runner(8);
    std::atomic<bool> first{true};
    std::atomic<int> others_done{0};
    std::atomic<int64_t> stuck_begin{-1};
    pool.parallel_for(8, [&](int64_t b, int64_t e) {
      if (first.exchange(false)) {
        stuck_begin = b;
        const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
        while (others_done.load() < 7 && std::chrono::steady_clock::now() < deadline) {
          std::this_thread::sleep_for(std::chrono::milliseconds(1));
        }
      } else {
        others_done += static_cast<int>(e - b);
      }
      std::lock_guard lock(mu);
      for (int64_t i = b; i < e; ++i) runner[static_cast<size_t>(i)] = std::this_thread::get_id();
    });
    // The chunk whose callback started first is the stuck one (not necessarily chunk 0: the other thread may
    // take chunk 0 and be scheduled later); its thread ran nothing else.
    ASSERT_GE(stuck_begin.load(), 0);
    const std::thread::id stuck = runner[static_cast<size_t>(stuck_begin.load())];
    int64_t by_stuck = 0;
    for (const auto& id : runner) by_stuck += id == stuck ? 1 : 0;
    EXPECT_EQ(by_stuck, 1) << "rep " << rep;
    EXPECT_EQ(others_done.load(), 7) << "rep " << rep;
  }
}

TEST(ThreadPool, NestedCallsRunInline) {
  ThreadPool pool(2);
  std::atomic<int64_t> sum{0};
  pool.parallel_for(4, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      pool.parallel_for(10, [&](int64_t b2, int64_t e2) { sum += (e2 - b2) * (i + 1); });
    }
  });
  EXPECT_EQ(sum.load(), 10 * (1 + 2 + 3 + 4));
}

TEST(ThreadPool, CallsFromSeveralThreadsAreSerialized) {
  ThreadPool pool(2);
  std::atomic<int64_t> total{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 3; ++c) {
    callers.emplace_back([&] {
      for (int rep = 0; rep < 200; ++rep) {
        pool.parallel_for(37, [&](int64_t b, int64_t e) { total += e - b; });
      }
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(total.load(), 3 * 200 * 37);
}

TEST(ThreadPool, SharedPoolResizes) {
  EXPECT_EQ(ThreadPool::shared(2).size(), 2);
  EXPECT_EQ(ThreadPool::shared(3).size(), 3);
  EXPECT_EQ(ThreadPool::shared(0).size(), 1);
}

TEST(ThreadPool, PhysicalCores) { EXPECT_GE(physical_core_count(), 1); }

}  // namespace
}  // namespace pocket
