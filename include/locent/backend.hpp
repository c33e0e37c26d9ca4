// The boundary between host orchestration and a compute backend (CPU threads or CUDA).
//
// A backend creates a MetropolisEngine holding the state of a batch of instances (same N, P,
// replicas). The host driver (solve.cpp) steps the schedule: it hands the engine chunks of sweeps
// with their threshold tables, reads status and telemetry between chunks, and never sees device
// memory.
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "locent/anneal.hpp"
#include "locent/chain_state.hpp"
#include "locent/problem.hpp"
#include "locent/threshold_table.hpp"

namespace locent {

// A trace record as the engine writes it: int64 fields, see TraceLayout.
struct TraceLayout {
  int replicas;
  // [0] instance index, [1] sweeps completed, [2] centre errors, [3] Σ_a Hamming(W^a, centre),
  // [4] proposals accepted so far, [5 + a] errors of replica a.
  int length() const { return 5 + replicas; }
};

struct EngineSetup {
  AnnealConfig config;
  std::vector<const Dataset*> datasets;  // one per instance, all with the same network and P
  int threads = 0;                       // CPU backend: 0 = all cores
};

class MetropolisEngine {
 public:
  virtual ~MetropolisEngine() = default;
  // Runs sweeps [tables.first_sweep, + tables.sweeps()) for every unsolved instance. Records a
  // trace entry at every sweep s with (s + 1) % trace_every == 0 (trace_every > 0).
  virtual void run_chunk(const ThresholdTables& tables, int trace_every) = 0;
  virtual std::vector<InstanceStatus> status() = 0;
  // Trace records written since the last call, instance-major, in sweep order.
  virtual std::vector<std::vector<std::int64_t>> take_trace() = 0;
  virtual ChainState snapshot(std::size_t instance) = 0;
  // Which kernel or loop runs the chains, for benchmark records.
  virtual std::string kernel() const = 0;
};

// Trace records kept per instance → one list, instance-major and in sweep order (the order
// take_trace() promises); the per-instance lists are emptied.
inline std::vector<std::vector<std::int64_t>> take_instance_major(
    std::vector<std::vector<std::vector<std::int64_t>>>& per_instance) {
  std::vector<std::vector<std::int64_t>> all;
  for (auto& records : per_instance) {
    for (auto& r : records) all.push_back(std::move(r));
    records.clear();
  }
  return all;
}

enum class BackendKind { automatic, cpu, cuda };
// "auto", "cpu" or "cuda" (options and sweep files validate the word first).
BackendKind parse_backend_kind(const std::string& name);

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;         // "cpu" or "cuda"
  virtual std::string device_name() const = 0;
  virtual std::unique_ptr<MetropolisEngine> create_metropolis(const EngineSetup& setup) = 0;
  // Instances of y replicas that keep the whole device busy: the CPU's threads, or on a GPU the
  // resident thread blocks of the Metropolis kernel (from the occupancy calculator).
  virtual std::size_t concurrent_instances(int replicas) const = 0;
};

std::unique_ptr<Backend> make_cpu_backend(int threads);

// Settings of the CUDA backend's Metropolis engine; the defaults suit every use.
struct CudaOptions {
  // Perceptrons on compute capability 9.0 can run in speculative rounds
  // (kernels/metropolis_rounds.cu): -1 automatic (for now: never, until the kernel has run on
  // hardware), 0 never (a step at a time, one block per instance), 1 rounds with one block per
  // instance, 2, 4, 8 or 16 rounds with a thread-block cluster of that many blocks per instance.
  // A shape asked for and not possible is an error.
  int cluster_blocks = -1;
  int round_steps = 16;  // steps per round, 1..32: the most, with adaptive_rounds
  // Each sweep's rounds as long as the previous sweep's acceptance makes them worth (twice the
  // expected length, adaptive_round_steps); else always round_steps.
  bool adaptive_rounds = true;
  // Decide a round's proposals one per lane, then walk over the acceptances (rounds of at most
  // 64 proposals), or strictly one after the other: the same trajectory, at different speeds.
  bool parallel_decisions = true;
  // One block per instance: keep the stabilities in global memory even where shared memory
  // would hold them (for tests and measurements).
  bool round_stabilities_in_global = false;
};

// Throws Error(no_device) when CUDA is not compiled in or no device is usable.
std::unique_ptr<Backend> make_cuda_backend(int device = 0, const CudaOptions& options = {});
bool cuda_available();
// A usable device with thread-block clusters (compute capability 9.0 or later).
bool cuda_clusters_available(int device = 0);
// Launches of the member pipeline kernel in this process so far (LOCENT_ROUNDS_PIPELINE; 0
// without CUDA): the tests' proof that a case ran in it.
std::uint64_t cuda_pipeline_launches();
// Of those, the launches whose replicas counted from columns copied into shared memory
// (LOCENT_PIPELINE_COUNT=staged).
std::uint64_t cuda_pipeline_staged_launches();
// Of those, the launches whose replicas moved a thread's pattern words together, plane by plane
// (LOCENT_PIPELINE_MOVE=interleaved).
std::uint64_t cuda_pipeline_interleaved_launches();
// Of those, the launches that took two blocks a replica (LOCENT_PIPELINE_PARTS=2).
std::uint64_t cuda_pipeline_split_launches();
// Of those, the launches whose counts read the sweep's columns in step order
// (LOCENT_PIPELINE_COLUMNS=ordered; a launch a sweep).
std::uint64_t cuda_pipeline_ordered_launches();
// automatic: CUDA when a device is usable, else CPU with a note written to *note.
std::unique_ptr<Backend> make_backend(BackendKind kind, int threads, std::string* note,
                                      const CudaOptions& cuda = {});

}  // namespace locent
