// Committee machines end to end through solve_batch on the CPU backend: rSA with the committee
// defaults solves tree committees (K = 3, 101 inputs per unit, α = 0.3) from several seeds,
// results have the committee's shapes, and what committees do not support is refused clearly.
#include <gtest/gtest.h>

#include "locent/backend.hpp"
#include "locent/error.hpp"
#include "tests/test_util.hpp"

namespace locent {
namespace {

// The acceptance case of docs/committee.md: every seed is solved well inside the budget
// (measured: 10/10 instances, median about 3000 sweeps).
TEST(CommitteeSolve, TreeK3AtAlpha03IsSolvedFromSeveralSeeds) {
  auto cpu = make_cpu_backend(2);
  for (std::uint64_t seed : {1, 2, 3}) {
    std::vector<Dataset> data;
    for (std::uint32_t b = 0; b < 2; ++b)
      data.push_back(test::committee_instance(Architecture::committee_tree, 3, 101, 0.3, seed, b));
    ASSERT_EQ(data[0].n_inputs(), 303u);
    ASSERT_EQ(data[0].n_patterns(), 91u);
    AnnealConfig config = committee_defaults();
    config.seed = seed;
    const BatchResult r = solve_batch(data, config, *cpu);
    for (std::size_t b = 0; b < data.size(); ++b) {
      SCOPED_TRACE("seed " + std::to_string(seed) + " instance " + std::to_string(b));
      const InstanceResult& i = r.instances[b];
      ASSERT_TRUE(i.solved);
      EXPECT_LT(i.sweeps, 0.8 * double(config.max_sweeps));
      ASSERT_EQ(i.best_weights().size(), 303u);
      // Recounted by the data model, from the raw (unfolded) patterns and labels.
      EXPECT_EQ(count_misclassified(data[b], i.best_weights()), 0u);
    }
  }
}

// Weights come back K × fan_in long, sweeps count K × fan_in steps, and the centre's errors are a
// committee's.
TEST(CommitteeSolve, ResultsHaveTheCommitteeShapes) {
  for (Architecture arch : {Architecture::committee_tree, Architecture::committee_fc}) {
    const std::vector<Dataset> data = {test::committee_instance(arch, 3, 21, 1.5, 4)};
    AnnealConfig config = committee_defaults();
    config.replicas = 5;
    config.max_sweeps = 7;
    config.trace_every = 7;
    const auto [r, trace] = test::solve_traced(data, config);
    const InstanceResult& i = r.instances[0];
    ASSERT_FALSE(i.solved);
    EXPECT_EQ(i.proposals, 7u * 63 * 5);
    EXPECT_DOUBLE_EQ(i.sweeps, 7.0);
    ASSERT_EQ(i.replica_weights.size(), 5u);
    for (const auto& w : i.replica_weights) EXPECT_EQ(w.size(), 63u);
    EXPECT_EQ(i.centre_weights.size(), 63u);
    EXPECT_EQ(std::size_t(i.centre_errors), count_misclassified(data[0], i.centre_weights));
    for (int a = 0; a < 5; ++a)
      EXPECT_EQ(std::size_t(i.replica_errors[a]),
                count_misclassified(data[0], i.replica_weights[a]));
    ASSERT_EQ(trace.size(), 1u);
    EXPECT_EQ(trace[0].centre_errors, i.centre_errors);
    EXPECT_GT(trace[0].mean_distance, 0.0);
    EXPECT_LE(trace[0].mean_distance, 1.0);
  }
}

// The same instance solved alone or inside a batch, with one thread or two, is the same run.
TEST(CommitteeSolve, ResultsDoNotDependOnBatchOrThreads) {
  AnnealConfig config = committee_defaults();
  config.max_sweeps = 200;
  config.seed = 3;
  std::vector<Dataset> batch;
  for (std::uint32_t b = 0; b < 3; ++b)
    batch.push_back(test::committee_instance(Architecture::committee_fc, 3, 25, 0.8, 3, b));
  auto two = make_cpu_backend(2), one = make_cpu_backend(1);
  const BatchResult all = solve_batch(batch, config, *two);
  for (std::uint32_t b = 0; b < 3; ++b) {
    const BatchResult alone = solve_batch({batch[b]}, config, *one);
    EXPECT_EQ(alone.instances[0].proposals, all.instances[b].proposals) << b;
    EXPECT_EQ(alone.instances[0].replica_weights, all.instances[b].replica_weights) << b;
  }
}

TEST(CommitteeSolve, RefusesWhatCommitteesDoNotSupport) {
  const Dataset committee = test::committee_instance(Architecture::committee_tree, 3, 21, 0.5, 1);
  auto cpu = make_cpu_backend(1);
  AnnealConfig flips = committee_defaults();
  flips.energy = EnergyKind::flips;
  try {
    solve_batch({committee}, flips, *cpu);
    FAIL() << "expected Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::usage);
    EXPECT_NE(std::string(e.what()).find("errors"), std::string::npos) << e.what();
  }
  // A perceptron with the same N and P is a different network: not one batch.
  Dataset perceptron = committee;
  perceptron.model = ModelSpec{};
  perceptron.model.inputs = committee.model.inputs;
  EXPECT_THROW(solve_batch({committee, perceptron}, committee_defaults(), *cpu), Error);
}

}  // namespace
}  // namespace locent
