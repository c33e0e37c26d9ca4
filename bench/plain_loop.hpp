// The baseline every CPU speedup is measured against: the obvious rSA loop a researcher writes
// first (int stabilities, one pass over all P patterns per proposal), as in the peers' table of
// ceilings.md. Same workload and Metropolis rule as locent's engine, its own RNG.
#pragma once
#include <cstdint>

#include "locent/problem.hpp"

namespace locent::bench {

struct PlainLoopResult {
  std::uint64_t proposals = 0, accepted = 0;
  double seconds = 0;
  double proposals_per_second() const { return seconds > 0 ? proposals / seconds : 0; }
};

// Runs `sweeps` sweeps (N·y proposals each) of traced-centre rSA with the flips energy at fixed
// β, γ on one instance, from random replicas, on the calling thread.
PlainLoopResult run_plain_loop(const Dataset& data, int replicas, double beta, double gamma,
                               std::uint64_t sweeps, std::uint64_t seed);

}  // namespace locent::bench
