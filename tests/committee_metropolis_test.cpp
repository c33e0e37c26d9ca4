// CPU Metropolis on committee machines (host/cpu/metropolis.cpp): the incrementally kept hidden
// fields, votes, boundary sets, energies and site sums equal a full recomputation after thousands
// of accepted moves (tree and fully connected; SA, traced and explicit coupling), the ΔE of every
// flip equals the recomputed energy difference, and the committee's error count agrees with the
// data model's independent one.
#include <gtest/gtest.h>

#include "host/cpu/boundary_sets.hpp"
#include "host/cpu/metropolis.hpp"
#include "locent/backend.hpp"
#include "locent/error.hpp"
#include "tests/test_util.hpp"

namespace locent {
namespace {

struct CommitteeCase {
  Architecture arch;
  int k, fan_in;
  double alpha;
  int replicas;
  Coupling coupling;
  double beta;
};

void PrintTo(const CommitteeCase& c, std::ostream* os) {
  *os << (c.arch == Architecture::committee_tree ? "tree" : "fc") << " K=" << c.k
      << " fan_in=" << c.fan_in << " alpha=" << c.alpha << " y=" << c.replicas;
}

std::string committee_case_name(const testing::TestParamInfo<CommitteeCase>& info) {
  const CommitteeCase& c = info.param;
  return std::string(c.arch == Architecture::committee_tree ? "Tree" : "Fc") + "_K" +
         std::to_string(c.k) + "_fanin" + std::to_string(c.fan_in) + "_y" +
         std::to_string(c.replicas) + (c.coupling == Coupling::traced ? "_traced" : "_explicit") +
         (c.beta < 1 ? "_hot" : c.beta < 2 ? "_warm" : "_cold");
}

AnnealConfig committee_config(int replicas, Coupling coupling, double beta) {
  AnnealConfig c = test::hot_config(replicas, coupling, EnergyKind::errors);
  c.beta = Schedule::constant(beta);
  // Plain SA; and cold chains without coupling, which would otherwise freeze the replicas
  // together, while free ones keep moving on the plateaus of the error count.
  if (replicas == 1 || beta >= 2) c.gamma = Schedule::constant(0);
  return c;
}

void expect_same_state(const ChainState& got, const ChainState& want) {
  EXPECT_EQ(got.site_sums, want.site_sums);
  EXPECT_EQ(got.stabilities, want.stabilities);
  EXPECT_EQ(got.votes, want.votes);
  EXPECT_EQ(got.field_plus_one, want.field_plus_one);
  EXPECT_EQ(got.field_minus_one, want.field_minus_one);
  EXPECT_EQ(got.votes_plus_one, want.votes_plus_one);
  EXPECT_EQ(got.votes_minus_one, want.votes_minus_one);
  EXPECT_EQ(got.set_a, want.set_a);
  EXPECT_EQ(got.set_b, want.set_b);
  EXPECT_EQ(got.size_a, want.size_a);
  EXPECT_EQ(got.size_b, want.size_b);
  EXPECT_EQ(got.energy, want.energy);
  EXPECT_EQ(got.errors, want.errors);
}

class CommitteeIncrementalState : public testing::TestWithParam<CommitteeCase> {};

TEST_P(CommitteeIncrementalState, EqualsFullRecomputation) {
  const CommitteeCase& p = GetParam();
  const Dataset d = test::committee_instance(p.arch, p.k, p.fan_in, p.alpha, 11);
  const AnnealConfig config = committee_config(p.replicas, p.coupling, p.beta);
  const BitMatrix rows = d.folded_rows(), cols = rows.transposed();
  ChainState chain = initial_chain(config, d.model, rows, 0);
  ASSERT_FALSE(chain.status.solved);
  ASSERT_EQ(chain.sites, p.k * p.fan_in);
  ASSERT_EQ(chain.stabilities.size(), std::size_t(p.replicas) * p.k * d.n_patterns());
  const int half_width = threshold_half_width(config, d.n_patterns());
  std::vector<std::vector<std::int64_t>> trace;
  const cpu::ChainData data{&rows, &cols, config.seed, 0};
  std::uint64_t accepted_before = 0;
  int lowest_errors = chain.patterns;
  for (int sweep = 0; sweep < 1000 && chain.status.accepted < 10000 && !chain.status.solved;
       ++sweep) {
    cpu::run_metropolis_chunk(chain, data, build_thresholds(config, half_width, sweep, 1), {},
                              trace);
    ChainState full = chain;
    full.recompute(rows);
    SCOPED_TRACE("after sweep " + std::to_string(sweep));
    expect_same_state(chain, full);
    for (int a = 0; a < chain.replicas; ++a)
      ASSERT_EQ(chain.errors[a],
                int(count_misclassified(d, unpack_signs(chain.replica(a), chain.sites))));
    // A cold chain may sit in a local minimum for a sweep or more.
    if (p.beta < 2) EXPECT_GT(chain.status.accepted, accepted_before) << "the chain must move";
    for (int e : chain.errors) lowest_errors = std::min(lowest_errors, e);
    accepted_before = chain.status.accepted;
    if (testing::Test::HasFailure()) return;
  }
  // A cold chain may solve its instance first: then it must have come close (a few errors).
  if (p.beta < 2) EXPECT_GE(chain.status.accepted, 10000u);
  else EXPECT_TRUE(chain.status.accepted >= 500u || chain.status.solved) << chain.status.accepted;
  if (p.beta >= 2) EXPECT_LE(lowest_errors, 3) << "a cold chain should come near a solution";
}

INSTANTIATE_TEST_SUITE_P(
    Committees, CommitteeIncrementalState,
    testing::Values(
        CommitteeCase{Architecture::committee_tree, 3, 21, 1.0, 1, Coupling::traced, 0.4},
        CommitteeCase{Architecture::committee_tree, 3, 21, 1.0, 5, Coupling::traced, 0.4},
        CommitteeCase{Architecture::committee_tree, 5, 13, 1.2, 3, Coupling::explicit_, 0.4},
        CommitteeCase{Architecture::committee_tree, 7, 9, 1.5, 7, Coupling::traced, 0.4},
        // Cold: few errors left, so the boundary sets are what decides.
        CommitteeCase{Architecture::committee_tree, 3, 33, 0.6, 3, Coupling::traced, 3.0},
        CommitteeCase{Architecture::committee_fc, 3, 25, 0.5, 1, Coupling::traced, 3.0},
        // Units wider than a word and P over several words.
        CommitteeCase{Architecture::committee_tree, 3, 65, 0.8, 3, Coupling::traced, 1.5},
        CommitteeCase{Architecture::committee_fc, 3, 21, 1.0, 1, Coupling::traced, 0.4},
        CommitteeCase{Architecture::committee_fc, 3, 31, 2.0, 5, Coupling::traced, 0.4},
        CommitteeCase{Architecture::committee_fc, 5, 15, 1.0, 4, Coupling::explicit_, 0.4},
        // Units that start mid-word in the weight string (67 weights each).
        CommitteeCase{Architecture::committee_fc, 3, 67, 0.7, 2, Coupling::explicit_, 1.5}),
    committee_case_name);

// ΔE of every possible flip, from the unit's boundary sets, equals the energy difference
// recomputed from scratch: at the start and after the chain has moved.
TEST(CommitteeFlipDeltaEnergy, MatchesRecomputedDifference) {
  for (Architecture arch : {Architecture::committee_tree, Architecture::committee_fc}) {
    const Dataset d = test::committee_instance(arch, 3, 33, 0.9, 5);
    const BitMatrix rows = d.folded_rows(), cols = rows.transposed();
    const AnnealConfig config = committee_config(2, Coupling::traced, 1.0);
    ChainState chain = initial_chain(config, d.model, rows, 3);
    std::vector<std::vector<std::int64_t>> trace;
    for (int round = 0; round < 2; ++round) {
      SCOPED_TRACE(std::string(arch == Architecture::committee_tree ? "tree" : "fc") + " round " +
                   std::to_string(round));
      int nonzero = 0;
      for (int a = 0; a < chain.replicas; ++a)
        for (int i = 0; i < chain.sites; ++i) {
          const int unit = i / chain.fan_in;
          const int input = arch == Architecture::committee_tree ? i : i % chain.fan_in;
          const std::size_t set = std::size_t(unit) * chain.replicas + a;
          const std::uint64_t* col = cols.row(input);
          const std::uint64_t* sa = chain.set_a.data() + set * chain.pattern_words;
          const std::uint64_t* sb = chain.set_b.data() + set * chain.pattern_words;
          int pa = 0, pb = 0;
          for (std::size_t w = 0; w < chain.pattern_words; ++w) {
            pa += __builtin_popcountll(sa[w] & col[w]);
            pb += __builtin_popcountll(sb[w] & col[w]);
          }
          const bool w_plus = (chain.replica(a)[i / 64] >> (i % 64)) & 1u;
          const int delta =
              flip_delta_energy(w_plus, pa, pb, chain.size_a[set], chain.size_b[set]);
          ChainState flipped = chain;
          flipped.replica(a)[i / 64] ^= std::uint64_t{1} << (i % 64);
          flipped.recompute(rows);
          ASSERT_EQ(delta, flipped.energy[a] - chain.energy[a]) << "replica " << a << " site " << i;
          nonzero += delta != 0;
        }
      EXPECT_GT(nonzero, 0);
      const int hw = threshold_half_width(config, d.n_patterns());
      cpu::run_metropolis_chunk(chain, cpu::ChainData{&rows, &cols, config.seed, 3},
                                build_thresholds(config, hw, 0, 20), {}, trace);
      ASSERT_FALSE(chain.status.solved);
      EXPECT_GT(chain.status.accepted, 100u);
    }
  }
}

// The committee error count of the Metropolis (bit strings, unit fields) agrees with the data
// model's (count_misclassified on the raw, unfolded data), and a perceptron is the K = 1 case.
TEST(CommitteeErrors, AgreeWithTheDataModel) {
  for (Architecture arch : {Architecture::committee_tree, Architecture::committee_fc})
    for (int k : {1, 3, 5}) {
      if (k == 1 && arch == Architecture::committee_fc) continue;
      const Dataset d = k == 1 ? test::storage_instance(77, 0.9, 2)
                               : test::committee_instance(arch, k, 27, 0.9, 2);
      const AnnealConfig config = committee_config(3, Coupling::explicit_, 1.0);
      const BitMatrix rows = d.folded_rows();
      const ChainState c = initial_chain(config, d.model, rows, 1);
      for (int a = 0; a < c.replicas; ++a) {
        const auto w = unpack_signs(c.replica(a), c.sites);
        EXPECT_EQ(c.errors[a], int(count_misclassified(d, w)));
        EXPECT_EQ(count_errors(d.model, rows, c.replica(a)), c.errors[a]);
      }
      EXPECT_EQ(count_errors(d.model, rows, c.centre.data()),
                int(count_misclassified(d, unpack_signs(c.centre.data(), c.sites))));
    }
}

// A trajectory depends only on the seed: one chunk or many give the identical chain.
TEST(CommitteeMetropolis, TrajectoryIndependentOfChunking) {
  const Dataset d = test::committee_instance(Architecture::committee_tree, 3, 21, 1.0, 3);
  const BitMatrix rows = d.folded_rows(), cols = rows.transposed();
  AnnealConfig config = committee_config(5, Coupling::traced, 0.5);
  config.beta = Schedule::linear(0.3, 3);
  config.max_sweeps = 30;
  const int hw = threshold_half_width(config, d.n_patterns());
  const cpu::ChainData data{&rows, &cols, config.seed, 7};
  std::vector<std::vector<std::int64_t>> trace;
  ChainState one = initial_chain(config, d.model, rows, 7), many = one;
  cpu::run_metropolis_chunk(one, data, build_thresholds(config, hw, 0, 30), {}, trace);
  for (int s = 0; s < 30; s += 7)
    cpu::run_metropolis_chunk(many, data, build_thresholds(config, hw, s, std::min(7, 30 - s)), {},
                              trace);
  EXPECT_GT(one.status.accepted, 100u);
  EXPECT_EQ(one.weights, many.weights);
  EXPECT_EQ(one.stabilities, many.stabilities);
  EXPECT_EQ(one.status.proposals, many.status.proposals);
  EXPECT_EQ(one.status.accepted, many.status.accepted);
}

// The AVX-512 and portable field moves give the identical committee trajectory.
TEST(CommitteeMetropolis, PortableAndVectorPathsAgree) {
  const Dataset d = test::committee_instance(Architecture::committee_tree, 3, 101, 1.5, 5);
  const BitMatrix rows = d.folded_rows(), cols = rows.transposed();
  const AnnealConfig config = committee_config(5, Coupling::traced, 1.0);
  const int hw = threshold_half_width(config, d.n_patterns());
  const ThresholdTables t = build_thresholds(config, hw, 0, 5);
  const cpu::ChainData data{&rows, &cols, config.seed, 0};
  std::vector<std::vector<std::int64_t>> trace;
  ChainState fast = initial_chain(config, d.model, rows, 0), portable = fast;
  if (std::string(cpu::simd_path()) == "portable")
    GTEST_SKIP() << "no vector path on this CPU: nothing to compare the portable path with";
  cpu::run_metropolis_chunk(fast, data, t, {}, trace);
  cpu::force_portable_simd(true);
  cpu::run_metropolis_chunk(portable, data, t, {}, trace);
  cpu::force_portable_simd(false);
  EXPECT_GT(fast.status.accepted, 100u);
  EXPECT_EQ(fast.weights, portable.weights);
  EXPECT_EQ(fast.stabilities, portable.stabilities);
  EXPECT_EQ(fast.votes, portable.votes);
  EXPECT_EQ(fast.set_a, portable.set_a);
  EXPECT_EQ(fast.set_b, portable.set_b);
  EXPECT_EQ(fast.errors, portable.errors);
  EXPECT_EQ(fast.status.accepted, portable.status.accepted);
  ChainState full = fast;
  full.recompute(rows);
  expect_same_state(fast, full);
}

// The flips energy has no committee definition here: refused with a message that names the fix.
TEST(CommitteeMetropolis, FlipsEnergyIsRefused) {
  const Dataset d = test::committee_instance(Architecture::committee_fc, 3, 11, 0.5, 1);
  AnnealConfig config = test::hot_config(3, Coupling::traced, EnergyKind::flips);
  try {
    initial_chain(config, d.model, d.folded_rows(), 0);
    FAIL() << "expected Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::usage);
    EXPECT_NE(std::string(e.what()).find("--energy errors"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace locent
