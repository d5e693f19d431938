// A minimal parallel-for over [0, n) with std::thread: each thread takes one contiguous chunk.
// Kept deliberately simple (threads are spawned per call); the fast path will replace it with a pool.
#pragma once

#include <cstdint>
#include <functional>

namespace pocket::kernels {

// Calls fn(begin, end) on up to n_threads disjoint chunks covering [0, n). Runs inline when n_threads <= 1
// or when `work` (an estimate of scalar operations) is too small to pay for thread start-up.
void parallel_for(int64_t n, int n_threads, int64_t work, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace pocket::kernels
