// CUDA member pipeline (include/locent/metropolis_pipeline.hpp), compute capability 9.0,
// perceptrons: one thread block a chain member (replica, explicit centre), a cluster an
// instance. Each block holds its replica's stabilities (in bit planes) and boundary sets in shared
// memory and walks the sweep on its own, counting its ΔE for up to k steps ahead and reading the
// other members' weights through distributed shared memory once their progress allows: no
// cluster barrier inside a sweep. CPU twin: host/cpu/metropolis_pipeline.cpp; the trajectory is
// the sequential chain's, bit for bit. Taken by launch_metropolis_rounds where
// pipeline_wanted says so: by default for a cluster an instance.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "kernels/metropolis.cuh"

namespace locent::cuda {

// The most steps a replica counts ahead in one pass (its per-thread sums are registers).
inline constexpr int kMaxPipelineSteps = 16;

struct PipelineShape {
  int members = 0;          // blocks a cluster: y, or y + 1 with an explicit centre; 0: no
  int round_steps = 0;      // the most steps counted ahead
  std::size_t shared_bytes = 0;  // dynamic, without the threshold table
  std::size_t max_shared_bytes = 0;
  // A replica's counts on the 1-bit tensor cores, not by popcounts: LOCENT_PIPELINE_COUNT=tensor
  // (read at each shape query, so that a test can take both).
  bool tensor_count = false;
  // Shared-memory slots for columns copied in by the bulk-copy engine and counted there
  // (LOCENT_PIPELINE_COUNT=staged, where the pattern words are a multiple of 4 and two columns
  // fit); 0: counted from loaded words.
  int staging_slots = 0;
  // The others' weights read a (member, step) pair a lane of warp 0 (⌈members / 2⌉ reads a lane)
  // instead of lane b reading all of member b's: LOCENT_PIPELINE_READS=spread (read likewise).
  bool spread_reads = false;
  // A thread's pattern words moved together, plane by plane, after an accepted flip, not one
  // word after another: LOCENT_PIPELINE_MOVE=interleaved (read likewise).
  bool interleaved_move = false;
  // Blocks a replica: 2 where each counts and moves part of its pattern words, the first
  // (split_words of them) deciding: LOCENT_PIPELINE_PARTS=2 (read likewise), with traced
  // coupling and counts by popcounts only; else 1.
  int parts = 1;
  int split_words = 0;
  // The counts read a copy of each sweep's columns in step order (made before a launch a sweep),
  // consecutive in memory, not the columns by site: LOCENT_PIPELINE_COLUMNS=ordered (read
  // likewise), counts by popcounts, where device memory holds the copy.
  bool ordered_columns = false;
};

// Whether a launch of the rounds kernel with `rounds_cluster` blocks an instance takes the
// pipeline where it applies: by default for a cluster an instance (a few large instances, where
// it is the fastest kernel measured); LOCENT_ROUNDS_PIPELINE=1 for every launch, 0 for none.
bool pipeline_wanted(int rounds_cluster);

// The shape, or members = 0 where the pipeline does not apply: a committee, compute capability
// below 9.0, more than 16 members, or a replica whose stabilities and sets do not fit in one
// block's shared memory. `round_steps` is capped at kMaxPipelineSteps.
PipelineShape metropolis_pipeline_shape(int device, const MetropolisBatch& batch,
                                        int round_steps);

// Launches one chunk. restart[b] (zeroed by the caller) becomes s + 1 where instance b must be
// taken again by another kernel from the start of the chunk's sweep s: a replica reached zero
// energy mid-sweep (members before it may have gone past that point of the chain). The sweeps
// before s may be taken again by this kernel, which will give the same state.
void launch_metropolis_pipeline(const MetropolisBatch& batch, const MetropolisChunk& chunk,
                                const PipelineShape& shape, int* restart, cudaStream_t stream);

}  // namespace locent::cuda
