// Host orchestration of (replicated) simulated annealing on perceptrons and committee machines:
// validates the configuration, steps the β and γ schedules in chunks of sweeps, collects
// telemetry and builds the results.
#include <algorithm>
#include <chrono>
#include <cmath>

#include "locent/anneal.hpp"
#include "locent/backend.hpp"
#include "locent/error.hpp"

namespace locent {
namespace {

using Clock = std::chrono::steady_clock;
double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

constexpr std::size_t kMaxTableBytesPerChunk = std::size_t{32} << 20;
constexpr double kChunkTargetSeconds = 0.25;
constexpr double kMaxInverseTemperature = 1e6;  // β and γ

}  // namespace

void AnnealConfig::validate() const {
  if (replicas < 1 || replicas > 30)
    throw Error("replicas y must be between 1 and 30 (got " + std::to_string(replicas) + ")");
  if (max_sweeps < 1) throw Error("the sweep budget must be at least 1");
  if (max_sweeps > 0xffffffffull) throw Error("the sweep budget must be below 2^32");
  if (!(max_seconds >= 0)) throw Error("the time budget must be non-negative");
  if (!(beta.min_value(max_sweeps) > 0))
    throw Error("beta must stay positive over the whole schedule (" + beta.to_string() + ")");
  if (!(gamma.min_value(max_sweeps) >= 0))
    throw Error("gamma must be non-negative over the whole schedule (" + gamma.to_string() + ")");
  // Beyond these, every acceptance probability is already 0 or 1 to 2^-32 (ΔE ≥ 1 at β ≈ 23,
  // coupling ratios e^{±2γ} at γ ≈ 12), and larger values only risk overflow in the tables.
  if (!(beta.max_value(max_sweeps) <= kMaxInverseTemperature))
    throw Error("beta must stay at most 1e6 over the whole schedule (" + beta.to_string() +
                "): beyond that every proposal is decided as at zero temperature");
  if (!(gamma.max_value(max_sweeps) <= kMaxInverseTemperature))
    throw Error("gamma must stay at most 1e6 over the whole schedule (" + gamma.to_string() +
                "): beyond that the replicas are as coupled as they can be");
  if (centre_check_every < 1) throw Error("the centre check interval must be at least 1 sweep");
  if (trace_every < 0) throw Error("the trace interval must be non-negative");
}

AnnealConfig committee_defaults() {
  AnnealConfig c;
  c.energy = EnergyKind::errors;
  // The perceptron's γ (0.5 → 10) collapses the replicas before they have found a solution
  // under the errors energy, whose ΔE are smaller; β must also start colder (docs/committee.md).
  c.beta = Schedule::geometric(1.0, 5.0);
  c.gamma = Schedule::geometric(0.2, 5.0);
  return c;
}

const std::vector<std::int8_t>& InstanceResult::best_weights() const {
  const int b = best_index();
  return b == static_cast<int>(replica_weights.size()) ? centre_weights : replica_weights[b];
}

int InstanceResult::best_index() const {
  if (solved) return solved_by;
  const int y = static_cast<int>(replica_errors.size());
  int best = y;  // the centre wins ties: it is often the best classifier
  int best_errors = centre_errors;
  for (int a = 0; a < y; ++a)
    if (replica_errors[a] < best_errors) best = a, best_errors = replica_errors[a];
  return best;
}

double BatchResult::proposals_per_second() const {
  double total = 0;
  for (const auto& r : instances) total += static_cast<double>(r.proposals);
  return wall_seconds > 0 ? total / wall_seconds : 0;
}

BatchResult solve_batch(const std::vector<Dataset>& datasets, const AnnealConfig& config,
                        Backend& backend, const SolveHooks& hooks) {
  config.validate();
  if (datasets.empty()) throw Error("nothing to solve: no instances");
  const ModelSpec& model = datasets[0].model;
  const bool committee = model.architecture != Architecture::perceptron;
  for (const auto& d : datasets) {
    if (d.n_inputs() != datasets[0].n_inputs() || d.n_patterns() != datasets[0].n_patterns())
      throw Error("all instances of a batch need the same N and P");
    if (d.model.architecture != model.architecture || d.model.hidden_units != model.hidden_units)
      throw Error("all instances of a batch need the same network (architecture and K)");
  }
  if (committee) {
    model.validate();
    if (std::size_t(model.inputs) != datasets[0].n_inputs())
      throw Error("the committee's N does not match its patterns' N");
    // The flips energy counts weight flips through a perceptron's stabilities; a committee has
    // no such exact, incrementally kept analog here (docs/committee.md).
    if (config.energy == EnergyKind::flips)
      throw Error("the flips energy is defined for the perceptron only; use the errors energy "
                  "(--energy errors) with committee machines");
  }
  // One sweep proposes every weight once per replica: K × fan_in of them (N for a perceptron).
  const std::size_t sites = committee ? model.weights() : datasets[0].n_inputs();
  const auto t0 = Clock::now();
  EngineSetup setup;
  setup.config = config;
  for (const auto& d : datasets) setup.datasets.push_back(&d);
  auto engine = backend.create_metropolis(setup);

  const int y = config.replicas;
  const int half_width = threshold_half_width(config, datasets[0].n_patterns());
  const std::size_t table_bytes =
      (std::size_t(config.coupling == Coupling::traced ? y : 2) * (2 * half_width - 1) + y + 1) * 4;
  const std::size_t max_chunk = std::max<std::size_t>(1, kMaxTableBytesPerChunk / table_bytes);
  const double proposals_per_sweep =
      double(sites) * (y + (config.coupling == Coupling::explicit_ ? 1 : 0));

  BatchResult result;
  result.backend = backend.name();
  result.device = backend.device_name();
  std::vector<InstanceStatus> status = engine->status();
  std::vector<double> solved_at(datasets.size(), -1.0);  // -1: not solved yet
  for (std::size_t b = 0; b < status.size(); ++b)
    if (status[b].solved) solved_at[b] = 0;
  std::vector<std::uint64_t> last_accepted(datasets.size(), 0), last_proposals(datasets.size(), 0);
  std::uint64_t sweep = 0;
  std::size_t chunk = 1;
  auto all_solved = [&] {
    return std::all_of(status.begin(), status.end(), [](const InstanceStatus& s) { return s.solved; });
  };
  while (sweep < config.max_sweeps && !all_solved()) {
    const double elapsed = seconds_since(t0);
    if (config.max_seconds > 0 && elapsed >= config.max_seconds) {
      result.stopped_by_time = true;
      break;
    }
    const std::size_t n = std::min<std::uint64_t>(chunk, config.max_sweeps - sweep);
    const ThresholdTables tables = build_thresholds(config, half_width, sweep, n);
    const auto c0 = Clock::now();
    engine->run_chunk(tables, config.trace_every);
    const double took = seconds_since(c0);
    sweep += n;
    status = engine->status();
    const double now = seconds_since(t0);
    for (std::size_t b = 0; b < status.size(); ++b)
      if (status[b].solved && solved_at[b] < 0) solved_at[b] = now;

    if (hooks.on_trace) {
      for (const auto& raw : engine->take_trace()) {
        TraceRecord r;
        r.instance = static_cast<std::uint32_t>(raw[0]);
        r.sweep = static_cast<std::uint64_t>(raw[1]);
        r.centre_errors = static_cast<int>(raw[2]);
        r.mean_distance = double(raw[3]) / (double(y) * double(sites));
        const std::size_t b = r.instance - datasets[0].instance;
        const std::uint64_t accepted = static_cast<std::uint64_t>(raw[4]);
        const std::uint64_t proposals =
            static_cast<std::uint64_t>(std::llround(double(r.sweep) * proposals_per_sweep));
        r.acceptance = proposals > last_proposals[b]
                           ? double(accepted - last_accepted[b]) / double(proposals - last_proposals[b])
                           : 0;
        last_accepted[b] = accepted;
        last_proposals[b] = proposals;
        r.beta = config.beta.at(r.sweep - 1, config.max_sweeps);
        r.gamma = config.gamma.at(r.sweep - 1, config.max_sweeps);
        r.replica_errors.assign(raw.begin() + 5, raw.end());
        hooks.on_trace(r);
      }
    } else {
      engine->take_trace();
    }
    if (hooks.on_progress) {
      SolveProgress p;
      p.sweeps = sweep;
      p.max_sweeps = config.max_sweeps;
      p.instances = status.size();
      p.solved = std::count_if(status.begin(), status.end(), [](auto& s) { return s.solved; });
      p.wall_seconds = seconds_since(t0);
      double proposals = 0;
      for (const auto& s : status) proposals += double(s.proposals);
      p.proposals_per_second = p.wall_seconds > 0 ? proposals / p.wall_seconds : 0;
      hooks.on_progress(p);
    }
    // Grow the chunk towards kChunkTargetSeconds so the host steps rarely but stays responsive.
    if (took < kChunkTargetSeconds / 2) chunk = std::min(max_chunk, chunk * 2);
    else if (took > kChunkTargetSeconds * 2 && chunk > 1) chunk /= 2;
  }
  result.sweeps_run = sweep;
  result.wall_seconds = seconds_since(t0);

  for (std::size_t b = 0; b < datasets.size(); ++b) {
    const ChainState c = engine->snapshot(b);
    InstanceResult r;
    r.instance = datasets[b].instance;
    r.solved = c.status.solved != 0;
    r.solved_by = c.status.solved_by;
    r.proposals = c.status.proposals;
    r.accepted = c.status.accepted;
    r.sweeps = double(c.status.proposals) / proposals_per_sweep;
    r.replica_errors.assign(c.errors.begin(), c.errors.end());
    r.replica_energy.assign(c.energy.begin(), c.energy.end());
    const std::vector<std::uint64_t> centre = c.centre_bits();
    r.centre_errors = count_errors(c.model(), datasets[b].folded_rows(), centre.data());
    r.centre_weights = unpack_signs(centre.data(), sites);
    for (int a = 0; a < y; ++a) r.replica_weights.push_back(unpack_signs(c.replica(a), sites));
    r.wall_seconds = result.wall_seconds;
    r.seconds_to_solution = r.solved ? solved_at[b] : 0;
    result.instances.push_back(std::move(r));
  }
  return result;
}

}  // namespace locent
