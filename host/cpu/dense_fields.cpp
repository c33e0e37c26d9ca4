// CPU twin of kernels/dense_fields.cu: XOR+POPC over 64-bit words, replicas over threads,
// patterns in tiles that stay in the L2 cache while a replica row streams over them.
#include <algorithm>
#include <atomic>
#include <thread>

#include "host/cpu/boundary_sets.hpp"
#include "locent/dense_fields.hpp"
#include "locent/error.hpp"

namespace locent {

DenseFields dense_fields_cpu(const BitMatrix& weights, const BitMatrix& patterns, int threads) {
  if (weights.cols() != patterns.cols())
    throw Error("dense fields: weights have " + std::to_string(weights.cols()) +
                " inputs but patterns " + std::to_string(patterns.cols()));
  const std::size_t r_count = weights.rows(), p_count = patterns.rows(), n = weights.cols();
  const std::size_t words = weights.words_per_row();
  DenseFields out;
  out.fields.assign(r_count * p_count, 0);
  out.errors.assign(r_count, 0);
  constexpr std::size_t kTile = 256;  // patterns per tile: 256 rows of ≤ 1 KB stay in L2
  const unsigned workers = threads > 0 ? unsigned(threads) : std::max(1u, std::thread::hardware_concurrency());
  std::atomic<std::size_t> next{0};
  auto work = [&] {
    for (std::size_t r; (r = next.fetch_add(1)) < r_count;) {
      const std::uint64_t* w = weights.row(r);
      std::int32_t* f = out.fields.data() + r * p_count;
      int errors = 0;
      for (std::size_t t0 = 0; t0 < p_count; t0 += kTile)
        for (std::size_t mu = t0; mu < std::min(p_count, t0 + kTile); ++mu) {
          const std::uint64_t* x = patterns.row(mu);
          const int differ = cpu::xor_popcount(w, x, words);
          f[mu] = static_cast<std::int32_t>(n) - 2 * differ;
          errors += f[mu] < 0;
        }
      out.errors[r] = errors;
    }
  };
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < workers; ++t) pool.emplace_back(work);
  work();
  for (auto& th : pool) th.join();
  return out;
}

}  // namespace locent
