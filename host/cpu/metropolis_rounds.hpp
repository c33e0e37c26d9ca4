// CPU twin of kernels/metropolis_rounds.cu: the perceptron chain advanced in speculative rounds
// (include/locent/metropolis_rounds.hpp). It follows the sequential chain of
// host/cpu/metropolis.cpp bit for bit, whatever the round length; it exists so that the round
// logic the cluster kernel runs is tested where no GPU is, and to measure what rounds cost.
#pragma once
#include <cstdint>
#include <vector>

#include "host/cpu/metropolis.hpp"

namespace locent::cpu {

// As run_metropolis_chunk, perceptrons only, `round_steps` (1..kMaxRoundSteps) steps per round,
// decided by decide_round_masked where a round has at most kMaxMaskedProposals proposals and
// `masked` is set, else by decide_round (the two must agree: tests run both).
void run_metropolis_rounds(ChainState& chain, const ChainData& data, const ThresholdTables& tables,
                           const ChunkOptions& options, int round_steps, bool masked,
                           std::vector<std::vector<std::int64_t>>& trace);

}  // namespace locent::cpu
