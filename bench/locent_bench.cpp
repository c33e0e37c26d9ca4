// Google Benchmark suite for the kernels and loops behind the throughput figures:
//   cmake --build build --target locent_benchmarks && build/bench/locent_benchmarks
// Each benchmark reports items/s in the unit named by its label (proposals, pattern words, ...).
#include <benchmark/benchmark.h>

#include <random>
#include <string>
#include <vector>

#include "bench/plain_loop.hpp"
#include "host/cpu/boundary_sets.hpp"
#include "host/cpu/metropolis_frontier.hpp"
#include "host/cpu/metropolis_pipeline.hpp"
#include "host/cpu/metropolis_rounds.hpp"
#include "locent/anneal.hpp"
#include "locent/backend.hpp"
#include "locent/dense_fields.hpp"
#include "locent/metropolis_pipeline.hpp"
#include "locent/metropolis_rounds.hpp"
#include "locent/problem.hpp"
#include "locent/rng.hpp"
#include "locent/threshold_table.hpp"
#include "locent/throughput.hpp"

namespace locent {
namespace {

std::vector<std::uint64_t> random_words(std::size_t n, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<std::uint64_t> w(n);
  for (auto& x : w) x = rng();
  return w;
}

// ΔE counting for y = 7 replicas at one site: 2·y AND+POPC passes over P bits.
void BM_CountBoundaryHits(benchmark::State& state) {
  const std::size_t patterns = state.range(0), words = (patterns + 63) / 64;
  const bool portable = state.range(1);
  const auto col = random_words(words, 1), a = random_words(7 * words, 2), b = random_words(7 * words, 3);
  int ha[7], hb[7];
  cpu::force_portable_simd(portable);
  for (auto _ : state) {
    cpu::count_boundary_hits(col.data(), a.data(), b.data(), words, 7, ha, hb);
    benchmark::DoNotOptimize(ha);
    benchmark::DoNotOptimize(hb);
  }
  cpu::force_portable_simd(false);
  state.SetItemsProcessed(state.iterations() * 7);
  state.SetLabel(std::string(portable ? "portable" : cpu::simd_path()) + ", items = proposals");
}
BENCHMARK(BM_CountBoundaryHits)->ArgsProduct({{601, 6001, 60001}, {0, 1}});

// An accepted flip: P stabilities moved by ±2 and both boundary sets rebuilt.
void BM_MoveStabilities(benchmark::State& state) {
  const int patterns = static_cast<int>(state.range(0));
  const std::size_t words = (patterns + 63) / 64;
  const bool portable = state.range(1);
  std::vector<std::int32_t> stab(patterns, 1);
  std::vector<std::uint64_t> sa(words), sb(words);
  const auto col = random_words(words, 4);
  cpu::force_portable_simd(portable);
  bool invert = false;
  for (auto _ : state) {
    benchmark::DoNotOptimize(cpu::move_stabilities(stab.data(), patterns, col.data(), invert, true,
                                                   sa.data(), sb.data()));
    invert = !invert;  // back and forth, so the stabilities stay bounded
  }
  cpu::force_portable_simd(false);
  state.SetItemsProcessed(state.iterations() * patterns);
  state.SetLabel(std::string(portable ? "portable" : cpu::simd_path()) + ", items = stabilities");
}
BENCHMARK(BM_MoveStabilities)->ArgsProduct({{601, 6001, 60001}, {0, 1}});

void BM_PhiloxBlock(benchmark::State& state) {
  std::uint32_t step = 0;
  for (auto _ : state) benchmark::DoNotOptimize(philox_block(1, Purpose::metropolis, 0, 0, step++, 0));
  state.SetItemsProcessed(state.iterations() * 4);
  state.SetLabel("items = 32-bit words");
}
BENCHMARK(BM_PhiloxBlock);

// The whole rSA loop on one core, and the plain baseline, on the throughput workload.
void BM_RsaEngine(benchmark::State& state) {
  RsaWorkload w;
  w.inputs = static_cast<int>(state.range(0));
  w.sweeps = default_sweeps(w.inputs) / 10 + 1;
  auto cpu = make_cpu_backend(1);
  double proposals = 0;
  for (auto _ : state) proposals += measure_rsa(*cpu, w).proposals;
  state.counters["proposals/s"] = benchmark::Counter(proposals, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_RsaEngine)->Arg(1001)->Arg(10001)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_PlainLoop(benchmark::State& state) {
  RsaWorkload w;
  w.inputs = static_cast<int>(state.range(0));
  w.sweeps = default_sweeps(w.inputs) / 100 + 1;
  double proposals = 0;
  for (auto _ : state) proposals += measure_plain_loop(w).proposals;
  state.counters["proposals/s"] = benchmark::Counter(proposals, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_PlainLoop)->Arg(1001)->Arg(10001)->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_CudaRsaEngine(benchmark::State& state) {
  if (!cuda_available()) {
    state.SkipWithError("no usable CUDA device");
    return;
  }
  auto gpu = make_cuda_backend(0);
  RsaWorkload w;
  w.inputs = static_cast<int>(state.range(0));
  w.sweeps = default_sweeps(w.inputs) / 10 + 1;
  w.instances = w.inputs > 20001 ? 1 : gpu->concurrent_instances(w.replicas);
  double proposals = 0;
  for (auto _ : state) proposals += measure_rsa(*gpu, w).proposals;
  state.counters["proposals/s"] = benchmark::Counter(proposals, benchmark::Counter::kIsRate);
}
BENCHMARK(BM_CudaRsaEngine)->Arg(1001)->Arg(10001)->Arg(100001)->Unit(benchmark::kMillisecond)->UseRealTime();

// n × n random ±1 entries, as `locent bench` draws them.
BitMatrix random_signs(std::size_t n, std::uint64_t seed) {
  BitMatrix m(n, n);
  for (std::size_t r = 0; r < n; ++r)
    fill_random_bits(m.row(r), n, seed, Purpose::patterns, 0, static_cast<std::uint32_t>(r));
  return m;
}

// The throughput workload's chain on the CPU (α = 0.6, y = 7, β = 2, γ = 0.5, from random
// replicas), for the round-length benchmarks below.
struct WorkloadChain {
  Dataset dataset;
  AnnealConfig config;
  BitMatrix rows, cols;
  cpu::ChainData data;
  int half_width;
  explicit WorkloadChain(int n)
      : dataset([n] {
          GenerateSpec spec;
          spec.model.inputs = n;
          spec.alpha = 0.6;
          spec.seed = 1;
          return generate_dataset(spec, 0);
        }()),
        rows(dataset.folded_rows()),
        cols(rows.transposed()),
        data{&rows, &cols, 5, 0} {
    config.replicas = 7;
    config.beta = Schedule::constant(2.0);
    config.gamma = Schedule::constant(0.5);
    half_width = threshold_half_width(config, dataset.n_patterns());
  }
  ChainState start() const { return initial_chain(config, rows, 0); }
  ThresholdTables sweeps(int first, int count) const {
    return build_thresholds(config, half_width, first, count);
  }
};

// Runs `sweep_once` (chain, tables of one sweep, rounds[2]) over the first four sweeps and sets
// each sweep's acceptance, proposals a round and (with parts) parts a round as counters.
template <class SweepOnce>
void rounds_by_sweep(benchmark::State& state, const WorkloadChain& w, bool parts,
                     const SweepOnce& sweep_once) {
  for (auto _ : state) {
    ChainState chain = w.start();
    for (int s = 0; s < 4; ++s) {
      const std::uint64_t proposals = chain.status.proposals, accepted = chain.status.accepted;
      std::uint64_t rounds[2] = {0, 0};
      sweep_once(chain, w.sweeps(s, 1), rounds);
      const double p = double(chain.status.proposals - proposals);
      const std::string sweep = "sweep" + std::to_string(s);
      state.counters[sweep + " acceptance"] = double(chain.status.accepted - accepted) / p;
      state.counters[sweep + " proposals/round"] = p / double(rounds[0]);
      if (parts) state.counters[sweep + " parts/round"] = double(rounds[1]) / double(rounds[0]);
    }
  }
}

// How long the speculative rounds are on the throughput workload (three sweeps from random
// replicas, rounds of up to k steps), on the CPU twin: plain rounds (a replica moves once)
// against the longer rounds with up to 1, 2 or any number of parts after the plain decisions
// (each part one more exchange in the kernel). The figure is proposals per round, what a GPU
// round's fixed cost is shared by, and parts per round; the time is the CPU twin's, a
// reference, not a fast path.
void BM_RoundLength(benchmark::State& state) {
  const int extensions = static_cast<int>(state.range(1));
  const int k = static_cast<int>(state.range(2));
  const WorkloadChain w(static_cast<int>(state.range(0)));
  const ThresholdTables tables = w.sweeps(0, 3);
  double proposals = 0, accepted = 0, rounds = 0, parts = 0;
  for (auto _ : state) {
    ChainState chain = w.start();
    std::vector<std::vector<std::int64_t>> trace;
    std::uint64_t count[2] = {0, 0};  // rounds, parts after the plain decisions
    cpu::run_metropolis_rounds(chain, w.data, tables, {}, k, true, trace, nullptr, extensions,
                               count);
    proposals += double(chain.status.proposals);
    accepted += double(chain.status.accepted);
    rounds += double(count[0]);
    parts += double(count[1]);
  }
  state.counters["proposals/round"] = proposals / rounds;
  state.counters["parts/round"] = parts / rounds;
  state.counters["acceptance"] = accepted / proposals;
  state.SetLabel(extensions == 0 ? "plain rounds" : "longer rounds");
}
BENCHMARK(BM_RoundLength)
    ->ArgsProduct({{1001, 10001}, {0, 1, 2, 32}, {16, 32}})
    ->Unit(benchmark::kMillisecond)
    ->Iterations(1);

// The same sweep by sweep, N = 100001, rounds of at most 16 steps (the kernel's default): the
// proposals a round and the acceptance of each of the first four sweeps (about a minute in all).
void BM_RoundLengthBySweep(benchmark::State& state) {
  const int extensions = static_cast<int>(state.range(1));
  const WorkloadChain w(static_cast<int>(state.range(0)));
  std::vector<std::vector<std::int64_t>> trace;
  rounds_by_sweep(state, w, false,
                  [&](ChainState& chain, const ThresholdTables& t, std::uint64_t* rounds) {
                    cpu::run_metropolis_rounds(chain, w.data, t, {}, 16, true, trace, nullptr,
                                               extensions, rounds);
                  });
  state.SetLabel(extensions == 0 ? "plain rounds" : "longer rounds");
}
BENCHMARK(BM_RoundLengthBySweep)
    ->ArgsProduct({{100001}, {0, 1, 2}})
    ->Unit(benchmark::kSecond)
    ->Iterations(1);

// The same for the frontier rounds (each replica at its own position; host/cpu/metropolis_frontier),
// rounds of at most k steps a member, member 0 at most `lead` steps ahead of the last, and up to
// `parts` more parts a round with second-order terms (the longer frontier rounds).
void BM_FrontierRoundLengthBySweep(benchmark::State& state) {
  const int k = static_cast<int>(state.range(1)), lead = static_cast<int>(state.range(2));
  const int parts = static_cast<int>(state.range(3));
  const WorkloadChain w(static_cast<int>(state.range(0)));
  std::vector<std::vector<std::int64_t>> trace;
  rounds_by_sweep(state, w, parts > 0,
                  [&](ChainState& chain, const ThresholdTables& t, std::uint64_t* rounds) {
                    cpu::run_metropolis_frontier(chain, w.data, t, {}, k, lead, true, trace,
                                                 nullptr, rounds, parts);
                  });
  state.SetLabel(parts > 0 ? "longer frontier rounds" : "frontier rounds");
}
BENCHMARK(BM_FrontierRoundLengthBySweep)
    ->Args({100001, 16, 32, 0})
    ->Args({100001, 32, 64, 0})
    ->Args({100001, 32, 96, 0})
    ->Args({100001, 16, 32, 1})
    ->Args({100001, 32, 64, 1})
    ->Args({100001, 32, 64, 2})
    ->Unit(benchmark::kSecond)
    ->Iterations(1);

// The member pipeline's twin (host/cpu/metropolis_pipeline) sweep by sweep, N = 100001, counting
// up to k steps ahead (traced coupling): a replica's steps per counting pass (a kernel round:
// all proposals over all passes) and the twin's time, one thread.
void BM_PipelineBySweep(benchmark::State& state) {
  const int k = static_cast<int>(state.range(1));
  const WorkloadChain w(static_cast<int>(state.range(0)));
  std::vector<std::vector<std::int64_t>> trace;
  rounds_by_sweep(state, w, false,
                  [&](ChainState& chain, const ThresholdTables& t, std::uint64_t* rounds) {
                    cpu::run_metropolis_pipeline(chain, w.data, t, {}, k, kPipelineDefaultWindow, 1,
                                                 trace, nullptr, rounds);
                  });
  state.SetLabel("member pipeline (twin)");
}
BENCHMARK(BM_PipelineBySweep)
    ->Args({100001, 16})
    ->Args({100001, 8})
    ->Unit(benchmark::kSecond)
    ->Iterations(1);

// Dense fields and errors, R = P = N = n: n³ binary multiply-adds an evaluation.
void BM_DenseFieldsCpu(benchmark::State& state) {
  const std::size_t n = state.range(0);
  const BitMatrix w = random_signs(n, 11), x = random_signs(n, 12);
  for (auto _ : state) benchmark::DoNotOptimize(dense_fields_cpu(w, x, 0));
  state.counters["binary MAC/s"] =
      benchmark::Counter(double(n) * n * n * state.iterations(), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_DenseFieldsCpu)->Arg(1024)->Arg(2048)->Unit(benchmark::kMillisecond)->UseRealTime();

// The same on the tensor cores, by kernel (DenseKernel's order: automatic, mma, mma_256,
// mma_staged, wgmma, wgmma_cluster, wmma).
void BM_CudaDenseFields(benchmark::State& state) {
  const auto kernel = static_cast<DenseKernel>(state.range(1));
  if (!dense_kernel_available(kernel == DenseKernel::automatic ? DenseKernel::mma : kernel)) {
    state.SkipWithError("no CUDA device that runs this kernel");
    return;
  }
  const std::size_t n = state.range(0);
  const BitMatrix w = random_signs(n, 11), x = random_signs(n, 12);
  auto gpu = make_dense_fields_gpu(w, x, kernel);
  gpu->evaluate();  // warm-up
  for (auto _ : state) gpu->evaluate();
  state.counters["binary MAC/s"] =
      benchmark::Counter(double(n) * n * n * state.iterations(), benchmark::Counter::kIsRate);
  state.SetLabel(gpu->kernel_name());
}
BENCHMARK(BM_CudaDenseFields)
    ->ArgsProduct({{8192}, {0, 1, 2, 3, 4, 5, 6}})
    ->Unit(benchmark::kMicrosecond)
    ->UseRealTime();

}  // namespace
}  // namespace locent

BENCHMARK_MAIN();
