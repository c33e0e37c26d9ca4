// Bit packing and field/error evaluation against naive loops, on shapes that are not multiples
// of 32 or 64.
#include "locent/bits.hpp"

#include <gtest/gtest.h>

#include <random>

#include "locent/chain_state.hpp"
#include "tests/test_util.hpp"

namespace locent {
namespace {

std::vector<std::int8_t> random_signs(std::size_t n, std::mt19937& rng) {
  std::vector<std::int8_t> v(n);
  for (auto& x : v) x = (rng() & 1) ? 1 : -1;
  return v;
}

TEST(Bits, PackUnpackRoundTripAndPaddingIsZero) {
  std::mt19937 rng(1);
  for (std::size_t n : {1u, 31u, 32u, 33u, 63u, 64u, 65u, 127u, 1001u}) {
    const auto v = random_signs(n, rng);
    const auto words = pack_signs(v);
    ASSERT_EQ(words.size(), words_for_bits(n));
    EXPECT_EQ(unpack_signs(words.data(), n), v);
    if (n % 64) EXPECT_EQ(words.back() >> (n % 64), 0u) << "padding bits must be zero, n=" << n;
  }
}

TEST(Bits, DotMatchesNaiveLoop) {
  std::mt19937 rng(2);
  for (std::size_t n : {1u, 17u, 64u, 65u, 100u, 333u}) {
    const auto a = random_signs(n, rng), b = random_signs(n, rng);
    int naive = 0;
    for (std::size_t i = 0; i < n; ++i) naive += a[i] * b[i];
    EXPECT_EQ(dot_signs(pack_signs(a).data(), pack_signs(b).data(), n), naive) << "n=" << n;
  }
}

// The transpose works in 64 × 64 blocks: shapes below, at and across block edges.
TEST(Bits, TransposeMatchesElementwise) {
  std::mt19937 rng(3);
  const std::pair<std::size_t, std::size_t> shapes[] = {{37, 70}, {1, 1},   {64, 64},
                                                        {65, 63}, {130, 200}, {200, 129}};
  for (const auto& [rows, cols] : shapes) {
    SCOPED_TRACE(std::to_string(rows) + " x " + std::to_string(cols));
    BitMatrix m(rows, cols);
    for (std::size_t r = 0; r < m.rows(); ++r)
      for (std::size_t c = 0; c < m.cols(); ++c) m.set(r, c, (rng() & 1) ? 1 : -1);
    const BitMatrix t = m.transposed();
    ASSERT_EQ(t.rows(), cols);
    ASSERT_EQ(t.cols(), rows);
    for (std::size_t r = 0; r < m.rows(); ++r)
      for (std::size_t c = 0; c < m.cols(); ++c) ASSERT_EQ(t.get(c, r), m.get(r, c));
    // Padding bits stay zero, so whole words compare equal.
    EXPECT_EQ(t.transposed(), m);
  }
}

// Stabilities, errors and both energies from the bit-packed path equal naive ±1 loops.
TEST(Fields, StabilitiesAndErrorsMatchNaiveLoop) {
  for (int n : {5, 33, 65, 129, 301}) {
    for (const EnergyKind energy : {EnergyKind::flips, EnergyKind::errors}) {
      const Dataset d = test::storage_instance(n, 0.77, 9);
      AnnealConfig config = test::hot_config(3, Coupling::traced, energy);
      const ChainState c = initial_chain(config, d.folded_rows(), 0);
      for (int a = 0; a < c.replicas; ++a) {
        const auto w = unpack_signs(c.replica(a), n);
        long errors = 0, flips = 0;
        for (std::size_t mu = 0; mu < d.n_patterns(); ++mu) {
          int field = 0;
          for (int i = 0; i < n; ++i) field += d.patterns.get(mu, i) * w[i];
          const int stability = d.labels[mu] * field;
          ASSERT_EQ(c.stabilities[a * d.n_patterns() + mu], stability);
          errors += stability < 0;
          flips += stability < 1 ? (1 - stability) / 2 : 0;
        }
        EXPECT_EQ(c.errors[a], errors);
        EXPECT_EQ(c.energy[a], energy == EnergyKind::flips ? flips : errors);
        EXPECT_EQ(count_errors(d.folded_rows(), c.replica(a)), errors);
        EXPECT_NEAR(perceptron_error_rate(d, w), double(errors) / d.n_patterns(), 1e-12);
      }
    }
  }
}

}  // namespace
}  // namespace locent
