// CPU twin of the member pipeline (include/locent/metropolis_pipeline.hpp,
// kernels/metropolis_pipeline.cu): each member (replica, explicit centre) walks the sweep on its
// own, counting its ΔE for up to k steps ahead, reading the others' live weights once their
// progress allows, and waiting otherwise. The twin plays the members' actions in an order drawn
// from `schedule_seed` (any order gives the same chain, which is what the tests check), and
// follows the sequential chain of host/cpu/metropolis.cpp bit for bit.
#pragma once
#include <cstdint>
#include <vector>

#include "host/cpu/metropolis.hpp"

namespace locent::cpu {

// As run_metropolis_chunk, perceptrons only. `round_steps` (1..kMaxRoundSteps): the steps a
// replica counts ahead; `window` (1..kPipelineWindow): how far back a member looks for an earlier
// visit of a step's site. A replica that reaches zero energy sends the sweep back to its start,
// to be taken again in the plain rounds, which stop exactly there. `waits`, when given, counts
// the members' looks at the others' progress that found a step's needs unmet; `counts` the
// replicas' passes counting steps ahead (a kernel round each).
void run_metropolis_pipeline(ChainState& chain, const ChainData& data,
                             const ThresholdTables& tables, const ChunkOptions& options,
                             int round_steps, int window, std::uint64_t schedule_seed,
                             std::vector<std::vector<std::int64_t>>& trace,
                             std::uint64_t* waits = nullptr, std::uint64_t* counts = nullptr);

}  // namespace locent::cpu
