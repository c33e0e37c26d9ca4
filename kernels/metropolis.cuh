// CUDA Metropolis for (replicated) simulated annealing: one thread block per instance runs many
// sweeps per launch. The CPU twin is host/cpu/metropolis.cpp; both follow metropolis_rules.hpp.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "locent/chain_state.hpp"

namespace locent::cuda {

// Device arrays of a batch of B instances; 32-bit words (a little-endian view of the host's
// 64-bit words, so word counts are twice the host's).
struct MetropolisBatch {
  int instances, inputs, patterns, replicas;
  int input_words, pattern_words;  // 32-bit words per weight vector / per pattern set
  bool explicit_centre, flip_energy;
  const std::uint32_t* columns;    // B × N × pattern_words   folded σξ columns
  const std::uint32_t* rows;       // B × P × input_words     folded σξ rows
  const std::uint32_t* instance_ids;  // B
  std::uint32_t* weights;          // B × y × input_words
  std::uint32_t* centre;           // B × input_words (explicit centre)
  std::uint32_t* centre_scratch;   // B × input_words (centre bits at sweep ends)
  std::int32_t* site_sums;         // B × N
  std::int32_t* stabilities;       // B × y × P
  std::uint32_t* set_a;            // B × y × pattern_words
  std::uint32_t* set_b;            // B × y × pattern_words
  std::int32_t* size_a;            // B × y
  std::int32_t* size_b;            // B × y
  std::int64_t* energy;            // B × y
  std::int32_t* errors;            // B × y
  InstanceStatus* status;          // B
  std::int64_t* trace;             // B × trace_capacity × (5 + y)
  std::int32_t* trace_count;       // B
  int trace_capacity;
};

struct MetropolisChunk {
  const std::uint32_t* tables;  // sweeps × stride
  std::size_t table_stride;
  int half_width, coupling_states;
  std::uint64_t first_sweep;
  int sweeps;
  std::uint64_t seed;
  int centre_check_every, trace_every;
};

// Largest y the kernel's shared arrays hold.
inline constexpr int kMaxReplicas = 30;

// How a thread block is shaped for a batch: `warps` warps, and each replica's P pattern words
// split into `chunks` pieces, so the y·chunks (replica, piece) work items of a step spread over
// the warps. Many instances: one warp per replica (chunks = 1), blocks small so that many are
// resident per SM. Few instances (fewer than the SMs): one large block per instance with the
// pattern words of each replica split over several warps.
struct BlockShape {
  int warps = 1;
  int chunks = 1;
};
BlockShape metropolis_block_shape(int device, int instances, int replicas, int pattern_words);

// Thread blocks of the kernel resident at once on `device` for y replicas (many-instance shape).
int resident_metropolis_blocks(int device, int replicas);

// Launches one chunk on `stream` and checks the launch.
void launch_metropolis_chunk(const MetropolisBatch& batch, const MetropolisChunk& chunk,
                             const BlockShape& shape, cudaStream_t stream);

}  // namespace locent::cuda
