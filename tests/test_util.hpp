// Small helpers shared by the tests.
#pragma once
#include <utility>
#include <vector>

#include "locent/anneal.hpp"
#include "locent/backend.hpp"
#include "locent/problem.hpp"

namespace locent::test {

inline Dataset storage_instance(int n, double alpha, std::uint64_t seed, std::uint32_t instance = 0) {
  GenerateSpec spec;
  spec.model.inputs = n;
  spec.alpha = alpha;
  spec.seed = seed;
  return generate_dataset(spec, instance);
}

// A committee machine instance with storage labels: `arch` tree (N = K × fan_in inputs) or fully
// connected (N = fan_in inputs, K × fan_in weights); P = round(α × weights).
inline Dataset committee_instance(Architecture arch, int k, int fan_in, double alpha,
                                  std::uint64_t seed, std::uint32_t instance = 0) {
  GenerateSpec spec;
  spec.model.architecture = arch;
  spec.model.hidden_units = k;
  spec.model.inputs = arch == Architecture::committee_tree ? k * fan_in : fan_in;
  spec.alpha = alpha;
  spec.seed = seed;
  return generate_dataset(spec, instance);
}

inline AnnealConfig hot_config(int replicas, Coupling coupling, EnergyKind energy) {
  AnnealConfig c;
  c.replicas = replicas;
  c.coupling = coupling;
  c.energy = energy;
  c.beta = Schedule::constant(0.4);
  c.gamma = Schedule::constant(0.3);
  c.max_sweeps = 1000;
  return c;
}

// solve_batch on one CPU thread, with the trace records it reports.
inline std::pair<BatchResult, std::vector<TraceRecord>> solve_traced(
    const std::vector<Dataset>& data, const AnnealConfig& config) {
  std::vector<TraceRecord> trace;
  SolveHooks hooks;
  hooks.on_trace = [&](const TraceRecord& t) { trace.push_back(t); };
  auto cpu = make_cpu_backend(1);
  BatchResult r = solve_batch(data, config, *cpu, hooks);
  return {std::move(r), std::move(trace)};
}

}  // namespace locent::test
