// Speculative rounds of Metropolis steps: the decisions of several consecutive steps from counts
// taken once, exact. Shared by the CUDA kernel (kernels/metropolis_rounds.cu: a large instance
// over a cluster of SMs, one cluster barrier per round instead of one per step, or a batch with
// one block per instance) and its CPU twin (host/cpu/metropolis_rounds.cpp: the same rounds,
// shared among threads for a lone large instance).
//
// Why it is exact. The ΔE of proposal (step j, replica a) depends only on replica a's own state:
// its boundary sets, their sizes and its weight at the step's site (metropolis_rules.hpp). A
// round counts |A_a ∩ col| and |B_a ∩ col| for every replica and each of its steps against the
// state at the round's start; those counts stay exact for replica a until a itself accepts a
// flip. The decisions are then taken in the chain's own order (step by step, replica by replica,
// then the explicit centre), with the coupling (S_i, W̃_i) kept current as flips land, and the
// round ends at the first proposal of a replica that has already moved in it: the next round
// starts there, from recounted state. Each replica moves at most once per round, so the moves of
// a round touch disjoint replicas and can be applied together. The trajectory is the sequential
// chain's, bit for bit, whatever the round length.
//
// A round ends at the step after its first acceptance (that replica's next proposal), so with
// acceptance p per proposal and y replicas it lasts about 1/(1 − (1 − p)^y) steps, capped at k:
// about 3 steps at p = 0.05, y = 7; 7 at p = 0.02; k at p ≲ 0.5 %.
#pragma once
#include <cstdint>

#include "locent/hd.hpp"
#include "locent/metropolis_rules.hpp"

namespace locent {

// Longest round, in steps.
inline constexpr int kMaxRoundSteps = 32;

// One step of a round as the decisions see it. The bits are those at the round's start and are
// kept current by decide_round as the round's flips land (a later step at the same site sees
// them).
struct RoundStep {
  int site = 0;
  std::uint32_t replica_plus = 0;  // bit a: W_site^a = +1
  bool centre_plus = false;        // explicit centre: W̃_site = +1
};

// An accepted replica flip: step j of the round, replica a, and its weight before the flip.
struct RoundFlip {
  int step = 0, replica = 0;
  bool was_plus = false;
};

struct RoundOutcome {
  int flips = 0;          // accepted replica flips, in order, in the caller's array
  int centre_flips = 0;   // steps whose explicit-centre move was accepted, in order
  // Where the chain goes on: step `next_step` of this round's numbering (== steps: the round ran
  // to its end), replica `next_replica` first.
  int next_step = 0, next_replica = 0;
  bool solved = false;    // a replica reached zero energy (it is the last flip)
  int solved_by = -1;
};

// How many steps a round is worth counting after `accepted` of `proposals` were accepted: twice
// the expected round length 1/(1 − (1 − p)^y), between 2 and k_max (k_max with no history).
// The trajectory does not depend on it, only the work wasted on steps past a round's end and
// the rounds' fixed costs do.
LOCENT_HD int adaptive_round_steps(std::uint64_t accepted, std::uint64_t proposals, int y,
                                   int k_max) {
  if (proposals == 0 || k_max <= 2) return k_max;
  const double p = double(accepted) / double(proposals);
  double stay = 1;  // (1 − p)^y
  for (int a = 0; a < y; ++a) stay *= 1 - p;
  const double want = 2 / (1 - stay + 1e-12);
  return want >= k_max ? k_max : want <= 2 ? 2 : int(want);
}

// The same for the longer rounds, which end at some replica's second move: twice the expected
// length Σ_L P(no replica moved twice in L steps), P = ((1 − p)^L + L p (1 − p)^(L − 1))^y
// (about 3 times the plain rounds' at small p).
LOCENT_HD int adaptive_round_steps_twice(std::uint64_t accepted, std::uint64_t proposals, int y,
                                         int k_max) {
  if (proposals == 0 || k_max <= 2) return k_max;
  const double p = double(accepted) / double(proposals);
  double expected = 0, none = 1;  // none: (1 − p)^L
  for (int length = 0; length < k_max && 2 * expected < k_max; ++length) {
    const double one = length * p * (length > 0 ? none / (1 - p + 1e-300) : 0);
    double survive = 1;
    for (int a = 0; a < y; ++a) survive *= none + one;
    expected += survive;
    none *= 1 - p;
  }
  const double want = 2 * expected;
  return want >= k_max ? k_max : want <= 2 ? 2 : int(want);
}

LOCENT_HD int replica_sum(std::uint32_t replica_plus, int replicas) {
  return 2 * popcount32(replica_plus) - replicas;
}

// Whether proposal a of step j (a = y: the explicit centre's move) is accepted from the state in
// `st`, with ΔE = de for a replica.
template <class Random>
LOCENT_HD bool proposal_accepted(const RoundStep& st, int j, int a, int y, bool traced, int de,
                                 const ThresholdView& view, const Random& random) {
  const int sum = replica_sum(st.replica_plus, y);
  if (a == y)
    return view.accept_centre(centre_coupling_index(st.centre_plus ? 1 : -1, sum, y),
                              random(j, centre_slot(y)));
  const int s = (st.replica_plus >> a) & 1u ? 1 : -1;
  const int k = traced ? traced_coupling_index(s, sum, y)
                       : explicit_coupling_index(s, st.centre_plus ? 1 : -1);
  return view.accept_replica(de, k, random(j, replica_slot(a)));
}

// Records replica a's accepted flip at step j (ΔE = de); true when its energy reached zero, which
// solves the chain and ends the round after this flip.
LOCENT_HD bool record_replica_flip(RoundOutcome& out, RoundFlip* flips, std::int64_t* energy,
                                   int j, int a, bool was_plus, int de) {
  flips[out.flips++] = RoundFlip{j, a, was_plus};
  energy[a] += de;
  if (energy[a] != 0) return false;
  out.solved = true;
  out.solved_by = a;
  out.next_step = j;
  out.next_replica = a + 1;
  return true;
}

// Which replicas moved in a round so far: what a replica's ΔE comes from and when its counts go
// stale. A replica in `known` has its second-order terms (the longer rounds below): after its
// first move its ΔE comes from after(first move's step, j, a, was_plus, w_plus), and only a
// second move makes its counts stale. Any other replica's counts go stale at its first move.
struct RoundMoves {
  std::uint32_t once = 0, twice = 0, known = 0;
  const RoundFlip* flips;  // the round's flips in order: a replica's first is its first move
  LOCENT_HD void add(int a) {
    if ((once >> a) & 1u)
      twice |= 1u << a;
    else
      once |= 1u << a;
  }
  // The moves among the round's first `count` flips (more are added as they are recorded).
  LOCENT_HD RoundMoves(const RoundFlip* round_flips, int count, std::uint32_t known_terms)
      : known(known_terms), flips(round_flips) {
    for (int f = 0; f < count; ++f) add(flips[f].replica);
  }
  LOCENT_HD bool stale(int a) const { return (((twice | (once & ~known)) >> a) & 1u) != 0; }
  // Replica a's ΔE at step j with weight w_plus.
  template <class After>
  LOCENT_HD int delta_energy(int j, int a, bool w_plus, int y, const int* delta_e,
                             const After& after) const {
    if (((once & known) >> a) & 1u) {
      int f = 0;
      while (flips[f].replica != a) ++f;  // recorded: once has bit a
      return after(flips[f].step, j, a, flips[f].was_plus, w_plus);
    }
    return delta_e[j * y + a];
  }
};

// Decides the proposals of a round in the sequential chain's order until the first proposal of
// a replica whose counts went stale (RoundMoves): the next round recounts from there.
//   steps[0..count)          the round's steps (bits updated in place)
//   from_step, from_replica  the first proposal to decide: (0, the replica the round starts at)
//                            at a round's start, mid-step since the chain may stop there
//   out                      the decisions taken so far: none at a round's start, or those that
//                            stopped at from_step, from_replica (their flips in flips[], their
//                            centre steps in centre_steps[])
//   known                    replicas with second-order terms (none in the plain rounds)
//   delta_e[j·y + a]         ΔE of (step j, replica a) from the round's starting state
//   after(j, l, a, j_was_plus, l_plus)   a known replica's ΔE at step l after its move at step j
//   random(j, slot)          slot of step j's Philox words (metropolis_rules.hpp)
//   energy[y]                updated as replicas move
//   flips[≤ 2y], centre_steps[≤ count]   filled in order
// The counters `proposals` and `accepted` advance by the decided proposals.
template <class Random, class After>
LOCENT_HD RoundOutcome decide_round_moving(RoundStep* steps, int count, int from_step,
                                           int from_replica, RoundOutcome out,
                                           std::uint32_t known, int y, bool traced,
                                           const int* delta_e, const After& after,
                                           const ThresholdView& view, const Random& random,
                                           std::int64_t* energy, RoundFlip* flips,
                                           int* centre_steps, std::uint64_t& proposals,
                                           std::uint64_t& accepted) {
  RoundMoves moves(flips, out.flips, known);  // the moves already taken
  for (int j = from_step; j < count; ++j) {
    RoundStep& st = steps[j];
    for (int a = j == from_step ? from_replica : 0; a < y; ++a) {
      if (moves.stale(a)) {
        out.next_step = j;
        out.next_replica = a;
        return out;
      }
      const bool w_plus = (st.replica_plus >> a) & 1u;
      const int de = moves.delta_energy(j, a, w_plus, y, delta_e, after);
      ++proposals;
      if (!proposal_accepted(st, j, a, y, traced, de, view, random)) continue;
      ++accepted;
      moves.add(a);
      for (int l = j; l < count; ++l)
        if (steps[l].site == st.site) steps[l].replica_plus ^= 1u << a;
      if (record_replica_flip(out, flips, energy, j, a, w_plus, de)) return out;
    }
    if (!traced) {
      ++proposals;
      if (proposal_accepted(st, j, y, y, traced, 0, view, random)) {
        ++accepted;
        centre_steps[out.centre_flips++] = j;
        for (int l = j; l < count; ++l)
          if (steps[l].site == st.site) steps[l].centre_plus = !steps[l].centre_plus;
      }
    }
  }
  out.next_step = count;
  out.next_replica = 0;
  return out;
}

// No second order: the plain rounds never ask.
struct NoSecondOrder {
  LOCENT_HD int operator()(int, int, int, bool, bool) const { return 0; }
};

// The plain rounds: a replica moves at most once.
template <class Random>
LOCENT_HD RoundOutcome decide_round(RoundStep* steps, int count, int first_replica, int y,
                                    bool traced, const int* delta_e, const ThresholdView& view,
                                    const Random& random, std::int64_t* energy, RoundFlip* flips,
                                    int* centre_steps, std::uint64_t& proposals,
                                    std::uint64_t& accepted) {
  return decide_round_moving(steps, count, 0, first_replica, RoundOutcome{}, 0, y, traced,
                             delta_e, NoSecondOrder{}, view, random, energy, flips, centre_steps,
                             proposals, accepted);
}

// ---- The same decisions, with the common case done in parallel ----
//
// Number the round's proposals q = j·stride + a (stride = y traced, y + 1 explicit, where a = y
// is step j's centre move), q ≥ first_replica. Decided against the round's starting state, every
// proposal gets a *tentative* decision (tentative_decision, one per lane on a GPU). It is the true
// one for every proposal up to the first acceptance, and after it for every proposal whose site
// no earlier acceptance touched (S_i and W̃_i change only through flips at i) and whose replica
// has not moved. decide_round_masked walks from acceptance to acceptance: the next proposal to
// look at is the lowest of the tentative acceptances, the proposals at sites an acceptance
// touched (decided again from the current state) and the next proposal of a replica that moved
// (the round ends there). Everything in between is a rejection. Same outcome as decide_round.

inline constexpr int kMaxMaskedProposals = 128;

// One bit a proposal of a round (q = j·stride + a): up to 64 proposals in a std::uint64_t, up to
// kMaxMaskedProposals in ProposalBits (twice the instructions a step of the walk).
using ProposalBits = unsigned __int128;

LOCENT_HD int round_stride(int y, bool traced) { return traced ? y : y + 1; }

// Proposal q's decision from the state in steps[] and the moves so far: its tentative decision
// while steps[] is as the round (or its continuation) found it.
template <class Random, class After = NoSecondOrder>
LOCENT_HD bool tentative_decision(const RoundStep* steps, int q, int y, bool traced,
                                  const int* delta_e, const ThresholdView& view,
                                  const Random& random, const RoundMoves* moves = nullptr,
                                  const After& after = After{}) {
  const int stride = round_stride(y, traced);
  const int j = q / stride, a = q - j * stride;
  int de = 0;
  if (a < y)
    de = moves ? moves->delta_energy(j, a, (steps[j].replica_plus >> a) & 1u, y, delta_e, after)
               : delta_e[j * y + a];
  return proposal_accepted(steps[j], j, a, y, traced, de, view, random);
}

LOCENT_HD int lowest_bit(std::uint64_t x) {
#if defined(__CUDA_ARCH__)
  return __ffsll(static_cast<long long>(x)) - 1;
#else
  return __builtin_ctzll(x);
#endif
}
LOCENT_HD int lowest_bit(ProposalBits x) {
  const auto low = static_cast<std::uint64_t>(x);
  return low != 0 ? lowest_bit(low) : 64 + lowest_bit(static_cast<std::uint64_t>(x >> 64));
}
// Bit q alone (q below the mask's width).
template <class Bits = ProposalBits>
LOCENT_HD Bits proposal_bit(int q) {
  return Bits{1} << q;
}

// As decide_round_moving from proposal (from_step, from_replica) on, for count · stride ≤ the
// width of Bits (std::uint64_t or ProposalBits), given bit q of `tentative` set for q at or
// after that proposal where tentative_decision(q) accepts, with the moves in flips[] and
// `known` (from steps[] before any change). A known replica's first move changes its later ΔE:
// those proposals are decided again, like those at a touched site.
template <class Bits, class Random, class After>
LOCENT_HD RoundOutcome decide_round_masked_moving(RoundStep* steps, int count, int from_step,
                                                  int from_replica, RoundOutcome out,
                                                  std::uint32_t known, int y,
                                                  bool traced, const int* delta_e,
                                                  const After& after, const ThresholdView& view,
                                                  const Random& random, Bits tentative,
                                                  std::int64_t* energy, RoundFlip* flips,
                                                  int* centre_steps, std::uint64_t& proposals,
                                                  std::uint64_t& accepted) {
  constexpr int kWidth = int(sizeof(Bits) * 8);
  RoundMoves moves(flips, out.flips, known);
  const int stride = round_stride(y, traced), total = count * stride;
  const Bits none = 0, all = total == kWidth ? ~none : proposal_bit<Bits>(total) - 1;
  // Every proposal at or after q + 1 (q + 1 < kWidth), or none.
  const auto after_q = [&](int q) { return q + 1 < kWidth ? ~(proposal_bit<Bits>(q + 1) - 1) : none; };
  Bits dirty = 0, stale = 0;
  for (int a = 0; a < y; ++a) {  // the next proposal of a replica whose counts went stale
    if (!moves.stale(a)) continue;
    const int q = from_step * stride + a < from_step * stride + from_replica ? (from_step + 1) * stride + a
                                                                             : from_step * stride + a;
    if (q < total) stale |= proposal_bit<Bits>(q);
  }
  int pos = from_step * stride + from_replica;
  for (;;) {
    const Bits ahead = pos >= kWidth ? none : all & (~none << pos);
    const Bits next = (tentative | dirty | stale) & ahead;
    if (next == 0) break;
    const int q = lowest_bit(next);
    const int j = q / stride, a = q - j * stride;
    proposals += static_cast<std::uint64_t>(q - pos);  // rejections, all of them
    if (static_cast<bool>((stale >> q) & 1u)) {
      out.next_step = j;
      out.next_replica = a;
      return out;
    }
    ++proposals;
    pos = q + 1;
    RoundStep& st = steps[j];
    // A flip at this site, or the replica's own first move, came first: decide again, from the
    // current state.
    if (static_cast<bool>((dirty >> q) & 1u) &&
        !tentative_decision(steps, q, y, traced, delta_e, view, random, &moves, after))
      continue;
    ++accepted;
    const bool w_plus = a < y && ((st.replica_plus >> a) & 1u);
    const int de = a < y ? moves.delta_energy(j, a, w_plus, y, delta_e, after) : 0;
    // Later proposals at this site see a changed S_i or W̃_i.
    for (int l = j; l < count; ++l) {
      if (steps[l].site != st.site) continue;
      const Bits step_bits = (proposal_bit<Bits>(stride) - 1) << (l * stride);  // stride ≤ 31 (y ≤ 30)
      dirty |= step_bits & after_q(q);
      if (a == y)
        steps[l].centre_plus = !steps[l].centre_plus;
      else
        steps[l].replica_plus ^= 1u << a;
    }
    if (a == y) {
      centre_steps[out.centre_flips++] = j;
      continue;
    }
    const bool first_move = !((moves.once >> a) & 1u);
    moves.add(a);
    if (moves.stale(a)) {
      if (q + stride < total) stale |= proposal_bit<Bits>(q + stride);
    } else if (first_move) {  // known: a's later proposals by the second-order rule
      for (int l = j + 1; l < count; ++l) dirty |= proposal_bit<Bits>(l * stride + a);
    }
    if (record_replica_flip(out, flips, energy, j, a, w_plus, de)) return out;
  }
  proposals += static_cast<std::uint64_t>(total - pos);
  out.next_step = count;
  out.next_replica = 0;
  return out;
}

// The plain rounds' masked decisions from the round's start.
template <class Bits, class Random>
LOCENT_HD RoundOutcome decide_round_masked(RoundStep* steps, int count, int first_replica, int y,
                                           bool traced, const int* delta_e,
                                           const ThresholdView& view, const Random& random,
                                           Bits tentative, std::int64_t* energy,
                                           RoundFlip* flips, int* centre_steps,
                                           std::uint64_t& proposals, std::uint64_t& accepted) {
  return decide_round_masked_moving(steps, count, 0, first_replica, RoundOutcome{}, 0, y, traced,
                                    delta_e, NoSecondOrder{}, view, random, tentative, energy,
                                    flips, centre_steps, proposals, accepted);
}

// ---- Longer rounds: a replica may move twice ----
//
// A replica's proposals after its own first move in a round are exact too when their ΔE comes
// from the second-order rule (delta_energy_after_flip, metropolis_rules.hpp) with counts taken
// at the round's start: after(j, l, a, j_was_plus, l_plus) gives replica a's ΔE at step l after
// its flip at step j. With these terms for every replica, only a second move makes a replica's
// next proposal stale, and a round lasts until some replica has moved twice (about 12 steps at
// 5 % acceptance and y = 7, against about 3). Same outcome as the sequential chain.
//
// The terms are needed only for the replicas that moved, after their move, and the moves are
// known only as the decisions go. So a round is decided in parts: the plain decisions
// (decide_round or decide_round_masked) up to the next proposal of a replica that moved; then
// the terms of the replicas that moved (replicas_to_extend), and continue_round from there; and
// so on while a replica that moved for the first time in the last part stops it.

// The replicas whose terms would let a round that stopped at `out` go on: those that moved once
// and are not yet known, provided the replica it stopped at is one of them (none otherwise:
// solved, run to its end, or stopped by a second move).
LOCENT_HD std::uint32_t replicas_to_extend(const RoundOutcome& out, const RoundFlip* flips,
                                           int count, std::uint32_t known) {
  if (out.solved || out.next_step >= count) return 0;
  const RoundMoves moves(flips, out.flips, known);
  const std::uint32_t extend = moves.once & ~moves.twice & ~known;
  return (extend >> out.next_replica) & 1u ? extend : 0;
}

// Continues a round from where its decisions stopped (`so_far`), with the terms of the replicas
// in `known`.
template <class Random, class After>
LOCENT_HD RoundOutcome continue_round(RoundStep* steps, int count, const RoundOutcome& so_far,
                                      std::uint32_t known, int y, bool traced, const int* delta_e,
                                      const After& after, const ThresholdView& view,
                                      const Random& random, std::int64_t* energy,
                                      RoundFlip* flips, int* centre_steps,
                                      std::uint64_t& proposals, std::uint64_t& accepted) {
  if (so_far.solved || so_far.next_step >= count) return so_far;
  return decide_round_moving(steps, count, so_far.next_step, so_far.next_replica, so_far, known,
                             y, traced, delta_e, after, view, random, energy, flips, centre_steps,
                             proposals, accepted);
}

// The same, masked: bit q of `tentative` set for q at or after so_far's stopping proposal where
// tentative_decision(q) accepts with the moves RoundMoves(flips, so_far.flips, known).
template <class Bits, class Random, class After>
LOCENT_HD RoundOutcome continue_round_masked(RoundStep* steps, int count,
                                             const RoundOutcome& so_far, std::uint32_t known,
                                             int y, bool traced, const int* delta_e,
                                             const After& after, const ThresholdView& view,
                                             const Random& random, Bits tentative,
                                             std::int64_t* energy, RoundFlip* flips,
                                             int* centre_steps, std::uint64_t& proposals,
                                             std::uint64_t& accepted) {
  if (so_far.solved || so_far.next_step >= count) return so_far;
  return decide_round_masked_moving(steps, count, so_far.next_step, so_far.next_replica, so_far,
                                    known, y, traced, delta_e, after, view, random, tentative,
                                    energy, flips, centre_steps, proposals, accepted);
}

// The whole round in one go, every replica's terms known from the start.
template <class Random, class After>
LOCENT_HD RoundOutcome decide_round_twice(RoundStep* steps, int count, int first_replica, int y,
                                          bool traced, const int* delta_e, const After& after,
                                          const ThresholdView& view, const Random& random,
                                          std::int64_t* energy, RoundFlip* flips,
                                          int* centre_steps, std::uint64_t& proposals,
                                          std::uint64_t& accepted) {
  const std::uint32_t all = y >= 32 ? ~0u : (1u << y) - 1;
  return decide_round_moving(steps, count, 0, first_replica, RoundOutcome{}, all, y, traced,
                             delta_e, after, view, random, energy, flips, centre_steps, proposals,
                             accepted);
}

}  // namespace locent
