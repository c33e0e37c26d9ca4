// Integer acceptance thresholds (threshold_table.hpp), built once per sweep on the host.
#include "locent/threshold_table.hpp"

#include <algorithm>
#include <cmath>

namespace locent {
namespace {

// log cosh without overflow.
double log_cosh(double x) {
  x = std::fabs(x);
  return x + std::log1p(std::exp(-2 * x)) - std::log(2.0);
}

}  // namespace

std::uint32_t probability_threshold(double p) {
  if (!(p < 1)) return 0xffffffffu;
  const double t = std::ceil(p * 4294967296.0) - 1;
  return t <= 0 ? 0u : static_cast<std::uint32_t>(t);
}

int threshold_half_width(const AnnealConfig& config, std::size_t patterns) {
  const double beta_min = config.beta.min_value(config.max_sweeps);
  const double gamma_max = std::max(0.0, config.gamma.max_value(config.max_sweeps));
  // Every coupling ratio lies in [e^{−2γ}, e^{2γ}] (traced and explicit alike). Above D,
  // p = e^{−βΔE}·ratio ≤ 2^−33 < 2^−32 (threshold 0); below −D, p ≥ 1.
  const double cap = static_cast<double>(patterns) + 1;
  if (!(beta_min > 0)) return static_cast<int>(cap);
  const double needed = std::ceil((33 * std::log(2.0) + 2 * gamma_max) / beta_min) + 1;
  return static_cast<int>(std::min(cap, needed));
}

ThresholdTables build_thresholds(const AnnealConfig& config, int half_width,
                                 std::uint64_t first_sweep, std::size_t sweeps) {
  const int y = config.replicas;
  const bool traced = config.coupling == Coupling::traced;
  ThresholdTables t;
  t.first_sweep = first_sweep;
  t.half_width = half_width;
  t.coupling_states = traced ? y : 2;
  t.centre_states = traced ? 0 : y + 1;
  t.data.resize(t.stride() * sweeps);
  for (std::size_t s = 0; s < sweeps; ++s) {
    const double beta = config.beta.at(first_sweep + s, config.max_sweeps);
    const double gamma = config.gamma.at(first_sweep + s, config.max_sweeps);
    t.beta.push_back(beta);
    t.gamma.push_back(gamma);
    std::uint32_t* table = t.data.data() + s * t.stride();
    for (int k = 0; k < t.coupling_states; ++k) {
      // log of the coupling ratio for index k (metropolis_rules.hpp).
      double log_ratio;
      if (traced) {
        const int x = 2 * k - (y - 1);  // s·S̄
        log_ratio = log_cosh(gamma * (x - 1)) - log_cosh(gamma * (x + 1));
      } else {
        const int centre_times_s = 2 * k - 1;
        log_ratio = -2 * gamma * centre_times_s;
      }
      for (int d = -half_width + 1; d < half_width; ++d)
        table[k * (2 * half_width - 1) + (d + half_width - 1)] =
            probability_threshold(std::exp(-beta * d + log_ratio));
    }
    for (int k = 0; k < t.centre_states; ++k) {
      const int c_times_s = 2 * k - y;  // c·S_i
      table[t.coupling_states * (2 * half_width - 1) + k] =
          probability_threshold(std::exp(-2 * gamma * c_times_s));
    }
  }
  return t;
}

}  // namespace locent
