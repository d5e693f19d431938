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
constexpr int kChunksPerThread = 4;    // small enough that a descheduled worker holds up little work, large enough
                                       // that taking a chunk (one compare-exchange) costs nothing
constexpr int kMaxChunks = 0xFFFF;     // the chunk fields of ThreadPool::state_ are 16 bits

void chunk_bounds(int64_t n, int n_chunks, int i, int64_t* begin, int64_t* end) {
  const int64_t base = n / n_chunks, extra = n % n_chunks;
  *begin = i * base + (i < extra ? i : extra);
  *end = *begin + base + (i < extra ? 1 : 0);
}

uint32_t generation_of(uint64_t state) { return static_cast<uint32_t>(state >> 32); }
int next_chunk_of(uint64_t state) { return static_cast<int>((state >> 16) & 0xFFFF); }
int chunk_count_of(uint64_t state) { return static_cast<int>(state & 0xFFFF); }

}  // namespace

ThreadPool::ThreadPool(int n_threads) : n_threads_(n_threads < 1 ? 1 : n_threads) {
  for (int i = 1; i < n_threads_; ++i) workers_.emplace_back([this] { worker_loop(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(wake_mutex_);
    stop_.store(true);
    state_.fetch_add(uint64_t{1} << 32);  // a new generation with no chunks wakes every worker
  }
  wake_cv_.notify_all();
  for (auto& t : workers_) t.join();
}

thread_local bool t_in_pool_chunk = false;  // set while this thread runs a chunk: nested calls run inline

void ThreadPool::take_chunks(uint32_t generation) {
  uint64_t s = state_.load(std::memory_order_acquire);
  while (generation_of(s) == generation && next_chunk_of(s) < chunk_count_of(s)) {
    if (!state_.compare_exchange_weak(s, s + (uint64_t{1} << 16), std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
      continue;  // s now holds the current state
    }
    // This chunk is ours; call_, ctx_ and n_ stay as they are until every chunk of the call is done.
    int64_t begin, end;
    chunk_bounds(n_, chunk_count_of(s), next_chunk_of(s), &begin, &end);
    t_in_pool_chunk = true;
    call_(ctx_, begin, end);
    t_in_pool_chunk = false;
    done_.fetch_add(1, std::memory_order_release);
    s = state_.load(std::memory_order_acquire);
  }
}

void ThreadPool::worker_loop() {
  uint32_t seen = 0;
  while (true) {
    uint32_t gen = generation_of(state_.load(std::memory_order_acquire));
    for (int spin = 0; gen == seen && spin < kSpinIterations; ++spin) {
      POCKET_CPU_RELAX();
      gen = generation_of(state_.load(std::memory_order_acquire));
    }
    if (gen == seen) {
      std::unique_lock<std::mutex> lock(wake_mutex_);
      sleepers_.fetch_add(1, std::memory_order_seq_cst);
      wake_cv_.wait(lock, [&] { return generation_of(state_.load(std::memory_order_seq_cst)) != seen; });
      sleepers_.fetch_sub(1, std::memory_order_relaxed);
      gen = generation_of(state_.load(std::memory_order_acquire));
    }
    seen = gen;
    if (stop_.load()) return;
    take_chunks(gen);
  }
}

void ThreadPool::run(int64_t n, int max_chunks, Call call, void* ctx) {
  if (n <= 0) return;
  const int threads = std::min(n_threads_, std::max(max_chunks, 1));
  if (threads <= 1 || n <= 1 || t_in_pool_chunk) {
    call(ctx, 0, n);
    return;
  }
  const int chunks = static_cast<int>(std::min<int64_t>({n, int64_t{threads} * kChunksPerThread, kMaxChunks}));
  std::lock_guard<std::mutex> call_lock(call_mutex_);
  call_ = call;
  ctx_ = ctx;
  n_ = n;
  done_.store(0, std::memory_order_relaxed);  // no chunk of the previous call is still running
  const uint32_t gen = ++generation_;
  state_.store(uint64_t{gen} << 32 | static_cast<uint64_t>(chunks), std::memory_order_seq_cst);
  if (sleepers_.load(std::memory_order_seq_cst) > 0) {
    std::lock_guard<std::mutex> lock(wake_mutex_);  // a worker between its check and its wait sees the new value
    wake_cv_.notify_all();
  }
  take_chunks(gen);
  // Spin briefly (the last chunks usually finish together), then yield: on an oversubscribed machine a pure
  // spin would steal the time slice of the worker being waited for.
  for (int spin = 0; done_.load(std::memory_order_acquire) != chunks; ++spin) {
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
