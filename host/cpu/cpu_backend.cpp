// The CPU backend: a batch of chains advanced by a pool of threads, one instance per task; a lone
// large instance gets all the threads, in speculative rounds.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <ctime>
#include <fstream>
#include <thread>

#include "host/cpu/boundary_sets.hpp"
#include "host/cpu/metropolis.hpp"
#include "host/cpu/metropolis_rounds.hpp"
#include "host/parallel_for.hpp"
#include "locent/backend.hpp"

namespace locent {
namespace {

std::string cpu_model_name() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(' ', colon + 1));
    }
  return "CPU";
}

class CpuMetropolisEngine final : public MetropolisEngine {
 public:
  CpuMetropolisEngine(const EngineSetup& setup, int threads)
      : config_(setup.config), threads_(threads) {
    const std::size_t batch = setup.datasets.size();
    rows_.resize(batch);
    columns_.resize(batch);
    chains_.resize(batch);
    for (const Dataset* d : setup.datasets) {
      instances_.push_back(d->instance);
      models_.push_back(d->model);
    }
    parallel_for(batch, threads_, [&](std::size_t b) {
      rows_[b] = setup.datasets[b]->folded_rows();
      columns_[b] = rows_[b].transposed();
      chains_[b] = initial_chain(config_, models_[b], rows_[b], instances_[b]);
    });
    pending_.resize(rows_.size());
    seconds_per_sweep_.assign(rows_.size(), 0.0);
  }

  // Chains go to the threads longest first, by their time per sweep in the previous chunk (a
  // chain's cost depends on its acceptance, which changes slowly): with a few chains per thread,
  // taking them in index order can leave one thread with two slow ones while the other idles.
  // The order changes only who runs a chain, never its trajectory.
  void run_chunk(const ThresholdTables& tables, int trace_every) override {
    const cpu::ChunkOptions options{config_.centre_check_every, trace_every};
    if (lone_large_instance()) {
      // One large perceptron instance: every thread works on it, a speculative round at a time
      // (host/cpu/metropolis_rounds.cpp), unless the machine's cores are busy with other work:
      // then each round waits for the thread that lost its core, and the team loses to one
      // thread (0.5–0.8× on the 2-core development machine under load). A team chunk whose
      // threads got less than kMinCoreShare of their cores (process CPU time over wall time ×
      // threads; waiting members spin, so an idle-core team counts as busy) sends the next
      // kAloneChunks chunks to one thread. Both give the same trajectory.
      const cpu::ChainData data{&rows_[0], &columns_[0], config_.seed, instances_[0]};
      if (alone_chunks_left_ > 0) {
        --alone_chunks_left_;
        cpu::run_metropolis_chunk(chains_[0], data, tables, options, pending_[0]);
        return;
      }
      const double cpu0 = process_cpu_seconds();
      const auto t0 = std::chrono::steady_clock::now();
      cpu::WorkerTeam team(threads_);
      cpu::run_metropolis_rounds(chains_[0], data, tables, options, round_steps(),
                                 /*masked=*/false, pending_[0], &team);  // no lanes to fill here
      const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      if (wall > 0.02 && process_cpu_seconds() - cpu0 < kMinCoreShare * wall * threads_)
        alone_chunks_left_ = kAloneChunks;
      return;
    }
    std::vector<std::size_t> order(chains_.size());
    for (std::size_t b = 0; b < order.size(); ++b) order[b] = b;
    std::stable_sort(order.begin(), order.end(), [this](std::size_t a, std::size_t b) {
      return seconds_per_sweep_[a] > seconds_per_sweep_[b];
    });
    const double sweeps = std::max<double>(1, double(tables.sweeps()));
    parallel_for(order.size(), threads_, [&](std::size_t i) {
      const std::size_t b = order[i];
      if (chains_[b].status.solved) return;
      const auto t0 = std::chrono::steady_clock::now();
      const cpu::ChainData data{&rows_[b], &columns_[b], config_.seed, instances_[b]};
      cpu::run_metropolis_chunk(chains_[b], data, tables, options, pending_[b]);
      seconds_per_sweep_[b] =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / sweeps;
    });
  }

  std::vector<InstanceStatus> status() override {
    std::vector<InstanceStatus> s;
    for (const auto& c : chains_) s.push_back(c.status);
    return s;
  }

  std::vector<std::vector<std::int64_t>> take_trace() override {
    return take_instance_major(pending_);
  }

  ChainState snapshot(std::size_t b) override { return chains_.at(b); }
  std::string kernel() const override {
    return std::string("cpu ") + cpu::simd_path() +
           (lone_large_instance() ? ", rounds of " + std::to_string(round_steps()) + " steps on " +
                                        std::to_string(threads_) +
                                        " threads (one while the cores are busy)"
                                  : std::string());
  }

 private:
  // Steps a round: at least one per thread for the counts, but every step past a round's cut is
  // counted again, so no more than needed (2 was fastest on 2 cores at N = 100001, NOTES.md).
  int round_steps() const { return std::clamp(threads_, 2, 8); }
  // Below this many patterns a round is too little work to share among threads: on the 2-core
  // development machine rounds on both cores lost at N = 20001 (5.5e6 against 9.9e6 proposals/s
  // on one), won 1.25× at N = 40001 and 1.5× at N = 100001 (NOTES.md).
  static constexpr int kTeamMinPatterns = 24000;
  // A lone large instance's team chunk whose threads had less than this share of their cores
  // sends the next kAloneChunks chunks to one thread.
  static constexpr double kMinCoreShare = 0.8;
  static constexpr int kAloneChunks = 16;
  static double process_cpu_seconds() {
    timespec t{};
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return double(t.tv_sec) + 1e-9 * double(t.tv_nsec);
  }

  bool lone_large_instance() const {
    return chains_.size() == 1 && threads_ > 1 && !chains_[0].committee() &&
           chains_[0].patterns >= kTeamMinPatterns;
  }

  AnnealConfig config_;
  int threads_;
  std::vector<BitMatrix> rows_, columns_;
  std::vector<double> seconds_per_sweep_;  // of each chain in the last chunk
  int alone_chunks_left_ = 0;  // a lone large instance: chunks still to run on one thread
  std::vector<std::uint32_t> instances_;
  std::vector<ModelSpec> models_;
  std::vector<ChainState> chains_;
  std::vector<std::vector<std::vector<std::int64_t>>> pending_;
};

class CpuBackend final : public Backend {
 public:
  explicit CpuBackend(int threads)
      : threads_(threads > 0 ? threads
                             : std::max(1, static_cast<int>(std::thread::hardware_concurrency()))) {}
  std::string name() const override { return "cpu"; }
  std::string device_name() const override {
    return cpu_model_name() + " (" + std::to_string(threads_) + (threads_ == 1 ? " thread)" : " threads)");
  }
  std::unique_ptr<MetropolisEngine> create_metropolis(const EngineSetup& setup) override {
    return std::make_unique<CpuMetropolisEngine>(setup, threads_);
  }
  std::size_t concurrent_instances(int) const override { return std::size_t(threads_); }

 private:
  int threads_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend(int threads) {
  return std::make_unique<CpuBackend>(threads);
}

}  // namespace locent
