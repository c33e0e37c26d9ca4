// The CUDA backend against the CPU backend on one batch: trajectory, counters and every piece of
// chain state, bit for bit. Shared by the CUDA tests of each kernel.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

#include "locent/backend.hpp"

namespace locent::test {

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
    EXPECT_EQ(c.status.proposals, g.status.proposals);
    EXPECT_EQ(c.status.accepted, g.status.accepted);
    EXPECT_EQ(c.status.solved, g.status.solved);
    EXPECT_EQ(c.status.solved_by, g.status.solved_by);
    EXPECT_EQ(c.weights, g.weights);
    EXPECT_EQ(c.centre, g.centre);
    EXPECT_EQ(c.site_sums, g.site_sums);
    EXPECT_EQ(c.stabilities, g.stabilities);
    EXPECT_EQ(c.votes, g.votes);
    EXPECT_EQ(c.field_plus_one, g.field_plus_one);
    EXPECT_EQ(c.field_minus_one, g.field_minus_one);
    EXPECT_EQ(c.votes_plus_one, g.votes_plus_one);
    EXPECT_EQ(c.votes_minus_one, g.votes_minus_one);
    EXPECT_EQ(c.set_a, g.set_a);
    EXPECT_EQ(c.set_b, g.set_b);
    EXPECT_EQ(c.size_a, g.size_a);
    EXPECT_EQ(c.size_b, g.size_b);
    EXPECT_EQ(c.energy, g.energy);
    EXPECT_EQ(c.errors, g.errors);
    if (testing::Test::HasFailure()) return;
  }
}

}  // namespace locent::test
