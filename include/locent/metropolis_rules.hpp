// The rules of one Metropolis step of (replicated) simulated annealing, shared verbatim by the
// CPU backend and the CUDA kernels so that both follow the identical trajectory.
//
// One *step* picks a site i and proposes flipping W_i^a for every replica a = 0..y-1 in order
// (then, with an explicit centre, W̃_i). One *sweep* is N steps. Random words of a step come from
// the Philox stream (seed, metropolis, instance, sweep, step): slot 0 picks the site, slot 1 + a
// decides replica a, slot 1 + y decides the explicit centre; one Philox call yields 4 slots.
//
// A proposal is accepted iff its uniform 32-bit word u satisfies u <= T, with T read from a
// threshold table that the host builds in double precision from β, γ and y (threshold_table.hpp).
// The table is indexed by the data-term change ΔE (clamped to the open window (−D, D): ΔE ≥ D is
// always rejected, ΔE ≤ −D always accepted, and D is chosen so that this is exact) and by a
// small coupling index:
//   traced:   k = (s·S̄ + y − 1)/2 ∈ [0, y),  s = W_i^a, S̄ = S_i − s
//             ratio cosh(γ(S̄ − s))/cosh(γ(S̄ + s)) = cosh(γ(sS̄ − 1))/cosh(γ(sS̄ + 1))
//   explicit: k = (W̃_i·s + 1)/2 ∈ {0, 1},   ratio exp(−2γ W̃_i s)
// and the centre move (explicit only) by k = (c·S_i + y)/2 ∈ [0, y], ratio exp(−2γ c S_i).
#pragma once
#include <cstdint>

#include "locent/hd.hpp"
#include "locent/rng.hpp"

namespace locent {

struct ThresholdView {
  const std::uint32_t* table;  // this sweep's table: coupling_states rows of (2D − 1), then centre
  int half_width;              // D
  int coupling_states;         // y (traced) or 2 (explicit)

  LOCENT_HD int row_length() const { return 2 * half_width - 1; }
  LOCENT_HD const std::uint32_t* centre() const { return table + coupling_states * row_length(); }

  LOCENT_HD bool accept_replica(int delta_e, int k, std::uint32_t u) const {
    if (delta_e >= half_width) return false;
    if (delta_e <= -half_width) return true;
    return u <= table[k * row_length() + (delta_e + half_width - 1)];
  }
  LOCENT_HD bool accept_centre(int k, std::uint32_t u) const { return u <= centre()[k]; }
};

// Coupling index of flipping W_i^a = s when the replicas' sum at i is S.
LOCENT_HD int traced_coupling_index(int s, int S, int replicas) {
  return (s * (S - s) + replicas - 1) / 2;
}
LOCENT_HD int explicit_coupling_index(int s, int centre) { return (centre * s + 1) / 2; }
LOCENT_HD int centre_coupling_index(int c, int S, int replicas) { return (c * S + replicas) / 2; }

// Slots of a step's random stream.
LOCENT_HD std::uint32_t site_slot() { return 0; }
LOCENT_HD std::uint32_t replica_slot(int a) { return 1u + static_cast<std::uint32_t>(a); }
LOCENT_HD std::uint32_t centre_slot(int replicas) { return 1u + static_cast<std::uint32_t>(replicas); }
LOCENT_HD int step_slots(int replicas, bool explicit_centre) {
  return 1 + replicas + (explicit_centre ? 1 : 0);
}

// ΔE of flipping a replica's weight w at a site whose pattern column is `col` (bit μ: σ^μ ξ_i^μ
// is +1), from the two boundary sets (algorithms.md §2):
//   A: patterns whose cost rises when Δ^μ drops by 2  (errors: Δ = +1; flips: Δ ≤ +1)
//   B: patterns whose cost falls when Δ^μ rises by 2  (errors: Δ = −1; flips: Δ ≤ −1)
// Flipping w moves Δ^μ by −2x, x = σξ_i^μ w. With a = |A ∩ col|, b = |B ∩ col|:
//   w = +1: ΔE = a − (|B| − b);   w = −1: ΔE = (|A| − a) − b.
LOCENT_HD int flip_delta_energy(bool w_plus, int a_and_col, int b_and_col, int size_a, int size_b) {
  return w_plus ? a_and_col - (size_b - b_and_col) : (size_a - a_and_col) - b_and_col;
}

// Boundary-set membership and cost of a pattern with stability d, for each energy kind.
LOCENT_HD bool in_set_a(int d, bool flips) { return flips ? d <= 1 : d == 1; }
LOCENT_HD bool in_set_b(int d, bool flips) { return flips ? d <= -1 : d == -1; }
LOCENT_HD int pattern_cost(int d, bool flips) { return flips ? (d < 1 ? (1 - d) / 2 : 0) : (d < 0); }

}  // namespace locent
