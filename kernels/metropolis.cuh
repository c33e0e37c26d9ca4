// CUDA Metropolis for (replicated) simulated annealing on perceptrons and committee machines:
// one thread block per instance runs many sweeps per launch. The CPU twin is
// host/cpu/metropolis.cpp; both follow metropolis_rules.hpp.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "locent/chain_state.hpp"

namespace locent::cuda {

// Device arrays of a batch of B instances; 32-bit words (a little-endian view of the host's
// 64-bit words, so word counts are twice the host's).
struct MetropolisBatch {
  int instances, inputs, patterns, replicas;
  int hidden_units, fan_in, sites;  // K, inputs per unit, weights per network (K × fan_in)
  bool tree;                        // committee: unit k sees inputs [k·fan_in, (k+1)·fan_in)
  int input_words, pattern_words;   // 32-bit words per pattern row / per pattern set
  int weight_words;                 // 32-bit words per weight string (sites bits)
  bool explicit_centre, flip_energy;
  const std::uint32_t* columns;    // B × N × pattern_words   folded σξ columns
  const std::uint32_t* rows;       // B × P × input_words     folded σξ rows
  const std::uint32_t* instance_ids;  // B
  std::uint32_t* weights;          // B × y × weight_words
  std::uint32_t* centre;           // B × weight_words (explicit centre)
  std::uint32_t* centre_scratch;   // B × weight_words (centre bits at sweep ends)
  std::int32_t* site_sums;         // B × sites
  std::int32_t* stabilities;       // B × y × K × P: hidden fields (perceptron: stabilities)
  std::uint32_t* set_a;            // B × K × y × pattern_words (unit-major, chain_state.hpp)
  std::uint32_t* set_b;            // B × K × y × pattern_words
  std::int32_t* size_a;            // B × K × y
  std::int32_t* size_b;            // B × K × y
  std::int64_t* energy;            // B × y
  std::int32_t* errors;            // B × y
  // Committees only (null for a perceptron).
  std::int32_t* votes;             // B × y × P: M^μ = Σ_k sign(h_k^μ)
  std::uint32_t* field_plus_one;   // B × y × K × pattern_words: {h_k = +1}
  std::uint32_t* field_minus_one;  // B × y × K × pattern_words: {h_k = −1}
  std::uint32_t* votes_plus_one;   // B × y × pattern_words: {M = +1}
  std::uint32_t* votes_minus_one;  // B × y × pattern_words: {M = −1}
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

// Appends instance b's trace record after sweep `done` (TraceLayout: instance, sweeps done, the
// centre's errors, the replicas' distance to it, accepted proposals, then replica a's errors
// errors_of(a)), unless its trace is full. One thread.
template <class ErrorsOf>
__device__ void append_trace_record(const MetropolisBatch& bt, int b, std::uint32_t instance,
                                    std::uint64_t done, long long centre_errors,
                                    unsigned long long distance, unsigned long long accepted,
                                    const ErrorsOf& errors_of) {
  if (bt.trace_count[b] >= bt.trace_capacity) return;
  const int y = bt.replicas;
  std::int64_t* r = bt.trace + (std::size_t(b) * bt.trace_capacity + bt.trace_count[b]) * (5 + y);
  r[0] = instance;
  r[1] = static_cast<std::int64_t>(done);
  r[2] = centre_errors;
  r[3] = static_cast<std::int64_t>(distance);
  r[4] = static_cast<std::int64_t>(accepted);
  for (int a = 0; a < y; ++a) r[5 + a] = static_cast<std::int64_t>(errors_of(a));
  ++bt.trace_count[b];
}

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
BlockShape metropolis_block_shape(int device, int instances, int replicas, int pattern_words,
                                  bool committee);

// Thread blocks of the kernel resident at once on `device` for y replicas (many-instance shape).
int resident_metropolis_blocks(int device, int replicas);

// Launches one chunk on `stream` and checks the launch.
void launch_metropolis_chunk(const MetropolisBatch& batch, const MetropolisChunk& chunk,
                             const BlockShape& shape, cudaStream_t stream);

}  // namespace locent::cuda
