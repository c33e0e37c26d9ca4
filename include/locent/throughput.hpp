// Throughput workloads behind `locent bench` and bench/RESULTS.md: rSA proposals per second on a
// backend, the plain-loop baseline, and CPU scaling over instances. Workload (issue "Throughput"):
// random storage instances, α = 0.6, y = 7, traced coupling, fixed β = 2, γ = 0.5, a fixed number
// of sweeps from random replicas, so every figure sees the same acceptance history.
#pragma once
#include <cstdint>
#include <string>

#include "locent/backend.hpp"

namespace locent {

struct RsaWorkload {
  int inputs = 1001;
  double alpha = 0.6;
  int replicas = 7;
  double beta = 2.0, gamma = 0.5;
  std::uint64_t sweeps = 1000;
  std::size_t instances = 1;  // chains run together; they share one pattern set
  std::uint64_t seed = 1;
};

struct RsaThroughput {
  double proposals_per_second = 0;
  std::uint64_t proposals = 0, accepted = 0;
  double seconds = 0;
  std::string kernel;  // the engine's kernel or loop (MetropolisEngine::kernel)
};

// Times the engine of `backend` on the workload (engine creation and a one-sweep warm-up are
// not timed).
RsaThroughput measure_rsa(Backend& backend, const RsaWorkload& w);

// The plain loop (bench/plain_loop.hpp) on one instance and the calling thread.
RsaThroughput measure_plain_loop(const RsaWorkload& w);

// Focusing BP: time per synchronous BP iteration on one perceptron storage instance (issue
// "Committees and fBP": N = 10^4 and 10^5, α = 0.7), from random messages, γ = ∞, y = 1 (the first
// step of the standard protocol), damping 0.5. Engine creation and one warm-up iteration are not
// timed.
struct FbpWorkload {
  int inputs = 10001;
  double alpha = 0.7;
  int iterations = 5;  // timed iterations (at least)
  double min_seconds = 0.5;  // ... and at least this long
  std::uint64_t seed = 1;
};

struct FbpThroughput {
  double seconds_per_iteration = 0;
  int iterations = 0;
  std::size_t messages = 0;  // P × N pattern-to-weight messages
  double messages_per_second = 0;
};

// `cuda` selects the CUDA engine (throws Error(no_device) without one); `threads` the CPU engine's.
FbpThroughput measure_fbp(bool cuda, const FbpWorkload& w, int threads);

// Sweeps per workload so that each figure takes a comparable, sub-second to few-second time.
std::uint64_t default_sweeps(int inputs);

}  // namespace locent
