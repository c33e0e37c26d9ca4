// Chain state and its full recomputation from the weights (chain_state.hpp).
#include "locent/chain_state.hpp"

#include "locent/metropolis_rules.hpp"
#include "locent/rng.hpp"

namespace locent {
namespace {

int bit(const std::uint64_t* words, std::size_t i) { return (words[i / kWordBits] >> (i % kWordBits)) & 1u; }

}  // namespace

void ChainState::recompute(const BitMatrix& folded_rows) {
  const int y = replicas;
  site_sums.assign(inputs, 0);
  for (int a = 0; a < y; ++a)
    for (int i = 0; i < inputs; ++i) site_sums[i] += bit(replica(a), i) ? 1 : -1;
  stabilities.assign(std::size_t(y) * patterns, 0);
  set_a.assign(std::size_t(y) * pattern_words, 0);
  set_b.assign(std::size_t(y) * pattern_words, 0);
  size_a.assign(y, 0);
  size_b.assign(y, 0);
  energy.assign(y, 0);
  errors.assign(y, 0);
  for (int a = 0; a < y; ++a) {
    for (int mu = 0; mu < patterns; ++mu) {
      const int d = dot_signs(folded_rows.row(mu), replica(a), inputs);
      stabilities[std::size_t(a) * patterns + mu] = d;
      const std::uint64_t m = std::uint64_t{1} << (mu % kWordBits);
      if (in_set_a(d, flip_energy)) set_a[a * pattern_words + mu / kWordBits] |= m, ++size_a[a];
      if (in_set_b(d, flip_energy)) set_b[a * pattern_words + mu / kWordBits] |= m, ++size_b[a];
      energy[a] += pattern_cost(d, flip_energy);
      errors[a] += d < 0;
    }
  }
}

std::vector<std::uint64_t> ChainState::centre_bits() const {
  if (explicit_centre) return centre;
  std::vector<std::uint64_t> c(input_words, 0);
  for (int i = 0; i < inputs; ++i)
    if (site_sums[i] >= 0) c[i / kWordBits] |= std::uint64_t{1} << (i % kWordBits);
  return c;
}

ChainState initial_chain(const AnnealConfig& config, const BitMatrix& folded_rows,
                         std::uint32_t instance) {
  ChainState c;
  c.inputs = static_cast<int>(folded_rows.cols());
  c.patterns = static_cast<int>(folded_rows.rows());
  c.replicas = config.replicas;
  c.explicit_centre = config.coupling == Coupling::explicit_;
  c.flip_energy = config.energy == EnergyKind::flips;
  c.input_words = words_for_bits(c.inputs);
  c.pattern_words = words_for_bits(c.patterns);
  c.weights.assign(c.replicas * c.input_words, 0);
  for (int a = 0; a < c.replicas; ++a)
    fill_random_bits(c.replica(a), c.inputs, config.seed, Purpose::initial_weights, instance,
                     static_cast<std::uint32_t>(a));
  if (c.explicit_centre) {
    c.centre.assign(c.input_words, 0);
    fill_random_bits(c.centre.data(), c.inputs, config.seed, Purpose::initial_weights, instance,
                     static_cast<std::uint32_t>(c.replicas));
  }
  c.recompute(folded_rows);
  for (int a = 0; a < c.replicas && !c.status.solved; ++a)
    if (c.energy[a] == 0) c.status.solved = 1, c.status.solved_by = a;
  if (!c.status.solved && count_errors(folded_rows, c.centre_bits().data()) == 0)
    c.status.solved = 1, c.status.solved_by = c.replicas;
  return c;
}

int count_errors(const BitMatrix& folded_rows, const std::uint64_t* weights) {
  int errors = 0;
  for (std::size_t mu = 0; mu < folded_rows.rows(); ++mu)
    errors += dot_signs(folded_rows.row(mu), weights, folded_rows.cols()) < 0;
  return errors;
}

std::int64_t total_distance(const ChainState& chain, const std::vector<std::uint64_t>& centre) {
  std::int64_t d = 0;
  for (int a = 0; a < chain.replicas; ++a)
    for (std::size_t w = 0; w < chain.input_words; ++w)
      d += __builtin_popcountll(chain.replica(a)[w] ^ centre[w]);
  return d;
}

}  // namespace locent
