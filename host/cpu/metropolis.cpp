// CPU twin of kernels/metropolis.cu (see metropolis_rules.hpp for the rules both follow), for the
// perceptron and for committee machines.
#include "host/cpu/metropolis.hpp"

#include "host/cpu/boundary_sets.hpp"

#include "locent/backend.hpp"
#include "locent/metropolis_rules.hpp"
#include "locent/rng.hpp"

namespace locent::cpu {
namespace {

// After an accepted move of replica a the votes changed where sign(h_k) flipped, and with them
// the boundary sets of every unit of a: rebuild them all, K × pattern_words words.
void rebuild_committee_sets(ChainState& c, int a) {
  const int y = c.replicas, K = c.hidden_units;
  const std::size_t pw = c.pattern_words;
  const std::uint64_t* vp = c.votes_plus_one.data() + a * pw;
  const std::uint64_t* vm = c.votes_minus_one.data() + a * pw;
  for (int k = 0; k < K; ++k) {
    const std::uint64_t* hp = c.field_plus_one.data() + (std::size_t(a) * K + k) * pw;
    const std::uint64_t* hm = c.field_minus_one.data() + (std::size_t(a) * K + k) * pw;
    const std::size_t set = std::size_t(k) * y + a;
    std::uint64_t* sa = c.set_a.data() + set * pw;
    std::uint64_t* sb = c.set_b.data() + set * pw;
    int na = 0, nb = 0;
    for (std::size_t w = 0; w < pw; ++w) {
      sa[w] = hp[w] & vp[w];
      sb[w] = hm[w] & vm[w];
      na += __builtin_popcountll(sa[w]);
      nb += __builtin_popcountll(sb[w]);
    }
    c.size_a[set] = na;
    c.size_b[set] = nb;
  }
}

// One body for both models; the perceptron instance compiles to the loop it always was.
template <bool kCommittee>
void run_chunk(ChainState& c, const ChainData& data, const ThresholdTables& tables,
               const ChunkOptions& options, std::vector<std::vector<std::int64_t>>& trace) {
  const int n = c.sites, y = c.replicas;
  const bool traced = !c.explicit_centre;
  const int groups = (step_slots(y, !traced) + 3) / 4;
  std::uint32_t random[4 * 8];  // step_slots ≤ 32: y ≤ 30 (AnnealConfig::validate)
  int hits_a[32], hits_b[32];
  for (std::size_t s = 0; s < tables.sweeps() && !c.status.solved; ++s) {
    const std::uint64_t sweep = tables.first_sweep + s;
    const ThresholdView view = tables.view(s);
    for (int step = 0; step < n; ++step) {
      step_random(data, sweep, step, groups, random);
      const int i = static_cast<int>(uniform_below(random[site_slot()], n));
      // The step's unit k: its y boundary sets are adjacent (unit-major layout).
      int unit = 0, input = i;
      if constexpr (kCommittee) {
        unit = committee_unit_of_site(i, c.fan_in);
        input = committee_input_of_site(i, c.fan_in, c.tree);
      }
      const std::size_t unit_sets = std::size_t(unit) * y;
      const std::uint64_t* col = data.columns->row(input);
      // Replica a's ΔE depends on its own state only, so all y are counted before any decision.
      count_boundary_hits(col, c.set_a.data() + unit_sets * c.pattern_words,
                          c.set_b.data() + unit_sets * c.pattern_words, c.pattern_words, y,
                          hits_a, hits_b);
      for (int a = 0; a < y; ++a) {
        const bool w_plus = test_bit(c.replica(a), i);
        const int delta_e = flip_delta_energy(w_plus, hits_a[a], hits_b[a],
                                              c.size_a[unit_sets + a], c.size_b[unit_sets + a]);
        const int s_ai = w_plus ? 1 : -1;
        const int k = traced ? traced_coupling_index(s_ai, c.site_sums[i], y)
                             : explicit_coupling_index(s_ai, test_bit(c.centre.data(), i) ? 1 : -1);
        ++c.status.proposals;
        if (!view.accept_replica(delta_e, k, random[replica_slot(a)])) continue;
        ++c.status.accepted;
        c.replica(a)[i >> 6] ^= std::uint64_t{1} << (i & 63);
        c.site_sums[i] -= 2 * s_ai;
        // x = σξ W = +1 (the field drops by 2) where the column bit equals w.
        if constexpr (kCommittee) {
          const std::size_t field = std::size_t(a) * c.hidden_units + unit;
          c.errors[a] += move_committee_unit(
              c.stabilities.data() + field * c.patterns,
              c.votes.data() + std::size_t(a) * c.patterns, c.patterns, col, !w_plus,
              c.field_plus_one.data() + field * c.pattern_words,
              c.field_minus_one.data() + field * c.pattern_words,
              c.votes_plus_one.data() + a * c.pattern_words,
              c.votes_minus_one.data() + a * c.pattern_words);
          rebuild_committee_sets(c, a);
        } else {
          const FlipCounts n = move_stabilities(
              c.stabilities.data() + std::size_t(a) * c.patterns, c.patterns, col, !w_plus,
              c.flip_energy, c.set_a.data() + a * c.pattern_words,
              c.set_b.data() + a * c.pattern_words);
          c.size_a[a] = n.size_a;
          c.size_b[a] = n.size_b;
          c.errors[a] = n.errors;
        }
        c.energy[a] += delta_e;
        if (c.energy[a] == 0) {
          c.status.solved = 1;
          c.status.solved_by = a;
          return;
        }
      }
      if (!traced) {
        const int centre_i = test_bit(c.centre.data(), i) ? 1 : -1;
        ++c.status.proposals;
        if (view.accept_centre(centre_coupling_index(centre_i, c.site_sums[i], y),
                               random[centre_slot(y)])) {
          ++c.status.accepted;
          c.centre[i >> 6] ^= std::uint64_t{1} << (i & 63);
        }
      }
    }
    finish_sweep(c, data, options, sweep, trace);
  }
}

}  // namespace

void finish_sweep(ChainState& c, const ChainData& data, const ChunkOptions& options,
                  std::uint64_t sweep, std::vector<std::vector<std::int64_t>>& trace) {
  const std::uint64_t done = sweep + 1;
  const bool check = done % options.centre_check_every == 0;
  const bool record = options.trace_every > 0 && done % options.trace_every == 0;
  if (!check && !record) return;
  const int y = c.replicas;
  const std::vector<std::uint64_t> centre = c.centre_bits();
  const int centre_errors = c.committee() ? count_errors(c.model(), *data.rows, centre.data())
                                          : count_errors(*data.rows, centre.data());
  if (record) {
    std::vector<std::int64_t> r(TraceLayout{y}.length());
    r[0] = data.instance;
    r[1] = static_cast<std::int64_t>(done);
    r[2] = centre_errors;
    r[3] = total_distance(c, centre);
    r[4] = static_cast<std::int64_t>(c.status.accepted);
    for (int a = 0; a < y; ++a) r[5 + a] = c.errors[a];
    trace.push_back(std::move(r));
  }
  if (check && centre_errors == 0) {
    c.status.solved = 1;
    c.status.solved_by = y;
  }
}

void run_metropolis_chunk(ChainState& c, const ChainData& data, const ThresholdTables& tables,
                          const ChunkOptions& options,
                          std::vector<std::vector<std::int64_t>>& trace) {
  if (c.committee())
    run_chunk<true>(c, data, tables, options, trace);
  else
    run_chunk<false>(c, data, tables, options, trace);
}

}  // namespace locent::cpu
