// CPU Metropolis (host/cpu/metropolis.cpp): incrementally kept state equals a full recomputation
// after thousands of accepted moves, for plain SA, traced and explicit coupling, both energies.
#include "host/cpu/metropolis.hpp"

#include <gtest/gtest.h>

#include <algorithm>

#include "host/cpu/boundary_sets.hpp"
#include "locent/backend.hpp"
#include "tests/test_util.hpp"

namespace locent {
namespace {

struct Case {
  int n;
  double alpha;
  int replicas;
  Coupling coupling;
  EnergyKind energy;
};

void PrintTo(const Case& c, std::ostream* os) {
  *os << "N=" << c.n << " alpha=" << c.alpha << " y=" << c.replicas;
}

std::string case_name(const testing::TestParamInfo<Case>& info) {
  const Case& c = info.param;
  return "N" + std::to_string(c.n) + "_y" + std::to_string(c.replicas) +
         (c.coupling == Coupling::traced ? "_traced" : "_explicit") +
         (c.energy == EnergyKind::flips ? "_flips" : "_errors");
}

class IncrementalState : public testing::TestWithParam<Case> {};

void expect_same_state(const ChainState& got, const ChainState& want) {
  EXPECT_EQ(got.site_sums, want.site_sums);
  EXPECT_EQ(got.stabilities, want.stabilities);
  EXPECT_EQ(got.set_a, want.set_a);
  EXPECT_EQ(got.set_b, want.set_b);
  EXPECT_EQ(got.size_a, want.size_a);
  EXPECT_EQ(got.size_b, want.size_b);
  EXPECT_EQ(got.energy, want.energy);
  EXPECT_EQ(got.errors, want.errors);
}

TEST_P(IncrementalState, EqualsFullRecomputation) {
  const Case& p = GetParam();
  const Dataset d = test::storage_instance(p.n, p.alpha, 11);
  AnnealConfig config = test::hot_config(p.replicas, p.coupling, p.energy);
  const BitMatrix rows = d.folded_rows(), cols = rows.transposed();
  ChainState chain = initial_chain(config, rows, 0);
  ASSERT_FALSE(chain.status.solved);
  const int half_width = threshold_half_width(config, d.n_patterns());
  std::vector<std::vector<std::int64_t>> trace;
  const cpu::ChainData data{&rows, &cols, config.seed, 0};
  std::uint64_t accepted_before = 0;
  for (int sweep = 0; sweep < 400 && chain.status.accepted < 3000 && !chain.status.solved; ++sweep) {
    cpu::run_metropolis_chunk(chain, data, build_thresholds(config, half_width, sweep, 1), {}, trace);
    ChainState full = chain;
    full.recompute(rows);
    SCOPED_TRACE("after sweep " + std::to_string(sweep));
    expect_same_state(chain, full);
    EXPECT_GT(chain.status.accepted, accepted_before) << "the chain must move";
    accepted_before = chain.status.accepted;
  }
  EXPECT_GE(chain.status.accepted, 3000u);
  if (chain.explicit_centre) {
    // The explicit centre is a chain member too: it moved, and its bits past N stay zero.
    EXPECT_NE(chain.centre, initial_chain(config, rows, 0).centre);
    const int n = int(d.n_inputs());
    if (n % 64 != 0) EXPECT_EQ(chain.centre[std::size_t(n / 64)] >> (n % 64), 0u);
    for (std::size_t w = std::size_t(n + 63) / 64; w < chain.centre.size(); ++w)
      EXPECT_EQ(chain.centre[w], 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(
    Couplings, IncrementalState,
    testing::Values(Case{67, 0.9, 1, Coupling::traced, EnergyKind::flips},
                    Case{67, 0.9, 1, Coupling::traced, EnergyKind::errors},
                    Case{129, 0.7, 5, Coupling::traced, EnergyKind::flips},
                    Case{129, 0.7, 5, Coupling::traced, EnergyKind::errors},
                    Case{63, 1.3, 3, Coupling::explicit_, EnergyKind::flips},
                    Case{63, 1.3, 4, Coupling::explicit_, EnergyKind::errors},
                    Case{201, 0.6, 7, Coupling::traced, EnergyKind::flips},
                    Case{31, 2.1, 7, Coupling::explicit_, EnergyKind::flips}),
    case_name);

// ΔE of every possible flip, from the boundary sets, equals the energy difference recomputed
// from scratch.
TEST(FlipDeltaEnergy, MatchesRecomputedDifference) {
  for (EnergyKind energy : {EnergyKind::flips, EnergyKind::errors}) {
    const Dataset d = test::storage_instance(97, 0.8, 5);
    const BitMatrix rows = d.folded_rows(), cols = rows.transposed();
    AnnealConfig config = test::hot_config(2, Coupling::traced, energy);
    const ChainState chain = initial_chain(config, rows, 3);
    for (int a = 0; a < chain.replicas; ++a)
      for (int i = 0; i < chain.inputs; ++i) {
        int pa = 0, pb = 0;
        for (std::size_t w = 0; w < chain.pattern_words; ++w) {
          pa += __builtin_popcountll(chain.set_a[a * chain.pattern_words + w] & cols.row(i)[w]);
          pb += __builtin_popcountll(chain.set_b[a * chain.pattern_words + w] & cols.row(i)[w]);
        }
        const bool w_plus = (chain.replica(a)[i / 64] >> (i % 64)) & 1u;
        const int delta = flip_delta_energy(w_plus, pa, pb, chain.size_a[a], chain.size_b[a]);
        ChainState flipped = chain;
        flipped.replica(a)[i / 64] ^= std::uint64_t{1} << (i % 64);
        flipped.recompute(rows);
        ASSERT_EQ(delta, flipped.energy[a] - chain.energy[a]) << "replica " << a << " site " << i;
      }
  }
}

// The second order: a replica's ΔE at site l after its own flip at site j, from counts of the
// four sets taken before that flip (one of them three-way), equals the energy difference recomputed from scratch after
// both flips (l = j included: the weight there has flipped back and forth).
TEST(FlipDeltaEnergy, AfterAnEarlierFlipMatchesRecomputedDifference) {
  for (EnergyKind energy : {EnergyKind::flips, EnergyKind::errors}) {
    const Dataset d = test::storage_instance(41, 1.2, 6);
    const BitMatrix rows = d.folded_rows(), cols = rows.transposed();
    AnnealConfig config = test::hot_config(2, Coupling::traced, energy);
    const bool flips = energy == EnergyKind::flips;
    const ChainState chain = initial_chain(config, rows, 4);
    const int p = chain.patterns;
    int checked_nonzero = 0;
    for (int a = 0; a < chain.replicas; ++a) {
      const std::int32_t* st = chain.stabilities.data() + std::size_t(a) * p;
      const auto bit = [&](int i, int mu) { return (cols.row(i)[mu / 64] >> (mu % 64)) & 1u; };
      enum { kC, kA, kB, kD };
      const auto in_set = [&](int s, int mu) {
        return int(s == kC ? in_set_c(st[mu], flips) : s == kA ? in_set_a(st[mu], flips)
                   : s == kB ? in_set_b(st[mu], flips) : in_set_d(st[mu], flips));
      };
      for (int j = 0; j < chain.inputs; ++j)
        for (int l = 0; l < chain.inputs; ++l) {
          SecondOrderCounts x{};
          int u = 0, v = 0;  // q's two parts, as the kernels count them from bit sets
          for (int mu = 0; mu < p; ++mu) {
            const int bj = int(bit(j, mu)), bl = int(bit(l, mu));
            const int in_c = in_set(kC, mu), in_a = in_set(kA, mu), in_b = in_set(kB, mu),
                      in_d = in_set(kD, mu);
            const std::uint32_t both = std::uint32_t(bj & bl);
            u += int(both & second_order_u<std::uint32_t>(in_a, in_b, in_c, in_d, flips) & 1u);
            v += int(both & second_order_v<std::uint32_t>(in_a, in_b, in_c, in_d, flips) & 1u);
            x.q += (bj & bl) * (in_c + in_a - in_b - in_d);
            x.c_l += in_c & bl, x.a_l += in_a & bl, x.b_l += in_b & bl, x.d_l += in_d & bl;
            x.c_j += in_c & bj, x.a_j += in_a & bj, x.b_j += in_b & bj, x.d_j += in_d & bj;
            x.c += in_c, x.a += in_a, x.b += in_b, x.d += in_d;
          }
          ASSERT_EQ(second_order_q(u, v, flips), x.q);
          const bool j_was_plus = (chain.replica(a)[j / 64] >> (j % 64)) & 1u;
          ChainState once = chain;
          once.replica(a)[j / 64] ^= std::uint64_t{1} << (j % 64);
          once.recompute(rows);
          const bool l_plus = (once.replica(a)[l / 64] >> (l % 64)) & 1u;
          ChainState twice = once;
          twice.replica(a)[l / 64] ^= std::uint64_t{1} << (l % 64);
          twice.recompute(rows);
          const int predicted = delta_energy_after_flip(j_was_plus, l_plus, x);
          ASSERT_EQ(predicted, twice.energy[a] - once.energy[a])
              << (flips ? "flips" : "errors") << " replica " << a << " sites " << j << ", " << l;
          checked_nonzero += predicted != 0;
        }
    }
    EXPECT_GT(checked_nonzero, 100);  // not a vacuous check
  }
}

// A trajectory depends only on the seed: the same run in one chunk or in many is identical.
TEST(MetropolisChunks, TrajectoryIndependentOfChunking) {
  const Dataset d = test::storage_instance(101, 0.6, 3);
  const BitMatrix rows = d.folded_rows(), cols = rows.transposed();
  AnnealConfig config = test::hot_config(5, Coupling::traced, EnergyKind::flips);
  config.beta = Schedule::linear(0.3, 3);
  config.max_sweeps = 30;
  const int hw = threshold_half_width(config, d.n_patterns());
  const cpu::ChainData data{&rows, &cols, config.seed, 7};
  std::vector<std::vector<std::int64_t>> trace;
  ChainState one = initial_chain(config, rows, 7), many = one;
  cpu::run_metropolis_chunk(one, data, build_thresholds(config, hw, 0, 30), {}, trace);
  for (int s = 0; s < 30; s += 7)
    cpu::run_metropolis_chunk(many, data, build_thresholds(config, hw, s, std::min(7, 30 - s)), {},
                              trace);
  EXPECT_EQ(one.weights, many.weights);
  EXPECT_EQ(one.status.proposals, many.status.proposals);
  EXPECT_EQ(one.status.accepted, many.status.accepted);
  // A different seed gives a different trajectory.
  ChainState other = initial_chain(config, rows, 7);
  cpu::run_metropolis_chunk(other, cpu::ChainData{&rows, &cols, config.seed + 1, 7},
                            build_thresholds(config, hw, 0, 30), {}, trace);
  EXPECT_NE(one.weights, other.weights);
  // So does a different instance number on the same data from the same start: the Monte Carlo
  // stream is keyed by the instance too.
  ChainState same_start = initial_chain(config, rows, 7);
  cpu::run_metropolis_chunk(same_start, cpu::ChainData{&rows, &cols, config.seed, 8},
                            build_thresholds(config, hw, 0, 30), {}, trace);
  EXPECT_NE(one.weights, same_start.weights);
}

// Each replica draws its own random words: replicas started from one configuration part ways
// (with one word for all, identical replicas would make identical decisions forever).
TEST(MetropolisChunks, IdenticalReplicasPartWays) {
  const Dataset d = test::storage_instance(201, 0.6, 4);
  const BitMatrix rows = d.folded_rows(), cols = rows.transposed();
  AnnealConfig config = test::hot_config(5, Coupling::traced, EnergyKind::flips);
  ChainState chain = initial_chain(config, rows, 0);
  for (int a = 1; a < chain.replicas; ++a)
    std::copy(chain.replica(0), chain.replica(0) + chain.weight_words, chain.replica(a));
  chain.recompute(rows);
  const int hw = threshold_half_width(config, d.n_patterns());
  std::vector<std::vector<std::int64_t>> trace;
  cpu::run_metropolis_chunk(chain, cpu::ChainData{&rows, &cols, config.seed, 0},
                            build_thresholds(config, hw, 0, 3), {}, trace);
  ASSERT_GT(chain.status.accepted, 100u);
  for (int a = 1; a < chain.replicas; ++a)
    EXPECT_FALSE(std::equal(chain.replica(0), chain.replica(0) + chain.weight_words,
                            chain.replica(a)))
        << "replica " << a << " moved in step with replica 0";
}

}  // namespace
}  // namespace locent

namespace locent {
namespace {

// The AVX-512 and portable inner loops give the identical trajectory.
TEST(MetropolisSimd, PortableAndVectorPathsAgree) {
  const Dataset d = test::storage_instance(1001, 0.6, 5);
  const BitMatrix rows = d.folded_rows(), cols = rows.transposed();
  for (EnergyKind energy : {EnergyKind::flips, EnergyKind::errors}) {
    AnnealConfig config = test::hot_config(7, Coupling::traced, energy);
    const int hw = threshold_half_width(config, d.n_patterns());
    const ThresholdTables t = build_thresholds(config, hw, 0, 5);
    const cpu::ChainData data{&rows, &cols, config.seed, 0};
    std::vector<std::vector<std::int64_t>> trace;
    ChainState fast = initial_chain(config, rows, 0), portable = fast;
    if (std::string(cpu::simd_path()) == "portable")
      GTEST_SKIP() << "no vector path on this CPU: nothing to compare the portable path with";
    cpu::run_metropolis_chunk(fast, data, t, {}, trace);
    cpu::force_portable_simd(true);
    EXPECT_STREQ(cpu::simd_path(), "portable");
    cpu::run_metropolis_chunk(portable, data, t, {}, trace);
    cpu::force_portable_simd(false);
    EXPECT_GT(fast.status.accepted, 100u);
    EXPECT_EQ(fast.weights, portable.weights);
    EXPECT_EQ(fast.stabilities, portable.stabilities);
    EXPECT_EQ(fast.set_a, portable.set_a);
    EXPECT_EQ(fast.set_b, portable.set_b);
    EXPECT_EQ(fast.errors, portable.errors);
    EXPECT_EQ(fast.status.accepted, portable.status.accepted);
  }
}

}  // namespace
}  // namespace locent
