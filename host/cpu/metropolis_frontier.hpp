// CPU twin of the frontier rounds (include/locent/metropolis_frontier.hpp): the perceptron chain
// advanced in speculative rounds with each member (replica, explicit centre) at its own position
// in the sweep. It follows the sequential chain of host/cpu/metropolis.cpp bit for bit. The
// reference for the kernel to come (bench/NOTES.md), and the measure of its rounds' length.
#pragma once
#include <cstdint>
#include <vector>

#include "host/cpu/metropolis.hpp"
#include "host/cpu/worker_team.hpp"

namespace locent::cpu {

// As run_metropolis_chunk, perceptrons only. Each replica counts `round_steps` (1..kMaxRoundSteps)
// steps from its own position; member 0 stays within `lead` (1..kMaxFrontierWindow −
// round_steps) steps of the last member. The walks are decided by frontier_walk_masked where
// `masked` is set, else by frontier_walk (the two must agree: tests run both). A replica that
// reaches zero energy sends the sweep back to its start, to be taken again in the plain rounds
// (run_metropolis_rounds), which stop exactly there. With a `team`, the round's counts and moves
// are shared among its members. `extensions` > 0: the longer frontier rounds, in which a replica
// may move twice; after the first walks, up to that many parts, each with the second-order terms
// of the replicas that moved (frontier_walk_on). `rounds`, when given, counts the rounds in
// rounds[0] and, with extensions, the parts after the first walks in rounds[1].
void run_metropolis_frontier(ChainState& chain, const ChainData& data,
                             const ThresholdTables& tables, const ChunkOptions& options,
                             int round_steps, int lead, bool masked,
                             std::vector<std::vector<std::int64_t>>& trace,
                             WorkerTeam* team = nullptr, std::uint64_t* rounds = nullptr,
                             int extensions = 0);

}  // namespace locent::cpu
