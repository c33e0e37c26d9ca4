// Dense field and error evaluation: every replica against every pattern at once.
//   fields[r·P + μ] = W_r · ξ_μ        errors[r] = #{μ : fields[r·P + μ] < 0}
// With folded patterns σ^μ ξ^μ the field is the stability Δ^μ and the errors are training
// errors. This is a binary matrix product (R × N) · (N × P): on the GPU it runs on the 1-bit
// tensor cores with AND+POPC, using a·b = N − 2(|a| + |b|) + 4·popc(a AND b) for ±1 vectors
// packed as bits (|a| = number of +1 entries); the CPU twin uses a·b = N − 2·popc(a XOR b).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "locent/bits.hpp"

namespace locent {

struct DenseFields {
  std::vector<std::int32_t> fields;  // R × P
  std::vector<std::int32_t> errors;  // R
};

// CPU twin, multi-threaded over replicas (threads = 0: all cores).
DenseFields dense_fields_cpu(const BitMatrix& weights, const BitMatrix& patterns, int threads = 0);

// The CUDA path: upload once, evaluate many times (the benchmark times evaluate()).
class DenseFieldsGpu {
 public:
  virtual ~DenseFieldsGpu() = default;
  virtual void evaluate() = 0;                 // synchronous
  virtual DenseFields download() const = 0;
  virtual std::string kernel_name() const = 0;
};

// automatic: the fastest kernel measured on hardware that the device runs (wgmma_cluster on
// compute capability 9.0, else mma; see kWgmmaByDefault in kernels/dense_fields_wgmma.cuh);
// mma: mma.sync m16n8k256 with a shared-memory pipeline, 128 × 128 block tiles (compute
// capability 8.0 and newer); mma_256: the same with 256 × 128 tiles; mma_staged: mma with the
// fields written as 16-byte row vectors through shared memory; wgmma: Hopper's warpgroup
// instruction, 128 × 256 tiles, compute capability 9.0 only; wgmma_cluster: wgmma on clusters of
// two blocks sharing the pattern tile by TMA multicast, the fields written by separate warps
// while the tensor cores go on; wmma: the first kernel, WMMA fragments from global memory, kept
// as the measured reference.
enum class DenseKernel { automatic, mma, mma_256, mma_staged, wgmma, wgmma_cluster, wmma };

// Whether this build and the current CUDA device can run `kernel` (false without a device).
bool dense_kernel_available(DenseKernel kernel);

// Throws Error(no_device) without CUDA, Error(out_of_memory) when it does not fit.
std::unique_ptr<DenseFieldsGpu> make_dense_fields_gpu(const BitMatrix& weights,
                                                      const BitMatrix& patterns,
                                                      DenseKernel kernel = DenseKernel::automatic);

}  // namespace locent
