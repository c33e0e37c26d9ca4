// A chain advanced sequentially (run_metropolis_chunk) and in other, exact ways, chunk by chunk of
// 1 to 7 sweeps: the test of every faster way to advance the CPU chain (the speculative rounds,
// the frontier rounds). Hot cases stay unsolved (long trajectories, many flips); cold ones are
// solved mid-run.
#pragma once
#include <gtest/gtest.h>

#include <algorithm>
#include <ostream>
#include <string>
#include <vector>

#include "host/cpu/metropolis.hpp"
#include "tests/backend_compare.hpp"
#include "tests/test_util.hpp"

namespace locent::test {

struct SequentialCase {
  int n;
  double alpha;
  int replicas;
  Coupling coupling;
  EnergyKind energy;
  double beta;  // < 1: hot, constant; ≥ 1: annealed from there, solved mid-run
};

// A case of a way that counts k steps ahead within a second length, `span` (the frontier rounds'
// lead, the pipeline's window).
struct AheadCase {
  int n;
  double alpha;
  int replicas;
  Coupling coupling;
  EnergyKind energy;
  int k, span;
  double beta;  // < 1: hot, never solved; ≥ 1: annealed from there, solved mid-run

  SequentialCase sequential() const { return {n, alpha, replicas, coupling, energy, beta}; }
};

inline void PrintTo(const AheadCase& c, std::ostream* os) {
  *os << "N=" << c.n << " alpha=" << c.alpha << " y=" << c.replicas << " k=" << c.k
      << " span=" << c.span;
}

// A test name for case c, the span called `span_name`.
inline std::string ahead_case_name(const AheadCase& c, const std::string& span_name) {
  return "N" + std::to_string(c.n) + "_y" + std::to_string(c.replicas) +
         (c.coupling == Coupling::traced ? "_traced" : "_explicit") +
         (c.energy == EnergyKind::flips ? "_flips" : "_errors") + "_k" + std::to_string(c.k) +
         "_" + span_name + std::to_string(c.span) + "_beta" + std::to_string(int(c.beta * 10));
}

// run(v, chain, data, tables, options, trace) advances way v (of `runs`) by a chunk; each way
// must leave the sequential chain's trace and state.
template <class Run>
void expect_runs_equal_sequential(const SequentialCase& p, int runs, const Run& run) {
  const Dataset d = storage_instance(p.n, p.alpha, 21);
  AnnealConfig config = hot_config(p.replicas, p.coupling, p.energy);
  config.beta = p.beta < 1 ? Schedule::constant(p.beta) : Schedule::geometric(p.beta, 10 * p.beta);
  config.gamma = Schedule::linear(0.1, 1.5);
  config.max_sweeps = 60;
  const BitMatrix rows = d.folded_rows(), cols = rows.transposed();
  const cpu::ChainData data{&rows, &cols, 5, 3};
  const int hw = threshold_half_width(config, d.n_patterns());
  cpu::ChunkOptions options;
  options.trace_every = 2;
  options.centre_check_every = 3;
  ChainState sequential = initial_chain(config, rows, 3);
  std::vector<std::vector<std::int64_t>> trace_sequential;
  std::vector<ChainState> chains(runs, sequential);
  std::vector<std::vector<std::vector<std::int64_t>>> traces(runs);
  for (std::uint64_t s = 0; s < config.max_sweeps && !sequential.status.solved;) {
    const std::size_t count = std::min<std::uint64_t>(1 + s % 7, config.max_sweeps - s);
    const ThresholdTables t = build_thresholds(config, hw, s, count);
    cpu::run_metropolis_chunk(sequential, data, t, options, trace_sequential);
    for (int v = 0; v < runs; ++v) run(v, chains[v], data, t, options, traces[v]);
    s += count;
  }
  EXPECT_GT(sequential.status.accepted, 200u);
  EXPECT_EQ(bool(sequential.status.solved), p.beta >= 1.0) << "the cold cases are the solved ones";
  for (int v = 0; v < runs; ++v) {
    SCOPED_TRACE("way " + std::to_string(v));
    EXPECT_EQ(trace_sequential, traces[v]);
    expect_same_chain(sequential, chains[v]);
  }
}

}  // namespace locent::test
