// The state of one instance's Markov chain (y replicas, their coupling and every incrementally
// kept quantity), and its full recomputation from the weights. The CPU backend runs on it
// directly; the CUDA backend uploads it and downloads it again, so both start from the same state.
#pragma once
#include <cstdint>
#include <vector>

#include "locent/anneal.hpp"
#include "locent/bits.hpp"
#include "locent/problem.hpp"

namespace locent {

// Per-instance progress, identical in layout on host and device.
struct InstanceStatus {
  std::int32_t solved = 0;      // 1 once a replica or the centre has zero errors
  std::int32_t solved_by = -1;  // replica index, or y for the centre
  std::uint64_t proposals = 0;
  std::uint64_t accepted = 0;
};

// Layout. A replica's weights are one packed string of `sites` = K × fan_in bits, unit-major
// (site i = k·fan_in + j), so a perceptron (K = 1) is its N weights. Fields are replica-major
// (y × K × P); boundary sets are unit-major (K × y), so that the y sets one step reads (all of
// the step's unit k) are adjacent, as the perceptron's are.
struct ChainState {
  int inputs = 0, patterns = 0, replicas = 0;  // N, P, y
  int hidden_units = 1;  // K (1: perceptron)
  // Tree committee: unit k sees inputs [k·fan_in, (k+1)·fan_in); else every unit sees all N.
  bool tree = false;
  int fan_in = 0;  // inputs per hidden unit (N for a perceptron and a fully connected committee)
  int sites = 0;   // weights per network, K × fan_in: one step proposes one of them
  bool explicit_centre = false;
  bool flip_energy = true;
  std::size_t weight_words = 0;   // 64-bit words per weight string
  std::size_t pattern_words = 0;  // 64-bit words per pattern set

  std::vector<std::uint64_t> weights;      // y × weight_words
  std::vector<std::uint64_t> centre;       // weight_words; explicit centre only
  std::vector<std::int32_t> site_sums;     // sites: S_i = Σ_a W_i^a
  // y × K × P hidden fields h_k^μ on the folded patterns; for a perceptron the stabilities Δ^μ.
  std::vector<std::int32_t> stabilities;
  // K × y × pattern_words: boundary sets (metropolis_rules.hpp), unit-major.
  std::vector<std::uint64_t> set_a, set_b;
  std::vector<std::int32_t> size_a, size_b;// K × y
  std::vector<std::int64_t> energy;        // y
  std::vector<std::int32_t> errors;        // y
  // Committees only (empty for K = 1): what the sets are rebuilt from after a move.
  std::vector<std::int32_t> votes;              // y × P: M^μ = Σ_k sign(h_k^μ)
  std::vector<std::uint64_t> field_plus_one;    // y × K × pattern_words: {h_k = +1}
  std::vector<std::uint64_t> field_minus_one;   // y × K × pattern_words: {h_k = −1}
  std::vector<std::uint64_t> votes_plus_one;    // y × pattern_words: {M = +1}
  std::vector<std::uint64_t> votes_minus_one;   // y × pattern_words: {M = −1}
  InstanceStatus status;

  bool committee() const { return hidden_units > 1; }
  const std::uint64_t* replica(int a) const { return weights.data() + a * weight_words; }
  std::uint64_t* replica(int a) { return weights.data() + a * weight_words; }
  ModelSpec model() const;

  // Recomputes every derived quantity (S, fields, votes, sets, energies, errors) from the weights.
  void recompute(const BitMatrix& folded_rows);
  // The centre as ±1 bits over the sites: explicit W̃, or the clipped majority sign(S_i)
  // (ties → +1).
  std::vector<std::uint64_t> centre_bits() const;
};

// Fresh chain: random replica (and explicit centre) weights from the (seed, instance) stream,
// and the initial check for an already solved replica or centre. Throws Error for a committee
// with the flips energy (only the errors energy is defined for committees).
ChainState initial_chain(const AnnealConfig& config, const ModelSpec& model,
                         const BitMatrix& folded_rows, std::uint32_t instance);
// The perceptron with N = folded_rows.cols().
ChainState initial_chain(const AnnealConfig& config, const BitMatrix& folded_rows,
                         std::uint32_t instance);

// Training errors of a packed ±1 weight vector on folded rows (Δ^μ < 0).
int count_errors(const BitMatrix& folded_rows, const std::uint64_t* weights);
// The same for any network: `weights` packs model.weights() bits, K × fan_in unit-major; a
// pattern is an error when Σ_k sign(h_k^μ) < 0.
int count_errors(const ModelSpec& model, const BitMatrix& folded_rows, const std::uint64_t* weights);

// Σ_a Hamming(W^a, centre).
std::int64_t total_distance(const ChainState& chain, const std::vector<std::uint64_t>& centre);

}  // namespace locent
