// CPU twin of kernels/metropolis_rounds.cu; the round logic itself is shared
// (include/locent/metropolis_rounds.hpp). With a worker team, a round's counts (one step per
// member at a time) and its moves (every accepted flip's patterns split over the members) run in
// parallel: the integers are the same whoever computes them, so the trajectory does not change.
#include "host/cpu/metropolis_rounds.hpp"

#include <algorithm>

#include "host/cpu/boundary_sets.hpp"
#include "host/cpu/second_order_terms.hpp"
#include "locent/error.hpp"
#include "locent/metropolis_rounds.hpp"

namespace locent::cpu {

void run_metropolis_rounds(ChainState& c, const ChainData& data, const ThresholdTables& tables,
                           const ChunkOptions& options, int round_steps, bool masked,
                           std::vector<std::vector<std::int64_t>>& trace, WorkerTeam* team,
                           int extensions, std::uint64_t* rounds) {
  if (c.committee()) throw Error("speculative rounds are implemented for perceptrons only");
  if (round_steps < 1 || round_steps > kMaxRoundSteps)
    throw Error("round length must be 1.." + std::to_string(kMaxRoundSteps) + " steps");
  const int n = c.sites, y = c.replicas;
  const bool traced = !c.explicit_centre;
  const int slots = step_slots(y, !traced);
  const int groups = (slots + 3) / 4;
  const std::size_t pw = c.pattern_words;
  WorkerTeam alone(1);
  WorkerTeam& crew = team ? *team : alone;
  const int members = crew.size();
  std::vector<std::uint32_t> random(std::size_t(round_steps) * 4 * groups);
  std::vector<RoundStep> steps(round_steps);
  std::vector<int> delta_e(std::size_t(round_steps) * y), centre_steps(round_steps);
  // The longer rounds: |A ∩ col| and |B ∩ col| of every (step, replica), and the moved replicas'
  // second-order terms (as kernels/metropolis_rounds.cu keeps them).
  const bool twice = extensions > 0;
  std::vector<int> hits(twice ? std::size_t(round_steps) * y * 2 : 0);
  std::vector<int> second_sums(twice ? std::size_t(round_steps) * y : 0);
  std::vector<SizesAfterFlip> second_sizes(y);
  std::vector<std::uint64_t> set_c, set_d;
  std::vector<const std::uint64_t*> later_cols(round_steps);
  std::vector<int> later_a(round_steps), later_b(round_steps);
  std::vector<RoundFlip> flips(2 * y);  // two a replica in the longer rounds
  std::vector<FlipCounts> moved;
  std::vector<int> flip_sites(flips.size()), centre_sites(round_steps);

  for (std::size_t s = 0; s < tables.sweeps() && !c.status.solved; ++s) {
    const std::uint64_t sweep = tables.first_sweep + s;
    const ThresholdView view = tables.view(s);
    int step = 0, first_replica = 0;
    while (step < n) {
      // The round's steps: random words, sites, the replicas' (and centre's) weights there, and
      // every replica's ΔE from the state at the round's start; one step per member at a time.
      const int count = std::min(round_steps, n - step);
      crew.run([&](int member) {
        int hits_a[32], hits_b[32];
        for (int j = member; j < count; j += members) {
          RoundStep& st = steps[j];
          read_round_step(c, data, sweep, step + j, groups,
                          random.data() + std::size_t(j) * 4 * groups, st, hits_a, hits_b);
          for (int a = 0; a < y; ++a) {
            delta_e[std::size_t(j) * y + a] = flip_delta_energy(
                (st.replica_plus >> a) & 1u, hits_a[a], hits_b[a], c.size_a[a], c.size_b[a]);
            if (twice) {
              hits[2 * (std::size_t(j) * y + a)] = hits_a[a];
              hits[2 * (std::size_t(j) * y + a) + 1] = hits_b[a];
            }
          }
        }
      });
      const auto random_at = [&](int j, std::uint32_t slot) {
        return random[std::size_t(j) * 4 * groups + slot];
      };
      if (rounds) ++rounds[0];
      RoundOutcome out;
      const int total = count * round_stride(y, traced);
      // Replica a's ΔE at step l after its own first move, from the terms that
      // terms_of leaves.
      const auto after = [&](int, int l, int a, bool, bool l_plus) {
        return delta_energy_after_flip(l_plus, second_sums[std::size_t(a) * round_steps + l],
                                       second_sizes[a]);
      };
      // The second-order terms of the replicas in `extend` (each moved once, in flips[0, moved)),
      // from bit sets as the kernel's phases 6b–6d take them (second_order_terms).
      const auto terms_of = [&](std::uint32_t extend, int moved) {
        for (int f = 0; f < moved; ++f) {
          const RoundFlip& m = flips[f];
          const int a = m.replica;
          if (!((extend >> a) & 1u)) continue;
          const ReplicaSets r{c.stabilities.data() + std::size_t(a) * c.patterns, c.patterns,
                              c.set_a.data() + std::size_t(a) * pw,
                              c.set_b.data() + std::size_t(a) * pw, pw, c.size_a[a], c.size_b[a],
                              c.flip_energy};
          const int later = count - (m.step + 1);
          for (int t = 0; t < later; ++t) {
            const int l = m.step + 1 + t;
            later_cols[t] = data.columns->row(steps[l].site);
            later_a[t] = hits[2 * (std::size_t(l) * y + a)];
            later_b[t] = hits[2 * (std::size_t(l) * y + a) + 1];
          }
          const int* h_j = hits.data() + 2 * (std::size_t(m.step) * y + a);
          second_sizes[a] = second_order_terms(
              r, data.columns->row(steps[m.step].site), m.was_plus, h_j[0], h_j[1], later,
              later_cols.data(), later_a.data(), later_b.data(),
              second_sums.data() + std::size_t(a) * round_steps + m.step + 1, set_c, set_d);
        }
      };
      const auto decide_masked = [&](auto none) {  // with a mask of none's type
        decltype(none) tentative = 0;
        for (int q = first_replica; q < total; ++q)
          if (tentative_decision(steps.data(), q, y, traced, delta_e.data(), view, random_at))
            tentative |= proposal_bit<decltype(none)>(q);
        return decide_round_masked(steps.data(), count, first_replica, y, traced, delta_e.data(),
                                   view, random_at, tentative, c.energy.data(), flips.data(),
                                   centre_steps.data(), c.status.proposals, c.status.accepted);
      };
      // The plain decisions up to the first proposal of a replica that moved; in the longer
      // rounds, the rest with the moved replicas' second-order counts (as the kernel does).
      if (masked && total <= 64) {
        out = decide_masked(std::uint64_t{0});
      } else if (masked && total <= kMaxMaskedProposals) {
        out = decide_masked(ProposalBits{0});
      } else {
        out = decide_round(steps.data(), count, first_replica, y, traced, delta_e.data(), view,
                           random_at, c.energy.data(), flips.data(), centre_steps.data(),
                           c.status.proposals, c.status.accepted);
      }
      // The longer rounds: while the decisions stop at the next proposal of a replica that moved
      // once, the second-order terms of the replicas that moved, and on (at most `extensions`
      // parts after the plain one).
      std::uint32_t known = 0;
      for (int part = 0; part < extensions; ++part) {
        const std::uint32_t extend = replicas_to_extend(out, flips.data(), count, known);
        if (extend == 0) break;
        terms_of(extend, out.flips);
        known |= extend;
        if (rounds) ++rounds[1];
        if (masked && total <= kMaxMaskedProposals) {
          const RoundMoves moves(flips.data(), out.flips, known);
          ProposalBits tentative = 0;
          for (int q = out.next_step * round_stride(y, traced) + out.next_replica; q < total; ++q)
            if (tentative_decision(steps.data(), q, y, traced, delta_e.data(), view, random_at,
                                   &moves, after))
              tentative |= proposal_bit(q);
          out = continue_round_masked(steps.data(), count, out, known, y, traced, delta_e.data(),
                                      after, view, random_at, tentative, c.energy.data(),
                                      flips.data(), centre_steps.data(), c.status.proposals,
                                      c.status.accepted);
        } else {
          out = continue_round(steps.data(), count, out, known, y, traced, delta_e.data(), after,
                               view, random_at, c.energy.data(), flips.data(),
                               centre_steps.data(), c.status.proposals, c.status.accepted);
        }
      }
      for (int f = 0; f < out.flips; ++f) flip_sites[f] = steps[flips[f].step].site;
      for (int f = 0; f < out.centre_flips; ++f) centre_sites[f] = steps[centre_steps[f]].site;
      apply_round_moves(c, data, flips.data(), flip_sites.data(), out.flips, centre_sites.data(),
                        out.centre_flips, crew, moved);
      if (out.solved) {
        c.status.solved = 1;
        c.status.solved_by = out.solved_by;
        return;
      }
      step += out.next_step;
      first_replica = out.next_replica;
    }
    finish_sweep(c, data, options, sweep, trace);
  }
}

ThresholdTables sweep_tables(const ThresholdTables& tables, std::size_t s) {
  ThresholdTables one;
  one.first_sweep = tables.first_sweep + s;
  one.half_width = tables.half_width;
  one.coupling_states = tables.coupling_states;
  one.centre_states = tables.centre_states;
  one.data.assign(tables.data.begin() + s * tables.stride(),
                  tables.data.begin() + (s + 1) * tables.stride());
  one.beta = {tables.beta[s]};
  one.gamma = {tables.gamma[s]};
  return one;
}

void read_round_step(const ChainState& c, const ChainData& data, std::uint64_t sweep,
                     int position, int groups, std::uint32_t* random, RoundStep& st,
                     int* hits_a, int* hits_b) {
  step_random(data, sweep, position, groups, random);
  st.site = static_cast<int>(uniform_below(random[site_slot()], c.sites));
  st.replica_plus = 0;
  for (int a = 0; a < c.replicas; ++a)
    st.replica_plus |= std::uint32_t(test_bit(c.replica(a), st.site)) << a;
  st.centre_plus = c.explicit_centre && test_bit(c.centre.data(), st.site);
  count_boundary_hits(data.columns->row(st.site), c.set_a.data(), c.set_b.data(),
                      c.pattern_words, c.replicas, hits_a, hits_b);
}

void apply_round_moves(ChainState& c, const ChainData& data, const RoundFlip* flips,
                       const int* flip_sites, int flip_count, const int* centre_sites,
                       int centre_count, WorkerTeam& team, std::vector<FlipCounts>& moved) {
  const std::size_t pw = c.pattern_words;
  const int members = team.size();
  moved.resize(std::size_t(flip_count) * members);
  if (flip_count > 0) {
    const std::size_t per = (pw + members - 1) / members;
    team.run([&](int member) {
      const std::size_t w0 = std::min(pw, member * per), w1 = std::min(pw, w0 + per);
      const int mu0 = static_cast<int>(64 * w0);
      const int mu1 = std::min(c.patterns, static_cast<int>(64 * w1));
      for (int f = 0; f < flip_count; ++f) {
        const RoundFlip& m = flips[f];
        moved[std::size_t(f) * members + member] =
            mu1 > mu0 ? move_stabilities(
                            c.stabilities.data() + std::size_t(m.replica) * c.patterns + mu0,
                            mu1 - mu0, data.columns->row(flip_sites[f]) + w0, !m.was_plus,
                            c.flip_energy, c.set_a.data() + m.replica * pw + w0,
                            c.set_b.data() + m.replica * pw + w0)
                      : FlipCounts{0, 0, 0};
      }
    });
  }
  for (int f = 0; f < flip_count; ++f) {
    const RoundFlip& m = flips[f];
    const int i = flip_sites[f];
    c.replica(m.replica)[i >> 6] ^= std::uint64_t{1} << (i & 63);
    c.site_sums[i] -= m.was_plus ? 2 : -2;
    FlipCounts total{0, 0, 0};
    for (int t = 0; t < members; ++t) {
      const FlipCounts& part = moved[std::size_t(f) * members + t];
      total.size_a += part.size_a;
      total.size_b += part.size_b;
      total.errors += part.errors;
    }
    c.size_a[m.replica] = total.size_a;
    c.size_b[m.replica] = total.size_b;
    c.errors[m.replica] = total.errors;
  }
  for (int f = 0; f < centre_count; ++f) {
    const int i = centre_sites[f];
    c.centre[i >> 6] ^= std::uint64_t{1} << (i & 63);
  }
}

}  // namespace locent::cpu
