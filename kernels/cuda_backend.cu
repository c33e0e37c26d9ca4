// The CUDA backend: device memory for a batch of chains, chunk launches, and the transfers of
// status, telemetry and snapshots. Initial states are built on the host by the same code as the
// CPU backend's (initial_chain) and uploaded, so both backends start identically.
#include <cuda_runtime.h>

#include <algorithm>
#include <cstring>
#include <thread>
#include <vector>

#include "kernels/cuda_check.cuh"
#include "kernels/device_array.cuh"
#include "host/parallel_for.hpp"
#include "host/text_format.hpp"
#include "kernels/metropolis.cuh"
#include "kernels/metropolis_pipeline.cuh"
#include "kernels/metropolis_rounds.cuh"
#include "locent/backend.hpp"

namespace locent {
namespace {

using cuda::DeviceArray;

class CudaMetropolisEngine final : public MetropolisEngine {
 public:
  CudaMetropolisEngine(const EngineSetup& setup, int device, const CudaOptions& options)
      : config_(setup.config), device_(device) {
    LOCENT_CUDA_CHECK(cudaSetDevice(device));
    const std::size_t batch = setup.datasets.size();
    const int n = static_cast<int>(setup.datasets[0]->n_inputs());
    const int p = static_cast<int>(setup.datasets[0]->n_patterns());
    const int y = config_.replicas;
    // The network's shape; a perceptron is whatever its patterns say (K = 1, N sites).
    const ModelSpec& model = setup.datasets[0]->model;
    const bool committee = model.architecture != Architecture::perceptron;
    const int k_units = committee ? model.hidden_units : 1;
    const int sites = committee ? static_cast<int>(model.weights()) : n;
    const std::size_t rw = 2 * words_for_bits(n), pw = 2 * words_for_bits(p);
    const std::size_t nw = 2 * words_for_bits(sites);
    check_memory(batch, n, p, y, k_units, sites, rw, nw, pw);

    b_.instances = static_cast<int>(batch);
    b_.inputs = n;
    b_.patterns = p;
    b_.replicas = y;
    b_.hidden_units = k_units;
    b_.fan_in = committee ? model.fan_in() : n;
    b_.sites = sites;
    b_.tree = model.architecture == Architecture::committee_tree;
    b_.input_words = static_cast<int>(rw);
    b_.pattern_words = static_cast<int>(pw);
    b_.weight_words = static_cast<int>(nw);
    b_.explicit_centre = config_.coupling == Coupling::explicit_;
    b_.flip_energy = config_.energy == EnergyKind::flips;

    const std::size_t ky = std::size_t(k_units) * y;
    columns_ = DeviceArray<std::uint32_t>(batch * n * pw);
    rows_ = DeviceArray<std::uint32_t>(batch * p * rw);
    instance_ids_ = DeviceArray<std::uint32_t>(batch);
    weights_ = DeviceArray<std::uint32_t>(batch * y * nw);
    if (b_.explicit_centre) centre_ = DeviceArray<std::uint32_t>(batch * nw);
    scratch_ = DeviceArray<std::uint32_t>(batch * nw);
    site_sums_ = DeviceArray<std::int32_t>(batch * sites);
    stabilities_ = DeviceArray<std::int32_t>(batch * ky * p);
    set_a_ = DeviceArray<std::uint32_t>(batch * ky * pw);
    set_b_ = DeviceArray<std::uint32_t>(batch * ky * pw);
    size_a_ = DeviceArray<std::int32_t>(batch * ky);
    size_b_ = DeviceArray<std::int32_t>(batch * ky);
    energy_ = DeviceArray<std::int64_t>(batch * y);
    errors_ = DeviceArray<std::int32_t>(batch * y);
    if (committee) {
      votes_ = DeviceArray<std::int32_t>(batch * y * p);
      field_plus_one_ = DeviceArray<std::uint32_t>(batch * ky * pw);
      field_minus_one_ = DeviceArray<std::uint32_t>(batch * ky * pw);
      votes_plus_one_ = DeviceArray<std::uint32_t>(batch * y * pw);
      votes_minus_one_ = DeviceArray<std::uint32_t>(batch * y * pw);
    }
    status_ = DeviceArray<InstanceStatus>(batch);
    trace_count_ = DeviceArray<std::int32_t>(batch);

    // The instances' host data (folded rows, their transpose, the initial chain) are prepared
    // on all cores, a group at a time so that the host holds one group's data, then uploaded.
    struct Prepared {
      BitMatrix rows, cols;
      ChainState chain;
    };
    const std::size_t group =
        std::max<std::size_t>(1, std::min<std::size_t>(batch, 2 * std::thread::hardware_concurrency()));
    std::vector<Prepared> ready(group);
    pending_.resize(batch);
    for (std::size_t first = 0; first < batch; first += group) {
      const std::size_t count = std::min(group, batch - first);
      parallel_for(count, 0, [&](std::size_t g) {
        const Dataset& d = *setup.datasets[first + g];
        ready[g].rows = d.folded_rows();
        ready[g].cols = ready[g].rows.transposed();
        ready[g].chain = initial_chain(config_, d.model, ready[g].rows, d.instance);
      });
      for (std::size_t g = 0; g < count; ++g) {
        const std::size_t b = first + g;
        const Dataset& d = *setup.datasets[b];
        const BitMatrix &rows = ready[g].rows, &cols = ready[g].cols;
        const ChainState& c = ready[g].chain;
        // 64-bit host words are two little-endian 32-bit device words each.
        columns_.upload(cols.words().data(), n * pw, b * n * pw);
        rows_.upload(rows.words().data(), p * rw, b * p * rw);
        instance_ids_.upload(&d.instance, 1, b);
        if (c.sites != sites || c.hidden_units != k_units)
          throw Error("all instances of a batch need the same network", ExitCode::failure);
        weights_.upload(c.weights.data(), y * nw, b * y * nw);
        if (b_.explicit_centre) centre_.upload(c.centre.data(), nw, b * nw);
        site_sums_.upload(c.site_sums.data(), sites, b * sites);
        stabilities_.upload(c.stabilities.data(), ky * p, b * ky * p);
        set_a_.upload(c.set_a.data(), ky * pw, b * ky * pw);
        set_b_.upload(c.set_b.data(), ky * pw, b * ky * pw);
        size_a_.upload(c.size_a.data(), ky, b * ky);
        size_b_.upload(c.size_b.data(), ky, b * ky);
        energy_.upload(c.energy.data(), y, b * y);
        errors_.upload(c.errors.data(), y, b * y);
        if (committee) {
          votes_.upload(c.votes.data(), std::size_t(y) * p, b * y * p);
          field_plus_one_.upload(c.field_plus_one.data(), ky * pw, b * ky * pw);
          field_minus_one_.upload(c.field_minus_one.data(), ky * pw, b * ky * pw);
          votes_plus_one_.upload(c.votes_plus_one.data(), y * pw, b * y * pw);
          votes_minus_one_.upload(c.votes_minus_one.data(), y * pw, b * y * pw);
        }
        status_.upload(&c.status, 1, b);
        templates_.push_back(c);  // shapes and flags for snapshots
      }
    }
    b_.columns = columns_.get();
    b_.rows = rows_.get();
    b_.instance_ids = instance_ids_.get();
    b_.weights = weights_.get();
    b_.centre = centre_.get();
    b_.centre_scratch = scratch_.get();
    b_.site_sums = site_sums_.get();
    b_.stabilities = stabilities_.get();
    b_.set_a = set_a_.get();
    b_.set_b = set_b_.get();
    b_.size_a = size_a_.get();
    b_.size_b = size_b_.get();
    b_.energy = energy_.get();
    b_.errors = errors_.get();
    b_.votes = votes_.get();
    b_.field_plus_one = field_plus_one_.get();
    b_.field_minus_one = field_minus_one_.get();
    b_.votes_plus_one = votes_plus_one_.get();
    b_.votes_minus_one = votes_minus_one_.get();
    b_.status = status_.get();
    b_.trace_count = trace_count_.get();
    shape_ = cuda::metropolis_block_shape(device, b_.instances, y, b_.pattern_words, committee);
    choose_rounds(device, options);
  }

  std::string kernel() const override {
    // The member pipeline, which the rounds kernel's launches take where it is wanted and fits.
    if (rounds_.cluster > 0 && cuda::pipeline_wanted(rounds_.cluster)) {
      const cuda::PipelineShape pipeline =
          cuda::metropolis_pipeline_shape(device_, b_, rounds_.round_steps);
      if (pipeline.members > 0)
        return "member pipeline, a cluster of " +
               std::to_string(pipeline.members * pipeline.parts) + " blocks (" +
               (pipeline.parts == 2 ? "two" : "one") + " a member) of 16 warps, counting up to " +
               std::to_string(pipeline.round_steps) + " steps ahead " +
               (pipeline.tensor_count          ? "on the tensor cores"
                : pipeline.staging_slots > 0 ? "by popcounts of columns copied into shared memory"
                                             : "by popcounts") +
               (pipeline.spread_reads ? ", the others' weights read a pair a lane" : "") +
               (pipeline.interleaved_move ? ", a thread's words moved plane by plane" : "") +
               (pipeline.parts == 2 ? ", half a replica's patterns a block" : "") +
               (pipeline.ordered_columns ? ", the sweep's columns in step order" : "");
    }
    if (rounds_.cluster > 0)
      return "rounds, " +
             (rounds_.cluster > 1 ? "cluster of " + std::to_string(rounds_.cluster) + " blocks"
                                  : std::string("one block per instance")) +
             " of " + std::to_string(rounds_.warps) + " warps, stabilities in " +
             (rounds_.shared_stabilities ? "shared" : "global") + " memory, " +
             (rounds_.adaptive_rounds ? "rounds of up to " : "rounds of ") +
             std::to_string(rounds_.round_steps) + " steps, " +
             (rounds_.parallel_decisions ? "parallel" : "sequential") + " decisions";
    return "block per instance, " + std::to_string(shape_.warps) + " warps" +
           (shape_.chunks > 1 ? ", " + std::to_string(shape_.chunks) + " per replica" : "");
  }

  void run_chunk(const ThresholdTables& tables, int trace_every) override {
    const std::size_t batch = b_.instances;
    const int y = b_.replicas;
    if (tables_.size() < tables.data.size()) tables_ = DeviceArray<std::uint32_t>(tables.data.size());
    tables_.upload(tables.data.data(), tables.data.size());
    const int capacity = trace_every > 0 ? static_cast<int>(tables.sweeps() / trace_every) + 1 : 0;
    const std::size_t trace_len = batch * capacity * (5 + y);
    if (trace_.size() < trace_len) trace_ = DeviceArray<std::int64_t>(trace_len);
    LOCENT_CUDA_CHECK(cudaMemset(trace_count_.get(), 0, batch * sizeof(std::int32_t)));
    b_.trace = trace_.get();
    b_.trace_capacity = capacity;

    cuda::MetropolisChunk ch;
    ch.tables = tables_.get();
    ch.table_stride = tables.stride();
    ch.half_width = tables.half_width;
    ch.coupling_states = tables.coupling_states;
    ch.first_sweep = tables.first_sweep;
    ch.sweeps = static_cast<int>(tables.sweeps());
    ch.seed = config_.seed;
    ch.centre_check_every = config_.centre_check_every;
    ch.trace_every = trace_every;
    if (rounds_.cluster > 0)
      cuda::launch_metropolis_rounds(b_, ch, rounds_, rank_words_.get(), nullptr);
    else
      cuda::launch_metropolis_chunk(b_, ch, shape_, nullptr);
    LOCENT_CUDA_CHECK(cudaDeviceSynchronize());

    if (capacity > 0) {
      std::vector<std::int32_t> counts(batch);
      trace_count_.download(counts.data(), batch);
      std::vector<std::int64_t> all(trace_len);
      trace_.download(all.data(), trace_len);
      for (std::size_t b = 0; b < batch; ++b)
        for (int r = 0; r < counts[b]; ++r) {
          const std::int64_t* rec = all.data() + (b * capacity + r) * (5 + y);
          pending_[b].emplace_back(rec, rec + 5 + y);
        }
    }
  }

  std::vector<InstanceStatus> status() override {
    std::vector<InstanceStatus> s(b_.instances);
    status_.download(s.data(), s.size());
    return s;
  }

  // Instance-major, in sweep order, whatever the chunks were (the CPU backend's order).
  std::vector<std::vector<std::int64_t>> take_trace() override {
    return take_instance_major(pending_);
  }

  ChainState snapshot(std::size_t b) override {
    ChainState c = templates_.at(b);
    const int p = b_.patterns, y = b_.replicas, sites = b_.sites;
    const std::size_t nw = b_.weight_words, pw = b_.pattern_words;
    const std::size_t ky = std::size_t(b_.hidden_units) * y;
    weights_.download(c.weights.data(), y * nw, b * y * nw);
    if (b_.explicit_centre) centre_.download(c.centre.data(), nw, b * nw);
    site_sums_.download(c.site_sums.data(), sites, b * sites);
    stabilities_.download(c.stabilities.data(), ky * p, b * ky * p);
    set_a_.download(c.set_a.data(), ky * pw, b * ky * pw);
    set_b_.download(c.set_b.data(), ky * pw, b * ky * pw);
    size_a_.download(c.size_a.data(), ky, b * ky);
    size_b_.download(c.size_b.data(), ky, b * ky);
    energy_.download(c.energy.data(), y, b * y);
    errors_.download(c.errors.data(), y, b * y);
    if (c.committee()) {
      votes_.download(c.votes.data(), std::size_t(y) * p, b * y * p);
      field_plus_one_.download(c.field_plus_one.data(), ky * pw, b * ky * pw);
      field_minus_one_.download(c.field_minus_one.data(), ky * pw, b * ky * pw);
      votes_plus_one_.download(c.votes_plus_one.data(), y * pw, b * y * pw);
      votes_minus_one_.download(c.votes_minus_one.data(), y * pw, b * y * pw);
    }
    status_.download(&c.status, 1, b);
    return c;
  }

 private:
  // The rounds kernel: asked for, or automatic (cuda::kRoundsByDefault): a cluster per instance
  // for a few large instances, else one block per instance; the step kernel where neither fits
  // (committees, compute capability below 9.0, more instances than resident blocks).
  void choose_rounds(int device, const CudaOptions& options) {
    const int asked = options.cluster_blocks;
    if (asked < -1 || asked > 16 || (asked > 0 && (asked & (asked - 1)) != 0))
      throw Error("cluster_blocks must be -1 (automatic), 0 (never), 1, 2, 4, 8 or 16, not " +
                  std::to_string(asked));
    if (asked == 0 || (asked < 0 && !cuda::kRoundsByDefault)) return;
    const auto shape = [&](int cluster) {
      return cuda::metropolis_rounds_shape(device, b_, cluster, options.round_steps,
                                           options.adaptive_rounds, options.parallel_decisions,
                                           options.round_stabilities_in_global);
    };
    if (asked > 0) {
      rounds_ = shape(asked);
      if (rounds_.cluster == 0)
        throw Error(std::to_string(asked) + " block" + (asked > 1 ? "s" : "") +
                    " per instance in rounds is not possible here: it needs a perceptron, "
                    "compute capability 9.0, every instance resident at once, and each block's "
                    "share of the boundary sets (with a cluster, of the stabilities too) in "
                    "shared memory");
    } else {
      int sms = 0;
      LOCENT_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
      if (2 * b_.instances <= sms && b_.pattern_words >= 512) rounds_ = shape(0);
      if (rounds_.cluster == 0) rounds_ = shape(1);
      if (rounds_.cluster == 0) return;
    }
    rank_words_ = DeviceArray<std::uint32_t>(std::size_t(b_.instances) * rounds_.cluster *
                                             rounds_.rank_stride);
  }

  // Bytes the batch needs on the device (committee arrays included), refused before allocating.
  void check_memory(std::size_t batch, int n, int p, int y, int k_units, int sites,
                    std::size_t rw, std::size_t nw, std::size_t pw) {
    const double ky = double(k_units) * y;
    const double committee = k_units > 1 ? double(y) * p + 2.0 * ky * pw + 2.0 * y * pw : 0.0;
    const double bytes =
        4.0 * batch * (double(n) * pw + double(p) * rw + (y + 2.0) * nw + sites + ky * p +
                       2.0 * ky * pw + 2.0 * ky + 3.0 * y + committee) + 64.0 * batch;
    std::size_t free_bytes = 0, total_bytes = 0;
    LOCENT_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
    if (bytes > 0.95 * double(free_bytes))
      throw Error("out of GPU memory: " + std::to_string(batch) + " instances of N = " +
                      std::to_string(n) + ", P = " + std::to_string(p) + " with y = " +
                      std::to_string(y) + " need " + format_gib(bytes) + ", the device has " +
                      format_gib(double(free_bytes)) + " free; use fewer --instances",
                  ExitCode::out_of_memory);
  }

  AnnealConfig config_;
  int device_ = 0;
  cuda::MetropolisBatch b_{};
  cuda::BlockShape shape_;
  cuda::RoundsShape rounds_;
  DeviceArray<std::uint32_t> rank_words_;
  DeviceArray<std::uint32_t> columns_, rows_, instance_ids_, weights_, centre_, scratch_, set_a_,
      set_b_, tables_, field_plus_one_, field_minus_one_, votes_plus_one_, votes_minus_one_;
  DeviceArray<std::int32_t> site_sums_, stabilities_, size_a_, size_b_, errors_, trace_count_,
      votes_;
  DeviceArray<std::int64_t> energy_, trace_;
  DeviceArray<InstanceStatus> status_;
  std::vector<ChainState> templates_;
  std::vector<std::vector<std::vector<std::int64_t>>> pending_;  // per instance
};

class CudaBackend final : public Backend {
 public:
  CudaBackend(int device, const CudaOptions& options) : device_(device), options_(options) {
    cudaDeviceProp prop{};
    LOCENT_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
    name_ = prop.name;
  }
  std::string name() const override { return "cuda"; }
  std::string device_name() const override { return name_; }
  std::unique_ptr<MetropolisEngine> create_metropolis(const EngineSetup& setup) override {
    if (setup.config.replicas > cuda::kMaxReplicas)
      throw Error("the CUDA backend supports at most " + std::to_string(cuda::kMaxReplicas) +
                  " replicas");
    return std::make_unique<CudaMetropolisEngine>(setup, device_, options_);
  }
  std::size_t concurrent_instances(int replicas) const override {
    return std::size_t(cuda::resident_metropolis_blocks(device_, replicas));
  }

 private:
  int device_;
  CudaOptions options_;
  std::string name_;
};

}  // namespace

bool cuda_available() {
  int count = 0;
  return cudaGetDeviceCount(&count) == cudaSuccess && count > 0;
}

bool cuda_clusters_available(int device) {
  int count = 0, major = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || device < 0 || device >= count) return false;
  return cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) == cudaSuccess &&
         major >= 9;
}

std::unique_ptr<Backend> make_cuda_backend(int device, const CudaOptions& options) {
  cuda::require_device(device);
  return std::make_unique<CudaBackend>(device, options);
}

}  // namespace locent
