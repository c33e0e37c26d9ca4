// The CPU backend: a batch of chains advanced by a pool of threads, one instance per task.
#include <algorithm>
#include <atomic>
#include <fstream>
#include <thread>

#include "host/cpu/metropolis.hpp"
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

// Runs body(i) for i in [0, n) on up to `threads` threads (dynamic assignment).
template <class Body>
void parallel_for(std::size_t n, int threads, Body body) {
  const std::size_t workers = std::min<std::size_t>(n, std::max(1, threads));
  if (workers <= 1) {
    for (std::size_t i = 0; i < n; ++i) body(i);
    return;
  }
  std::atomic<std::size_t> next{0};
  std::vector<std::thread> pool;
  for (std::size_t t = 0; t < workers; ++t)
    pool.emplace_back([&] {
      for (std::size_t i; (i = next.fetch_add(1)) < n;) body(i);
    });
  for (auto& th : pool) th.join();
}

class CpuMetropolisEngine final : public MetropolisEngine {
 public:
  CpuMetropolisEngine(const EngineSetup& setup, int threads)
      : config_(setup.config), threads_(threads) {
    for (const Dataset* d : setup.datasets) {
      rows_.push_back(d->folded_rows());
      columns_.push_back(rows_.back().transposed());
      instances_.push_back(d->instance);
      models_.push_back(d->model);
    }
    chains_.resize(rows_.size());
    parallel_for(rows_.size(), threads_, [&](std::size_t b) {
      chains_[b] = initial_chain(config_, models_[b], rows_[b], instances_[b]);
    });
    pending_.resize(rows_.size());
  }

  void run_chunk(const ThresholdTables& tables, int trace_every) override {
    const cpu::ChunkOptions options{config_.centre_check_every, trace_every};
    parallel_for(chains_.size(), threads_, [&](std::size_t b) {
      if (chains_[b].status.solved) return;
      const cpu::ChainData data{&rows_[b], &columns_[b], config_.seed, instances_[b]};
      cpu::run_metropolis_chunk(chains_[b], data, tables, options, pending_[b]);
    });
  }

  std::vector<InstanceStatus> status() override {
    std::vector<InstanceStatus> s;
    for (const auto& c : chains_) s.push_back(c.status);
    return s;
  }

  std::vector<std::vector<std::int64_t>> take_trace() override {
    std::vector<std::vector<std::int64_t>> all;
    for (auto& p : pending_) {
      for (auto& r : p) all.push_back(std::move(r));
      p.clear();
    }
    return all;
  }

  ChainState snapshot(std::size_t b) override { return chains_.at(b); }

 private:
  AnnealConfig config_;
  int threads_;
  std::vector<BitMatrix> rows_, columns_;
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
    return cpu_model_name() + " (" + std::to_string(threads_) + " threads)";
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
