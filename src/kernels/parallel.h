// A parallel-for over [0, n) on the process-wide persistent pool (base/thread_pool.h): the threads take contiguous
// chunks (a few per thread) from a shared counter; no thread is created per call.
#pragma once

#include <cstdint>
#include <functional>

namespace pocket::kernels {

// Calls fn(begin, end) on disjoint chunks covering [0, n), run by up to n_threads threads. Runs inline when n_threads <= 1
// or when `work` (an estimate of scalar operations) is too small to pay for waking a thread; uses fewer chunks
// for small jobs.
void parallel_for(int64_t n, int n_threads, int64_t work, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace pocket::kernels
