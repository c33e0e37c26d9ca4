// Integer acceptance thresholds: the probability map, the exact clamping window, the table.
#include "locent/threshold_table.hpp"

#include <gtest/gtest.h>

#include <cmath>

namespace locent {
namespace {

TEST(Threshold, ProbabilityMap) {
  EXPECT_EQ(probability_threshold(1.0), 0xffffffffu);
  EXPECT_EQ(probability_threshold(7.0), 0xffffffffu);
  EXPECT_EQ(probability_threshold(0.0), 0u);
  EXPECT_EQ(probability_threshold(0.5), 0x7fffffffu);  // u ≤ T for exactly 2^31 values of u
  EXPECT_EQ(probability_threshold(0.25), 0x3fffffffu);
}

AnnealConfig config_for(int y, Coupling coupling) {
  AnnealConfig c;
  c.replicas = y;
  c.coupling = coupling;
  c.beta = Schedule::geometric(0.5, 4);
  c.gamma = Schedule::linear(0.1, 1.5);
  c.max_sweeps = 50;
  return c;
}

// Entries equal min(1, e^{−βΔE}·ratio), and outside the window every decision is already fixed.
TEST(Threshold, TracedTableMatchesFormulaAndWindowIsExact) {
  const AnnealConfig c = config_for(5, Coupling::traced);
  const int hw = threshold_half_width(c, 10000);
  EXPECT_LT(hw, 10001);
  const ThresholdTables t = build_thresholds(c, hw, 0, 50);
  for (std::size_t s : {std::size_t{0}, std::size_t{25}, std::size_t{49}}) {
    const ThresholdView v = t.view(s);
    const double beta = t.beta[s], gamma = t.gamma[s];
    for (int k = 0; k < 5; ++k) {
      const int x = 2 * k - 4;
      const double ratio = std::cosh(gamma * (x - 1)) / std::cosh(gamma * (x + 1));
      for (int d : {-3, -1, 0, 1, 2, 5}) {
        const double p = std::exp(-beta * d) * ratio;
        EXPECT_EQ(v.table[k * v.row_length() + d + hw - 1], probability_threshold(p));
      }
      // At the window's edges the decision no longer depends on u.
      EXPECT_EQ(v.table[k * v.row_length() + 2 * hw - 2], 0u) << "ΔE = D − 1 must be rejected";
      EXPECT_EQ(v.table[k * v.row_length() + 0], 0xffffffffu) << "ΔE = −(D − 1) must be accepted";
      // Beyond the window (where the decision is taken without the table) it is exact too:
      // rejected at ΔE ≥ D whatever u, accepted at ΔE ≤ −D.
      EXPECT_EQ(probability_threshold(std::exp(-beta * hw) * ratio), 0u) << "ΔE = D";
      EXPECT_EQ(probability_threshold(std::exp(beta * hw) * ratio), 0xffffffffu) << "ΔE = −D";
    }
  }
}

TEST(Threshold, ExplicitCentreTable) {
  const AnnealConfig c = config_for(3, Coupling::explicit_);
  const int hw = threshold_half_width(c, 500);
  const ThresholdTables t = build_thresholds(c, hw, 10, 3);
  EXPECT_EQ(t.coupling_states, 2);
  EXPECT_EQ(t.centre_states, 4);
  const ThresholdView v = t.view(1);
  const double gamma = t.gamma[1];
  // Replica flip with W̃_i·s = +1 (k = 1) costs e^{−2γ}; with −1 (k = 0) it is favoured.
  EXPECT_EQ(v.table[1 * v.row_length() + hw - 1], probability_threshold(std::exp(-2 * gamma)));
  EXPECT_EQ(v.table[0 * v.row_length() + hw - 1], 0xffffffffu);
  for (int k = 0; k < 4; ++k)
    EXPECT_EQ(v.centre()[k], probability_threshold(std::exp(-2 * gamma * (2 * k - 3))));
}

TEST(Threshold, PlainSaHasNoCouplingEffect) {
  AnnealConfig c = config_for(1, Coupling::traced);
  c.gamma = Schedule::constant(0);
  const ThresholdTables t = build_thresholds(c, threshold_half_width(c, 100), 0, 1);
  const ThresholdView v = t.view(0);
  EXPECT_EQ(v.table[v.half_width - 1], 0xffffffffu);  // ΔE = 0
  EXPECT_EQ(v.table[v.half_width], probability_threshold(std::exp(-t.beta[0])));
}

}  // namespace
}  // namespace locent
