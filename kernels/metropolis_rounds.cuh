// CUDA Metropolis for one large perceptron instance spread over a thread-block cluster (compute
// capability 9.0): each block of the cluster holds a slice of every replica's stabilities and
// boundary sets in shared memory, and the steps advance in speculative rounds
// (include/locent/metropolis_rounds.hpp) with one cluster barrier per round. CPU twin:
// host/cpu/metropolis_rounds.cpp; the trajectory is the sequential chain's, bit for bit.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "kernels/metropolis.cuh"

namespace locent::cuda {

// Off by default until the kernel has run on hardware: the CPU = CUDA tests of
// tests/metropolis_rounds_test.cpp and `locent bench --cluster` (bench/device-check.sh) decide.
inline constexpr bool kClusterRoundsByDefault = false;

struct RoundsShape {
  int cluster = 0;          // blocks per instance; 0: the kernel does not apply
  int slice_words = 0;      // 32-bit pattern words of each replica per block
  int round_steps = 0;
  bool parallel_decisions = true;     // decide_round_masked where a round allows it
  int warps = 0;
  std::size_t base_shared_bytes = 0;  // without the threshold table
  std::size_t max_shared_bytes = 0;   // dynamic shared memory a block may have
  std::size_t rank_stride = 0;        // 32-bit words of each block's private weight copies
};

// The shape for a perceptron batch, or cluster = 0 when the rounds kernel does not apply: a
// committee, compute capability below 9.0, more instances than clusters can be resident, or a
// slice that does not fit in shared memory. `cluster`: 0 picks the largest size that fits (at
// most 16 blocks, at most the SMs per instance), else that size (2, 4, 8 or 16) or nothing.
RoundsShape metropolis_rounds_shape(int device, const MetropolisBatch& batch, int cluster,
                                    int round_steps, bool parallel_decisions);

// Launches one chunk; `rank_words` holds instances × cluster × shape.rank_stride words.
void launch_metropolis_rounds(const MetropolisBatch& batch, const MetropolisChunk& chunk,
                              const RoundsShape& shape, std::uint32_t* rank_words,
                              cudaStream_t stream);

}  // namespace locent::cuda
