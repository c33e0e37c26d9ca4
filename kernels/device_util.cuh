// Small device helpers shared by the kernels: warp sums, bit tests, cp.async copies, transaction
// barriers and bulk copies, the 1-bit tensor-core multiply.
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

// A shared-memory address in the state space's own 32-bit form.
__device__ __forceinline__ std::uint32_t shared_address(const void* p) {
  return static_cast<std::uint32_t>(__cvta_generic_to_shared(p));
}

// Distributed shared memory (sm_90): another block's shared memory in the cluster, read with
// relaxed loads, with fences restricted to the shared-memory state spaces (PTX ISA 8.6): a
// release that orders this block's shared-memory writes only (no GPU-scope memory barrier), an
// acquire that orders later reads of the cluster's shared memory only (no L1 invalidation).
// Publish: write, then store_release_shared_cta; observe: load_relaxed_shared_cluster until
// the value shows, then fence_acquire_shared_cluster, then read.
__device__ __forceinline__ std::uint32_t shared_cluster_address(const void* local, int rank) {
  std::uint32_t address;
  asm volatile("mapa.shared::cluster.u32 %0, %1, %2;\n"
               : "=r"(address)
               : "r"(shared_address(local)), "r"(rank));
  return address;
}
__device__ __forceinline__ unsigned load_relaxed_shared_cluster(std::uint32_t address) {
  unsigned v;
  asm volatile("ld.relaxed.cluster.shared::cluster.u32 %0, [%1];\n"
               : "=r"(v)
               : "r"(address)
               : "memory");
  return v;
}
__device__ __forceinline__ void fence_acquire_shared_cluster() {
  asm volatile("fence.acquire.sync_restrict::shared::cluster.cluster;\n" ::: "memory");
}
__device__ __forceinline__ void store_release_shared_cta(unsigned* p, unsigned v) {
  asm volatile(
      "fence.release.sync_restrict::shared::cta.cluster;\n"
      "st.relaxed.cluster.shared::cta.u32 [%0], %1;\n" ::"r"(shared_address(p)),
      "r"(v)
      : "memory");
}
// Transaction barriers (mbarrier, sm_90) and the bulk-copy engine (cp.async.bulk): a barrier
// armed with the bytes it expects completes its phase when copies have delivered them.
__device__ __forceinline__ void mbarrier_init(std::uint64_t* bar, int count) {
  asm volatile("mbarrier.init.shared::cta.b64 [%0], %1;\n" ::"r"(shared_address(bar)), "r"(count)
               : "memory");
}
// Makes initialized barriers visible to the cluster and the async proxy (then a block barrier).
__device__ __forceinline__ void fence_barrier_init() {
  asm volatile("fence.mbarrier_init.release.cluster;\n" ::: "memory");
}
// Arrives on the barrier, which is to expect `bytes` more.
__device__ __forceinline__ void mbarrier_expect_bytes(std::uint64_t* bar, int bytes) {
  asm volatile("mbarrier.arrive.expect_tx.shared::cta.b64 _, [%0], %1;\n" ::"r"(shared_address(bar)),
               "r"(bytes)
               : "memory");
}
// Whether the barrier has completed the phase of that parity (waits a while in hardware first).
__device__ __forceinline__ bool mbarrier_try_wait(std::uint64_t* bar, int parity) {
  std::uint32_t done;
  asm volatile(
      "{\n"
      ".reg .pred p;\n"
      "mbarrier.try_wait.parity.shared::cta.b64 p, [%1], %2;\n"
      "selp.u32 %0, 1, 0, p;\n"
      "}\n"
      : "=r"(done)
      : "r"(shared_address(bar)), "r"(parity)
      : "memory");
  return done != 0;
}
// Until the barrier completes the phase of that parity.
__device__ __forceinline__ void mbarrier_wait(std::uint64_t* bar, int parity) {
  asm volatile(
      "{\n.reg .pred done;\nwait:\n"
      "mbarrier.try_wait.parity.shared::cta.b64 done, [%0], %1;\n"
      "@!done bra wait;\n}\n" ::"r"(shared_address(bar)),
      "r"(parity)
      : "memory");
}
// `bytes` (a multiple of 16, both addresses 16-byte aligned) from global memory to this block's
// shared memory, completing on `bar`.
__device__ __forceinline__ void bulk_copy_to_shared(void* to, const void* from, std::uint32_t bytes,
                                                    std::uint64_t* bar) {
  asm volatile(
      "cp.async.bulk.shared::cluster.global.mbarrier::complete_tx::bytes [%0], [%1], %2, [%3];\n"
      :
      : "r"(shared_address(to)), "l"(from), "r"(bytes), "r"(shared_address(bar))
      : "memory");
}
// Generic-proxy accesses of shared memory before it, ordered before the async proxy's after it.
__device__ __forceinline__ void fence_proxy_async_shared() {
  asm volatile("fence.proxy.async.shared::cta;\n" ::: "memory");
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
