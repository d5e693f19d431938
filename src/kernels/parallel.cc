#include "kernels/parallel.h"

#include <algorithm>
#include <thread>
#include <vector>

namespace pocket::kernels {

namespace {
constexpr int64_t kMinWorkPerThread = 1 << 18;  // ~262K multiply-adds: below this a thread costs more than it saves
}

void parallel_for(int64_t n, int n_threads, int64_t work, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  int64_t threads = std::min<int64_t>(std::max(n_threads, 1), n);
  threads = std::min<int64_t>(threads, std::max<int64_t>(1, work / kMinWorkPerThread));
  if (threads <= 1) {
    fn(0, n);
    return;
  }
  std::vector<std::thread> pool;
  pool.reserve(threads - 1);
  const int64_t chunk = (n + threads - 1) / threads;
  for (int64_t t = 1; t < threads; ++t) {
    const int64_t begin = t * chunk;
    const int64_t end = std::min(n, begin + chunk);
    if (begin >= end) break;
    pool.emplace_back([&fn, begin, end] { fn(begin, end); });
  }
  fn(0, std::min(n, chunk));
  for (auto& th : pool) th.join();
}

}  // namespace pocket::kernels
