// Speculative rounds (include/locent/metropolis_rounds.hpp, host/cpu/metropolis_rounds.cpp):
// the round logic on hand-made rounds, and whole chains advanced in rounds of 1 to 32 steps
// against the sequential chain of host/cpu/metropolis.cpp, bit for bit: state, counters, trace.
#include "host/cpu/metropolis_rounds.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>

#include "locent/bits.hpp"
#include "locent/error.hpp"
#include "locent/metropolis_pipeline.hpp"
#include "locent/metropolis_rounds.hpp"
#include "locent/backend.hpp"
#include "tests/backend_compare.hpp"
#include "tests/chain_against_sequential.hpp"
#include "tests/test_util.hpp"

namespace locent {
namespace {

// A table that accepts every proposal whose ΔE is below the window and rejects the rest.
struct AlwaysTable {
  std::vector<std::uint32_t> data;
  ThresholdView view;
  explicit AlwaysTable(int replicas) : data(replicas * 3 + replicas + 1, 0u), view{data.data(), 2, replicas} {}
};

struct NoRandom {
  std::uint32_t operator()(int, std::uint32_t) const { return 0xffffffffu; }
};

TEST(DecideRound, StopsAtTheFirstProposalOfAReplicaThatMoved) {
  const int y = 3;
  AlwaysTable t(y);
  // Step 0: replica 1 accepts (ΔE far below the window), 0 and 2 are rejected (far above).
  // Step 1 (same site): replica 0 rejected, then replica 1 again: its counts are stale.
  RoundStep steps[3] = {{5, 0b010u, false}, {5, 0b010u, false}, {9, 0u, false}};
  const int de[9] = {10, -10, 10, 10, -10, 10, -10, -10, -10};
  std::int64_t energy[3] = {20, 20, 20};
  RoundFlip flips[3];
  int centre[3];
  std::uint64_t proposals = 0, accepted = 0;
  const RoundOutcome out = decide_round(steps, 3, 0, y, true, de, t.view, NoRandom{}, energy,
                                        flips, centre, proposals, accepted);
  EXPECT_EQ(out.flips, 1);
  EXPECT_EQ(flips[0].step, 0);
  EXPECT_EQ(flips[0].replica, 1);
  EXPECT_TRUE(flips[0].was_plus);
  EXPECT_EQ(out.next_step, 1);
  EXPECT_EQ(out.next_replica, 1);
  EXPECT_FALSE(out.solved);
  EXPECT_EQ(proposals, 4u);
  EXPECT_EQ(accepted, 1u);
  EXPECT_EQ(energy[1], 10);
  // The flip is visible at both steps on site 5, not at site 9.
  EXPECT_EQ(steps[0].replica_plus, 0u);
  EXPECT_EQ(steps[1].replica_plus, 0u);
  EXPECT_EQ(steps[2].replica_plus, 0u);
}

TEST(DecideRound, StartsMidStepAndStopsWhenSolved) {
  const int y = 3;
  AlwaysTable t(y);
  RoundStep steps[2] = {{0, 0u, false}, {1, 0u, false}};
  const int de[6] = {-10, 10, 10, 10, -10, 10};
  std::int64_t energy[3] = {5, 10, 7};
  RoundFlip flips[3];
  int centre[2];
  std::uint64_t proposals = 0, accepted = 0;
  // Replica 0 of step 0 was decided by the previous round.
  const RoundOutcome out = decide_round(steps, 2, 1, y, true, de, t.view, NoRandom{}, energy,
                                        flips, centre, proposals, accepted);
  EXPECT_EQ(proposals, 4u);  // (0,1) (0,2) (1,0) (1,1)
  EXPECT_TRUE(out.solved);
  EXPECT_EQ(out.solved_by, 1);
  EXPECT_EQ(out.flips, 1);
  EXPECT_EQ(flips[0].step, 1);
  EXPECT_EQ(energy[1], 0);
  EXPECT_EQ(energy[0], 5);
}

TEST(DecideRound, ExplicitCentreMovesAreTakenAndSeenLater) {
  const int y = 1;
  std::vector<std::uint32_t> table(2 * 3 + 2, 0xffffffffu);  // every centre move accepted
  const ThresholdView view{table.data(), 2, 2};
  RoundStep steps[2] = {{4, 0u, false}, {4, 0u, false}};
  const int de[2] = {10, 10};  // replicas rejected
  std::int64_t energy[1] = {3};
  RoundFlip flips[1];
  int centre[2];
  std::uint64_t proposals = 0, accepted = 0;
  const RoundOutcome out = decide_round(steps, 2, 0, y, false, de, view, NoRandom{}, energy,
                                        flips, centre, proposals, accepted);
  EXPECT_EQ(out.centre_flips, 2);
  EXPECT_EQ(out.next_step, 2);
  EXPECT_EQ(proposals, 4u);
  EXPECT_FALSE(steps[1].centre_plus);  // flipped twice, seen at step 1
}

// The masked walk against the sequential decisions on random rounds: few distinct sites (so
// that flips land on sites later steps visit), random ΔE, tables and words, energies that can
// reach zero, rounds starting mid-step, both couplings, up to kMaxMaskedProposals (128). And the
// longer rounds taken in two parts against the same in one go.
TEST(DecideRound, MaskedWalkEqualsSequentialOnRandomRounds) {
  std::uint64_t state = 12345;
  const auto next = [&state]() {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<std::uint32_t>(state >> 32);
  };
  int rounds_with_flips = 0, rounds_stopped = 0, rounds_solved = 0, rounds_complete = 0, rounds_64 = 0;
  int rounds_continued = 0, rounds_in_three_parts = 0;
  for (int trial = 0; trial < 20000; ++trial) {
    const int y = 1 + next() % 30;  // every replica count the engine takes
    const bool traced = next() % 2;
    const int stride = round_stride(y, traced);
    const int most = kMaxMaskedProposals / stride;  // full rounds half the time
    const int count = next() % 2 ? most : 1 + next() % most;
    const int first = next() % y;
    const int hw = 3;
    const int states = traced ? y : 2;
    std::vector<std::uint32_t> table(states * (2 * hw - 1) + (traced ? 0 : y + 1));
    // Acceptance from about 2 % (most rounds run to their end) to about 30 % (most stop early).
    const std::uint32_t percent = std::uint32_t(1) << (next() % 5);
    for (auto& t : table) {
      const std::uint32_t r = next() % 100;
      t = r < percent ? 0xffffffffu : r < 2 * percent ? next() : 0u;
    }
    const ThresholdView view{table.data(), hw, states};
    std::vector<RoundStep> steps(count);
    for (auto& st : steps) st = RoundStep{int(next() % 3), next() & ((1u << y) - 1), bool(next() % 2)};
    std::vector<int> de(count * y);
    for (auto& d : de) d = next() % 100 < percent ? -3 - int(next() % 2) : int(next() % 6) - 2;  // inside the window
    std::vector<std::uint32_t> words(count * 32);
    for (auto& w : words) w = next();
    const auto random = [&words](int j, std::uint32_t slot) { return words[j * 32 + slot]; };
    std::vector<std::int64_t> energy(y);
    for (auto& e : energy) e = 1 + next() % 6;

    const std::vector<RoundStep> steps_before = steps;
    const std::vector<std::int64_t> energy_before = energy;
    ProposalBits tentative = 0;
    for (int q = first; q < count * stride; ++q)
      if (tentative_decision(steps.data(), q, y, traced, de.data(), view, random))
        tentative |= proposal_bit(q);
    RoundFlip flips[32];
    int centre[kMaxMaskedProposals];
    std::uint64_t p = 0, a = 0;
    const RoundOutcome s = decide_round(steps.data(), count, first, y, traced, de.data(), view,
                                        random, energy.data(), flips, centre, p, a);
    SCOPED_TRACE("trial " + std::to_string(trial));
    // The masked walk with a mask of type Bits, against the sequential decisions.
    const auto check_masked = [&](auto bits) {
      std::vector<RoundStep> steps_m = steps_before;
      std::vector<std::int64_t> energy_m = energy_before;
      RoundFlip flips_m[32];
      int centre_m[kMaxMaskedProposals];
      std::uint64_t p_m = 0, a_m = 0;
      const RoundOutcome m =
          decide_round_masked(steps_m.data(), count, first, y, traced, de.data(), view, random,
                              bits, energy_m.data(), flips_m, centre_m, p_m, a_m);
      ASSERT_EQ(s.flips, m.flips);
      ASSERT_EQ(s.centre_flips, m.centre_flips);
      ASSERT_EQ(s.next_step, m.next_step);
      ASSERT_EQ(s.next_replica, m.next_replica);
      ASSERT_EQ(s.solved, m.solved);
      ASSERT_EQ(s.solved_by, m.solved_by);
      ASSERT_EQ(p, p_m);
      ASSERT_EQ(a, a_m);
      ASSERT_EQ(energy, energy_m);
      for (int f = 0; f < s.flips; ++f) {
        ASSERT_EQ(flips[f].step, flips_m[f].step);
        ASSERT_EQ(flips[f].replica, flips_m[f].replica);
        ASSERT_EQ(flips[f].was_plus, flips_m[f].was_plus);
      }
      for (int f = 0; f < s.centre_flips; ++f) ASSERT_EQ(centre[f], centre_m[f]);
      for (int j = 0; j < count; ++j) {
        ASSERT_EQ(steps[j].replica_plus, steps_m[j].replica_plus);
        ASSERT_EQ(steps[j].centre_plus, steps_m[j].centre_plus);
      }
    };
    check_masked(tentative);
    if (HasFatalFailure()) return;
    if (count * stride <= 64) {  // the 64-bit mask as well
      check_masked(static_cast<std::uint64_t>(tentative));
      if (HasFatalFailure()) return;
      ++rounds_64;
    }
    // The longer rounds: in one go (decide_round_twice), or the plain decisions (masked) and
    // then continue_round_twice from where they stopped, as the kernel takes them.
    {
      const auto after = [](int j, int l, int a, bool j_was_plus, bool l_plus) {
        const unsigned h = unsigned(j * 131 + l * 31 + a * 7) * 2654435761u + j_was_plus * 3 + l_plus;
        return int((h >> 16) % 8) - 4;
      };
      std::vector<RoundStep> steps_w = steps_before, steps_c = steps_before;
      std::vector<std::int64_t> energy_w = energy_before, energy_c = energy_before;
      RoundFlip flips_w[64], flips_c[64];
      int centre_w[kMaxMaskedProposals], centre_c[kMaxMaskedProposals];
      std::uint64_t p_w = 0, a_w = 0, p_c = 0, a_c = 0;
      const RoundOutcome w =
          decide_round_twice(steps_w.data(), count, first, y, traced, de.data(), after, view,
                             random, energy_w.data(), flips_w, centre_w, p_w, a_w);
      const RoundOutcome plain =
          decide_round_masked(steps_c.data(), count, first, y, traced, de.data(), view, random,
                              tentative, energy_c.data(), flips_c, centre_c, p_c, a_c);
      // The parts after it, masked or one proposal after the other, by turns, while a replica
      // that moved once stops them.
      RoundOutcome c = plain;
      std::uint32_t known = 0;
      int parts = 0;
      for (std::uint32_t extend; (extend = replicas_to_extend(c, flips_c, count, known)) != 0;) {
        ASSERT_EQ((known & extend), 0u);
        known |= extend;
        ++parts;
        if (trial % 2 == 0) {
          c = continue_round(steps_c.data(), count, c, known, y, traced, de.data(), after, view,
                             random, energy_c.data(), flips_c, centre_c, p_c, a_c);
        } else {
          const RoundMoves moves(flips_c, c.flips, known);
          ProposalBits later = 0;
          for (int q = c.next_step * stride + c.next_replica; q < count * stride; ++q)
            if (tentative_decision(steps_c.data(), q, y, traced, de.data(), view, random, &moves,
                                   after))
              later |= proposal_bit(q);
          c = continue_round_masked(steps_c.data(), count, c, known, y, traced, de.data(), after,
                                    view, random, later, energy_c.data(), flips_c, centre_c, p_c,
                                    a_c);
        }
      }
      ASSERT_EQ(w.flips, c.flips);
      ASSERT_EQ(w.centre_flips, c.centre_flips);
      ASSERT_EQ(w.next_step, c.next_step);
      ASSERT_EQ(w.next_replica, c.next_replica);
      ASSERT_EQ(w.solved, c.solved);
      ASSERT_EQ(w.solved_by, c.solved_by);
      ASSERT_EQ(p_w, p_c);
      ASSERT_EQ(a_w, a_c);
      ASSERT_EQ(energy_w, energy_c);
      for (int f = 0; f < w.flips; ++f) {
        ASSERT_EQ(flips_w[f].step, flips_c[f].step);
        ASSERT_EQ(flips_w[f].replica, flips_c[f].replica);
        ASSERT_EQ(flips_w[f].was_plus, flips_c[f].was_plus);
      }
      for (int f = 0; f < w.centre_flips; ++f) ASSERT_EQ(centre_w[f], centre_c[f]);
      for (int j = 0; j < count; ++j) {
        ASSERT_EQ(steps_w[j].replica_plus, steps_c[j].replica_plus);
        ASSERT_EQ(steps_w[j].centre_plus, steps_c[j].centre_plus);
      }
      rounds_continued += c.flips > plain.flips || c.next_step > plain.next_step;
      rounds_in_three_parts += parts >= 2;
    }
    rounds_with_flips += s.flips > 0;
    rounds_stopped += !s.solved && s.next_step < count;
    rounds_solved += s.solved;
    rounds_complete += !s.solved && s.next_step == count;
  }
  // The random rounds reach every way a round can end.
  EXPECT_GT(rounds_with_flips, 5000);
  EXPECT_GT(rounds_stopped, 1000);
  EXPECT_GT(rounds_solved, 1000);
  EXPECT_GT(rounds_complete, 2000);
  EXPECT_GT(rounds_64, 3000);
  EXPECT_GT(rounds_continued, 1000);
  EXPECT_GT(rounds_in_three_parts, 300);
}

// The adaptive round length: the most with no history, twice the expected round length
// 1/(1 − (1 − p)^y) otherwise, within [2, k_max], longer as the acceptance falls.
TEST(DecideRound, AdaptiveRoundLengthFollowsTheAcceptance) {
  EXPECT_EQ(adaptive_round_steps(0, 0, 7, 16), 16);
  EXPECT_EQ(adaptive_round_steps(0, 1000, 7, 16), 16);      // nothing accepted
  EXPECT_EQ(adaptive_round_steps(500, 1000, 7, 16), 2);     // half accepted
  EXPECT_EQ(adaptive_round_steps(50, 1000, 7, 16), 6);      // 5 %: rounds of ≈ 3.4 steps
  EXPECT_EQ(adaptive_round_steps(10, 1000, 7, 32), 29);     // 1 %: ≈ 14.7
  EXPECT_EQ(adaptive_round_steps(50, 1000, 7, 1), 1);       // never above k_max
  int last = 2;
  for (int accepted = 1000; accepted >= 0; accepted -= 10) {
    const int k = adaptive_round_steps(accepted, 1000, 5, 32);
    EXPECT_GE(k, last);
    EXPECT_LE(k, 32);
    last = k;
  }
  // The longer rounds (to some replica's second move): about three times as long.
  EXPECT_EQ(adaptive_round_steps_twice(0, 0, 7, 16), 16);
  EXPECT_EQ(adaptive_round_steps_twice(0, 1000, 7, 16), 16);
  EXPECT_EQ(adaptive_round_steps_twice(500, 1000, 7, 16), 4);   // ≈ 2.1 steps
  EXPECT_EQ(adaptive_round_steps_twice(50, 1000, 7, 32), 24);   // 5 %: ≈ 12.2 (plain: 3.4)
  EXPECT_EQ(adaptive_round_steps_twice(50, 1000, 7, 16), 16);
  last = 2;
  for (int accepted = 1000; accepted >= 0; accepted -= 10) {
    const int k = adaptive_round_steps_twice(accepted, 1000, 5, 32);
    EXPECT_GE(k, last);
    EXPECT_GE(k, adaptive_round_steps(accepted, 1000, 5, 32));
    EXPECT_LE(k, 32);
    last = k;
  }
}

struct Case {
  int n;
  double alpha;
  int replicas;
  Coupling coupling;
  EnergyKind energy;
  int round_steps;
  double beta;
  bool masked;  // decide_round_masked where it applies, else decide_round
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << "N=" << c.n << " alpha=" << c.alpha << " y=" << c.replicas << " k=" << c.round_steps;
}

std::string case_name(const testing::TestParamInfo<Case>& info) {
  const Case& c = info.param;
  return "N" + std::to_string(c.n) + "_y" + std::to_string(c.replicas) +
         (c.coupling == Coupling::traced ? "_traced" : "_explicit") +
         (c.energy == EnergyKind::flips ? "_flips" : "_errors") + "_k" +
         std::to_string(c.round_steps) + "_beta" + std::to_string(int(c.beta * 10)) +
         (c.masked ? "_masked" : "_sequential");
}

class RoundsEqualSequential : public testing::TestWithParam<Case> {};

// The chain in rounds (plain, or longer with `extensions`) against the sequential chain; returns
// the number of rounds.
std::uint64_t expect_rounds_equal_sequential(const Case& p, int extensions) {
  std::uint64_t round_count[2] = {0, 0};  // rounds, parts after the plain decisions
  test::expect_runs_equal_sequential(
      {p.n, p.alpha, p.replicas, p.coupling, p.energy, p.beta}, 1,
      [&](int, ChainState& chain, const cpu::ChainData& data, const ThresholdTables& t,
          const cpu::ChunkOptions& options, std::vector<std::vector<std::int64_t>>& trace) {
        cpu::run_metropolis_rounds(chain, data, t, options, p.round_steps, p.masked, trace,
                                   nullptr, extensions, round_count);
      });
  return round_count[0];
}

TEST_P(RoundsEqualSequential, IdenticalTrajectoryAndState) {
  expect_rounds_equal_sequential(GetParam(), 0);
}

// Longer rounds, a replica moving up to twice (the plain decisions, masked or not, then parts
// with the second-order terms of the replicas that moved): the same chain, in fewer rounds
// wherever rounds are longer than a step and replicas move; fewer still with more parts.
TEST_P(RoundsEqualSequential, LongerRoundsIdenticalTrajectoryAndState) {
  const Case& p = GetParam();
  const std::uint64_t plain = expect_rounds_equal_sequential(p, 0);
  const std::uint64_t one_part = expect_rounds_equal_sequential(p, 1);
  const std::uint64_t longest = expect_rounds_equal_sequential(p, 32);
  if (p.round_steps >= 4 && p.beta < 1) {
    EXPECT_LT(one_part, plain);
    if (p.replicas > 1) EXPECT_LT(longest, one_part);
  } else {
    EXPECT_LE(one_part, plain);
  }
  EXPECT_LE(longest, one_part);
}

INSTANTIATE_TEST_SUITE_P(
    Rounds, RoundsEqualSequential,
    testing::Values(Case{201, 0.6, 7, Coupling::traced, EnergyKind::flips, 1, 0.4, false},
                    Case{201, 0.6, 7, Coupling::traced, EnergyKind::flips, 1, 0.4, true},
                    Case{201, 0.6, 7, Coupling::traced, EnergyKind::flips, 8, 0.4, false},
                    Case{201, 0.6, 7, Coupling::traced, EnergyKind::flips, 8, 0.4, true},
                    Case{201, 0.6, 7, Coupling::traced, EnergyKind::errors, 5, 0.4, false},
                    Case{201, 0.6, 7, Coupling::traced, EnergyKind::errors, 5, 0.4, true},
                    Case{101, 0.8, 3, Coupling::explicit_, EnergyKind::flips, 8, 0.4, false},
                    Case{101, 0.8, 3, Coupling::explicit_, EnergyKind::flips, 8, 0.4, true},
                    Case{99, 0.8, 4, Coupling::explicit_, EnergyKind::errors, 32, 0.4, false},
                    Case{99, 0.8, 4, Coupling::explicit_, EnergyKind::errors, 32, 0.4, true},
                    Case{301, 0.7, 9, Coupling::traced, EnergyKind::flips, 32, 0.4, false},
                    Case{301, 0.7, 9, Coupling::traced, EnergyKind::flips, 32, 0.4, true},
                    Case{67, 0.9, 1, Coupling::traced, EnergyKind::flips, 16, 0.4, false},
                    Case{67, 0.9, 1, Coupling::traced, EnergyKind::flips, 16, 0.4, true},
                    // Rounds of exactly 64 proposals or just under, for the masked walk.
                    Case{201, 0.6, 7, Coupling::traced, EnergyKind::flips, 9, 0.4, true},
                    Case{201, 0.6, 7, Coupling::explicit_, EnergyKind::flips, 8, 0.4, true},
                    Case{151, 0.7, 3, Coupling::explicit_, EnergyKind::errors, 16, 0.4, true},
                    Case{151, 0.7, 1, Coupling::explicit_, EnergyKind::flips, 32, 0.4, true},
                    Case{101, 0.8, 30, Coupling::traced, EnergyKind::flips, 2, 0.3, true},
                    // Colder, easy: solved mid-round, by a replica or the centre.
                    Case{101, 0.3, 5, Coupling::traced, EnergyKind::flips, 8, 1.0, false},
                    Case{101, 0.3, 5, Coupling::traced, EnergyKind::flips, 8, 1.0, true},
                    Case{101, 0.3, 5, Coupling::explicit_, EnergyKind::errors, 8, 1.0, false},
                    Case{101, 0.3, 5, Coupling::explicit_, EnergyKind::errors, 8, 1.0, true}),
    case_name);

// A worker team shares each round's counts and moves: same trajectory and state for any size,
// including more members than steps in a round and than pattern words.
TEST(RoundsEqualSequential, WorkerTeamsChangeNothing) {
  struct TeamCase {
    int n;
    double alpha;
    int y;
    Coupling coupling;
    EnergyKind energy;
    int k;
  };
  for (const TeamCase& p : {TeamCase{1001, 0.6, 7, Coupling::traced, EnergyKind::flips, 8},
                            TeamCase{301, 0.8, 4, Coupling::explicit_, EnergyKind::errors, 3},
                            TeamCase{65, 0.9, 3, Coupling::traced, EnergyKind::flips, 16}}) {
    const Dataset d = test::storage_instance(p.n, p.alpha, 4);
    AnnealConfig config = test::hot_config(p.y, p.coupling, p.energy);
    config.max_sweeps = 20;
    const BitMatrix rows = d.folded_rows(), cols = rows.transposed();
    const cpu::ChainData data{&rows, &cols, 3, 1};
    const int hw = threshold_half_width(config, d.n_patterns());
    cpu::ChunkOptions options;
    options.trace_every = 4;
    std::vector<std::vector<std::int64_t>> want_trace;
    ChainState want = initial_chain(config, rows, 1);
    cpu::run_metropolis_chunk(want, data, build_thresholds(config, hw, 0, 20), options, want_trace);
    for (int members : {2, 3, 5}) {
      SCOPED_TRACE("N=" + std::to_string(p.n) + " team of " + std::to_string(members));
      cpu::WorkerTeam team(members);
      std::vector<std::vector<std::int64_t>> trace;
      ChainState got = initial_chain(config, rows, 1);
      for (int s = 0; s < 20; s += 5)
        cpu::run_metropolis_rounds(got, data, build_thresholds(config, hw, s, 5), options, p.k,
                                   true, trace, &team);
      EXPECT_GT(want.status.accepted, 100u);
      EXPECT_EQ(trace, want_trace);
      test::expect_same_chain(want, got);
    }
  }
}

// The CPU backend gives a lone large instance all its threads, in rounds: the same chain as on
// one thread.
TEST(RoundsEqualSequential, CpuBackendSharesALoneLargeInstance) {
  const Dataset d = test::storage_instance(40001, 0.6, 2);  // P = 24001
  AnnealConfig config = test::hot_config(7, Coupling::traced, EnergyKind::flips);
  config.max_sweeps = 2;
  config.trace_every = 1;
  EngineSetup setup;
  setup.config = config;
  setup.datasets.push_back(&d);
  auto one = make_cpu_backend(1)->create_metropolis(setup);
  auto team = make_cpu_backend(3)->create_metropolis(setup);
  EXPECT_EQ(one->kernel().find("rounds"), std::string::npos);
  EXPECT_NE(team->kernel().find("rounds"), std::string::npos) << team->kernel();
  const int hw = threshold_half_width(config, d.n_patterns());
  for (std::uint64_t s = 0; s < 2; ++s) {
    const ThresholdTables t = build_thresholds(config, hw, s, 1);
    one->run_chunk(t, config.trace_every);
    team->run_chunk(t, config.trace_every);
  }
  EXPECT_EQ(one->take_trace(), team->take_trace());
  const ChainState a = one->snapshot(0), b = team->snapshot(0);
  EXPECT_GT(a.status.accepted, 1000u);
  test::expect_same_chain(a, b);
}

TEST(RoundsEqualSequential, SolvedInstancesStopAtTheSameProposal) {
  // Whatever the round length, an easy instance is solved at the sequential chain's proposal.
  const Dataset d = test::storage_instance(151, 0.4, 8);
  AnnealConfig config;  // the solver's defaults
  config.max_sweeps = 2000;
  const BitMatrix rows = d.folded_rows(), cols = rows.transposed();
  const cpu::ChainData data{&rows, &cols, 2, 0};
  const int hw = threshold_half_width(config, d.n_patterns());
  std::vector<std::vector<std::int64_t>> trace;
  ChainState want = initial_chain(config, rows, 0);
  cpu::run_metropolis_chunk(want, data, build_thresholds(config, hw, 0, 2000), {}, trace);
  ASSERT_TRUE(want.status.solved);
  for (int k : {2, 7, 32}) {
    ChainState got = initial_chain(config, rows, 0);
    cpu::run_metropolis_rounds(got, data, build_thresholds(config, hw, 0, 2000), {}, k, k != 7,
                               trace);
    EXPECT_TRUE(got.status.solved) << "k=" << k;
    EXPECT_EQ(got.status.proposals, want.status.proposals) << "k=" << k;
    EXPECT_EQ(got.status.solved_by, want.status.solved_by) << "k=" << k;
    EXPECT_EQ(got.weights, want.weights) << "k=" << k;
  }
}

TEST(RoundsEqualSequential, RefusesCommitteesAndBadRoundLengths) {
  const Dataset d = test::committee_instance(Architecture::committee_tree, 3, 11, 0.5, 1);
  AnnealConfig config = committee_defaults();
  const BitMatrix rows = d.folded_rows(), cols = rows.transposed();
  ChainState c = initial_chain(config, d.model, rows, 0);
  const cpu::ChainData data{&rows, &cols, 1, 0};
  std::vector<std::vector<std::int64_t>> trace;
  const ThresholdTables t = build_thresholds(config, threshold_half_width(config, d.n_patterns()), 0, 1);
  EXPECT_THROW(cpu::run_metropolis_rounds(c, data, t, {}, 4, true, trace), Error);
  const Dataset p = test::storage_instance(51, 0.5, 1);
  const BitMatrix prow = p.folded_rows(), pcol = prow.transposed();
  ChainState pc = initial_chain(AnnealConfig{}, prow, 0);
  const cpu::ChainData pdata{&prow, &pcol, 1, 0};
  EXPECT_THROW(cpu::run_metropolis_rounds(pc, pdata, t, {}, 0, true, trace), Error);
  EXPECT_THROW(cpu::run_metropolis_rounds(pc, pdata, t, {}, kMaxRoundSteps + 1, true, trace), Error);
}

}  // namespace
}  // namespace locent

// The rounds kernel (kernels/metropolis_rounds.cu) against the CPU backend, bit for bit, for
// clusters of 2 to 16 blocks (slices down to empty ones), one block per instance, and round
// lengths 1 to 32. Skips without a device of compute capability 9.0.
namespace locent {
namespace {

struct ClusterCase {
  int n;
  double alpha;
  int replicas;
  Coupling coupling;
  EnergyKind energy;
  int cluster, round_steps, instances;
  bool parallel_decisions = true;
  bool global_stabilities = false;  // one block per instance: stabilities left in global memory
  bool adaptive = true;             // rounds as long as the last sweep's acceptance says
};

void PrintTo(const ClusterCase& c, std::ostream* os) {
  *os << "N=" << c.n << " y=" << c.replicas << " C=" << c.cluster << " k=" << c.round_steps
      << " B=" << c.instances;
}

std::string cluster_case_name(const testing::TestParamInfo<ClusterCase>& info) {
  const ClusterCase& c = info.param;
  return "N" + std::to_string(c.n) + "_y" + std::to_string(c.replicas) +
         (c.coupling == Coupling::traced ? "_traced" : "_explicit") +
         (c.energy == EnergyKind::flips ? "_flips" : "_errors") + "_C" + std::to_string(c.cluster) +
         "_k" + std::to_string(c.round_steps) + "_B" + std::to_string(c.instances) +
         (c.parallel_decisions ? "" : "_sequential") + (c.global_stabilities ? "_global" : "") +
         (c.adaptive ? "" : "_fixed");
}

// The rounds kernels themselves: the member pipeline, which a cluster an instance takes by
// default, is switched off here and on in its own suites.
class ClusterRoundsEqualCpu : public testing::TestWithParam<ClusterCase> {
 protected:
  void SetUp() override {
    if (!cuda_clusters_available()) GTEST_SKIP() << "no CUDA device with thread-block clusters";
    setenv("LOCENT_ROUNDS_PIPELINE", "0", 1);
  }
  void TearDown() override { unsetenv("LOCENT_ROUNDS_PIPELINE"); }
};

void expect_rounds_equal_cpu(const ClusterCase& p) {
  std::vector<Dataset> data;
  for (int b = 0; b < p.instances; ++b) data.push_back(test::storage_instance(p.n, p.alpha, 31, b));
  AnnealConfig config = test::hot_config(p.replicas, p.coupling, p.energy);
  config.seed = 31;
  config.beta = Schedule::geometric(0.3, 3);
  config.gamma = p.replicas == 1 ? Schedule::constant(0) : Schedule::linear(0.1, 1.0);
  config.max_sweeps = 30;
  config.trace_every = 3;
  CudaOptions options;
  options.cluster_blocks = p.cluster;
  options.round_steps = p.round_steps;
  options.parallel_decisions = p.parallel_decisions;
  options.round_stabilities_in_global = p.global_stabilities;
  options.adaptive_rounds = p.adaptive;
  // The launches take the member pipeline where LOCENT_ROUNDS_PIPELINE=1, or by default for a
  // cluster an instance (every case here fits it); the engine must name the kernel it runs.
  const char* pipeline = std::getenv("LOCENT_ROUNDS_PIPELINE");
  const bool piped = pipeline == nullptr || *pipeline == '\0' ? p.cluster > 1
                                                               : std::string(pipeline) == "1";
  test::expect_identical_runs(data, config, options, piped ? "member pipeline" : "rounds");
}

TEST_P(ClusterRoundsEqualCpu, IdenticalTrajectoryAndState) { expect_rounds_equal_cpu(GetParam()); }

std::vector<ClusterCase> cluster_cases() {
  return {ClusterCase{201, 0.6, 7, Coupling::traced, EnergyKind::flips, 2, 8, 1},
          ClusterCase{1001, 0.6, 7, Coupling::traced, EnergyKind::flips, 4, 1, 1},
          // 20 pattern words over 16 blocks: six blocks hold nothing.
          ClusterCase{1001, 0.6, 7, Coupling::traced, EnergyKind::errors, 16, 8, 1},
          ClusterCase{301, 0.8, 4, Coupling::explicit_, EnergyKind::errors, 8, 5, 2},
          ClusterCase{255, 0.9, 3, Coupling::explicit_, EnergyKind::flips, 2, 32, 3},
          ClusterCase{501, 0.7, 1, Coupling::traced, EnergyKind::flips, 2, 16, 1},
          ClusterCase{4001, 0.6, 7, Coupling::traced, EnergyKind::flips, 8, 32, 3},
          ClusterCase{2001, 0.6, 9, Coupling::traced, EnergyKind::flips, 16, 8, 2},
          // Exactly 64 proposals a round (the parallel decisions' limit in the default
          // kernels), and the sequential decisions.
          ClusterCase{1001, 0.6, 7, Coupling::explicit_, EnergyKind::flips, 4, 8, 2},
          ClusterCase{1001, 0.6, 7, Coupling::traced, EnergyKind::flips, 4, 8, 1, false},
          ClusterCase{301, 0.8, 4, Coupling::explicit_, EnergyKind::errors, 2, 5, 1, false},
          // One block per instance (a cluster of one), many instances, both places
          // for the stabilities.
          ClusterCase{67, 0.9, 3, Coupling::traced, EnergyKind::flips, 1, 8, 300},
          ClusterCase{65, 1.1, 5, Coupling::explicit_, EnergyKind::errors, 1, 8, 300},
          ClusterCase{1001, 0.6, 7, Coupling::traced, EnergyKind::flips, 1, 8, 3, true, true},
          ClusterCase{1001, 0.6, 7, Coupling::traced, EnergyKind::flips, 1, 16, 3},
          ClusterCase{301, 0.8, 4, Coupling::explicit_, EnergyKind::errors, 1, 5, 2, false, true},
          // Every round its full length.
          ClusterCase{1001, 0.6, 7, Coupling::traced, EnergyKind::flips, 8, 8, 1, true, false, false},
          ClusterCase{1001, 0.6, 7, Coupling::explicit_, EnergyKind::errors, 1, 32, 4, true, false, false},
          // 128 proposals a round: the lean kernels' widest parallel decisions.
          ClusterCase{1001, 0.6, 7, Coupling::explicit_, EnergyKind::flips, 4, 16, 2}};
}

INSTANTIATE_TEST_SUITE_P(Cuda, ClusterRoundsEqualCpu, testing::ValuesIn(cluster_cases()),
                         cluster_case_name);

// The rounds kernels' variants (kernels/metropolis_rounds.cu) by their switches, set for as long
// as the object lives: the lean kernels; the longer rounds (a replica may move twice in a round,
// by the second-order terms of phases 6b–6d) in up to `parts` more parts a round; the frontier
// rounds (each member at its own position, metropolis_frontier.hpp); both.
// The member pipeline (kernels/metropolis_pipeline.cu, taken by the same launches) too, its
// counts by popcounts or on the tensor cores, and its other options.
enum class RoundsVariant {
  standard,
  lean,
  longer,
  frontier,
  frontier_longer,
  pipeline,  // from here on, the member pipeline's variants
  pipeline_tensor,
  pipeline_spread,  // the others' weights read a (member, step) pair a lane
  pipeline_staged,  // counts from columns copied into shared memory
  pipeline_interleaved,  // a thread's pattern words moved together, plane by plane
  pipeline_split,  // two blocks a replica, each with half of its pattern words
  pipeline_ordered  // the counts from a copy of the sweep's columns in step order
};
class RoundsVariantSwitches {
 public:
  RoundsVariantSwitches(RoundsVariant v, int parts) {
    const std::string n = std::to_string(parts);
    if (v == RoundsVariant::lean) setenv("LOCENT_ROUNDS_LEAN", "1", 1);
    if (v == RoundsVariant::longer || v == RoundsVariant::frontier_longer)
      setenv("LOCENT_ROUNDS_LONGER", n.c_str(), 1);
    if (v == RoundsVariant::frontier || v == RoundsVariant::frontier_longer)
      setenv("LOCENT_ROUNDS_FRONTIER", "1", 1);
    const bool pipeline = v >= RoundsVariant::pipeline;  // the member pipeline's, listed last
    setenv("LOCENT_ROUNDS_PIPELINE", pipeline ? "1" : "0", 1);
    if (v == RoundsVariant::pipeline_tensor) setenv("LOCENT_PIPELINE_COUNT", "tensor", 1);
    if (v == RoundsVariant::pipeline_spread) setenv("LOCENT_PIPELINE_READS", "spread", 1);
    if (v == RoundsVariant::pipeline_staged) setenv("LOCENT_PIPELINE_COUNT", "staged", 1);
    if (v == RoundsVariant::pipeline_interleaved) setenv("LOCENT_PIPELINE_MOVE", "interleaved", 1);
    if (v == RoundsVariant::pipeline_split) setenv("LOCENT_PIPELINE_PARTS", "2", 1);
    if (v == RoundsVariant::pipeline_ordered) setenv("LOCENT_PIPELINE_COLUMNS", "ordered", 1);
  }
  ~RoundsVariantSwitches() {
    for (const char* name : {"LOCENT_ROUNDS_LEAN", "LOCENT_ROUNDS_LONGER", "LOCENT_ROUNDS_FRONTIER",
                             "LOCENT_ROUNDS_PIPELINE", "LOCENT_PIPELINE_COUNT", "LOCENT_PIPELINE_READS",
                             "LOCENT_PIPELINE_MOVE", "LOCENT_PIPELINE_PARTS",
                             "LOCENT_PIPELINE_COLUMNS"})
      unsetenv(name);
  }
  RoundsVariantSwitches(const RoundsVariantSwitches&) = delete;
  RoundsVariantSwitches& operator=(const RoundsVariantSwitches&) = delete;
};

// The same cases on a variant: the longer rounds with up to three more parts (both buffers of
// the second records), the longer frontier rounds with up to two.
template <RoundsVariant kVariant>
class VariantClusterRoundsEqualCpu : public ClusterRoundsEqualCpu {
 protected:
  void SetUp() override {
    ClusterRoundsEqualCpu::SetUp();
    switches_.emplace(kVariant, kVariant == RoundsVariant::longer ? 3 : 2);
  }
  void TearDown() override { switches_.reset(); }

 private:
  std::optional<RoundsVariantSwitches> switches_;
};

using LeanClusterRoundsEqualCpu = VariantClusterRoundsEqualCpu<RoundsVariant::lean>;
using LongerClusterRoundsEqualCpu = VariantClusterRoundsEqualCpu<RoundsVariant::longer>;
using FrontierClusterRoundsEqualCpu = VariantClusterRoundsEqualCpu<RoundsVariant::frontier>;
using FrontierLongerClusterRoundsEqualCpu =
    VariantClusterRoundsEqualCpu<RoundsVariant::frontier_longer>;
using PipelineEqualCpu = VariantClusterRoundsEqualCpu<RoundsVariant::pipeline>;
using PipelineTensorEqualCpu = VariantClusterRoundsEqualCpu<RoundsVariant::pipeline_tensor>;
using PipelineSpreadEqualCpu = VariantClusterRoundsEqualCpu<RoundsVariant::pipeline_spread>;
using PipelineStagedEqualCpu = VariantClusterRoundsEqualCpu<RoundsVariant::pipeline_staged>;
using PipelineInterleavedEqualCpu =
    VariantClusterRoundsEqualCpu<RoundsVariant::pipeline_interleaved>;
using PipelineSplitEqualCpu = VariantClusterRoundsEqualCpu<RoundsVariant::pipeline_split>;
using PipelineOrderedEqualCpu = VariantClusterRoundsEqualCpu<RoundsVariant::pipeline_ordered>;

TEST_P(LeanClusterRoundsEqualCpu, IdenticalTrajectoryAndState) { expect_rounds_equal_cpu(GetParam()); }
TEST_P(LongerClusterRoundsEqualCpu, IdenticalTrajectoryAndState) {
  expect_rounds_equal_cpu(GetParam());
}
TEST_P(FrontierClusterRoundsEqualCpu, IdenticalTrajectoryAndState) {
  expect_rounds_equal_cpu(GetParam());
}
TEST_P(FrontierLongerClusterRoundsEqualCpu, IdenticalTrajectoryAndState) {
  expect_rounds_equal_cpu(GetParam());
}

// The pipeline's cases must run in the pipeline, not fall back to the rounds kernel.
void expect_pipeline_equal_cpu(const ClusterCase& c) {
  const std::uint64_t before = cuda_pipeline_launches();
  expect_rounds_equal_cpu(c);
  EXPECT_GT(cuda_pipeline_launches(), before);
}
TEST_P(PipelineEqualCpu, IdenticalTrajectoryAndState) { expect_pipeline_equal_cpu(GetParam()); }
TEST_P(PipelineTensorEqualCpu, IdenticalTrajectoryAndState) {
  expect_pipeline_equal_cpu(GetParam());
}
TEST_P(PipelineSpreadEqualCpu, IdenticalTrajectoryAndState) {
  expect_pipeline_equal_cpu(GetParam());
}
TEST_P(PipelineInterleavedEqualCpu, IdenticalTrajectoryAndState) {
  const std::uint64_t before = cuda_pipeline_interleaved_launches();
  expect_pipeline_equal_cpu(GetParam());
  EXPECT_GT(cuda_pipeline_interleaved_launches(), before);
}
// Two blocks a replica where the split applies (traced coupling, at most 16 blocks, at least 8
// pattern words); one elsewhere. Both must be the CPU's chain. (On a GPU whose clusters of 16
// blocks do not fit a GPC, the split falls back to one block a replica and this check fails;
// the H100 and H200 take 16, as the rounds kernel's cluster cases show.)
TEST_P(PipelineSplitEqualCpu, IdenticalTrajectoryAndState) {
  const ClusterCase& c = GetParam();
  const std::uint64_t before = cuda_pipeline_split_launches();
  expect_pipeline_equal_cpu(c);
  const std::size_t patterns = test::storage_instance(c.n, c.alpha, 31, 0).n_patterns();
  const bool applies =
      c.coupling == Coupling::traced && 2 * c.replicas <= 16 && 2 * words_for_bits(patterns) >= 8;
  if (applies)
    EXPECT_GT(cuda_pipeline_split_launches(), before);
  else
    EXPECT_EQ(cuda_pipeline_split_launches(), before);
}
// The counts from the sweep's columns in step order: a launch a sweep, each case (the copies
// are small here).
TEST_P(PipelineOrderedEqualCpu, IdenticalTrajectoryAndState) {
  const std::uint64_t before = cuda_pipeline_ordered_launches();
  expect_pipeline_equal_cpu(GetParam());
  EXPECT_GT(cuda_pipeline_ordered_launches(), before);
}
// Cases whose pattern words are not a multiple of 4 count from loaded words instead (the
// staged count copies whole columns in 16-byte units); the rest count from shared memory.
TEST_P(PipelineStagedEqualCpu, IdenticalTrajectoryAndState) {
  const std::uint64_t staged_before = cuda_pipeline_staged_launches();
  expect_pipeline_equal_cpu(GetParam());
  const std::size_t patterns =
      test::storage_instance(GetParam().n, GetParam().alpha, 31, 0).n_patterns();
  if (2 * words_for_bits(patterns) % 4 == 0)
    EXPECT_GT(cuda_pipeline_staged_launches(), staged_before);
}

INSTANTIATE_TEST_SUITE_P(CudaLean, LeanClusterRoundsEqualCpu, testing::ValuesIn(cluster_cases()),
                         cluster_case_name);
INSTANTIATE_TEST_SUITE_P(CudaLonger, LongerClusterRoundsEqualCpu,
                         testing::ValuesIn(cluster_cases()), cluster_case_name);
INSTANTIATE_TEST_SUITE_P(CudaFrontier, FrontierClusterRoundsEqualCpu,
                         testing::ValuesIn(cluster_cases()), cluster_case_name);
INSTANTIATE_TEST_SUITE_P(CudaFrontierLonger, FrontierLongerClusterRoundsEqualCpu,
                         testing::ValuesIn(cluster_cases()), cluster_case_name);
INSTANTIATE_TEST_SUITE_P(CudaPipeline, PipelineEqualCpu, testing::ValuesIn(cluster_cases()),
                         cluster_case_name);
INSTANTIATE_TEST_SUITE_P(CudaPipelineTensor, PipelineTensorEqualCpu,
                         testing::ValuesIn(cluster_cases()), cluster_case_name);
INSTANTIATE_TEST_SUITE_P(CudaPipelineSpread, PipelineSpreadEqualCpu,
                         testing::ValuesIn(cluster_cases()), cluster_case_name);
INSTANTIATE_TEST_SUITE_P(CudaPipelineStaged, PipelineStagedEqualCpu,
                         testing::ValuesIn(cluster_cases()), cluster_case_name);
INSTANTIATE_TEST_SUITE_P(CudaPipelineInterleaved, PipelineInterleavedEqualCpu,
                         testing::ValuesIn(cluster_cases()), cluster_case_name);
INSTANTIATE_TEST_SUITE_P(CudaPipelineSplit, PipelineSplitEqualCpu,
                         testing::ValuesIn(cluster_cases()), cluster_case_name);
INSTANTIATE_TEST_SUITE_P(CudaPipelineOrdered, PipelineOrderedEqualCpu,
                         testing::ValuesIn(cluster_cases()), cluster_case_name);

// Solved through solve_batch, the cluster kernel stops at the CPU's proposal, with its weights,
// in every variant (the longer ones with one more part a round). With the frontier rounds, a
// replica's zero energy takes the chunk again in the lean rounds.
TEST(ClusterRoundsSolve, SameProposalsToSolutionAsCpu) {
  if (!cuda_clusters_available()) GTEST_SKIP() << "no CUDA device with thread-block clusters";
  std::vector<Dataset> data;
  for (int b = 0; b < 3; ++b) data.push_back(test::storage_instance(401, 0.5, 12, b));
  AnnealConfig config;
  config.max_sweeps = 3000;
  config.seed = 12;
  CudaOptions options;
  options.cluster_blocks = 4;
  for (const RoundsVariant v : {RoundsVariant::standard, RoundsVariant::lean, RoundsVariant::longer,
                                RoundsVariant::frontier, RoundsVariant::frontier_longer,
                                RoundsVariant::pipeline, RoundsVariant::pipeline_tensor,
                                RoundsVariant::pipeline_spread, RoundsVariant::pipeline_staged,
                                RoundsVariant::pipeline_interleaved,
                                RoundsVariant::pipeline_split, RoundsVariant::pipeline_ordered}) {
    SCOPED_TRACE("variant " + std::to_string(int(v)));
    const RoundsVariantSwitches switches(v, 1);
    test::expect_same_solutions(data, config, options);
  }
}

// With no switch set, a cluster an instance takes the member pipeline (the fastest kernel for a
// few large instances) and one block an instance the rounds kernel; both stay the CPU's chain.
TEST(ClusterRoundsSolve, DefaultTakesThePipelineForClustersOnly) {
  if (!cuda_clusters_available()) GTEST_SKIP() << "no CUDA device with thread-block clusters";
  unsetenv("LOCENT_ROUNDS_PIPELINE");
  std::uint64_t before = cuda_pipeline_launches();
  expect_rounds_equal_cpu(ClusterCase{1001, 0.6, 7, Coupling::traced, EnergyKind::flips, 4, 16, 1});
  EXPECT_GT(cuda_pipeline_launches(), before);
  before = cuda_pipeline_launches();
  expect_rounds_equal_cpu(ClusterCase{301, 0.6, 7, Coupling::traced, EnergyKind::flips, 1, 8, 4});
  EXPECT_EQ(cuda_pipeline_launches(), before);
}

// The pipeline with the longest window (LOCENT_PIPELINE_WINDOW) is the same chain.
TEST(ClusterRoundsSolve, PipelineWindowKeepsTheChain) {
  if (!cuda_clusters_available()) GTEST_SKIP() << "no CUDA device with thread-block clusters";
  const RoundsVariantSwitches switches(RoundsVariant::pipeline, 1);
  const std::string longest = std::to_string(kPipelineWindow);
  setenv("LOCENT_PIPELINE_WINDOW", longest.c_str(), 1);
  const std::uint64_t before = cuda_pipeline_launches();
  expect_rounds_equal_cpu(ClusterCase{1001, 0.6, 7, Coupling::traced, EnergyKind::flips, 8, 16, 2});
  expect_rounds_equal_cpu(ClusterCase{67, 0.9, 3, Coupling::explicit_, EnergyKind::errors, 1, 8, 5});
  EXPECT_GT(cuda_pipeline_launches(), before);
  unsetenv("LOCENT_PIPELINE_WINDOW");
}

// Asking for a cluster where none is possible is a clear error, not a silent fallback.
TEST(ClusterRoundsSolve, RefusedForCommittees) {
  if (!cuda_clusters_available()) GTEST_SKIP() << "no CUDA device with thread-block clusters";
  const Dataset d = test::committee_instance(Architecture::committee_tree, 3, 21, 0.5, 1);
  EngineSetup setup;
  setup.config = committee_defaults();
  setup.datasets.push_back(&d);
  CudaOptions options;
  options.cluster_blocks = 4;
  EXPECT_THROW(make_cuda_backend(0, options)->create_metropolis(setup), Error);
}

}  // namespace
}  // namespace locent
