// CUDA Metropolis in speculative rounds (include/locent/metropolis_rounds.hpp), compute
// capability 9.0, perceptrons: one large instance spread over a thread-block cluster, each block
// holding a slice of every replica's stabilities and boundary sets in shared memory, with one
// cluster barrier per round; or many instances, one block each (a cluster of one). CPU twin:
// host/cpu/metropolis_rounds.cpp; the trajectory is the sequential chain's, bit for bit.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "kernels/metropolis.cuh"

namespace locent::cuda {

// On by default since its first run on hardware (an H200, bench/RESULTS.md): the CPU = CUDA tests
// of tests/metropolis_rounds_test.cpp passed, and it was faster than the step kernel at every
// size measured (1.06× at N = 1001, 1.7× at N = 10001 batched, 4.3× for one N = 100001 instance).
inline constexpr bool kRoundsByDefault = true;

struct RoundsShape {
  int cluster = 0;          // blocks per instance (1: no cluster); 0: the kernel does not apply
  int slice_words = 0;      // 32-bit pattern words of each replica per block
  int round_steps = 0;                // the most steps a round (the ring holds twice that)
  bool adaptive_rounds = true;        // each sweep's rounds as long as the last's acceptance says
  bool parallel_decisions = true;     // decide_round_masked where a round allows it
  bool shared_stabilities = true;     // else left in global memory (one block per instance)
  int warps = 0;
  int sms = 0;
  std::size_t base_shared_bytes = 0;  // without the threshold table
  std::size_t max_shared_bytes = 0;   // dynamic shared memory a block may have
  std::size_t rank_stride = 0;        // 32-bit words of each block's private weight copies
};

// The shape for a perceptron batch, or cluster = 0 when the rounds kernel does not apply: a
// committee, compute capability below 9.0, more instances than can be resident at once, or a
// slice that does not fit in shared memory. `cluster`: 1 is one block of 4 warps per instance
// (many instances; the stabilities in shared memory where the occupancy allows, else in global
// memory, or always there with `global_stabilities`); 2, 4, 8 or 16 a cluster of that many
// 16-warp blocks; 0 the largest cluster that fits (at most the SMs per instance).
RoundsShape metropolis_rounds_shape(int device, const MetropolisBatch& batch, int cluster,
                                    int round_steps, bool adaptive_rounds,
                                    bool parallel_decisions, bool global_stabilities = false);

// Launches one chunk; `rank_words` holds instances × cluster × shape.rank_stride words.
void launch_metropolis_rounds(const MetropolisBatch& batch, const MetropolisChunk& chunk,
                              const RoundsShape& shape, std::uint32_t* rank_words,
                              cudaStream_t stream);

}  // namespace locent::cuda
