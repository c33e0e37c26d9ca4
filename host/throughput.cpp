// Throughput workloads (throughput.hpp).
#include "locent/throughput.hpp"

#include <chrono>

#include "bench/plain_loop.hpp"
#include "locent/fbp.hpp"

namespace locent {

std::uint64_t default_sweeps(int inputs) {
  return inputs <= 2001 ? 1000 : inputs <= 20001 ? 30 : 3;
}

RsaThroughput measure_rsa(Backend& backend, const RsaWorkload& w) {
  GenerateSpec spec;
  spec.model.inputs = w.inputs;
  spec.alpha = w.alpha;
  spec.seed = w.seed;
  const Dataset base = generate_dataset(spec, 0);
  // Independent chains (the Monte Carlo is keyed by the instance index) on one shared pattern
  // set: generating hundreds of N = 10^4 instances would cost more than the measurement.
  std::vector<Dataset> data(w.instances, base);
  for (std::size_t b = 0; b < data.size(); ++b) data[b].instance = static_cast<std::uint32_t>(b);

  AnnealConfig config;
  config.replicas = w.replicas;
  config.beta = Schedule::constant(w.beta);
  config.gamma = Schedule::constant(w.gamma);
  config.max_sweeps = w.sweeps + 1;
  config.seed = w.seed;
  config.centre_check_every = 1 << 30;  // the centre is not checked while timing
  EngineSetup setup;
  setup.config = config;
  for (const auto& d : data) setup.datasets.push_back(&d);
  auto engine = backend.create_metropolis(setup);
  const int hw = threshold_half_width(config, base.n_patterns());
  engine->run_chunk(build_thresholds(config, hw, 0, 1), 0);
  std::uint64_t before = 0, accepted_before = 0;
  for (const auto& s : engine->status()) before += s.proposals, accepted_before += s.accepted;

  const ThresholdTables tables = build_thresholds(config, hw, 1, w.sweeps);
  const auto t0 = std::chrono::steady_clock::now();
  engine->run_chunk(tables, 0);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  RsaThroughput r;
  for (const auto& s : engine->status()) r.proposals += s.proposals, r.accepted += s.accepted;
  r.proposals -= before;
  r.accepted -= accepted_before;
  r.seconds = seconds;
  r.proposals_per_second = seconds > 0 ? r.proposals / seconds : 0;
  r.kernel = engine->kernel();
  return r;
}

RsaThroughput measure_plain_loop(const RsaWorkload& w) {
  GenerateSpec spec;
  spec.model.inputs = w.inputs;
  spec.alpha = w.alpha;
  spec.seed = w.seed;
  const bench::PlainLoopResult p =
      bench::run_plain_loop(generate_dataset(spec, 0), w.replicas, w.beta, w.gamma, w.sweeps, w.seed);
  RsaThroughput r;
  r.proposals = p.proposals;
  r.accepted = p.accepted;
  r.seconds = p.seconds;
  r.proposals_per_second = p.proposals_per_second();
  return r;
}

FbpThroughput measure_fbp(bool cuda, const FbpWorkload& w, int threads) {
  GenerateSpec spec;
  spec.model.inputs = w.inputs;
  spec.alpha = w.alpha;
  spec.seed = w.seed;
  const Dataset data = generate_dataset(spec, 0);
  auto engine = cuda ? make_cuda_fbp_engine(data) : make_cpu_fbp_engine(data, threads);
  engine->load_messages(random_fbp_messages(data, FbpConfig{}.init_size, w.seed));
  const FocusingParams focusing = FocusingParams::make(kInfinity, 1.0);
  const double damping = FbpConfig{}.damping;
  engine->iterate(focusing, damping);  // warm-up; iterate() returns after the device finished
  FbpThroughput r;
  const auto t0 = std::chrono::steady_clock::now();
  double seconds = 0;
  while (r.iterations < w.iterations || seconds < w.min_seconds) {
    engine->iterate(focusing, damping);
    ++r.iterations;
    seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  r.seconds_per_iteration = seconds / r.iterations;
  r.messages = data.n_patterns() * static_cast<std::size_t>(w.inputs);
  r.messages_per_second = r.messages / r.seconds_per_iteration;
  return r;
}

}  // namespace locent
