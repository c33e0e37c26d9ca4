// The rules of one Metropolis step of (replicated) simulated annealing, shared verbatim by the
// CPU backend and the CUDA kernels so that both follow the identical trajectory.
//
// One *step* picks a site i (a weight: one of N for a perceptron, of K × fan_in for a committee)
// and proposes flipping W_i^a for every replica a = 0..y-1 in order (then, with an explicit
// centre, W̃_i). One *sweep* is as many steps as there are sites. Random words of a step come from
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
#include <cstddef>
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

// Committee machines (errors energy). A site is a weight (k, j) of hidden unit k, numbered
// i = k·fan_in + j (weights are K × fan_in, unit-major); it applies to input column
// unit_input_offset(k) + j, which is i in a tree and j when fully connected. Flipping it moves
// the hidden field h_k^μ by −2x^μ, x^μ = σξ^μ W_kj. A pattern changes status only where sign(h_k)
// flips and so moves the vote sum M^μ = Σ_k sign(h_k^μ) across zero, so the per-(replica, unit)
// boundary sets are
//   A_k = {μ : h_k = +1, M = +1}   (an error appears when x = +1)
//   B_k = {μ : h_k = −1, M = −1}   (an error disappears when x = −1)
// and ΔE is flip_delta_energy with the site's input column: the perceptron rule for K = 1.
LOCENT_HD int committee_unit_of_site(int site, int fan_in) { return site / fan_in; }
LOCENT_HD int committee_input_of_site(int site, int fan_in, bool tree) {
  return tree ? site : site % fan_in;
}
LOCENT_HD bool committee_in_set_a(int h, int m) { return h == 1 && m == 1; }
LOCENT_HD bool committee_in_set_b(int h, int m) { return h == -1 && m == -1; }

// `len` ≤ bits-per-word bits of a packed bit string starting at bit `bit`, low bit first; reads
// the next word only when the run crosses into it, so it never reads past the string.
template <class Word>
LOCENT_HD Word bits_at(const Word* words, std::size_t bit, int len) {
  constexpr int kBits = int(sizeof(Word) * 8);
  const std::size_t q = bit / kBits;
  const int r = int(bit % kBits);
  Word v = words[q] >> r;
  if (r != 0 && r + len > kBits) v |= words[q + 1] << (kBits - r);
  if (len < kBits) v &= (Word(1) << len) - 1;
  return v;
}

LOCENT_HD int popcount_word(std::uint64_t x) { return popcount64(x); }
LOCENT_HD int popcount_word(std::uint32_t x) { return popcount32(x); }

// h = Σ_j w_j x_j over `fan_in` ±1 bits, the weights starting at bit `weight_bit` and the inputs
// at bit `input_bit` of their packed strings; chunks `first, first + stride, ...` of one word
// each (a GPU warp's lanes split the chunks; the host takes them all: first 0, stride 1).
template <class Word>
LOCENT_HD int unit_disagreements(const Word* row, std::size_t input_bit, const Word* w,
                                 std::size_t weight_bit, int fan_in, int first, int stride) {
  constexpr int kBits = int(sizeof(Word) * 8);
  int differ = 0;
  for (int t = first; t * kBits < fan_in; t += stride) {
    const int len = fan_in - t * kBits < kBits ? fan_in - t * kBits : kBits;
    differ += popcount_word(Word(bits_at(row, input_bit + std::size_t(t) * kBits, len) ^
                                 bits_at(w, weight_bit + std::size_t(t) * kBits, len)));
  }
  return differ;
}

// Boundary-set membership and cost of a pattern with stability d, for each energy kind.
LOCENT_HD bool in_set_a(int d, bool flips) { return flips ? d <= 1 : d == 1; }
LOCENT_HD bool in_set_b(int d, bool flips) { return flips ? d <= -1 : d == -1; }
// The outer sets of the second order below: C (errors: Δ = 3; flips: Δ ≤ 3) and D (errors:
// Δ = −3; flips: Δ ≤ −3).
LOCENT_HD bool in_set_c(int d, bool flips) { return flips ? d <= 3 : d == 3; }
LOCENT_HD bool in_set_d(int d, bool flips) { return flips ? d <= -3 : d == -3; }

// A replica's ΔE of flipping site l after its own flip at site j, from counts taken before that
// flip (the "longer rounds" of bench/NOTES.md). The flip at j moves Δ by −2 on drops_j (col_j
// where the weight was +1, its complement where −1) and by +2 elsewhere, so the new sets are
//   A' = (drops_j ∩ C) ∪ (rises_j ∩ B),   B' = (drops_j ∩ A) ∪ (rises_j ∩ D),
// and ΔE = s − |B'| (W_l = +1) or |A'| − s (−1) with s = |A' ∩ col_l| + |B' ∩ col_l|, which
// needs one three-way count: s = ±q + first-order counts, q = Σ over μ ∈ col_j ∩ col_l of
// (1_C + 1_A − 1_B − 1_D). w_l_plus is the weight at l now (flipped if l is j's site).
struct SecondOrderCounts {
  int q;                     // the three-way count above
  int c_l, a_l, b_l, d_l;    // |X ∩ col_l|
  int c_j, a_j, b_j, d_j;    // |X ∩ col_j|
  int c, a, b, d;            // |X|
};
// The same in the factors that the rounds keep (metropolis_rounds): the sum s for each later
// step l, with outer_l = |D ∩ col_l| where the weight at j was +1 and |C ∩ col_l| where it was −1;
// the sizes |A'| and |B'| once per flip; then ΔE for the weight at l.
LOCENT_HD int second_order_sum(bool j_was_plus, int q, int a_l, int b_l, int outer_l) {
  return j_was_plus ? q + b_l + outer_l : -q + outer_l + a_l;
}
struct SizesAfterFlip {
  int a, b;  // |A'|, |B'|
};
LOCENT_HD SizesAfterFlip sizes_after_flip(bool j_was_plus, int a_j, int b_j, int c_j, int d_j,
                                          int a, int b, int c, int d) {
  return j_was_plus ? SizesAfterFlip{c_j + (b - b_j), a_j + (d - d_j)}
                    : SizesAfterFlip{(c - c_j) + b_j, (a - a_j) + d_j};
}
LOCENT_HD int delta_energy_after_flip(bool w_l_plus, int s, const SizesAfterFlip& after) {
  return w_l_plus ? s - after.b : after.a - s;
}
LOCENT_HD int delta_energy_after_flip(bool j_was_plus, bool w_l_plus, const SecondOrderCounts& x) {
  return delta_energy_after_flip(
      w_l_plus, second_order_sum(j_was_plus, x.q, x.a_l, x.b_l, j_was_plus ? x.d_l : x.c_l),
      sizes_after_flip(j_was_plus, x.a_j, x.b_j, x.c_j, x.d_j, x.a, x.b, x.c, x.d));
}
// q from bit sets, a word at a time: q = |U ∩ col_j ∩ col_l| ± |V ∩ col_j ∩ col_l| with, for the
// flips energy (nested sets D ⊆ B ⊆ A ⊆ C), U = C ∖ D and V = A ∖ B, added; for the errors energy
// (level sets), U = C ∪ A and V = B ∪ D, subtracted.
template <class Word>
LOCENT_HD Word second_order_u(Word a, Word b, Word c, Word d, bool flips) {
  (void)b;
  return flips ? (c & ~d) : (c | a);
}
template <class Word>
LOCENT_HD Word second_order_v(Word a, Word b, Word c, Word d, bool flips) {
  (void)c;
  return flips ? (a & ~b) : (b | d);
}
LOCENT_HD int second_order_q(int u, int v, bool flips) { return flips ? u + v : u - v; }
LOCENT_HD int pattern_cost(int d, bool flips) { return flips ? (d < 1 ? (1 - d) / 2 : 0) : (d < 0); }

}  // namespace locent
