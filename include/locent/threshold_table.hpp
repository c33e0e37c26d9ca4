// Integer acceptance thresholds for Metropolis, built on the host in double precision.
// Layout and indexing: metropolis_rules.hpp.
#pragma once
#include <cstdint>
#include <vector>

#include "locent/anneal.hpp"
#include "locent/metropolis_rules.hpp"

namespace locent {

// One table per sweep, for a run of consecutive sweeps.
struct ThresholdTables {
  std::uint64_t first_sweep = 0;
  int half_width = 0;       // D
  int coupling_states = 0;  // y (traced) or 2 (explicit)
  int centre_states = 0;    // y + 1 (explicit) or 0
  std::vector<std::uint32_t> data;
  std::vector<double> beta, gamma;  // per sweep

  std::size_t stride() const {
    return std::size_t(coupling_states) * (2 * half_width - 1) + centre_states;
  }
  std::size_t sweeps() const { return beta.size(); }
  ThresholdView view(std::size_t i) const {
    return ThresholdView{data.data() + i * stride(), half_width, coupling_states};
  }
};

// T = floor-free map of a probability to a threshold: accept iff u <= T for u uniform in
// [0, 2^32): p ≥ 1 → 2^32 − 1 (always), else ceil(p·2^32) − 1 clamped at 0.
std::uint32_t probability_threshold(double p);

// D such that every |ΔE| ≥ D is decided the same at every sweep of the budget whatever the
// coupling (p ≤ 2^−32 above, p ≥ 1 below); never more than P + 1.
int threshold_half_width(const AnnealConfig& config, std::size_t patterns);

ThresholdTables build_thresholds(const AnnealConfig& config, int half_width,
                                 std::uint64_t first_sweep, std::size_t sweeps);

}  // namespace locent
