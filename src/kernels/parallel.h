// A parallel-for over [0, n) on the process-wide persistent pool (base/thread_pool.h): each participating thread
// takes one contiguous chunk; no thread is created per call.
#pragma once

#include <cstdint>
#include <functional>

namespace pocket::kernels {

// Calls fn(begin, end) on up to n_threads disjoint chunks covering [0, n). Runs inline when n_threads <= 1
// or when `work` (an estimate of scalar operations) is too small to pay for waking a thread; uses fewer chunks
// for small jobs.
void parallel_for(int64_t n, int n_threads, int64_t work, const std::function<void(int64_t, int64_t)>& fn);

}  // namespace pocket::kernels
