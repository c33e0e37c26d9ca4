// Replicated simulated annealing (rSA) and plain SA on the binary perceptron and on committee
// machines: configuration, results, and the solve() entry point. Algorithms.md §2–§3,
// docs/committee.md.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "locent/problem.hpp"
#include "locent/schedule.hpp"

namespace locent {

// How the replicas are coupled to the reference (centre).
enum class Coupling {
  traced,   // centre summed out: −(1/β) Σ_i log 2cosh(γ S_i), S_i = Σ_a W_i^a
  explicit_ // explicit centre W̃ with −(γ/β) Σ_a W̃·W^a; W̃ is moved too
};

// The data term of the energy.
enum class EnergyKind {
  errors,  // number of misclassified patterns
  flips    // Σ_μ max(0, (1 − Δ^μ)/2): weight flips needed to fix each violated pattern
           // (perceptron only: committees refuse it, docs/committee.md)
};

struct AnnealConfig {
  int replicas = 7;                 // y; 1 with γ = 0 is plain SA
  Coupling coupling = Coupling::traced;
  EnergyKind energy = EnergyKind::flips;
  // Defaults measured on N = 1001 (README, "How the defaults were chosen").
  Schedule beta = Schedule::geometric(0.5, 5.0);
  Schedule gamma = Schedule::geometric(0.5, 10.0);
  std::uint64_t max_sweeps = 10000; // budget; also the length the schedules are stretched over
  double max_seconds = 0;           // wall-clock budget for the whole batch; 0 = none
  std::uint64_t seed = 1;
  int centre_check_every = 1;       // sweeps between checks of the centre's errors
  int trace_every = 0;              // sweeps between trace records; 0 = no trace
  void validate() const;            // throws Error
};

// The defaults for committee machines, measured on tree committees (docs/committee.md): the
// errors energy (the only one committees have) and their own β and γ schedules.
AnnealConfig committee_defaults();

// Telemetry of one instance at the end of a sweep.
struct TraceRecord {
  std::uint32_t instance = 0;
  std::uint64_t sweep = 0;          // sweeps completed
  double beta = 0, gamma = 0;
  std::vector<int> replica_errors;  // per replica
  int centre_errors = 0;            // explicit centre, or clipped majority sign(S) when traced
  double mean_distance = 0;         // mean over replicas of Hamming(W^a, centre)/(K × fan_in)
  double acceptance = 0;            // accepted / proposed since the previous record
};

struct InstanceResult {
  std::uint32_t instance = 0;
  bool solved = false;
  int solved_by = -1;               // replica index, or `replicas` for the centre; -1 unsolved
  std::uint64_t proposals = 0;      // proposals made (to solution if solved)
  std::uint64_t accepted = 0;
  double sweeps = 0;                // proposals / proposals per sweep
  std::vector<int> replica_errors;  // final
  std::vector<long> replica_energy; // final, in the chosen energy
  int centre_errors = 0;            // final
  double wall_seconds = 0;          // of the whole batch (instances run concurrently)
  // Wall time from the start of the batch to the end of the chunk of sweeps in which this
  // instance was solved (chunks last about 0.25 s); 0 when unsolved or solved at the start.
  double seconds_to_solution = 0;
  std::vector<std::vector<std::int8_t>> replica_weights;  // y × weights(): K × fan_in, unit-major
  std::vector<std::int8_t> centre_weights;                // explicit W̃ or clipped sign(S)
  // The solving configuration, else the lowest-error one (replica or centre).
  const std::vector<std::int8_t>& best_weights() const;
  int best_index() const;           // index into replica_weights, or replicas for the centre
};

struct BatchResult {
  std::vector<InstanceResult> instances;
  std::string backend;              // "cpu" or "cuda"
  std::string device;               // CPU model or GPU name
  double wall_seconds = 0;
  std::uint64_t sweeps_run = 0;     // sweeps executed by the batch (the longest instance)
  bool stopped_by_time = false;
  double proposals_per_second() const;
};

struct SolveProgress {
  std::uint64_t sweeps = 0, max_sweeps = 0;
  std::size_t solved = 0, instances = 0;
  double wall_seconds = 0;
  double proposals_per_second = 0;
};

struct SolveHooks {
  std::function<void(const TraceRecord&)> on_trace;         // every trace record
  std::function<void(const SolveProgress&)> on_progress;    // after every chunk
};

class Backend;

// Solves every dataset (same network and P) as one batch on `backend`. The host steps the schedules
// in chunks of sweeps; the trajectory of each instance depends only on (seed, instance index).
BatchResult solve_batch(const std::vector<Dataset>& datasets, const AnnealConfig& config,
                        Backend& backend, const SolveHooks& hooks = {});

}  // namespace locent
