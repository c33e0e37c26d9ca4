// The CPU backend: a batch of chains advanced by a pool of threads, one instance per task.
#include <algorithm>
#include <atomic>
#include <fstream>
#include <thread>

#include "host/cpu/metropolis.hpp"
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
