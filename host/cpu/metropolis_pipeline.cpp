// CPU twin of the member pipeline; the rules are shared (include/locent/metropolis_pipeline.hpp).
// Each member's actions are the kernel's, one at a time: count its ΔE ahead (a replica), look at
// the others' progress and read their weights for the steps whose needs are met, decide one
// step. A seeded draw picks which member acts next, so the tests see many interleavings, with
// reads taken long before the decisions that use them.
#include "host/cpu/metropolis_pipeline.hpp"

#include <algorithm>
#include <string>

#include "host/cpu/boundary_sets.hpp"
#include "host/cpu/metropolis_rounds.hpp"
#include "locent/error.hpp"
#include "locent/metropolis_pipeline.hpp"
#include "locent/metropolis_rounds.hpp"
#include "locent/rng.hpp"

namespace locent::cpu {
namespace {

struct Member {
  int position = 0;                    // progress: the sweep's steps it has decided
  int counted_from = 0, counted = 0;   // a replica's ΔE holds for [counted_from, + counted)
  int read_from = 0, ready = 0;        // the others' weights read for [read_from, + ready)
  std::vector<int> delta_e;            // k, from counted_from
  std::vector<std::uint32_t> plus;     // k, from read_from: the others' weights (bit b)
  std::vector<char> centre_plus;       // k, from read_from: the explicit centre's weight
};

}  // namespace

void run_metropolis_pipeline(ChainState& c, const ChainData& data, const ThresholdTables& tables,
                             const ChunkOptions& options, int round_steps, int window,
                             std::uint64_t schedule_seed,
                             std::vector<std::vector<std::int64_t>>& trace,
                             std::uint64_t* waits, std::uint64_t* counts) {
  if (c.committee()) throw Error("the member pipeline is implemented for perceptrons only");
  if (round_steps < 1 || round_steps > kMaxRoundSteps)
    throw Error("round length must be 1.." + std::to_string(kMaxRoundSteps) + " steps");
  if (window < 1 || window > kPipelineWindow)
    throw Error("the pipeline's window must be 1.." + std::to_string(kPipelineWindow) + " steps");
  const int n = c.sites, y = c.replicas, k = round_steps;
  const bool traced = !c.explicit_centre;
  const int members = traced ? y : y + 1;
  const int groups = (step_slots(y, !traced) + 3) / 4;
  const std::size_t pw = c.pattern_words;
  WorkerTeam alone(1);
  std::vector<FlipCounts> moved;
  std::vector<std::uint32_t> random(std::size_t(n) * 4 * groups);
  std::vector<int> sites(n);
  std::vector<Member> m(members);
  for (Member& member : m) {
    member.delta_e.resize(k);
    member.plus.resize(k);
    member.centre_plus.resize(k);
  }
  std::uint64_t draws = 0;  // the schedule's counter

  for (std::size_t s = 0; s < tables.sweeps() && !c.status.solved; ++s) {
    const std::uint64_t sweep = tables.first_sweep + s;
    const ThresholdView view = tables.view(s);
    const ChainState sweep_start = c;  // where a solve mid-sweep sends the chain back
    for (int j = 0; j < n; ++j) {
      std::uint32_t* words = random.data() + std::size_t(j) * 4 * groups;
      step_random(data, sweep, j, groups, words);
      sites[j] = static_cast<int>(uniform_below(words[site_slot()], c.sites));
    }
    const auto site_of = [&](int j) { return sites[j]; };
    const auto random_at = [&](int j, std::uint32_t slot) {
      return random[std::size_t(j) * 4 * groups + slot];
    };
    for (Member& member : m)
      member.position = member.counted_from = member.counted = member.read_from = member.ready = 0;
    int done = 0;  // members at the sweep's end
    bool solved = false;
    while (done < members && !solved) {
      // The next member to act: drawn among those not done; if it can do nothing (its needs
      // unmet), the next one in turn. One of them always can (metropolis_pipeline.hpp).
      const int first =
          int(uniform_below(philox_word(schedule_seed, Purpose::metropolis, 0xfeedu,
                                        std::uint32_t(draws >> 32), std::uint32_t(draws), 0),
                            std::uint32_t(members)));
      ++draws;
      bool acted = false;
      for (int turn = 0; turn < members && !acted && !solved; ++turn) {
        const int a = (first + turn) % members;
        Member& me = m[a];
        if (me.position == n) continue;
        // A replica without valid counts counts up to k steps ahead from its own state.
        if (a < y && me.position >= me.counted_from + me.counted) {
          me.counted_from = me.position;
          me.counted = std::min(k, n - me.position);
          if (counts) ++*counts;
          for (int t = 0; t < me.counted; ++t) {
            const int j = me.position + t;
            int hit_a = 0, hit_b = 0;
            count_boundary_hits(data.columns->row(sites[j]), c.set_a.data() + a * pw,
                                c.set_b.data() + a * pw, pw, 1, &hit_a, &hit_b);
            me.delta_e[t] = flip_delta_energy(test_bit(c.replica(a), sites[j]), hit_a, hit_b,
                                              c.size_a[a], c.size_b[a]);
          }
          acted = true;
          continue;
        }
        // Nothing read ahead: a look at the others' progress, and their weights for every step
        // up to the first whose needs are unmet.
        if (me.ready == 0) {
          const int limit = a < y ? me.counted_from + me.counted : std::min(n, me.position + k);
          me.read_from = me.position;
          for (int j = me.position; j < limit; ++j) {
            const int previous = pipeline_previous_visit(site_of, j, window);
            bool met = true;
            for (int b = 0; b < members && met; ++b)
              met = b == a || m[b].position >= pipeline_need(a, b, j, previous, window);
            if (!met) break;
            std::uint32_t plus = 0;
            for (int b = 0; b < y; ++b)
              if (b != a) plus |= std::uint32_t(test_bit(c.replica(b), sites[j])) << b;
            me.plus[j - me.read_from] = plus;
            me.centre_plus[j - me.read_from] =
                !traced && a < y && test_bit(c.centre.data(), sites[j]);
            ++me.ready;
          }
          if (me.ready == 0) {
            if (waits) ++*waits;
            continue;  // waits: the next member's turn
          }
          acted = true;
          continue;
        }
        // One decision, from the weights read at the look and its own.
        const int j = me.position, site = sites[j];
        RoundStep st;
        st.site = site;
        st.replica_plus = me.plus[j - me.read_from];
        st.centre_plus = me.centre_plus[j - me.read_from];
        if (a < y)
          st.replica_plus |= std::uint32_t(test_bit(c.replica(a), site)) << a;
        else
          st.centre_plus = test_bit(c.centre.data(), site);
        const bool w_plus = a < y && ((st.replica_plus >> a) & 1u);
        const int de = a < y ? me.delta_e[j - me.counted_from] : 0;
        ++c.status.proposals;
        ++me.position;
        --me.ready;
        if (me.position == n) ++done;
        acted = true;
        if (!proposal_accepted(st, j, a, y, traced, de, view, random_at)) continue;
        ++c.status.accepted;
        if (a == y) {
          apply_round_moves(c, data, nullptr, nullptr, 0, &site, 1, alone, moved);
          continue;
        }
        const RoundFlip flip{j, a, w_plus};
        apply_round_moves(c, data, &flip, &site, 1, nullptr, 0, alone, moved);
        c.energy[a] += de;
        me.counted = 0;  // its counts are stale from here
        me.ready = 0;
        solved = c.energy[a] == 0;
      }
      if (!acted && !solved)
        throw Error("member pipeline: no member could act (a defect, please report it)");
    }
    if (solved) {
      // A replica reached zero energy, perhaps after proposals that members before it took
      // beyond its place in the chain's order: the sweep again from its start, in the plain
      // rounds, which stop exactly there.
      c = sweep_start;
      run_metropolis_rounds(c, data, sweep_tables(tables, s), options, k, true, trace);
      continue;
    }
    finish_sweep(c, data, options, sweep, trace);
  }
}

}  // namespace locent::cpu
