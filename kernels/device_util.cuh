// Small device helpers shared by the kernels: warp sums, bit tests, cp.async copies, the 1-bit
// tensor-core multiply.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

namespace locent::cuda {

// Threshold tables up to this size are staged in shared memory for a sweep.
inline constexpr std::size_t kSharedTableBytes = 24 * 1024;

// The sum over the warp's 32 lanes: one redux.sync (sm_80 and later, every target here).
__device__ __forceinline__ int warp_sum(int v) { return __reduce_add_sync(0xffffffffu, v); }

__device__ __forceinline__ bool test_bit32(const std::uint32_t* words, int i) {
  return (words[i >> 5] >> (i & 31)) & 1u;
}

// Asynchronous global → shared copies (cp.async, sm_80 and later), committed in groups.
__device__ __forceinline__ void copy_4_bytes(std::uint32_t* shared, const std::uint32_t* global) {
  const unsigned address = static_cast<unsigned>(__cvta_generic_to_shared(shared));
  asm volatile("cp.async.ca.shared.global [%0], [%1], 4;\n" ::"r"(address), "l"(global));
}
__device__ __forceinline__ void copy_16_bytes(std::uint32_t* shared, const std::uint32_t* global) {
  const unsigned address = static_cast<unsigned>(__cvta_generic_to_shared(shared));
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16;\n" ::"r"(address), "l"(global));
}
__device__ __forceinline__ void commit_copies() { asm volatile("cp.async.commit_group;\n" ::); }
// Waits until at most kPending of this thread's groups are still in flight.
template <int kPending>
__device__ __forceinline__ void wait_copies() {
  asm volatile("cp.async.wait_group %0;\n" ::"n"(kPending) : "memory");
}

// d += A·B on the 1-bit tensor cores: mma.sync m16n8k256, AND then POPC (sm_80 and later; the
// caller compiles it only there). Fragments (PTX ISA layout), g = lane / 4, t = lane % 4, K as
// 8 words of 32 bits: a = {A[g][t], A[g + 8][t], A[g][t + 4], A[g + 8][t + 4]}, b = {B[t][g],
// B[t + 4][g]} (B column g), d = {C[g][2t], C[g][2t + 1], C[g + 8][2t], C[g + 8][2t + 1]}. Each
// dot product sums AND+POPC over the 8 words, so any one numbering of the words, the same for A
// and B, gives the same product.
__device__ __forceinline__ void mma_and_popc(int (&d)[4], const std::uint32_t (&a)[4],
                                             const std::uint32_t (&b)[2]) {
  asm volatile(
      "mma.sync.aligned.m16n8k256.row.col.s32.b1.b1.s32.and.popc "
      "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
      : "+r"(d[0]), "+r"(d[1]), "+r"(d[2]), "+r"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

// A launch of `blocks` blocks of `threads` threads in clusters of `cluster` blocks along x, with
// `bytes` of dynamic shared memory; `attribute` (the cluster's size) must outlive the config.
inline cudaLaunchConfig_t cluster_launch_config(int blocks, int threads, int cluster,
                                                std::size_t bytes,
                                                cudaLaunchAttribute* attribute) {
  cudaLaunchConfig_t config{};
  config.gridDim = dim3(blocks);
  config.blockDim = dim3(threads);
  config.dynamicSmemBytes = bytes;
  attribute->id = cudaLaunchAttributeClusterDimension;
  attribute->val.clusterDim.x = cluster;
  attribute->val.clusterDim.y = 1;
  attribute->val.clusterDim.z = 1;
  config.attrs = attribute;
  config.numAttrs = 1;
  return config;
}

}  // namespace locent::cuda
