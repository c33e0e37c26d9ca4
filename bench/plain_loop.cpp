// The plain rSA loop (plain_loop.hpp): deliberately straightforward, but not careless: patterns
// are stored by column so the pass over P for one site is contiguous and vectorizable.
#include "bench/plain_loop.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <random>
#include <vector>

namespace locent::bench {

PlainLoopResult run_plain_loop(const Dataset& data, int replicas, double beta, double gamma,
                               std::uint64_t sweeps, std::uint64_t seed) {
  const int n = static_cast<int>(data.n_inputs()), p = static_cast<int>(data.n_patterns());
  const int y = replicas;
  // column[i][μ] = σ^μ ξ_i^μ, as int like the stabilities so the loops vectorize.
  std::vector<int> column(std::size_t(n) * p);
  for (int mu = 0; mu < p; ++mu)
    for (int i = 0; i < n; ++i)
      column[std::size_t(i) * p + mu] = data.labels[mu] * data.patterns.get(mu, i);
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  std::vector<std::int8_t> w(std::size_t(y) * n);
  for (auto& x : w) x = (rng() & 1) ? 1 : -1;
  std::vector<int> s(n, 0), stab(std::size_t(y) * p, 0);
  for (int a = 0; a < y; ++a)
    for (int i = 0; i < n; ++i) {
      s[i] += w[a * n + i];
      for (int mu = 0; mu < p; ++mu) stab[std::size_t(a) * p + mu] += w[a * n + i] * column[std::size_t(i) * p + mu];
    }

  PlainLoopResult r;
  const auto t0 = std::chrono::steady_clock::now();
  const std::uint64_t total = sweeps * std::uint64_t(n) * y;
  for (std::uint64_t t = 0; t < total; ++t) {
    const int a = static_cast<int>(rng() % y), i = static_cast<int>(rng() % n);
    const int wi = w[a * n + i];
    const int* col = column.data() + std::size_t(i) * p;
    int* st = stab.data() + std::size_t(a) * p;
    // Flip cost max(0, (1 − Δ)/2) summed as max(0, 1 − Δ), halved once (Δ is odd).
    int twice_delta_e = 0;
    for (int mu = 0; mu < p; ++mu) {
      const int d = st[mu], moved = d - 2 * wi * col[mu];
      twice_delta_e += std::max(0, 1 - moved) - std::max(0, 1 - d);
    }
    const int delta_e = twice_delta_e / 2;
    const int sbar = s[i] - wi;
    const double ratio = std::cosh(gamma * (sbar - wi)) / std::cosh(gamma * (sbar + wi));
    if (uniform(rng) < std::exp(-beta * delta_e) * ratio) {
      for (int mu = 0; mu < p; ++mu) st[mu] -= 2 * wi * col[mu];
      w[a * n + i] = static_cast<std::int8_t>(-wi);
      s[i] -= 2 * wi;
      ++r.accepted;
    }
  }
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.proposals = total;
  return r;
}

}  // namespace locent::bench
