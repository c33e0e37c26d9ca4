// The member pipeline (include/locent/metropolis_pipeline.hpp, host/cpu/metropolis_pipeline.cpp):
// each member on its own, waiting only where the chain's order needs another's decision. Whole
// chains, in many interleavings of the members' actions, against the sequential chain of
// host/cpu/metropolis.cpp, bit for bit (state, counters, trace).
#include "host/cpu/metropolis_pipeline.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "locent/error.hpp"
#include "locent/metropolis_pipeline.hpp"
#include "locent/metropolis_rounds.hpp"
#include "tests/chain_against_sequential.hpp"
#include "tests/test_util.hpp"

namespace locent {
namespace {

using PipelineCase = test::AheadCase;  // span: the window

std::string pipeline_case_name(const testing::TestParamInfo<PipelineCase>& info) {
  return test::ahead_case_name(info.param, "window");
}

class PipelineEqualsSequential : public testing::TestWithParam<PipelineCase> {};

// Four interleavings of the members' actions, each the sequential chain; members wait for one
// another somewhere in each.
TEST_P(PipelineEqualsSequential, IdenticalTrajectoryAndState) {
  const PipelineCase& p = GetParam();
  std::uint64_t waits[4] = {};
  test::expect_runs_equal_sequential(
      p.sequential(), 4,
      [&](int v, ChainState& chain, const cpu::ChainData& data, const ThresholdTables& t,
          const cpu::ChunkOptions& options, std::vector<std::vector<std::int64_t>>& trace) {
        cpu::run_metropolis_pipeline(chain, data, t, options, p.k, p.span, 1000 + v, trace,
                                     &waits[v]);
      });
  const int members = p.replicas + (p.coupling == Coupling::explicit_ ? 1 : 0);
  if (members > 1)
    for (const std::uint64_t w : waits) EXPECT_GT(w, 0u);
}

INSTANTIATE_TEST_SUITE_P(
    Pipeline, PipelineEqualsSequential,
    testing::Values(
        PipelineCase{201, 0.6, 7, Coupling::traced, EnergyKind::flips, 8, 192, 0.4},
        PipelineCase{201, 0.6, 7, Coupling::traced, EnergyKind::errors, 5, 16, 0.4},
        PipelineCase{101, 0.8, 3, Coupling::explicit_, EnergyKind::flips, 8, 64, 0.4},
        PipelineCase{99, 0.8, 4, Coupling::explicit_, EnergyKind::errors, 32, 192, 0.4},
        PipelineCase{301, 0.7, 9, Coupling::traced, EnergyKind::flips, 32, 1, 0.4},
        // The longest window (the kernel's LOCENT_PIPELINE_WINDOW at most).
        PipelineCase{601, 0.6, 7, Coupling::traced, EnergyKind::flips, 16, kPipelineWindow, 0.4},
        PipelineCase{67, 0.9, 1, Coupling::traced, EnergyKind::flips, 16, 16, 0.4},
        PipelineCase{151, 0.7, 1, Coupling::explicit_, EnergyKind::flips, 4, 8, 0.4},
        PipelineCase{101, 0.8, 16, Coupling::traced, EnergyKind::flips, 2, 3, 0.3},
        PipelineCase{101, 0.8, 15, Coupling::explicit_, EnergyKind::flips, 8, 32, 0.3},
        // Small N: sites come up again within a few steps, often within one look.
        PipelineCase{31, 1.5, 5, Coupling::traced, EnergyKind::flips, 32, 192, 0.4},
        PipelineCase{33, 0.9, 4, Coupling::explicit_, EnergyKind::errors, 16, 7, 0.4},
        PipelineCase{9, 2.0, 6, Coupling::traced, EnergyKind::flips, 32, 2, 0.4},
        // Colder, easy: solved mid-sweep, by a replica or the centre.
        PipelineCase{101, 0.3, 5, Coupling::traced, EnergyKind::flips, 8, 192, 1.0},
        PipelineCase{101, 0.3, 5, Coupling::explicit_, EnergyKind::errors, 8, 16, 1.0},
        PipelineCase{61, 0.4, 7, Coupling::traced, EnergyKind::errors, 16, 32, 1.0}),
    pipeline_case_name);

// The needs of one proposal on a hand-made run of sites.
TEST(PipelineNeed, EarlierMembersTheStepLaterOnesThePreviousVisit) {
  // Steps 0..9; step 8 has the site of step 3.
  const int sites[10] = {4, 5, 6, 7, 8, 9, 10, 11, 7, 12};
  const auto site_of = [&](int j) { return sites[j]; };
  EXPECT_EQ(pipeline_previous_visit(site_of, 8, 192), 3);
  EXPECT_EQ(pipeline_previous_visit(site_of, 8, 5), 3);
  EXPECT_EQ(pipeline_previous_visit(site_of, 8, 4), -1);  // beyond the window
  EXPECT_EQ(pipeline_previous_visit(site_of, 9, 192), -1);
  // Member 2 at step 8: members 0 and 1 must have decided step 8, members 3.. step 3.
  EXPECT_EQ(pipeline_need(2, 0, 8, 3, 192), 9);
  EXPECT_EQ(pipeline_need(2, 1, 8, 3, 192), 9);
  EXPECT_EQ(pipeline_need(2, 3, 8, 3, 192), 4);
  // No earlier visit within the window: every step before the window.
  EXPECT_EQ(pipeline_need(2, 3, 8, -1, 4), 4);
  EXPECT_EQ(pipeline_need(2, 3, 8, -1, 192), 0);
}

TEST(PipelineEqualsSequential, RefusesBadParameters) {
  const Dataset d = test::storage_instance(41, 0.5, 1);
  AnnealConfig config = test::hot_config(3, Coupling::traced, EnergyKind::flips);
  const BitMatrix rows = d.folded_rows(), cols = rows.transposed();
  const cpu::ChainData data{&rows, &cols, 1, 0};
  const ThresholdTables t = build_thresholds(config, threshold_half_width(config, 20), 0, 1);
  std::vector<std::vector<std::int64_t>> trace;
  ChainState c = initial_chain(config, rows, 0);
  EXPECT_THROW(cpu::run_metropolis_pipeline(c, data, t, {}, 0, 4, 1, trace), Error);
  EXPECT_THROW(cpu::run_metropolis_pipeline(c, data, t, {}, kMaxRoundSteps + 1, 4, 1, trace),
               Error);
  EXPECT_THROW(cpu::run_metropolis_pipeline(c, data, t, {}, 4, 0, 1, trace), Error);
  EXPECT_THROW(cpu::run_metropolis_pipeline(c, data, t, {}, 4, kPipelineWindow + 1, 1, trace),
               Error);
}

}  // namespace
}  // namespace locent
