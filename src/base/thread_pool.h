// A persistent pool of worker threads for data-parallel kernels: threads are created once and reused, so a
// parallel_for costs a wake-up (a short spin, then a condition variable), not a thread start.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

namespace pocket {

class ThreadPool {
 public:
  // n_threads counts the calling thread: a pool of 1 runs everything inline and starts no thread.
  explicit ThreadPool(int n_threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Splits [0, n) into contiguous chunks of near-equal length (a few per thread) and calls fn(begin, end) once per
  // chunk; the calling thread and the workers take chunks from a shared counter until none is left, and the call
  // returns when all are done. So a worker that the OS has descheduled (an oversubscribed machine: a server's HTTP
  // threads, a client on the same cores) delays the call by at most the one chunk it holds, not by its whole
  // share. Calls from several threads are serialized; a call from inside a chunk (nested) runs inline. fn is
  // called through a plain pointer: no allocation. Each chunk writes its own outputs, so the result does not
  // depend on which thread ran which chunk.
  template <class F>
  void parallel_for(int64_t n, F&& fn) {
    parallel_for(n, n_threads_, std::forward<F>(fn));
  }
  // The same with at most max_chunks chunks (>= 1): small jobs use fewer threads without resizing the pool.
  template <class F>
  void parallel_for(int64_t n, int max_chunks, F&& fn) {
    using Fn = std::remove_reference_t<F>;
    run(n, max_chunks, [](void* ctx, int64_t b, int64_t e) { (*static_cast<Fn*>(ctx))(b, e); },
        const_cast<void*>(static_cast<const void*>(&fn)));
  }

  // A process-wide pool with n_threads threads (re-created when a different count is asked for).
  static ThreadPool& shared(int n_threads);

 private:
  using Call = void (*)(void*, int64_t, int64_t);
  void run(int64_t n, int max_chunks, Call call, void* ctx);
  void worker_loop();
  void take_chunks(uint32_t generation);  // runs chunks of that call until none is left

  int n_threads_;
  std::vector<std::thread> workers_;
  std::mutex call_mutex_;                 // one parallel_for at a time
  std::mutex wake_mutex_;
  std::condition_variable wake_cv_;
  // The current call: generation (bits 32-63, bumped per call) | next chunk to take (16-31) | chunk count (0-15).
  // One word, so taking a chunk (a compare-exchange) also checks that the call is still the same one.
  std::atomic<uint64_t> state_{0};
  std::atomic<int> done_{0};              // chunks of the current call finished
  std::atomic<int> sleepers_{0};          // workers blocked on wake_cv_
  std::atomic<bool> stop_{false};
  uint32_t generation_ = 0;               // written under call_mutex_ only
  Call call_ = nullptr;                   // call_, ctx_, n_: published by the release store of state_
  void* ctx_ = nullptr;
  int64_t n_ = 0;
};

// Physical cores available to this process (distinct (package, core) pairs of /proc/cpuinfo restricted to the
// affinity mask count), at least 1; falls back to std::thread::hardware_concurrency().
int physical_core_count();

}  // namespace pocket
