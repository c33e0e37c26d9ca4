// Frontier rounds: the speculative rounds of metropolis_rounds.hpp with each chain member at its
// own position in the sweep. Shared by the CPU twin (host/cpu/metropolis_frontier.cpp) and the
// CUDA kernel's frontier variants (kernels/metropolis_rounds.cu; bench/NOTES.md).
//
// The members are the replicas a = 0..y−1 and, with an explicit centre, the centre (a = y), in
// the chain's order within a step. In a round, member a decides its proposals from its position
// f_a on, in order, until
//   - its counts go stale (a replica, right after its first accepted flip of the round: its ΔE
//     at later steps came from counts taken before it; the centre has no counts);
//   - it has taken k steps (a replica counts k steps from f_a);
//   - it reaches the position of the member before it (f_{a−1}, already moved this round): a's
//     coupling at step j depends on the earlier members' decisions at j;
//   - for member 0, `lead` steps past the last member (the steps' data must stay in a window);
//   - a step whose site comes up again at another step of the window where that could change a's
//     coupling (frontier_step_safe), rare.
// So f_0 ≥ f_1 ≥ … ≥ f_last always, and the coupling at (j, a) is exact from the steps' bits read
// at the round's start and kept current as flips land: a member b < a has decided j, and its bit
// is its weight after that decision unless it flipped the same site again at a later step; a
// member b > a has not, and its bit is its weight before j unless it has an undecided step at the
// same site before j. frontier_step_safe refuses exactly those cases. Every decision is then the
// sequential chain's, and the chain's trajectory is the sequential one, bit for bit.
//
// A member that reaches zero energy ends the chain only at its place in the chain's order, and the
// members ahead of it have decided proposals after that place. The twin (and the kernel) then goes
// back to the sweep's start and takes the sweep again in the plain rounds: rare, and exact.
#pragma once
#include <cstdint>

#include "locent/hd.hpp"
#include "locent/metropolis_rounds.hpp"
#include "locent/metropolis_rules.hpp"

namespace locent {

// The most steps in a round's window [base, end): the masks of frontier_walk_masked are
// ProposalBits.
inline constexpr int kMaxFrontierWindow = 128;

// Whether member a may decide step j (window steps [base, end), steps[j − base]): unless j's site
// comes up at another window step l with j < l < lead_pos (a member before a, now at lead_pos ≤ f_0,
// may have flipped it there after deciding j: a > 0) or base ≤ l < j (a member after a, at base or
// beyond, has yet to decide l, which comes before (j, a): a < last).
// Bit j − base of `repeated` is set where j's site comes up at another window step.
template <class Step>
LOCENT_HD bool frontier_step_safe(const Step* steps, ProposalBits repeated, int base, int end,
                                  int j, bool has_before, int lead_pos, bool has_after) {
  if (!static_cast<bool>((repeated >> (j - base)) & 1u)) return true;
  const int site = steps[j - base].site;
  for (int l = base; l < end; ++l) {
    if (l == j || steps[l - base].site != site) continue;
    if (has_before && j < l && l < lead_pos) return false;
    if (has_after && l < j) return false;
  }
  return true;
}

struct FrontierWalk {
  int position = 0;     // the member's new position
  bool solved = false;  // a replica reached zero energy (at its flip, the last one recorded)
};

// Member a's ΔE at step j: 0 for the centre (a = y); a replica's from its counts
// (delta_e[(j − start) · delta_stride], its counted steps beginning at `start`), or after its
// own first move in the round (`first`, with second-order terms) after(first->step, j, a,
// first->was_plus, w_plus).
template <class After>
LOCENT_HD int frontier_delta_on(int a, int y, int j, int start, bool w_plus,
                                const int* delta_e, int delta_stride, const RoundFlip* first,
                                const After& after) {
  if (a >= y) return 0;
  return first != nullptr ? after(first->step, j, a, first->was_plus, w_plus)
                          : delta_e[(j - start) * delta_stride];
}

// Records member a's accepted proposal at step j (ΔE de, weight before w_plus): the bits of the
// window's later steps at the same site, the flip or the centre step, the energy. Marks the
// steps whose bits changed in `touched` (window bit l − base).
LOCENT_HD void frontier_accept(RoundStep* steps, int base, int end, int j, int a, int y,
                               bool w_plus, int de, ProposalBits& touched, std::int64_t* energy,
                               RoundFlip* flips, int& flip_count, int* centre_steps,
                               int& centre_count) {
  const int site = steps[j - base].site;
  for (int l = j; l < end; ++l) {
    if (steps[l - base].site != site) continue;
    touched |= ProposalBits{1} << (l - base);
    if (a == y)
      steps[l - base].centre_plus = !steps[l - base].centre_plus;
    else
      steps[l - base].replica_plus ^= 1u << a;
  }
  if (a == y) {
    centre_steps[centre_count++] = j;
    return;
  }
  flips[flip_count++] = RoundFlip{j, a, w_plus};
  energy[a] += de;
}

// Member a's walk from `from` (its position) to at most `bound`, one proposal after the other.
//   steps[j − base]  the window [base, end) (bits updated in place); `repeated` as above
//   lead_pos     the position of the members before a (f_0, already moved), for the safety check
//   last         the last member (y − 1 traced, y with an explicit centre)
//   start, delta_e, delta_stride, first, after   a replica's ΔE (frontier_delta_on); `first` is
//                its move in this round so far (the longer frontier rounds below), or null
//   known        whether a replica that moved has second-order terms: without, it does not walk
//   random(j, slot)  slot of window step j's Philox words
//   energy[y], flips (replica flips: step, replica, weight before), centre_steps: filled in order
// A replica's walk ends right after its move (its counts, or its terms, are stale from there).
template <class Random, class After>
LOCENT_HD FrontierWalk frontier_walk_on(RoundStep* steps, ProposalBits repeated, int base,
                                        int end, int a, int last, int y, bool traced, int start,
                                        int from, int bound, int lead_pos, const int* delta_e,
                                        int delta_stride, const RoundFlip* first, bool known,
                                        const After& after, const ThresholdView& view,
                                        const Random& random, std::int64_t* energy,
                                        RoundFlip* flips, int& flip_count, int* centre_steps,
                                        int& centre_count, std::uint64_t& proposals,
                                        std::uint64_t& accepted) {
  FrontierWalk walk;
  walk.position = from;
  if (first != nullptr && !known) return walk;  // its counts are stale
  ProposalBits touched = 0;  // not needed one proposal at a time
  int j = from;
  for (; j < bound; ++j) {
    if (!frontier_step_safe(steps, repeated, base, end, j, a > 0, lead_pos, a < last)) break;
    const RoundStep& st = steps[j - base];
    const bool w_plus = a < y && ((st.replica_plus >> a) & 1u);
    const int de = frontier_delta_on(a, y, j, start, w_plus, delta_e, delta_stride, first, after);
    ++proposals;
    if (!proposal_accepted(st, j - base, a, y, traced, de, view, random)) continue;
    ++accepted;
    frontier_accept(steps, base, end, j, a, y, w_plus, de, touched, energy, flips, flip_count,
                    centre_steps, centre_count);
    if (a == y) continue;
    walk.position = j + 1;
    walk.solved = energy[a] == 0;
    return walk;
  }
  walk.position = j;
  return walk;
}

// The first walks of a round: from the member's counted start, no move yet.
template <class Random>
LOCENT_HD FrontierWalk frontier_walk(RoundStep* steps, ProposalBits repeated, int base, int end,
                                     int a, int last, int y, bool traced, int from, int bound,
                                     int lead_pos, const int* delta_e, int delta_stride,
                                     const ThresholdView& view, const Random& random,
                                     std::int64_t* energy, RoundFlip* flips, int& flip_count,
                                     int* centre_steps, int& centre_count,
                                     std::uint64_t& proposals, std::uint64_t& accepted) {
  return frontier_walk_on(steps, repeated, base, end, a, last, y, traced, from, from, bound,
                          lead_pos, delta_e, delta_stride, nullptr, false, NoSecondOrder{}, view,
                          random, energy, flips, flip_count, centre_steps, centre_count,
                          proposals, accepted);
}

// ---- Longer frontier rounds: a replica may move twice ----
//
// As in the longer rounds (metropolis_rounds.hpp), a replica's ΔE after its own first move in a
// round is exact from second-order terms of the round's starting state. After the first walks,
// the replicas that moved get their terms, and every member walks on in another part (from its
// position, still within its k counted steps): a replica with terms until its second move, a
// replica that moves for the first time until that move, the others as before. Each part walks
// with frontier_walk_on (or its masked form below), `first` and `known` as they stand.

// ---- The walks with the common case done in parallel ----
//
// Every member's proposals get a tentative decision from the steps' bits as the round (or the
// part) found them (frontier_tentative_on, one per lane on a GPU): bit t of a member's mask for
// step from + t. It is the true decision wherever no flip of an earlier walk in the round changed
// that step's bits (`touched`, window bit j − base), and the walk decides again only there; it
// checks the repeated sites (window bit j − base of `repeated`) with frontier_step_safe. A walk
// takes at most 32 steps (bound − from ≤ 32). Same outcome as frontier_walk_on.

template <class Random, class After>
LOCENT_HD bool frontier_tentative_on(const RoundStep* steps, int base, int j, int a, int y,
                                     bool traced, int start, const int* delta_e,
                                     int delta_stride, const RoundFlip* first,
                                     const After& after, const ThresholdView& view,
                                     const Random& random) {
  const RoundStep& st = steps[j - base];
  const bool w_plus = a < y && ((st.replica_plus >> a) & 1u);
  return proposal_accepted(
      st, j - base, a, y, traced,
      frontier_delta_on(a, y, j, start, w_plus, delta_e, delta_stride, first, after), view,
      random);
}
// The first walks' tentative decision at step j, with ΔE de.
template <class Random>
LOCENT_HD bool frontier_tentative(const RoundStep* steps, int base, int j, int a, int y,
                                  bool traced, int de, const ThresholdView& view,
                                  const Random& random) {
  return proposal_accepted(steps[j - base], j - base, a, y, traced, de, view, random);
}

template <class Random, class After>
LOCENT_HD FrontierWalk frontier_walk_on_masked(
    RoundStep* steps, ProposalBits repeated, int base, int end, int a, int last, int y,
    bool traced, int start, int from, int bound, int lead_pos, const int* delta_e,
    int delta_stride, const RoundFlip* first, bool known, const After& after,
    const ThresholdView& view, const Random& random, std::uint32_t tentative,
    ProposalBits& touched, std::int64_t* energy, RoundFlip* flips, int& flip_count,
    int* centre_steps, int& centre_count, std::uint64_t& proposals, std::uint64_t& accepted) {
  FrontierWalk walk;
  walk.position = from;
  if (first != nullptr && !known) return walk;  // its counts are stale
  const int span = bound - from;  // ≤ 32
  if (span <= 0) return walk;
  const std::uint32_t all = span >= 32 ? ~0u : (1u << span) - 1;
  const auto window_bits = [&](ProposalBits x) {  // steps from .. from + 31 of a window mask
    return static_cast<std::uint32_t>(x >> (from - base));
  };
  const std::uint32_t repeats = window_bits(repeated) & all;
  int t = 0;
  while (t < span) {
    const std::uint32_t changed = window_bits(touched);
    const std::uint32_t next = (tentative | changed | repeats) & all & (~0u << t);
    if (next == 0) break;
    const int q = lowest_bit(static_cast<std::uint64_t>(next)), j = from + q;
    proposals += static_cast<std::uint64_t>(q - t);  // rejections
    if (((repeats >> q) & 1u) &&
        !frontier_step_safe(steps, repeated, base, end, j, a > 0, lead_pos, a < last)) {
      walk.position = j;
      return walk;
    }
    ++proposals;
    t = q + 1;
    const RoundStep& st = steps[j - base];
    const bool w_plus = a < y && ((st.replica_plus >> a) & 1u);
    const int de = frontier_delta_on(a, y, j, start, w_plus, delta_e, delta_stride, first, after);
    const bool accept = ((changed >> q) & 1u)
                            ? proposal_accepted(st, j - base, a, y, traced, de, view, random)
                            : ((tentative >> q) & 1u) != 0;
    if (!accept) continue;
    ++accepted;
    frontier_accept(steps, base, end, j, a, y, w_plus, de, touched, energy, flips, flip_count,
                    centre_steps, centre_count);
    if (a == y) continue;
    walk.position = j + 1;
    walk.solved = energy[a] == 0;
    return walk;
  }
  proposals += static_cast<std::uint64_t>(span - t);
  walk.position = bound;
  return walk;
}

// The first walks, masked.
template <class Random>
LOCENT_HD FrontierWalk frontier_walk_masked(RoundStep* steps, ProposalBits repeated, int base,
                                            int end, int a, int last, int y, bool traced,
                                            int from, int bound, int lead_pos,
                                            const int* delta_e, int delta_stride,
                                            const ThresholdView& view, const Random& random,
                                            std::uint32_t tentative, ProposalBits& touched,
                                            std::int64_t* energy, RoundFlip* flips,
                                            int& flip_count, int* centre_steps,
                                            int& centre_count, std::uint64_t& proposals,
                                            std::uint64_t& accepted) {
  return frontier_walk_on_masked(steps, repeated, base, end, a, last, y, traced, from, from,
                                 bound, lead_pos, delta_e, delta_stride, nullptr, false,
                                 NoSecondOrder{}, view, random, tentative, touched, energy, flips,
                                 flip_count, centre_steps, centre_count, proposals, accepted);
}

// The most steps a member's walk may take in a round: k (replica a's counted window; the centre
// has no counts but keeps to the same), and for member 0 the lead over the last member (base);
// the others are bounded by the member before them.
LOCENT_HD int frontier_bound(int a, int y, int from, int k, int n, int base, int lead,
                             int before_pos) {
  (void)y;
  int bound = n;
  if (from + k < bound) bound = from + k;  // the centre too: a walk takes at most k steps
  if (a == 0 && base + lead < bound) bound = base + lead;
  if (a > 0 && before_pos < bound) bound = before_pos;
  return bound;
}

}  // namespace locent
