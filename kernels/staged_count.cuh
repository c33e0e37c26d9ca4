// Phase 2 of the member pipeline (kernels/metropolis_pipeline.cu) from shared memory
// (LOCENT_PIPELINE_COUNT=staged): a round's columns copied in by the bulk-copy engine, counted
// there. Its own header so that bench/probe_pipeline.cu times the kernel's own code.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kernels/device_util.cuh"
#include "kernels/metropolis_pipeline.cuh"
#include "locent/metropolis_pipeline.hpp"

namespace locent::cuda {

#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
// Polls of another member's progress before a wait is declared a defect (__trap, not a hang).
constexpr long long kSpinLimit = 1LL << 26;

// Until the barrier completes the phase of that parity (a lost copy traps, not hangs).
__device__ __forceinline__ void mbarrier_wait_parity(std::uint64_t* bar, std::uint32_t parity) {
  long long spins = 0;
  while (!mbarrier_try_wait(bar, static_cast<int>(parity)))
    if (++spins > kSpinLimit) __trap();
}

// The round's m columns (pw words each, `stride` words apart: a part's share of each column
// with kOptionSplit; step j's at index j with kByStep, else at its site's) copied in by the
// bulk-copy engine into `slots` slots (thread 0 issues a copy a column, no register or L1 line
// held for the bytes in flight), each counted once its barrier completes, a thread its words
// against its set words (kept in registers); partial[warp · kMaxPipelineSteps + u]: the warp's
// count of step pos + u. `phases` (bit q: the parity slot q's barrier completes next)
// is updated alike in every thread. Needs pw a multiple of 4 and at most kSetWords words a
// thread (metropolis_pipeline_shape checks both). Every copy has completed when it returns; the
// caller must take a block barrier before the next call.
template <int kSetWords, bool kByStep>
__device__ __forceinline__ void count_staged(const std::uint32_t* columns, int stride,
                                             const std::uint32_t* sa, const std::uint32_t* sb,
                                             int pw, const int* ring_site,
                                             int pos, int m, int slots, std::uint64_t* bars,
                                             std::uint32_t* staging, std::uint32_t& phases,
                                             int* partial) {
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, threads = blockDim.x;
  std::uint32_t wa[kSetWords], wb[kSetWords];
#pragma unroll
  for (int i = 0; i < kSetWords; ++i) {
    const int w = tid + i * threads;
    wa[i] = w < pw ? sa[w] : 0u;
    wb[i] = w < pw ? sb[w] : 0u;
  }
  const std::uint32_t bytes = 4u * std::uint32_t(pw);
  // Step u's column into slot u mod slots (thread 0).
  const auto issue = [&](int u, int slot) {
    const std::uint32_t* from =
        columns + std::size_t(kByStep ? pos + u : ring_site[(pos + u) & (kPipelineRing - 1)]) *
                      std::size_t(stride);
    mbarrier_expect_bytes(bars + slot, static_cast<int>(bytes));
    bulk_copy_to_shared(staging + std::size_t(slot) * pw, from, bytes, bars + slot);
  };
  if (tid == 0) {
    fence_proxy_async_shared();  // the slots' reads in the last round before the copies
    for (int u = 0; u < min(slots, m); ++u) issue(u, u);
  }
  // The copies stream: as soon as every thread has counted a slot's column, the slot takes the
  // column `slots` steps on.
  for (int u = 0, slot = 0; u < m; ++u, slot = slot + 1 == slots ? 0 : slot + 1) {
    mbarrier_wait_parity(bars + slot, (phases >> slot) & 1u);
    phases ^= 1u << slot;
    const std::uint32_t* col = staging + std::size_t(slot) * pw;
    int c = 0;
#pragma unroll
    for (int i = 0; i < kSetWords; ++i) {
      const int w = tid + i * threads;
      if (w < pw) {
        const std::uint32_t x = col[w];
        c += __popc(x & wa[i]) + __popc(x & wb[i]);
      }
    }
    c = warp_sum(c);
    if (lane == 0) partial[warp * kMaxPipelineSteps + u] = c;
    if (u + slots < m) {
      __syncthreads();  // every thread is done with the slot
      if (tid == 0) {
        fence_proxy_async_shared();
        issue(u + slots, slot);
      }
    }
  }
  // The caller's block barrier next (before the block sum) also keeps the next round's copies
  // behind every thread's reads of the slots.
}
#endif

}  // namespace locent::cuda
