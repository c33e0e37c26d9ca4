// CPU twin of kernels/metropolis.cu: runs one instance's chain (perceptron or committee machine)
// through a chunk of sweeps with the shared rules of metropolis_rules.hpp, on 64-bit words.
#pragma once
#include <cstdint>
#include <vector>

#include "locent/bits.hpp"
#include "locent/chain_state.hpp"
#include "locent/rng.hpp"
#include "locent/threshold_table.hpp"

namespace locent::cpu {

struct ChainData {
  const BitMatrix* rows;     // P × N folded patterns σ^μ ξ^μ
  const BitMatrix* columns;  // N × P, the same transposed
  std::uint64_t seed;
  std::uint32_t instance;
};

inline bool test_bit(const std::uint64_t* words, int i) { return (words[i >> 6] >> (i & 63)) & 1u; }

// The `groups` Philox blocks of one step's random stream (metropolis_rules.hpp), 4 slots each.
inline void step_random(const ChainData& data, std::uint64_t sweep, int step, int groups,
                        std::uint32_t* slots) {
  for (int g = 0; g < groups; ++g) {
    const PhiloxBlock blk = philox_block(data.seed, Purpose::metropolis, data.instance,
                                         static_cast<std::uint32_t>(sweep),
                                         static_cast<std::uint32_t>(step), g);
    for (int q = 0; q < 4; ++q) slots[4 * g + q] = blk.v[q];
  }
}

struct ChunkOptions {
  int centre_check_every = 1;
  int trace_every = 0;
};

// Advances `chain` through every sweep of `tables` (stopping early once solved), appending a
// TraceLayout record to `trace` at each trace sweep.
void run_metropolis_chunk(ChainState& chain, const ChainData& data, const ThresholdTables& tables,
                          const ChunkOptions& options, std::vector<std::vector<std::int64_t>>& trace);

// The end of sweep `sweep`: the centre's errors (solved when zero, at check sweeps) and the trace
// record (at trace sweeps).
void finish_sweep(ChainState& chain, const ChainData& data, const ChunkOptions& options,
                  std::uint64_t sweep, std::vector<std::vector<std::int64_t>>& trace);

}  // namespace locent::cpu
