// Frontier rounds (include/locent/metropolis_frontier.hpp, host/cpu/metropolis_frontier.cpp): each
// member at its own position. Whole chains against the sequential chain of host/cpu/metropolis.cpp,
// bit for bit (state, counters, trace), and the rounds' length against the plain rounds.
#include "host/cpu/metropolis_frontier.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "host/cpu/metropolis_rounds.hpp"
#include "locent/error.hpp"
#include "locent/metropolis_frontier.hpp"
#include "tests/backend_compare.hpp"
#include "tests/chain_against_sequential.hpp"
#include "tests/test_util.hpp"

namespace locent {
namespace {

using FrontierCase = test::AheadCase;  // span: the lead

std::string frontier_case_name(const testing::TestParamInfo<FrontierCase>& info) {
  return test::ahead_case_name(info.param, "lead");
}

class FrontierEqualsSequential : public testing::TestWithParam<FrontierCase> {};

// The chain in frontier rounds (masked walks and one proposal at a time) against the sequential
// chain, and against the plain rounds (fewer rounds wherever rounds can be longer than a step).
TEST_P(FrontierEqualsSequential, IdenticalTrajectoryAndState) {
  const FrontierCase& p = GetParam();
  std::uint64_t frontier_rounds = 0, one_rounds = 0, plain_rounds[2] = {0, 0};
  test::expect_runs_equal_sequential(
      p.sequential(), 3,
      [&](int v, ChainState& chain, const cpu::ChainData& data, const ThresholdTables& t,
          const cpu::ChunkOptions& options, std::vector<std::vector<std::int64_t>>& trace) {
        if (v == 2)
          cpu::run_metropolis_rounds(chain, data, t, options, p.k, true, trace, nullptr, 0,
                                     plain_rounds);
        else
          cpu::run_metropolis_frontier(chain, data, t, options, p.k, p.span, v == 0, trace,
                                       nullptr, v == 0 ? &frontier_rounds : &one_rounds);
      });
  EXPECT_EQ(frontier_rounds, one_rounds);
  // Fewer rounds, unless the lead is short or sites come up twice within most windows.
  if (p.beta < 1 && p.k >= 4 && p.span >= p.k && p.replicas > 1 && p.n >= 4 * (p.k + p.span))
    EXPECT_LT(frontier_rounds, plain_rounds[0]);
}

// The longer frontier rounds (a replica may move twice): 0, 1 and 30 more parts a round with
// masked walks, 1 with the walks one proposal at a time; the same chain, in fewer rounds than
// the frontier rounds wherever replicas move.
TEST_P(FrontierEqualsSequential, LongerRoundsIdenticalTrajectoryAndState) {
  const FrontierCase& p = GetParam();
  std::uint64_t counts[4][2] = {};
  const int parts[4] = {0, 1, 30, 1};
  const bool masked[4] = {true, true, true, false};
  test::expect_runs_equal_sequential(
      p.sequential(), 4,
      [&](int v, ChainState& chain, const cpu::ChainData& data, const ThresholdTables& t,
          const cpu::ChunkOptions& options, std::vector<std::vector<std::int64_t>>& trace) {
        cpu::run_metropolis_frontier(chain, data, t, options, p.k, p.span, masked[v], trace,
                                     nullptr, counts[v], parts[v]);
      });
  EXPECT_EQ(counts[0][1], 0u);
  EXPECT_EQ(counts[1][0], counts[3][0]);  // the same rounds, masked or not
  if (p.beta < 1 && p.k >= 4 && p.span >= p.k && p.replicas > 1 && p.n >= 4 * (p.k + p.span)) {
    EXPECT_GT(counts[1][1], 0u);
    EXPECT_LT(counts[1][0], counts[0][0]);
    EXPECT_LE(counts[2][0], counts[1][0]);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Frontier, FrontierEqualsSequential,
    testing::Values(
        FrontierCase{201, 0.6, 7, Coupling::traced, EnergyKind::flips, 8, 16, 0.4},
        FrontierCase{201, 0.6, 7, Coupling::traced, EnergyKind::flips, 16, 32, 0.4},
        FrontierCase{201, 0.6, 7, Coupling::traced, EnergyKind::errors, 5, 5, 0.4},
        FrontierCase{101, 0.8, 3, Coupling::explicit_, EnergyKind::flips, 8, 16, 0.4},
        FrontierCase{99, 0.8, 4, Coupling::explicit_, EnergyKind::errors, 32, 96, 0.4},
        FrontierCase{301, 0.7, 9, Coupling::traced, EnergyKind::flips, 32, 1, 0.4},
        FrontierCase{67, 0.9, 1, Coupling::traced, EnergyKind::flips, 16, 16, 0.4},
        FrontierCase{151, 0.7, 1, Coupling::explicit_, EnergyKind::flips, 4, 8, 0.4},
        FrontierCase{101, 0.8, 30, Coupling::traced, EnergyKind::flips, 2, 3, 0.3},
        // Small N, long windows: sites come up twice within a round often.
        FrontierCase{31, 1.5, 5, Coupling::traced, EnergyKind::flips, 32, 64, 0.4},
        FrontierCase{33, 0.9, 4, Coupling::explicit_, EnergyKind::errors, 16, 48, 0.4},
        // Colder, easy: solved mid-sweep, by a replica or the centre.
        FrontierCase{101, 0.3, 5, Coupling::traced, EnergyKind::flips, 8, 16, 1.0},
        FrontierCase{101, 0.3, 5, Coupling::explicit_, EnergyKind::errors, 8, 16, 1.0},
        FrontierCase{61, 0.4, 7, Coupling::traced, EnergyKind::errors, 16, 32, 1.0}),
    frontier_case_name);

// A worker team shares each round's counts and moves: nothing changes.
TEST(FrontierEqualsSequential, WorkerTeamsChangeNothing) {
  const Dataset d = test::storage_instance(1001, 0.6, 4);
  AnnealConfig config = test::hot_config(7, Coupling::traced, EnergyKind::flips);
  config.max_sweeps = 10;
  const BitMatrix rows = d.folded_rows(), cols = rows.transposed();
  const cpu::ChainData data{&rows, &cols, 3, 1};
  const ThresholdTables t =
      build_thresholds(config, threshold_half_width(config, d.n_patterns()), 0, 10);
  cpu::ChunkOptions options;
  options.trace_every = 3;
  std::vector<std::vector<std::int64_t>> want_trace;
  ChainState want = initial_chain(config, rows, 1);
  cpu::run_metropolis_chunk(want, data, t, options, want_trace);
  for (int members : {2, 3}) {
    cpu::WorkerTeam team(members);
    std::vector<std::vector<std::int64_t>> trace;
    ChainState got = initial_chain(config, rows, 1);
    cpu::run_metropolis_frontier(got, data, t, options, 16, 32, true, trace, &team);
    EXPECT_EQ(trace, want_trace);
    test::expect_same_chain(want, got);
  }
}

// Where a site comes up twice within a round, a member waits for the others (frontier_step_safe):
// a hand-made window.
TEST(FrontierStepSafe, RefusesOnlyWhereARepeatedSiteCanChangeTheCoupling) {
  // Window steps 10..15; step 12 and step 14 share site 7.
  const RoundStep steps[6] = {{1, 0, false}, {2, 0, false}, {7, 0, false},
                              {3, 0, false}, {7, 0, false}, {4, 0, false}};
  const ProposalBits repeated = ProposalBits{1} << 2 | ProposalBits{1} << 4;
  // Not repeated: always safe.
  EXPECT_TRUE(frontier_step_safe(steps, repeated, 10, 16, 11, true, 16, true));
  // Step 12: an earlier member already past 14 may have flipped site 7 there.
  EXPECT_FALSE(frontier_step_safe(steps, repeated, 10, 16, 12, true, 15, false));
  EXPECT_TRUE(frontier_step_safe(steps, repeated, 10, 16, 12, true, 14, false));
  EXPECT_TRUE(frontier_step_safe(steps, repeated, 10, 16, 12, false, 16, true));
  // Step 14: a later member has yet to decide step 12, at the same site.
  EXPECT_FALSE(frontier_step_safe(steps, repeated, 10, 16, 14, false, 0, true));
  EXPECT_TRUE(frontier_step_safe(steps, repeated, 10, 16, 14, true, 16, false));
}

TEST(FrontierEqualsSequential, RefusesBadParameters) {
  const Dataset d = test::storage_instance(41, 0.5, 1);
  AnnealConfig config = test::hot_config(3, Coupling::traced, EnergyKind::flips);
  const BitMatrix rows = d.folded_rows(), cols = rows.transposed();
  const cpu::ChainData data{&rows, &cols, 1, 0};
  const ThresholdTables t = build_thresholds(config, threshold_half_width(config, 20), 0, 1);
  std::vector<std::vector<std::int64_t>> trace;
  ChainState c = initial_chain(config, rows, 0);
  EXPECT_THROW(cpu::run_metropolis_frontier(c, data, t, {}, 0, 4, true, trace), Error);
  EXPECT_THROW(cpu::run_metropolis_frontier(c, data, t, {}, kMaxRoundSteps + 1, 4, true, trace),
               Error);
  EXPECT_THROW(cpu::run_metropolis_frontier(c, data, t, {}, 4, 0, true, trace), Error);
  EXPECT_THROW(cpu::run_metropolis_frontier(c, data, t, {}, 32, kMaxFrontierWindow - 31, true,
                                            trace),
               Error);
}

}  // namespace
}  // namespace locent
