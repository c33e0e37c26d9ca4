// Two chains, or the CUDA backend against the CPU backend on one batch: trajectory, counters and
// every piece of chain state, bit for bit. Shared by the tests of each kernel and of its twin.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "locent/backend.hpp"
#include "locent/chain_state.hpp"

namespace locent::test {

// Counters, flags and every piece of state of two chains (committee arrays are empty for a
// perceptron, so one comparison serves both).
inline void expect_same_chain(const ChainState& want, const ChainState& got) {
  EXPECT_EQ(want.status.proposals, got.status.proposals);
  EXPECT_EQ(want.status.accepted, got.status.accepted);
  EXPECT_EQ(want.status.solved, got.status.solved);
  EXPECT_EQ(want.status.solved_by, got.status.solved_by);
  EXPECT_EQ(want.weights, got.weights);
  EXPECT_EQ(want.centre, got.centre);
  EXPECT_EQ(want.site_sums, got.site_sums);
  EXPECT_EQ(want.stabilities, got.stabilities);
  EXPECT_EQ(want.votes, got.votes);
  EXPECT_EQ(want.field_plus_one, got.field_plus_one);
  EXPECT_EQ(want.field_minus_one, got.field_minus_one);
  EXPECT_EQ(want.votes_plus_one, got.votes_plus_one);
  EXPECT_EQ(want.votes_minus_one, got.votes_minus_one);
  EXPECT_EQ(want.set_a, got.set_a);
  EXPECT_EQ(want.set_b, got.set_b);
  EXPECT_EQ(want.size_a, got.size_a);
  EXPECT_EQ(want.size_b, got.size_b);
  EXPECT_EQ(want.energy, got.energy);
  EXPECT_EQ(want.errors, got.errors);
}

// The same batch solved by solve_batch on the CPU and on the CUDA backend: every instance solved,
// at the same proposal, by the same replica (or the centre), with the same weights.
inline void expect_same_solutions(const std::vector<Dataset>& data, const AnnealConfig& config,
                                  const CudaOptions& options = {}) {
  auto cpu = make_cpu_backend(2);
  auto gpu = make_cuda_backend(0, options);
  const BatchResult rc = solve_batch(data, config, *cpu), rg = solve_batch(data, config, *gpu);
  for (std::size_t b = 0; b < data.size(); ++b) {
    SCOPED_TRACE("instance " + std::to_string(b));
    EXPECT_TRUE(rc.instances[b].solved);
    EXPECT_EQ(rc.instances[b].solved, rg.instances[b].solved);
    EXPECT_EQ(rc.instances[b].solved_by, rg.instances[b].solved_by);
    EXPECT_EQ(rc.instances[b].proposals, rg.instances[b].proposals);
    EXPECT_EQ(rc.instances[b].replica_weights, rg.instances[b].replica_weights);
    EXPECT_EQ(rc.instances[b].centre_errors, rg.instances[b].centre_errors);
  }
}

// Runs the batch on both backends, in uneven chunks on purpose (the trajectory must not depend
// on how the host splits the run), and checks that trace, counters and every piece of state
// agree. Committee arrays are empty for a perceptron, so one comparison serves both. With
// `kernel`, the CUDA engine must say that its kernel name starts with it (the run tested the
// kernel it was meant to).
inline void expect_identical_runs(const std::vector<Dataset>& data, const AnnealConfig& config,
                                  const CudaOptions& options = {}, const std::string& kernel = "") {
  EngineSetup setup;
  setup.config = config;
  for (const auto& d : data) setup.datasets.push_back(&d);
  auto cpu = make_cpu_backend(2)->create_metropolis(setup);
  auto gpu = make_cuda_backend(0, options)->create_metropolis(setup);
  if (!kernel.empty()) {
    ASSERT_EQ(gpu->kernel().rfind(kernel, 0), 0u) << gpu->kernel();
  }
  const int hw = threshold_half_width(config, data[0].n_patterns());
  for (std::uint64_t s = 0; s < config.max_sweeps;) {
    const std::size_t n = std::min<std::uint64_t>(1 + s % 9, config.max_sweeps - s);
    const ThresholdTables t = build_thresholds(config, hw, s, n);
    cpu->run_chunk(t, config.trace_every);
    gpu->run_chunk(t, config.trace_every);
    s += n;
  }
  EXPECT_EQ(cpu->take_trace(), gpu->take_trace());
  for (std::size_t b = 0; b < data.size(); ++b) {
    SCOPED_TRACE("instance " + std::to_string(b));
    const ChainState c = cpu->snapshot(b), g = gpu->snapshot(b);
    EXPECT_EQ(c.hidden_units, data[b].model.hidden_units);
    EXPECT_GT(c.status.accepted, 0u);
    expect_same_chain(c, g);
    if (testing::Test::HasFailure()) return;
  }
}

}  // namespace locent::test
