// A team of threads that run one function together, over and over, for work split a few
// microseconds at a time (a speculative round's counts and moves), where starting threads for
// each piece would cost more than the piece. Members wait by spinning, then by yielding, so an
// oversubscribed machine still makes progress. The caller is member 0.
#pragma once
#include <atomic>
#include <cstdint>
#include <thread>
#include <vector>

namespace locent::cpu {

class WorkerTeam {
 public:
  explicit WorkerTeam(int size) : size_(size < 1 ? 1 : size) {
    for (int m = 1; m < size_; ++m) threads_.emplace_back([this, m] { serve(m); });
  }
  ~WorkerTeam() {
    stop_.store(true, std::memory_order_release);
    generation_.fetch_add(1, std::memory_order_acq_rel);
    for (auto& t : threads_) t.join();
  }
  WorkerTeam(const WorkerTeam&) = delete;
  WorkerTeam& operator=(const WorkerTeam&) = delete;

  int size() const { return size_; }

  // body(member) on every member at once; returns when all have finished. Bodies must not throw.
  template <class Body>
  void run(Body& body) {
    if (size_ == 1) {
      body(0);
      return;
    }
    body_ = &body;
    call_ = [](void* b, int member) { (*static_cast<Body*>(b))(member); };
    done_.store(0, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_acq_rel);
    body(0);
    wait_until([this] { return done_.load(std::memory_order_acquire) == size_ - 1; });
  }
  template <class Body>
  void run(Body&& body) {
    run(body);  // an lvalue here
  }

 private:
  template <class Ready>
  static void wait_until(Ready ready) {
    for (int spins = 0; !ready(); ++spins)
      if (spins > 2000) std::this_thread::yield();
  }

  void serve(int member) {
    std::uint64_t seen = 0;
    for (;;) {
      wait_until([&] { return generation_.load(std::memory_order_acquire) != seen; });
      seen = generation_.load(std::memory_order_acquire);
      if (stop_.load(std::memory_order_acquire)) return;
      call_(body_, member);
      done_.fetch_add(1, std::memory_order_acq_rel);
    }
  }

  int size_;
  std::vector<std::thread> threads_;
  void* body_ = nullptr;                 // the caller's body, alive for the whole run()
  void (*call_)(void*, int) = nullptr;   // calls it
  std::atomic<std::uint64_t> generation_{0};
  std::atomic<int> done_{0};
  std::atomic<bool> stop_{false};
};

}  // namespace locent::cpu
