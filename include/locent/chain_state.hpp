// The state of one instance's Markov chain (y replicas, their coupling and every incrementally
// kept quantity), and its full recomputation from the weights. The CPU backend runs on it
// directly; the CUDA backend uploads it and downloads it again, so both start from the same state.
#pragma once
#include <cstdint>
#include <vector>

#include "locent/anneal.hpp"
#include "locent/bits.hpp"

namespace locent {

// Per-instance progress, identical in layout on host and device.
struct InstanceStatus {
  std::int32_t solved = 0;      // 1 once a replica or the centre has zero errors
  std::int32_t solved_by = -1;  // replica index, or y for the centre
  std::uint64_t proposals = 0;
  std::uint64_t accepted = 0;
};

struct ChainState {
  int inputs = 0, patterns = 0, replicas = 0;
  bool explicit_centre = false;
  bool flip_energy = true;
  std::size_t input_words = 0, pattern_words = 0;  // 64-bit words per weight / per pattern set

  std::vector<std::uint64_t> weights;      // y × input_words
  std::vector<std::uint64_t> centre;       // input_words; explicit centre only
  std::vector<std::int32_t> site_sums;     // S_i = Σ_a W_i^a
  std::vector<std::int32_t> stabilities;   // y × P: Δ^μ = σ^μ W^a·ξ^μ
  std::vector<std::uint64_t> set_a, set_b; // y × pattern_words, boundary sets (metropolis_rules)
  std::vector<std::int32_t> size_a, size_b;// y
  std::vector<std::int64_t> energy;        // y
  std::vector<std::int32_t> errors;        // y
  InstanceStatus status;

  const std::uint64_t* replica(int a) const { return weights.data() + a * input_words; }
  std::uint64_t* replica(int a) { return weights.data() + a * input_words; }

  // Recomputes every derived quantity (S, stabilities, sets, energies, errors) from the weights.
  void recompute(const BitMatrix& folded_rows);
  // The centre as ±1 bits: explicit W̃, or the clipped majority sign(S_i) (ties → +1).
  std::vector<std::uint64_t> centre_bits() const;
};

// Fresh chain: random replica (and explicit centre) weights from the (seed, instance) stream,
// and the initial check for an already solved replica or centre.
ChainState initial_chain(const AnnealConfig& config, const BitMatrix& folded_rows,
                         std::uint32_t instance);

// Training errors of a packed ±1 weight vector on folded rows (Δ^μ < 0).
int count_errors(const BitMatrix& folded_rows, const std::uint64_t* weights);

// Σ_a Hamming(W^a, centre).
std::int64_t total_distance(const ChainState& chain, const std::vector<std::uint64_t>& centre);

}  // namespace locent
