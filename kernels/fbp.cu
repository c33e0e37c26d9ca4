// CUDA focusing BP (fbp.cuh): the kernels, their launchers and the CUDA engine that holds one
// instance's messages on the device. Every message rule is the CPU engine's (fbp_rules.hpp);
// only the order of the double-precision sums differs.
//
// Weight pass: a block of 32 columns × 16 row groups reads the P × W messages row-coalesced,
// sums each column in double and finishes it (focusing message, Φ) in its first warp.
// Pattern pass: one block per pattern (grid-stride). Per hidden unit the block reduces the cavity
// sums M, V over the unit's inputs, then every thread rewrites its inputs' messages; the cavity
// magnetizations are recomputed in the second loop rather than kept, since fan_in is unbounded.
#include <algorithm>
#include <cstdio>
#include <cstring>
#include <vector>

#include "kernels/cuda_check.cuh"
#include "kernels/device_array.cuh"
#include "kernels/fbp.cuh"
#include "locent/backend.hpp"
#include "locent/fbp.hpp"

namespace locent::cuda {
namespace {

constexpr int kColumnsPerBlock = 32;
constexpr int kRowGroups = 16;
constexpr int kPatternThreads = 128;
constexpr int kPatternWarps = kPatternThreads / 32;
constexpr int kMaxPatternBlocks = 1 << 20;

__device__ __forceinline__ double warp_sum(double v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

__device__ __forceinline__ double warp_max(double v) {
  for (int offset = 16; offset > 0; offset >>= 1) v = fmax(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}

__device__ __forceinline__ void raise_max_change(unsigned long long* target, double change) {
  atomicMax(target, static_cast<unsigned long long>(__double_as_longlong(change)));
}

__device__ __forceinline__ double pattern_bit(const std::uint32_t* row, int c) {
  return (row[c >> 5] >> (c & 31)) & 1u ? 1.0 : -1.0;
}

// Sums two doubles over the block; every thread gets the totals. `scratch` holds 2 per warp.
__device__ void block_sum2(double& a, double& b, double* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  a = warp_sum(a);
  b = warp_sum(b);
  if (lane == 0) {
    scratch[2 * warp] = a;
    scratch[2 * warp + 1] = b;
  }
  __syncthreads();
  a = 0;
  b = 0;
  for (int w = 0; w < kPatternWarps; ++w) {
    a += scratch[2 * w];
    b += scratch[2 * w + 1];
  }
  __syncthreads();  // scratch is reused by the next call
}

__global__ void fbp_weight_pass_kernel(FbpDevice d, fbp::Focusing focusing, bool update_focusing,
                                       double damping) {
  __shared__ double partial[kRowGroups][kColumnsPerBlock + 1];
  const int tx = threadIdx.x, ty = threadIdx.y;
  const int j = blockIdx.x * kColumnsPerBlock + tx;
  double acc = 0;
  if (j < d.weights)
    for (int mu = ty; mu < d.patterns; mu += kRowGroups)
      acc += d.weight_messages[std::size_t(mu) * d.weights + j];
  partial[ty][tx] = acc;
  __syncthreads();
  if (ty != 0) return;
  double change = 0;
  if (j < d.weights) {
    double cavity = 0;
    for (int g = 0; g < kRowGroups; ++g) cavity += partial[g][tx];
    cavity += d.external[j];
    if (update_focusing) {
      const fbp::Update u =
          fbp::update_message(fbp::focusing_field(focusing, cavity), d.focusing[j], damping);
      d.focusing[j] = u.stored;
      change = u.change;
    }
    d.fields[j] = cavity + d.focusing[j];
  }
  if (update_focusing) {
    change = warp_max(change);
    if (tx == 0) raise_max_change(d.max_change, change);
  }
}

// Cavity sums M = Σ ξ m, V = Σ (1 − m²) of unit k for pattern μ, over the whole block.
__device__ void unit_sums(const FbpDevice& d, int mu, int k, double& mean, double& variance,
                          double* scratch) {
  const std::uint32_t* row = d.rows + std::size_t(mu) * d.row_words;
  const float* u = d.weight_messages + std::size_t(mu) * d.weights + std::size_t(k) * d.fan_in;
  const double* phi = d.fields + std::size_t(k) * d.fan_in;
  const int offset = d.tree ? k * d.fan_in : 0;
  mean = 0;
  variance = 0;
  for (int j = threadIdx.x; j < d.fan_in; j += blockDim.x) {
    const fbp::Cavity cav = fbp::cavity(phi[j] - u[j]);
    mean += pattern_bit(row, offset + j) * cav.m;
    variance += cav.v;
  }
  block_sum2(mean, variance, scratch);
}

__global__ void __launch_bounds__(kPatternThreads)
    fbp_pattern_pass_kernel(FbpDevice d, double damping) {
  __shared__ double scratch[2 * kPatternWarps];
  __shared__ double worst_per_warp[kPatternWarps];
  double worst = 0;
  for (int mu = blockIdx.x; mu < d.patterns; mu += gridDim.x) {
    float* unit = d.unit_messages + std::size_t(mu) * d.units;
    float* output = d.output_messages + std::size_t(mu) * d.units;
    if (d.committee) {
      // The output factor first: its K messages from the current unit messages, one per thread.
      double fresh = 0;
      if (threadIdx.x < d.units)
        fresh = fbp::output_message<kMaxFbpHiddenUnits>(d.units, unit, threadIdx.x);
      __syncthreads();  // every thread has read `unit` before any is rewritten below
      if (threadIdx.x < d.units) {
        const fbp::Update up = fbp::update_message(fresh, output[threadIdx.x], damping);
        output[threadIdx.x] = up.stored;
        worst = fmax(worst, up.change);
      }
      __syncthreads();
    }
    const std::uint32_t* row = d.rows + std::size_t(mu) * d.row_words;
    for (int k = 0; k < d.units; ++k) {
      double mean, variance;
      unit_sums(d, mu, k, mean, variance, scratch);
      fbp::OutputSide side = fbp::hard_output();
      if (d.committee) {
        side = fbp::soft_output(output[k]);
        if (threadIdx.x == 0) {
          const fbp::Update up =
              fbp::update_message(fbp::unit_message(mean, variance), unit[k], damping);
          unit[k] = up.stored;
          worst = fmax(worst, up.change);
        }
      }
      float* u = d.weight_messages + std::size_t(mu) * d.weights + std::size_t(k) * d.fan_in;
      const double* phi = d.fields + std::size_t(k) * d.fan_in;
      const int offset = d.tree ? k * d.fan_in : 0;
      for (int j = threadIdx.x; j < d.fan_in; j += blockDim.x) {
        const fbp::Cavity cav = fbp::cavity(phi[j] - u[j]);
        const double xi = pattern_bit(row, offset + j);
        const double fresh = fbp::weight_message(mean - xi * cav.m, variance - cav.v, xi, side);
        const fbp::Update up = fbp::update_message(fresh, u[j], damping);
        u[j] = up.stored;
        worst = fmax(worst, up.change);
      }
    }
  }
  worst = warp_max(worst);
  if ((threadIdx.x & 31) == 0) worst_per_warp[threadIdx.x >> 5] = worst;
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int w = 1; w < kPatternWarps; ++w) worst = fmax(worst, worst_per_warp[w]);
    raise_max_change(d.max_change, worst);
  }
}

__global__ void __launch_bounds__(kPatternThreads) fbp_pattern_sums_kernel(FbpDevice d) {
  __shared__ double scratch[2 * kPatternWarps];
  __shared__ double unit_fields[kMaxFbpHiddenUnits];
  double log_output = 0, edge = 0;  // meaningful in thread 0 / summed over the block
  for (int mu = blockIdx.x; mu < d.patterns; mu += gridDim.x) {
    for (int k = 0; k < d.units; ++k) {
      double mean, variance;
      unit_sums(d, mu, k, mean, variance, scratch);
      const float* u = d.weight_messages + std::size_t(mu) * d.weights + std::size_t(k) * d.fan_in;
      const double* phi = d.fields + std::size_t(k) * d.fan_in;
      for (int j = threadIdx.x; j < d.fan_in; j += blockDim.x)
        edge += fbp::log_cosh(phi[j] - u[j]) - fbp::log_cosh(phi[j]);
      if (threadIdx.x == 0) {
        if (d.committee)
          unit_fields[k] = fbp::unit_message(mean, variance);
        else
          log_output += fbp::log_unit_probability(mean, variance);
      }
    }
    if (d.committee && threadIdx.x == 0)
      log_output += fbp::log_output_probability<kMaxFbpHiddenUnits>(d.units, unit_fields);
    __syncthreads();  // unit_fields is rewritten for the next pattern
  }
  double none = 0;
  block_sum2(edge, none, scratch);
  if (threadIdx.x == 0) {
    atomicAdd(d.sums, log_output);
    atomicAdd(d.sums + 1, edge);
  }
}

int pattern_blocks(const FbpDevice& d) { return std::max(1, std::min(d.patterns, kMaxPatternBlocks)); }

}  // namespace

void launch_fbp_weight_pass(const FbpDevice& d, const fbp::Focusing* focusing, double damping,
                            cudaStream_t stream) {
  const dim3 block(kColumnsPerBlock, kRowGroups);
  const int blocks = (d.weights + kColumnsPerBlock - 1) / kColumnsPerBlock;
  fbp_weight_pass_kernel<<<blocks, block, 0, stream>>>(
      d, focusing ? *focusing : fbp::Focusing{0, 0, 1, 0}, focusing != nullptr, damping);
  LOCENT_CUDA_CHECK(cudaGetLastError());
}

void launch_fbp_pattern_pass(const FbpDevice& d, double damping, cudaStream_t stream) {
  fbp_pattern_pass_kernel<<<pattern_blocks(d), kPatternThreads, 0, stream>>>(d, damping);
  LOCENT_CUDA_CHECK(cudaGetLastError());
}

void launch_fbp_pattern_sums(const FbpDevice& d, cudaStream_t stream) {
  fbp_pattern_sums_kernel<<<pattern_blocks(d), kPatternThreads, 0, stream>>>(d);
  LOCENT_CUDA_CHECK(cudaGetLastError());
}

}  // namespace locent::cuda

namespace locent {
namespace {

using cuda::DeviceArray;

class CudaFbpEngine final : public FbpEngine {
 public:
  CudaFbpEngine(const Dataset& data, std::size_t memory_limit, int device)
      : p_(data.n_patterns()),
        k_(static_cast<std::size_t>(data.model.hidden_units)),
        fan_in_(static_cast<std::size_t>(data.model.fan_in())),
        w_(k_ * fan_in_) {
    LOCENT_CUDA_CHECK(cudaSetDevice(device));
    std::size_t free_bytes = 0, total_bytes = 0;
    LOCENT_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total_bytes));
    // Leave a margin for the context and the allocator's rounding.
    std::size_t available = static_cast<std::size_t>(0.95 * double(free_bytes));
    if (memory_limit > 0) available = std::min(available, memory_limit);
    require_fbp_device_memory(data.model, p_, fbp_device_bytes(data.model, p_), available);
    if (p_ > 0x7fffffffu || w_ > 0x7fffffffu)
      throw Error("the instance is too large for the CUDA fBP engine (P and K·N below 2^31)");

    const BitMatrix rows = data.folded_rows();
    const std::size_t row_words = 2 * rows.words_per_row();  // 64-bit host words = 2 device words
    rows_ = DeviceArray<std::uint32_t>(p_ * row_words);
    rows_.upload(rows.words().data(), p_ * row_words);
    weight_messages_ = DeviceArray<float>(p_ * w_);
    focusing_ = DeviceArray<float>(w_);
    external_ = DeviceArray<float>(w_);
    LOCENT_CUDA_CHECK(cudaMemset(external_.get(), 0, w_ * sizeof(float)));
    unit_messages_ = DeviceArray<float>(p_ * k_);
    output_messages_ = DeviceArray<float>(p_ * k_);
    fields_ = DeviceArray<double>(w_);
    max_change_ = DeviceArray<unsigned long long>(1);
    sums_ = DeviceArray<double>(2);

    d_.patterns = static_cast<int>(p_);
    d_.units = static_cast<int>(k_);
    d_.fan_in = static_cast<int>(fan_in_);
    d_.weights = static_cast<int>(w_);
    d_.row_words = static_cast<int>(row_words);
    d_.committee = data.model.architecture != Architecture::perceptron;
    d_.tree = data.model.architecture == Architecture::committee_tree;
    d_.rows = rows_.get();
    d_.weight_messages = weight_messages_.get();
    d_.focusing = focusing_.get();
    d_.external = external_.get();
    d_.unit_messages = unit_messages_.get();
    d_.output_messages = output_messages_.get();
    d_.fields = fields_.get();
    d_.max_change = max_change_.get();
    d_.sums = sums_.get();
  }

  void load_messages(const FbpMessages& m) override {
    if (m.patterns != p_ || m.hidden_units != k_ || m.fan_in != fan_in_)
      throw Error("fBP messages of the wrong shape for this instance", ExitCode::bad_input);
    weight_messages_.upload(m.pattern_to_weight.data(), p_ * w_);
    focusing_.upload(m.focusing.data(), w_);
    unit_messages_.upload(m.unit_to_output.data(), p_ * k_);
    output_messages_.upload(m.output_to_unit.data(), p_ * k_);
  }

  FbpMessages messages() override {
    FbpMessages m;
    m.resize(p_, k_, fan_in_);
    weight_messages_.download(m.pattern_to_weight.data(), p_ * w_);
    focusing_.download(m.focusing.data(), w_);
    unit_messages_.download(m.unit_to_output.data(), p_ * k_);
    output_messages_.download(m.output_to_unit.data(), p_ * k_);
    return m;
  }

  void set_external_fields(const std::vector<float>& eta) override {
    if (eta.size() != w_)
      throw Error("internal error: external fields of the wrong size", ExitCode::failure);
    external_.upload(eta.data(), w_);
  }

  std::vector<float> focusing_messages() override {
    std::vector<float> f(w_);
    focusing_.download(f.data(), w_);
    return f;
  }

  double iterate(const FocusingParams& f, double damping) override {
    const fbp::Focusing focusing{f.gamma, f.pol, f.one_minus_pol, f.r};
    LOCENT_CUDA_CHECK(cudaMemsetAsync(d_.max_change, 0, sizeof(unsigned long long), nullptr));
    cuda::launch_fbp_weight_pass(d_, &focusing, damping, nullptr);
    cuda::launch_fbp_pattern_pass(d_, damping, nullptr);
    unsigned long long bits = 0;
    max_change_.download(&bits, 1);
    double change;
    static_assert(sizeof bits == sizeof change, "double is 64 bits");
    std::memcpy(&change, &bits, sizeof change);
    return change;
  }

  std::vector<double> fields() override {
    cuda::launch_fbp_weight_pass(d_, nullptr, 0, nullptr);
    std::vector<double> phi(w_);
    fields_.download(phi.data(), w_);
    return phi;
  }

  FbpPatternSums pattern_sums() override {
    cuda::launch_fbp_weight_pass(d_, nullptr, 0, nullptr);
    LOCENT_CUDA_CHECK(cudaMemsetAsync(d_.sums, 0, 2 * sizeof(double), nullptr));
    cuda::launch_fbp_pattern_sums(d_, nullptr);
    double s[2];
    sums_.download(s, 2);
    return FbpPatternSums{s[0], s[1]};
  }

 private:
  std::size_t p_, k_, fan_in_, w_;
  cuda::FbpDevice d_{};
  DeviceArray<std::uint32_t> rows_;
  DeviceArray<float> weight_messages_, focusing_, external_, unit_messages_, output_messages_;
  DeviceArray<double> fields_, sums_;
  DeviceArray<unsigned long long> max_change_;
};

}  // namespace

std::unique_ptr<FbpEngine> make_cuda_fbp_engine(const Dataset& data, std::size_t memory_limit,
                                                int device) {
  cuda::require_device(device);
  return std::make_unique<CudaFbpEngine>(data, memory_limit, device);
}

}  // namespace locent
