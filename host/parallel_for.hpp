// parallel_for: body(i) for i in [0, n) on a few threads, dynamic assignment. The CPU backend runs
// its chains with it; both backends prepare the instances of a batch with it.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstddef>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace locent {

// threads ≤ 0: all cores. The first exception thrown by a body is rethrown on the caller's thread
// once every worker has stopped; later items are then skipped.
template <class Body>
void parallel_for(std::size_t n, int threads, Body body) {
  if (threads <= 0) threads = std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
  const std::size_t workers = std::min<std::size_t>(n, static_cast<std::size_t>(threads));
  if (workers <= 1) {
    for (std::size_t i = 0; i < n; ++i) body(i);
    return;
  }
  std::atomic<std::size_t> next{0};
  std::exception_ptr failure;
  std::mutex failure_mutex;
  std::vector<std::thread> pool;
  for (std::size_t t = 0; t < workers; ++t)
    pool.emplace_back([&] {
      for (std::size_t i; (i = next.fetch_add(1)) < n;) {
        try {
          body(i);
        } catch (...) {
          std::lock_guard<std::mutex> lock(failure_mutex);
          if (!failure) failure = std::current_exception();
          next = n;
        }
      }
    });
  for (auto& th : pool) th.join();
  if (failure) std::rethrow_exception(failure);
}

}  // namespace locent
