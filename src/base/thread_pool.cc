#include "base/thread_pool.h"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <set>
#include <string>
#include <utility>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define POCKET_CPU_RELAX() _mm_pause()
#else
#define POCKET_CPU_RELAX() ((void)0)
#endif

namespace pocket {
namespace {

constexpr int kSpinIterations = 4000;  // ~50-100 us of pause: covers back-to-back kernel calls in a forward
// without starving a descheduled peer for long on an oversubscribed machine

void chunk_bounds(int64_t n, int n_chunks, int i, int64_t* begin, int64_t* end) {
  const int64_t base = n / n_chunks, extra = n % n_chunks;
  *begin = i * base + (i < extra ? i : extra);
  *end = *begin + base + (i < extra ? 1 : 0);
}

}  // namespace

ThreadPool::ThreadPool(int n_threads) : n_threads_(n_threads < 1 ? 1 : n_threads) {
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this, i] { worker_loop(i); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(wake_mutex_);
    stop_.store(true);
    generation_.fetch_add(1);
  }
  wake_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

thread_local bool t_in_pool_chunk = false;  // set while this thread runs a chunk: nested calls run inline

void ThreadPool::worker_loop(int index) {
  uint64_t seen = 0;
  while (true) {
    uint64_t gen = generation_.load(std::memory_order_acquire);
    for (int spin = 0; gen == seen && spin < kSpinIterations; ++spin) {
      POCKET_CPU_RELAX();
      gen = generation_.load(std::memory_order_acquire);
    }
    if (gen == seen) {
      std::unique_lock<std::mutex> lock(wake_mutex_);
      sleepers_.fetch_add(1, std::memory_order_seq_cst);
      wake_cv_.wait(lock, [&] { return generation_.load(std::memory_order_seq_cst) != seen; });
      sleepers_.fetch_sub(1, std::memory_order_relaxed);
      gen = generation_.load(std::memory_order_acquire);
    }
    seen = gen;
    if (stop_.load()) return;
    if (index < n_chunks_) {
      int64_t begin, end;
      chunk_bounds(n_, n_chunks_, index, &begin, &end);
      t_in_pool_chunk = true;
      call_(ctx_, begin, end);
      t_in_pool_chunk = false;
    }
    pending_.fetch_sub(1, std::memory_order_acq_rel);
  }
}

void ThreadPool::run(int64_t n, int max_chunks, Call call, void* ctx) {
  if (n <= 0) return;
  const int chunks = static_cast<int>(std::min<int64_t>({n, n_threads_, std::max(max_chunks, 1)}));
  if (chunks <= 1 || t_in_pool_chunk) {
    call(ctx, 0, n);
    return;
  }
  std::lock_guard<std::mutex> call_lock(call_mutex_);
  call_ = call;
  ctx_ = ctx;
  n_ = n;
  n_chunks_ = chunks;
  pending_.store(n_threads_ - 1, std::memory_order_release);
  generation_.fetch_add(1, std::memory_order_seq_cst);
  if (sleepers_.load(std::memory_order_seq_cst) > 0) {
    std::lock_guard<std::mutex> lock(wake_mutex_);  // a worker between its check and its wait sees the new value
    wake_cv_.notify_all();
  }
  int64_t begin, end;
  chunk_bounds(n_, n_chunks_, 0, &begin, &end);
  t_in_pool_chunk = true;
  call(ctx, begin, end);
  t_in_pool_chunk = false;
  // Spin briefly (workers usually finish together), then yield: on an oversubscribed machine a pure spin would
  // steal the time slice of the worker being waited for.
  for (int spin = 0; pending_.load(std::memory_order_acquire) != 0; ++spin) {
    if (spin < kSpinIterations) {
      POCKET_CPU_RELAX();
    } else {
      std::this_thread::yield();
    }
  }
}

ThreadPool& ThreadPool::shared(int n_threads) {
  static std::mutex mutex;
  static std::unique_ptr<ThreadPool> pool;
  std::lock_guard<std::mutex> lock(mutex);
  if (n_threads < 1) n_threads = 1;
  if (!pool || pool->size() != n_threads) pool = std::make_unique<ThreadPool>(n_threads);
  return *pool;
}

int physical_core_count() {
  std::ifstream in("/proc/cpuinfo");
  std::set<std::pair<int, int>> cores;
  int physical = 0;
  std::string line;
  while (std::getline(in, line)) {
    const auto colon = line.find(':');
    if (colon == std::string::npos) continue;
    const std::string key = line.substr(0, line.find_last_not_of(" \t", colon - 1) + 1);
    const std::string value = line.substr(colon + 1);
    if (key == "physical id") physical = std::atoi(value.c_str());
    if (key == "core id") cores.emplace(physical, std::atoi(value.c_str()));
  }
  int n = static_cast<int>(cores.size());
  const int logical = static_cast<int>(std::thread::hardware_concurrency());
  if (n <= 0 || (logical > 0 && n > logical)) n = logical;
  return n < 1 ? 1 : n;
}

}  // namespace pocket
