// Chain state and its full recomputation from the weights (chain_state.hpp): the reference that
// the incremental updates of both backends are tested against.
#include "locent/chain_state.hpp"

#include "locent/error.hpp"
#include "locent/metropolis_rules.hpp"
#include "locent/rng.hpp"

namespace locent {
namespace {

int bit(const std::uint64_t* words, std::size_t i) { return (words[i / kWordBits] >> (i % kWordBits)) & 1u; }

// h_k^μ of unit k on one folded row.
int unit_field(const ModelSpec& model, const std::uint64_t* row, const std::uint64_t* weights,
               int k) {
  const int fan_in = model.fan_in();
  return fan_in - 2 * unit_disagreements(row, model.unit_input_offset(k), weights,
                                         std::size_t(k) * fan_in, fan_in, 0, 1);
}

void recompute_perceptron(ChainState& c, const BitMatrix& folded_rows) {
  for (int a = 0; a < c.replicas; ++a) {
    for (int mu = 0; mu < c.patterns; ++mu) {
      const int d = dot_signs(folded_rows.row(mu), c.replica(a), c.inputs);
      c.stabilities[std::size_t(a) * c.patterns + mu] = d;
      const std::uint64_t m = std::uint64_t{1} << (mu % kWordBits);
      const std::size_t w = a * c.pattern_words + mu / kWordBits;
      if (in_set_a(d, c.flip_energy)) c.set_a[w] |= m, ++c.size_a[a];
      if (in_set_b(d, c.flip_energy)) c.set_b[w] |= m, ++c.size_b[a];
      c.energy[a] += pattern_cost(d, c.flip_energy);
      c.errors[a] += d < 0;
    }
  }
}

void recompute_committee(ChainState& c, const BitMatrix& folded_rows) {
  const int y = c.replicas, K = c.hidden_units, P = c.patterns;
  const std::size_t pw = c.pattern_words;
  const ModelSpec model = c.model();
  c.votes.assign(std::size_t(y) * P, 0);
  c.field_plus_one.assign(std::size_t(y) * K * pw, 0);
  c.field_minus_one.assign(std::size_t(y) * K * pw, 0);
  c.votes_plus_one.assign(std::size_t(y) * pw, 0);
  c.votes_minus_one.assign(std::size_t(y) * pw, 0);
  for (int a = 0; a < y; ++a) {
    for (int mu = 0; mu < P; ++mu) {
      const std::uint64_t m = std::uint64_t{1} << (mu % kWordBits);
      const std::size_t w = mu / kWordBits;
      int votes = 0;
      for (int k = 0; k < K; ++k) {
        const int h = unit_field(model, folded_rows.row(mu), c.replica(a), k);
        c.stabilities[(std::size_t(a) * K + k) * P + mu] = h;
        votes += h > 0 ? 1 : -1;
        if (h == 1) c.field_plus_one[(std::size_t(a) * K + k) * pw + w] |= m;
        if (h == -1) c.field_minus_one[(std::size_t(a) * K + k) * pw + w] |= m;
      }
      c.votes[std::size_t(a) * P + mu] = votes;
      if (votes == 1) c.votes_plus_one[a * pw + w] |= m;
      if (votes == -1) c.votes_minus_one[a * pw + w] |= m;
      for (int k = 0; k < K; ++k) {
        const int h = c.stabilities[(std::size_t(a) * K + k) * P + mu];
        const std::size_t set = std::size_t(k) * y + a;
        if (committee_in_set_a(h, votes)) c.set_a[set * pw + w] |= m, ++c.size_a[set];
        if (committee_in_set_b(h, votes)) c.set_b[set * pw + w] |= m, ++c.size_b[set];
      }
      c.energy[a] += votes < 0;
      c.errors[a] += votes < 0;
    }
  }
}

}  // namespace

ModelSpec ChainState::model() const {
  ModelSpec m;
  m.architecture = hidden_units == 1 ? Architecture::perceptron
                   : tree            ? Architecture::committee_tree
                                     : Architecture::committee_fc;
  m.hidden_units = hidden_units;
  m.inputs = inputs;
  return m;
}

void ChainState::recompute(const BitMatrix& folded_rows) {
  const int y = replicas, K = hidden_units;
  site_sums.assign(sites, 0);
  for (int a = 0; a < y; ++a)
    for (int i = 0; i < sites; ++i) site_sums[i] += bit(replica(a), i) ? 1 : -1;
  stabilities.assign(std::size_t(y) * K * patterns, 0);
  set_a.assign(std::size_t(K) * y * pattern_words, 0);
  set_b.assign(std::size_t(K) * y * pattern_words, 0);
  size_a.assign(std::size_t(K) * y, 0);
  size_b.assign(std::size_t(K) * y, 0);
  energy.assign(y, 0);
  errors.assign(y, 0);
  if (committee())
    recompute_committee(*this, folded_rows);
  else
    recompute_perceptron(*this, folded_rows);
}

std::vector<std::uint64_t> ChainState::centre_bits() const {
  if (explicit_centre) return centre;
  std::vector<std::uint64_t> c(weight_words, 0);
  for (int i = 0; i < sites; ++i)
    if (site_sums[i] >= 0) c[i / kWordBits] |= std::uint64_t{1} << (i % kWordBits);
  return c;
}

ChainState initial_chain(const AnnealConfig& config, const ModelSpec& spec,
                         const BitMatrix& folded_rows, std::uint32_t instance) {
  // A perceptron is whatever the patterns say (datasets built by hand may leave N unset).
  ModelSpec model = spec;
  if (model.architecture == Architecture::perceptron)
    model.inputs = static_cast<int>(folded_rows.cols());
  else
    model.validate();
  if (folded_rows.cols() != std::size_t(model.inputs))
    throw Error("internal error: patterns of " + std::to_string(folded_rows.cols()) +
                    " inputs for a network of N = " + std::to_string(model.inputs),
                ExitCode::failure);
  const bool committee = model.architecture != Architecture::perceptron;
  if (committee && config.energy == EnergyKind::flips)
    throw Error("the flips energy is defined for the perceptron only; use the errors energy "
                "(--energy errors) with committee machines");
  ChainState c;
  c.inputs = model.inputs;
  c.patterns = static_cast<int>(folded_rows.rows());
  c.replicas = config.replicas;
  c.hidden_units = model.hidden_units;
  c.tree = model.architecture == Architecture::committee_tree;
  c.fan_in = model.fan_in();
  c.sites = static_cast<int>(model.weights());
  c.explicit_centre = config.coupling == Coupling::explicit_;
  c.flip_energy = config.energy == EnergyKind::flips;
  c.weight_words = words_for_bits(c.sites);
  c.pattern_words = words_for_bits(c.patterns);
  c.weights.assign(c.replicas * c.weight_words, 0);
  for (int a = 0; a < c.replicas; ++a)
    fill_random_bits(c.replica(a), c.sites, config.seed, Purpose::initial_weights, instance,
                     static_cast<std::uint32_t>(a));
  if (c.explicit_centre) {
    c.centre.assign(c.weight_words, 0);
    fill_random_bits(c.centre.data(), c.sites, config.seed, Purpose::initial_weights, instance,
                     static_cast<std::uint32_t>(c.replicas));
  }
  c.recompute(folded_rows);
  for (int a = 0; a < c.replicas && !c.status.solved; ++a)
    if (c.energy[a] == 0) c.status.solved = 1, c.status.solved_by = a;
  if (!c.status.solved && count_errors(model, folded_rows, c.centre_bits().data()) == 0)
    c.status.solved = 1, c.status.solved_by = c.replicas;
  return c;
}

ChainState initial_chain(const AnnealConfig& config, const BitMatrix& folded_rows,
                         std::uint32_t instance) {
  return initial_chain(config, ModelSpec{}, folded_rows, instance);
}

int count_errors(const BitMatrix& folded_rows, const std::uint64_t* weights) {
  int errors = 0;
  for (std::size_t mu = 0; mu < folded_rows.rows(); ++mu)
    errors += dot_signs(folded_rows.row(mu), weights, folded_rows.cols()) < 0;
  return errors;
}

int count_errors(const ModelSpec& model, const BitMatrix& folded_rows,
                 const std::uint64_t* weights) {
  if (model.architecture == Architecture::perceptron) return count_errors(folded_rows, weights);
  int errors = 0;
  for (std::size_t mu = 0; mu < folded_rows.rows(); ++mu) {
    int votes = 0;
    for (int k = 0; k < model.hidden_units; ++k)
      votes += unit_field(model, folded_rows.row(mu), weights, k) > 0 ? 1 : -1;
    errors += votes < 0;
  }
  return errors;
}

std::int64_t total_distance(const ChainState& chain, const std::vector<std::uint64_t>& centre) {
  std::int64_t d = 0;
  for (int a = 0; a < chain.replicas; ++a)
    for (std::size_t w = 0; w < chain.weight_words; ++w)
      d += __builtin_popcountll(chain.replica(a)[w] ^ centre[w]);
  return d;
}

}  // namespace locent
