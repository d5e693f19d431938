#include "kernels/parallel.h"

#include <algorithm>

#include "base/thread_pool.h"

namespace pocket::kernels {

namespace {
constexpr int64_t kMinWorkPerThread = 1 << 14;  // ~16K multiply-adds: a pool wake-up costs ~1-2 us
}

void parallel_for(int64_t n, int n_threads, int64_t work, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  int64_t threads = std::min<int64_t>(std::max(n_threads, 1), n);
  threads = std::min<int64_t>(threads, std::max<int64_t>(1, work / kMinWorkPerThread));
  if (threads <= 1) {
    fn(0, n);
    return;
  }
  ThreadPool::shared(n_threads).parallel_for(n, static_cast<int>(threads), fn);
}

}  // namespace pocket::kernels
