// The member pipeline: each chain member (replica a = 0..y−1, then the explicit centre a = y)
// advances through the sweep on its own, and waits for another member only where the chain's
// order needs that member's decision. Shared by the CPU twin (host/cpu/metropolis_pipeline.cpp)
// and the CUDA kernel (kernels/metropolis_pipeline.cu: one thread block a member, a cluster an
// instance, no cluster barrier inside a sweep).
//
// Why a member may run ahead. Proposal (j, a) (step j, member a) depends on
//   - member a's own state: its boundary sets, their sizes and its weight at the site (its ΔE);
//     a member alone changes it, in order, so its own walk keeps it exact;
//   - the other members' weights at the step's site i_j, as they stand at (j, a) in the chain's
//     order: for b < a after b's decision at j, for b > a after b's last decision at a step
//     before j with the same site (prev(j)), which is the weight before its decision at j.
// So (j, a) needs b < a to have decided step j, and b > a to have decided prev(j). Member b's
// *progress* is the number of this sweep's steps it has decided; (j, a) waits until every
// other member b has progress ≥ pipeline_need(a, b, j, ...), then reads b's live weight at i_j.
// That weight is the one (j, a) needs, although b may have moved on:
//   - b < a has decided j; its next step at site i_j, l > j, waits for a's decision at
//     prev(l) ≥ j, which a has not taken: b has not touched i_j since j;
//   - b > a has decided prev(j) and no later step at i_j before j; its step j waits for a.
// Every wait is for a proposal earlier in the chain's order, so the earliest undecided proposal
// can always be decided: no deadlock, and every decision is the sequential chain's, bit for bit.
// The same argument lets a member read the weights of several steps at once, after one look at
// the others' progress, for every step up to the first whose needs are not met yet.
//
// prev(j) is looked up among the last `window` steps only; where none of them has site i_j,
// prev(j) < j − window and the need is progress ≥ j − window, which holds once b is within
// `window` steps. A replica counts its ΔE for up to k steps ahead from its own state, valid until
// its own next accepted flip (the speculative rounds of metropolis_rounds.hpp with the others'
// moves out of the picture: they only change the coupling, read live).
//
// A replica that reaches zero energy at (j, a) ends the chain there; members before it may have
// decided later steps. The twin takes the sweep again from its start in the plain rounds, the
// kernel's host the chunk (both exact), as with the frontier rounds.
#pragma once
#include "locent/hd.hpp"

namespace locent {

// Steps back that a member looks for an earlier visit of a step's site: at most kPipelineWindow
// (the kernel keeps the sites of [j − window, j + 3k) in a ring of kPipelineRing), by default
// kPipelineDefaultWindow. A longer window lets the first members run further ahead of the last
// (they wait for a member b > a only where b is more than `window` steps behind), at the cost of
// more comparisons to find the previous visits.
inline constexpr int kPipelineWindow = 448;
inline constexpr int kPipelineDefaultWindow = 192;
inline constexpr int kPipelineRing = 512;

// The last step l in [max(0, j − window), j) whose site is j's (site_of(l)), or −1.
template <class SiteOf>
LOCENT_HD int pipeline_previous_visit(const SiteOf& site_of, int j, int window) {
  const int site = site_of(j);
  const int first = j > window ? j - window : 0;
  for (int l = j - 1; l >= first; --l)
    if (site_of(l) == site) return l;
  return -1;
}

// The progress (steps of the sweep decided) that member b must have reached before member a
// decides step j; `previous` is pipeline_previous_visit(j) over the last `window` steps.
LOCENT_HD int pipeline_need(int a, int b, int j, int previous, int window) {
  if (b < a) return j + 1;
  if (previous >= 0) return previous + 1;
  return j > window ? j - window : 0;
}

}  // namespace locent
