// CPU twin of the frontier rounds; the decisions are shared (include/locent/metropolis_frontier.hpp).
#include "host/cpu/metropolis_frontier.hpp"

#include <algorithm>
#include <numeric>
#include <string>

#include "host/cpu/boundary_sets.hpp"
#include "host/cpu/metropolis_rounds.hpp"
#include "host/cpu/second_order_terms.hpp"
#include "locent/error.hpp"
#include "locent/metropolis_frontier.hpp"

namespace locent::cpu {

void run_metropolis_frontier(ChainState& c, const ChainData& data, const ThresholdTables& tables,
                             const ChunkOptions& options, int round_steps, int lead,
                             bool masked, std::vector<std::vector<std::int64_t>>& trace,
                             WorkerTeam* team, std::uint64_t* rounds, int extensions) {
  if (c.committee()) throw Error("frontier rounds are implemented for perceptrons only");
  if (round_steps < 1 || round_steps > kMaxRoundSteps)
    throw Error("round length must be 1.." + std::to_string(kMaxRoundSteps) + " steps");
  if (lead < 1 || lead > kMaxFrontierWindow - round_steps)
    throw Error("the frontier rounds' lead must be 1.." +
                std::to_string(kMaxFrontierWindow - round_steps) + " steps");
  const int n = c.sites, y = c.replicas, k = round_steps;
  const bool traced = !c.explicit_centre;
  const int members = traced ? y : y + 1, last = members - 1;
  const int groups = (step_slots(y, !traced) + 3) / 4;
  const std::size_t pw = c.pattern_words;
  WorkerTeam alone(1);
  WorkerTeam& crew = team ? *team : alone;
  const int team_size = crew.size();
  // The window [base, end) is at most lead + k steps: member 0 starts within lead of base.
  const int most = lead + k;
  std::vector<std::uint32_t> random(std::size_t(most) * 4 * groups);
  std::vector<RoundStep> steps(most);
  std::vector<int> hits(std::size_t(most) * 2 * y), delta_e(std::size_t(members) * k), order(most);
  std::vector<std::uint32_t> tentative(members);
  std::vector<RoundFlip> flips(2 * y);  // two a replica in the longer frontier rounds
  std::vector<int> centre_steps(most);
  std::vector<FlipCounts> moved;
  std::vector<int> flip_sites(flips.size()), centre_sites(most);
  std::vector<int> position(members), start(members);
  // The longer frontier rounds: the moved replicas' second-order terms (sums from their counted
  // start, sizes after their move), and scratch for them.
  std::vector<int> second_sums(extensions > 0 ? std::size_t(y) * k : 0);
  std::vector<SizesAfterFlip> second_sizes(y);
  std::vector<std::uint64_t> set_c, set_d;
  std::vector<const std::uint64_t*> later_cols(k);
  std::vector<int> later_a(k), later_b(k);

  for (std::size_t s = 0; s < tables.sweeps() && !c.status.solved; ++s) {
    const std::uint64_t sweep = tables.first_sweep + s;
    const ThresholdView view = tables.view(s);
    const ChainState sweep_start = c;  // where a solve mid-sweep sends the chain back
    std::fill(position.begin(), position.end(), 0);
    bool solved = false;
    while (position[last] < n && !solved) {
      const int base = position[last], end = std::min(n, position[0] + k);
      const int window = end - base;
      // The window's steps: random words, sites, the members' weights there, every replica's
      // |A ∩ col| and |B ∩ col| from the state at the round's start; one step per team member at
      // a time. (A replica needs only its own k steps; the twin counts all, for simplicity.)
      crew.run([&](int member) {
        for (int t = member; t < window; t += team_size) {
          read_round_step(c, data, sweep, base + t, groups,
                          random.data() + std::size_t(t) * 4 * groups, steps[t],
                          hits.data() + std::size_t(t) * 2 * y,
                          hits.data() + std::size_t(t) * 2 * y + y);
        }
      });
      // Steps whose site comes up at another step of the window.
      std::iota(order.begin(), order.begin() + window, 0);
      std::sort(order.begin(), order.begin() + window, [&](int u, int v) {
        return steps[u].site != steps[v].site ? steps[u].site < steps[v].site : u < v;
      });
      ProposalBits repeated = 0, touched = 0;
      for (int t = 1; t < window; ++t)
        if (steps[order[t]].site == steps[order[t - 1]].site)
          repeated |= ProposalBits{1} << order[t] | ProposalBits{1} << order[t - 1];
      const auto random_at = [&](int t, std::uint32_t slot) {
        return random[std::size_t(t) * 4 * groups + slot];
      };
      if (rounds) ++rounds[0];
      start = position;

      // Every replica's ΔE over its own k steps from the round's starting state and, for the
      // masked walks, every member's tentative decisions there.
      for (int a = 0; a < members; ++a) {
        tentative[a] = 0;
        const int from = position[a], to = std::min({n, from + k, end});
        for (int j = from; j < to; ++j) {
          const int t = j - base;
          int& de = delta_e[std::size_t(a) * k + (j - from)];
          de = 0;
          if (a < y) {
            const int* h = hits.data() + std::size_t(t) * 2 * y;
            de = flip_delta_energy((steps[t].replica_plus >> a) & 1u, h[a], h[y + a], c.size_a[a],
                                   c.size_b[a]);
          }
          if (masked && frontier_tentative(steps.data(), base, j, a, y, traced, de, view, random_at))
            tentative[a] |= 1u << (j - from);
        }
      }
      // The members' walks, in the chain's order.
      int flip_count = 0, centre_count = 0;
      const int moved_before = std::accumulate(position.begin(), position.end(), 0);
      for (int a = 0; a < members && !solved; ++a) {
        const int from = position[a];
        const int bound =
            frontier_bound(a, y, from, k, n, base, lead, a > 0 ? position[a - 1] : 0);
        const int* de = delta_e.data() + std::size_t(a) * k;
        const FrontierWalk walk =
            masked ? frontier_walk_masked(steps.data(), repeated, base, end, a, last, y, traced,
                                          from, bound, position[0], de, 1, view, random_at,
                                          tentative[a], touched, c.energy.data(), flips.data(),
                                          flip_count, centre_steps.data(), centre_count,
                                          c.status.proposals, c.status.accepted)
                   : frontier_walk(steps.data(), repeated, base, end, a, last, y, traced, from,
                                   bound, position[0], de, 1, view, random_at, c.energy.data(),
                                   flips.data(), flip_count, centre_steps.data(), centre_count,
                                   c.status.proposals, c.status.accepted);
        position[a] = walk.position;
        solved = walk.solved;
      }
      // The longer frontier rounds: while replicas moved once without terms, their terms, then
      // every member walks on (frontier_walk_on), at most `extensions` more parts.
      std::uint32_t known = 0;
      for (int part = 0; part < extensions && !solved; ++part) {
        std::uint32_t once = 0, twice = 0;
        int first_flip[32];
        for (int f = 0; f < flip_count; ++f) {
          const std::uint32_t bit = 1u << flips[f].replica;
          if (once & bit) {
            twice |= bit;
          } else {
            once |= bit;
            first_flip[flips[f].replica] = f;
          }
        }
        const std::uint32_t extend = once & ~twice & ~known;
        if (extend == 0) break;
        if (rounds) ++rounds[1];
        for (int a = 0; a < y; ++a) {
          if (!((extend >> a) & 1u)) continue;
          const RoundFlip& m = flips[first_flip[a]];
          const ReplicaSets r{c.stabilities.data() + std::size_t(a) * c.patterns, c.patterns,
                              c.set_a.data() + std::size_t(a) * pw,
                              c.set_b.data() + std::size_t(a) * pw, pw, c.size_a[a], c.size_b[a],
                              c.flip_energy};
          const int later = std::max(0, std::min(n, start[a] + k) - (m.step + 1));
          for (int t = 0; t < later; ++t) {
            const int w = m.step + 1 + t - base;  // window index
            later_cols[t] = data.columns->row(steps[w].site);
            later_a[t] = hits[std::size_t(w) * 2 * y + a];
            later_b[t] = hits[std::size_t(w) * 2 * y + y + a];
          }
          const int wj = m.step - base;
          second_sizes[a] = second_order_terms(
              r, data.columns->row(steps[wj].site), m.was_plus, hits[std::size_t(wj) * 2 * y + a],
              hits[std::size_t(wj) * 2 * y + y + a], later, later_cols.data(), later_a.data(),
              later_b.data(), second_sums.data() + std::size_t(a) * k + (m.step + 1 - start[a]),
              set_c, set_d);
        }
        known |= extend;
        const auto after = [&](int, int l, int a, bool, bool l_plus) {
          return delta_energy_after_flip(
              l_plus, second_sums[std::size_t(a) * k + (l - start[a])], second_sizes[a]);
        };
        // The masked walks' tentative decisions, every member's at the part's start (as warp 0
        // takes them), over the steps from its position: a walk decides again where an earlier
        // one changed the bits (`touched`).
        if (masked)
          for (int a = 0; a < members; ++a) {
            tentative[a] = 0;
            const RoundFlip* first = a < y && ((once >> a) & 1u) ? &flips[first_flip[a]] : nullptr;
            if (first != nullptr && !((known >> a) & 1u)) continue;
            const int from = position[a];
            const int to = std::min({n, start[a] + k, end, from + 32});
            for (int j = from; j < to; ++j)
              if (frontier_tentative_on(steps.data(), base, j, a, y, traced, start[a],
                                        delta_e.data() + std::size_t(a) * k, 1, first, after,
                                        view, random_at))
                tentative[a] |= 1u << (j - from);
          }
        for (int a = 0; a < members && !solved; ++a) {
          if (a < y && ((twice >> a) & 1u)) continue;  // stale
          const int from = position[a];
          const int bound =
              frontier_bound(a, y, start[a], k, n, base, lead, a > 0 ? position[a - 1] : 0);
          if (bound <= from) continue;
          const RoundFlip* first = a < y && ((once >> a) & 1u) ? &flips[first_flip[a]] : nullptr;
          const bool is_known = ((known >> a) & 1u) != 0;
          const int* de = delta_e.data() + std::size_t(a) * k;
          FrontierWalk walk;
          if (masked) {
            walk = frontier_walk_on_masked(
                steps.data(), repeated, base, end, a, last, y, traced, start[a], from, bound,
                position[0], de, 1, first, is_known, after, view, random_at, tentative[a],
                touched, c.energy.data(), flips.data(), flip_count, centre_steps.data(),
                centre_count, c.status.proposals, c.status.accepted);
          } else {
            walk = frontier_walk_on(steps.data(), repeated, base, end, a, last, y, traced,
                                    start[a], from, bound, position[0], de, 1, first, is_known,
                                    after, view, random_at, c.energy.data(), flips.data(),
                                    flip_count, centre_steps.data(), centre_count,
                                    c.status.proposals, c.status.accepted);
          }
          position[a] = walk.position;
          solved = walk.solved;
        }
      }
      if (solved) break;
      // Some member can always move on: the lowest-numbered member at the window's base. Its
      // bound lies above the base, and no repeated site stops its first step: no member before
      // it can have decided a later step at that site (the check for the members after refused
      // it), and no member after it is behind it. A round that advanced nobody would repeat
      // forever.
      if (std::accumulate(position.begin(), position.end(), 0) == moved_before)
        throw Error("frontier rounds: a round advanced no member (a defect, please report it)");

      // The moves (two flips of a replica in the longer frontier rounds add up).
      for (int f = 0; f < flip_count; ++f) flip_sites[f] = steps[flips[f].step - base].site;
      for (int f = 0; f < centre_count; ++f) centre_sites[f] = steps[centre_steps[f] - base].site;
      apply_round_moves(c, data, flips.data(), flip_sites.data(), flip_count, centre_sites.data(),
                        centre_count, crew, moved);
    }
    if (solved) {
      // A replica reached zero energy, perhaps after proposals that other members took beyond
      // its place in the chain's order: the sweep again from its start, in the plain rounds.
      c = sweep_start;
      run_metropolis_rounds(c, data, sweep_tables(tables, s), options, k, true, trace, team);
      continue;
    }
    finish_sweep(c, data, options, sweep, trace);
  }
}

}  // namespace locent::cpu
