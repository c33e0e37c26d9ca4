// Where a member-pipeline round's time goes, measured apart from the kernel
// (kernels/metropolis_pipeline.cu): one thread block of 512 threads on one SM does what a
// replica does in a round, on data the size of the N = 100001, α = 0.6 instance, and thread 0
// times it with clock64; two blocks of a cluster hand messages to each other as the members do.
//   count: 16 columns of 1876 words, each thread loading its words of all 16 before popcounting
//          them (the default kernel's phase 2), a warp sum and a block barrier; then the same
//          counted from 8 shared-memory slots filled by the bulk-copy engine (the kernel's
//          count_staged, LOCENT_PIPELINE_COUNT=staged). The columns are
//          taken from the whole 750 MB (as the sweep's random sites are), cold or read once
//          before (the pipeline's followers find them in L2), from 200 columns (L2 and address
//          translation warm), or 16 consecutive columns (a layout in step order);
//          with or without the L2 prefetch of the next round's columns the kernel issues.
//   move:  one accepted flip's move of the stabilities' 18 bit planes in shared memory, the
//          kernel's own code (move_thread_words): the thread's words one after another (the
//          default) or plane by plane together (LOCENT_PIPELINE_MOVE=interleaved).
//   handover: a sequence number published in one block's shared memory (release fence and a
//          relaxed store) and polled by the other through distributed shared memory (relaxed
//          loads, then the acquire fence), there and back: what the members' progress and the
//          split replica's mail boxes (LOCENT_PIPELINE_PARTS=2) cost; and one remote load, as
//          a look at another member's weights takes.
// The kernel's phase counters (LOCENT_ROUNDS_PROFILE=1) give count ≈ 9k and a move ≈ 7.5k cycles
// on an H200; what this probe gives for the same work says which part of that is the memory
// system's and which the kernel's. Prints a table; exit 2 without a device of compute
// capability 9.0 or later.
#include <cooperative_groups.h>
#include <cuda_runtime.h>

#include <cstdint>
#include <cstdio>
#include <vector>

#include "kernels/device_util.cuh"
#include "kernels/sliced_move.cuh"
#include "kernels/staged_count.cuh"

namespace {

constexpr int kThreads = 512;
constexpr int kSteps = 16;          // columns a round (kMaxPipelineSteps)
constexpr int kSites = 100001;      // N
constexpr int kWords = 1876;        // pattern words of P = 60000 (64-bit aligned)
constexpr int kPlanes = 18;         // stability_planes(100001)
constexpr int kResident = 200;      // columns of the warm set (1.5 MB)

enum Layout { kRandom = 0, kResident_ = 1, kOrdered = 2 };

__device__ __forceinline__ std::uint32_t mix(std::uint32_t x) {
  x ^= x >> 16;
  x *= 0x7feb352du;
  x ^= x >> 15;
  x *= 0x846ca68bu;
  x ^= x >> 16;
  return x;
}

// Step j's column under a layout (seed picks the sequence).
__device__ __forceinline__ std::uint32_t site_of(int layout, std::uint32_t seed, int j) {
  if (layout == kOrdered) return (seed + std::uint32_t(j)) % kSites;
  const std::uint32_t h = mix(seed * 0x9e3779b9u + std::uint32_t(j));
  return layout == kResident_ ? h % kResident : h % kSites;
}

using locent::cuda::warp_sum;  // the kernel's, as the rest of what is timed here

// A count probe's result: out[0] += cycles (thread 0's), out[1] += rounds, out[2] += the counts
// (a checksum that keeps them).
__device__ void report_rounds(long long total, int rounds, int check, unsigned long long* out) {
  if (threadIdx.x == 0) {
    atomicAdd(out, static_cast<unsigned long long>(total));
    atomicAdd(out + 1, static_cast<unsigned long long>(rounds));
  }
  if (threadIdx.x < kSteps) atomicAdd(out + 2, static_cast<unsigned long long>(check));
}

// `rounds` rounds of 16 columns; out[0] += cycles, out[1] += rounds timed, out[2] a checksum.
__global__ void __launch_bounds__(kThreads, 1)
    count_probe(const std::uint32_t* columns, int layout, std::uint32_t seed, int rounds,
                int prefetch, unsigned long long* out) {
  __shared__ int partial[kThreads / 32][kSteps];
  __shared__ std::uint32_t sets[2][kWords];
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
  for (int w = tid; w < kWords; w += kThreads) {
    sets[0][w] = mix(w) | 0x11111111u;
    sets[1][w] = mix(w + 7) & 0x0f0f0f0fu;
  }
  __syncthreads();
  long long total = 0;
  int check = 0;
  for (int r = 0; r < rounds; ++r) {
    const long long start = clock64();
    if (prefetch) {  // the next round's columns on their way to L2, as the kernel does
      constexpr int kLines = (4 * kWords + 127) / 128;
      for (int e = tid; e < kSteps * kLines; e += kThreads) {
        const int u = e / kLines, line = e - u * kLines;
        const std::uint32_t* p =
            columns + std::size_t(site_of(layout, seed, (r + 1) * kSteps + u)) * kWords + 32 * line;
        asm volatile("prefetch.global.L2 [%0];\n" ::"l"(p));
      }
    }
    int acc[kSteps];
    std::uint32_t col[kSteps];
#pragma unroll
    for (int t = 0; t < kSteps; ++t) {
      acc[t] = 0;
      col[t] = site_of(layout, seed, r * kSteps + t) * std::uint32_t(kWords);
    }
    for (int w = tid; w < kWords; w += kThreads) {
      const std::uint32_t wa = sets[0][w], wb = sets[1][w];
      std::uint32_t x[kSteps];
#pragma unroll
      for (int t = 0; t < kSteps; ++t) x[t] = __ldg(columns + col[t] + w);
#pragma unroll
      for (int t = 0; t < kSteps; ++t) acc[t] += __popc(x[t] & wa) + __popc(x[t] & wb);
    }
#pragma unroll
    for (int t = 0; t < kSteps; ++t) {
      const int v = warp_sum(acc[t]);
      if (lane == 0) partial[warp][t] = v;
    }
    __syncthreads();
    if (tid < kSteps)
      for (int q = 0; q < kThreads / 32; ++q) check += partial[q][tid];
    __syncthreads();
    total += clock64() - start;
  }
  report_rounds(total, rounds, check, out);
}

// The same rounds counted the staged way (the kernel's count_staged, LOCENT_PIPELINE_COUNT=staged):
// the columns copied into `slots` shared-memory slots by the bulk-copy engine; out as above.
__global__ void __launch_bounds__(kThreads, 1)
    staged_probe(const std::uint32_t* columns, int layout, std::uint32_t seed, int rounds,
                 int slots, unsigned long long* out) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  using namespace locent::cuda;
  extern __shared__ __align__(16) unsigned char dynamic[];  // slots × kWords words
  __shared__ __align__(8) std::uint64_t bars[kMaxPipelineSteps];
  __shared__ __align__(16) std::uint32_t sets[2][kWords];
  __shared__ int ring[locent::kPipelineRing];
  __shared__ int partial[(kThreads / 32) * kMaxPipelineSteps];
  std::uint32_t* staging = reinterpret_cast<std::uint32_t*>(dynamic);
  const int tid = threadIdx.x;
  for (int w = tid; w < kWords; w += kThreads) {
    sets[0][w] = mix(w) | 0x11111111u;
    sets[1][w] = mix(w + 7) & 0x0f0f0f0fu;
  }
  if (tid == 0) {
    for (int q = 0; q < slots; ++q) mbarrier_init(bars + q, 1);
    fence_barrier_init();
  }
  __syncthreads();
  std::uint32_t phases = 0;
  long long total = 0;
  int check = 0;
  for (int r = 0; r < rounds; ++r) {
    const long long start = clock64();
    const int pos = r * kSteps;
    if (tid < kSteps)
      ring[(pos + tid) & (locent::kPipelineRing - 1)] = int(site_of(layout, seed, pos + tid));
    __syncthreads();
    count_staged<6, false>(columns, kWords, sets[0], sets[1], kWords, ring, pos, kSteps, slots,
                           bars, staging, phases, partial);
    __syncthreads();
    if (tid < kSteps)
      for (int q = 0; q < kThreads / 32; ++q) check += partial[q * kMaxPipelineSteps + tid];
    __syncthreads();
    total += clock64() - start;
  }
  report_rounds(total, rounds, check, out);
#endif
}

// `moves` moves of the planes (shared memory) by a random column each; out as above.
__global__ void __launch_bounds__(kThreads, 1)
    move_probe(const std::uint32_t* columns, int interleaved, int moves, int planes, int pw,
               unsigned long long* out) {
  // planes and pw are arguments, as in the kernel: with both known, the compiler tells the
  // planes apart and overlaps the reads itself, which the kernel's code does not get.
  extern __shared__ std::uint32_t plane[];  // planes × pw, then the two sets
  std::uint32_t* sa = plane + planes * pw;
  std::uint32_t* sb = sa + pw;
  __shared__ int sizes[2];
  const int tid = threadIdx.x, lane = tid & 31;
  for (int e = tid; e < planes * pw; e += kThreads) plane[e] = mix(e);
  if (tid < 2) sizes[tid] = 0;
  __syncthreads();
  long long total = 0;
  for (int m = 0; m < moves; ++m) {
    const long long start = clock64();
    const std::uint32_t* col = columns + std::size_t(site_of(kResident_, 99, m)) * pw;
    const bool was_plus = m & 1;
    int count_a = 0, count_b = 0;
    const auto all = [](int) { return 0xffffffffu; };
    if (interleaved)
      locent::cuda::move_thread_words<true>(plane, sa, sb, pw, planes, col, was_plus, true, tid,
                                            kThreads, all, count_a, count_b);
    else
      locent::cuda::move_thread_words<false>(plane, sa, sb, pw, planes, col, was_plus, true, tid,
                                             kThreads, all, count_a, count_b);
    count_a = warp_sum(count_a);
    count_b = warp_sum(count_b);
    if (lane == 0) {
      atomicAdd(&sizes[0], count_a);
      atomicAdd(&sizes[1], count_b);
    }
    __syncthreads();
    total += clock64() - start;
  }
  if (tid == 0) {
    atomicAdd(out, static_cast<unsigned long long>(total));
    atomicAdd(out + 1, static_cast<unsigned long long>(moves));
    atomicAdd(out + 2, static_cast<unsigned long long>(sizes[0] + sizes[1]));
  }
}

// Two blocks of a cluster, thread 0 each: `rounds` times block 0 publishes i and waits for
// block 1's i, which block 1 publishes once it has seen block 0's (out[0]: cycles, out[1]:
// rounds); then `rounds` remote loads, each address depending on the last value (out[2]:
// cycles), and `rounds` batches of 16 (out[3]).
__global__ void handover_probe(int rounds, unsigned long long* out) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  using namespace locent::cuda;
  __shared__ unsigned seq;
  __shared__ unsigned chain[32];
  const unsigned rank = cooperative_groups::this_cluster().block_rank();
  if (threadIdx.x == 0) seq = 0;
  if (threadIdx.x < 32) chain[threadIdx.x] = 0;  // every link leads to word 0
  cooperative_groups::this_cluster().sync();
  if (threadIdx.x == 0) {
    const std::uint32_t other_seq = shared_cluster_address(&seq, 1 - rank);
    const auto wait_for = [&](unsigned i) {
      long long spins = 0;
      while (load_relaxed_shared_cluster(other_seq) != i)
        if (++spins > (1LL << 30)) __trap();
      fence_acquire_shared_cluster();
    };
    const long long start = clock64();
    for (unsigned i = 1; i <= unsigned(rounds); ++i) {
      if (rank == 0) {
        store_release_shared_cta(&seq, i);
        wait_for(i);
      } else {
        wait_for(i);
        store_release_shared_cta(&seq, i);
      }
    }
    const long long there_and_back = clock64() - start;
    const std::uint32_t other_chain = shared_cluster_address(chain, 1 - rank);
    unsigned at = 0;
    const long long loads_start = clock64();
    for (int i = 0; i < rounds; ++i) at = load_relaxed_shared_cluster(other_chain + 4u * at);
    const long long loads = clock64() - loads_start;
    // 16 loads a batch, each batch's addresses depending on the last batch's values (all 0):
    // about one load's latency a batch if they overlap, 16 if they do not.
    const long long batches_start = clock64();
    for (int i = 0; i < rounds; ++i) {
      unsigned v[16];
#pragma unroll
      for (int u = 0; u < 16; ++u) v[u] = load_relaxed_shared_cluster(other_chain + 4u * (at + u));
#pragma unroll
      for (int u = 0; u < 16; ++u) at |= v[u];
    }
    const long long batches = clock64() - batches_start;
    if (rank == 0) {
      out[0] = static_cast<unsigned long long>(there_and_back);
      out[1] = static_cast<unsigned long long>(rounds);
      out[2] = static_cast<unsigned long long>(loads) + at;  // (at is 0: keeps the chain)
      out[3] = static_cast<unsigned long long>(batches);
    }
  }
  cooperative_groups::this_cluster().sync();
#endif
}

bool check(cudaError_t e, const char* what) {
  if (e == cudaSuccess) return true;
  std::fprintf(stderr, "probe_pipeline: %s: %s\n", what, cudaGetErrorString(e));
  return false;
}

}  // namespace

int main() {
  int device = 0, major = 0, clock_khz = 0;
  if (!check(cudaGetDevice(&device), "no device") ||
      !check(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device), "attribute"))
    return 2;
  cudaDeviceGetAttribute(&clock_khz, cudaDevAttrClockRate, device);
  cudaDeviceProp prop{};
  cudaGetDeviceProperties(&prop, device);
  if (major < 9) {
    std::fprintf(stderr, "probe_pipeline: needs compute capability 9.0 or later\n");
    return 2;
  }
  const std::size_t bytes = std::size_t(kSites) * kWords * 4;  // ≈ 750 MB
  std::uint32_t* columns = nullptr;
  unsigned long long* out = nullptr;
  if (!check(cudaMalloc(&columns, bytes), "columns") || !check(cudaMalloc(&out, 32), "out"))
    return 1;
  cudaMemset(columns, 0x5a, bytes);
  std::printf("probe_pipeline on %s (%d SMs, L2 %d MB): N = %d, %d pattern words a column\n",
              prop.name, prop.multiProcessorCount, prop.l2CacheSize >> 20, kSites, kWords);
  std::printf("%-44s %12s\n", "what (one block of 512 threads)", "cycles");
  const auto count = [&](const char* what, int layout, std::uint32_t seed, int rounds,
                         int prefetch, int blocks, bool warm) {
    unsigned long long host[3] = {};
    if (warm) count_probe<<<blocks, kThreads>>>(columns, layout, seed, rounds, prefetch, out);
    cudaMemset(out, 0, 24);
    count_probe<<<blocks, kThreads>>>(columns, layout, seed, rounds, prefetch, out);
    if (!check(cudaMemcpy(host, out, 24, cudaMemcpyDeviceToHost), what)) return;
    std::printf("%-44s %12.0f  a round of 16 columns\n", what, double(host[0]) / double(host[1]));
  };
  // 128 rounds: 2048 columns, 15 MB, which a warm pass leaves in L2.
  count("count, random columns, cold", kRandom, 1, 128, 0, 1, false);
  count("count, random columns, cold, prefetched", kRandom, 2, 128, 1, 1, false);
  count("count, random columns, read before", kRandom, 3, 128, 0, 1, true);
  count("count, random, read before, prefetched", kRandom, 6, 128, 1, 1, true);  // the kernel's
  count("count, random columns, read before, 7 SMs", kRandom, 4, 128, 0, 7, true);
  count("count, 200 columns, read before", kResident_, 5, 128, 0, 1, true);
  count("count, consecutive columns, cold, prefetched", kOrdered, 60000, 128, 1, 1, false);
  count("count, consecutive columns, read before", kOrdered, 60000, 128, 0, 1, true);
  {
    constexpr int kSlots = 8;  // what shared memory leaves beside the planes at N = 100001
    const int bytes = kSlots * kWords * 4;
    cudaFuncSetAttribute(staged_probe, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes);
    const auto staged = [&](const char* what, int layout, std::uint32_t seed, bool warm) {
      unsigned long long host[3] = {};
      if (warm) staged_probe<<<1, kThreads, bytes>>>(columns, layout, seed, 128, kSlots, out);
      cudaMemset(out, 0, 24);
      staged_probe<<<1, kThreads, bytes>>>(columns, layout, seed, 128, kSlots, out);
      if (!check(cudaMemcpy(host, out, 24, cudaMemcpyDeviceToHost), what)) return;
      std::printf("%-44s %12.0f  a round of 16 columns\n", what,
                  double(host[0]) / double(host[1]));
    };
    staged("staged count (8 slots), random, cold", kRandom, 7, false);
    staged("staged count (8 slots), random, read before", kRandom, 8, true);
    staged("staged count (8 slots), consecutive, read before", kOrdered, 70000, true);
  }
  const int smem = (kPlanes + 2) * kWords * 4;
  cudaFuncSetAttribute(move_probe, cudaFuncAttributeMaxDynamicSharedMemorySize, smem);
  for (int interleaved = 0; interleaved < 2; ++interleaved) {
    unsigned long long host[3] = {};
    cudaMemset(out, 0, 24);
    move_probe<<<1, kThreads, smem>>>(columns, interleaved, 256, kPlanes, kWords, out);
    const char* what = interleaved ? "move, words plane by plane (interleaved)"
                                   : "move, word after word (default)";
    if (!check(cudaMemcpy(host, out, 24, cudaMemcpyDeviceToHost), what)) return 1;
    std::printf("%-44s %12.0f  a move (columns in L2)\n", what, double(host[0]) / double(host[1]));
  }
  {
    unsigned long long host[4] = {};
    cudaMemset(out, 0, 32);
    cudaLaunchAttribute attribute{};
    cudaLaunchConfig_t config = locent::cuda::cluster_launch_config(2, 32, 2, 0, &attribute);
    if (check(cudaLaunchKernelEx(&config, handover_probe, 10000, out), "handover") &&
        check(cudaMemcpy(host, out, 32, cudaMemcpyDeviceToHost), "handover")) {
      std::printf("%-44s %12.0f  there and back\n", "handover between two blocks of a cluster",
                  double(host[0]) / double(host[1]));
      std::printf("%-44s %12.0f  a load\n", "remote load (distributed shared memory)",
                  double(host[2]) / double(host[1]));
      std::printf("%-44s %12.0f  a batch\n", "remote loads, 16 issued together",
                  double(host[3]) / double(host[1]));
    }
  }
  std::printf("SM clock %d MHz\n", clock_khz / 1000);
  cudaFree(columns);
  cudaFree(out);
  return check(cudaGetLastError(), "launch") ? 0 : 1;
}
