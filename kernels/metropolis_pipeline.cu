// CUDA member pipeline (metropolis_pipeline.cuh). CPU twin: host/cpu/metropolis_pipeline.cpp;
// the rules are shared (include/locent/metropolis_pipeline.hpp).
//
// Block a of an instance's cluster is member a (replica a < y, or the explicit centre a = y). A
// replica block holds its stabilities in bit planes (sliced_stabilities.hpp: plane k of pattern
// word w at k·pw + w, ⌈log2(N + 1)⌉ + 1 planes), its boundary sets and its weights in shared
// memory; the centre block its weights. A sweep is a sequence of rounds, each:
//   1. the stop flag (loaded during the previous round); in a sweep's first round, warp 0
//      draws the Philox words and sites of the first 2k steps into a ring that also keeps the
//      last `window` steps' sites, and the block finds their previous visits within that
//      window (one (step, earlier step) pair a thread); every thread asks L2 for the columns of
//      the next round's steps;
//   2. (a replica) every thread counts |A ∩ col| + |B ∩ col| over its pattern words for each of
//      the next m ≤ k steps, the columns read from global memory; a warp sum, a block sum (or
//      the same counts on the 1-bit tensor cores, count_on_tensor_cores, or from columns
//      copied into shared memory by the bulk-copy engine, count_staged);
//   3. warp 0 decides: lane L watches member L, its progress (a relaxed load through
//      distributed shared memory and an acquire fence) and, for the steps whose needs are met,
//      its weights there (or the (member, step) pairs spread over the lanes); then the run's
//      decisions all at once, a lane a step, the first accepted one ending a replica's run; the
//      block's own progress is published after each run (a release fence and a relaxed store,
//      both restricted to shared memory). Meanwhile the other warps draw the ring's next
//      steps, up to 3k ahead, and find their previous visits (behind a named barrier of their
//      own);
//   4. (a replica that moved) its stabilities move by ±2, a thread a pattern word: a carry
//      ripple through the planes, which give the new set words in the same pass
//      (sliced_move.cuh; a thread's words one after another, or together plane by plane).
// No cluster barrier inside a sweep: the members meet at its end (trace, centre check).
// Options (PipelineOption, each its own instantiation): the spread reads of phase 3, the
// interleaved move of phase 4, a replica on two blocks (the lead deciding, its helper counting
// and moving the other half of the pattern words, their mail boxes between them), and the
// columns in step order (a copy of the sweep's, made before a launch a sweep).
#include "kernels/metropolis_pipeline.cuh"

#include <cooperative_groups.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "kernels/cuda_check.cuh"
#include "kernels/device_util.cuh"
#include "kernels/sliced_move.cuh"
#include "kernels/staged_count.cuh"
#include "locent/backend.hpp"
#include "locent/error.hpp"
#include "locent/metropolis_pipeline.hpp"
#include "locent/metropolis_rounds.hpp"
#include "locent/metropolis_rules.hpp"
#include "locent/rng.hpp"
#include "locent/sliced_stabilities.hpp"

namespace cg = cooperative_groups;

namespace locent::cuda {
namespace {

constexpr int kPipelineWarps = 16;
constexpr int kRingMask = kPipelineRing - 1;
static_assert((kPipelineRing & kRingMask) == 0, "the ring is a power of two");
// The ring holds the window behind a round's steps and 3k steps from its start.
static_assert(kPipelineRing >= kPipelineWindow + 3 * kMaxPipelineSteps, "ring too short");
static_assert(kMaxPipelineSteps <= 32, "a round's counts sit one a lane");
constexpr int kMaxPipelineMembers = 16;  // a non-portable cluster

// LOCENT_ROUNDS_PROFILE: thread 0's cycles by phase in the first instance's first and last
// members, and its counts.
enum PipelinePhase { kFill, kCount, kLook, kWait, kDecide, kMove, kSweepEnd, kRounds, kMoves,
                     kSlots };
constexpr const char* kPhaseNames[] = {"fill", "count", "look", "wait", "decide", "move", "end"};

// How a replica counts |A ∩ col| + |B ∩ col| ahead (the kernel's first template argument).
enum PipelineCount { kCountPopc = 0, kCountTensor = 1, kCountStaged = 2 };

struct PipelineArgs {
  int k;
  int staging_slots;  // kCountStaged: shared-memory slots for columns in flight (2..16)
  int window;  // steps back a member looks for a previous visit (≤ kPipelineWindow)
  int* restart;
  bool table_in_shared;
  unsigned long long* profile;  // 2 × kSlots, or null
  // kOptionSplit: the pattern words of a replica's first part (its lead block's); the rest are
  // its second block's.
  int split_words;
  // kOptionOrdered: this sweep's columns in step order, instance b's step j at
  // ordered[(b · N + j) · pattern_words] (gather_sweep_columns, before the launch). The launches
  // take a sweep each, so each sweep's count-ahead starts at k, as a chunk's first sweep's
  // does: the adaptive length is not carried over (carrying it through memory made ptxas
  // interleave the count's loads; at the benchmark's acceptance it is k after the first sweep).
  const std::uint32_t* ordered;
};

// kOptionSplit: a block's mail box (PipelineLayout::mail), in 32-bit words. A block writes its
// own box and the other block of its replica reads it (the members' progress and weights go the
// same way), a sequence number last.
enum PipelineMail {
  kMailHits = 0,        // the helper's counts for the round's steps (kMaxPipelineSteps)
  kMailSizeA = 16,      // and its sets' sizes
  kMailSizeB = 17,
  kMailCountsSeq = 18,  // the round they are for
  kMailDecided = 20,    // the lead's decisions: steps decided,
  kMailMoved = 21,      // whether it moved,
  kMailSite = 22,       // the site and
  kMailWasPlus = 23,    // its weight before the flip,
  kMailStop = 24,       // whether the sweep stops here
  kMailDecisionSeq = 25,
  kMailErrors = 26,     // the launch's end: the helper's errors and sizes (plain stores, read
  kMailEndSizeA = 27,   // after a cluster barrier)
  kMailEndSizeB = 28,
  kPipelineMailWords = 32
};

// The carve-up of dynamic shared memory, in bytes from the start; the same on host and device.
struct PipelineLayout {
  std::size_t stabilities = 0, set_a = 0, set_b = 0, weights = 0, sites = 0, words = 0;
  std::size_t previous = 0;
  std::size_t partial = 0, table = 0, bars = 0, staging = 0, mail = 0, bytes = 0;
  // staging_slots (kCountStaged): that many columns of pattern_words words, and a completion
  // barrier (mbarrier, 8 bytes) each. mail (kOptionSplit): kPipelineMailWords words through which
  // a replica's two blocks hand each other counts and decisions. pattern_words: a block's.
  LOCENT_HD PipelineLayout(int pattern_words, int weight_words, int planes,
                           std::size_t table_words, int staging_slots = 0, bool mail_box = false) {
    std::size_t at = 0;
    const auto take = [&at](std::size_t size) {
      const std::size_t here = at;
      at += (size + 15) / 16 * 16;
      return here;
    };
    stabilities = take(std::size_t(4) * planes * pattern_words);  // bit planes
    set_a = take(std::size_t(4) * pattern_words);
    set_b = take(std::size_t(4) * pattern_words);
    weights = take(std::size_t(4) * weight_words);
    sites = take(4 * kPipelineRing);
    words = take(4 * kPipelineRing);
    previous = take(4 * kPipelineRing);
    partial = take(4 * kPipelineWarps * kMaxPipelineSteps);
    table = take(4 * table_words);
    bars = take(std::size_t(8) * staging_slots);
    staging = take(std::size_t(4) * pattern_words * staging_slots);
    mail = take(mail_box ? 4 * kPipelineMailWords : 0);
    bytes = at;
  }
};

// The staged count keeps a thread's set words in registers: at most this many a thread (a
// replica's block holds half the words with kOptionSplit: fewer registers; with 6, the split
// kernels spilled, and with the interleaved move they still spill 20–76 bytes).
constexpr int kStagedSetWords = 6;
constexpr int kStagedSetWordsSplit = 3;

// The kernel's own device helpers, compiled for compute capability 9.0 only (as its body).
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
// A shared-memory load that stays where it is written (the compiler may not sink it into a
// branch).
__device__ __forceinline__ int load_shared_volatile(const int* p) {
  int v;
  asm volatile("ld.volatile.shared.s32 %0, [%1];\n" : "=r"(v) : "r"(shared_address(p)));
  return v;
}
__device__ __forceinline__ int load_flag(const int* p) {
  return *reinterpret_cast<const volatile int*>(p);
}
__device__ __forceinline__ void prefetch_l2(const void* p) {
  asm volatile("prefetch.global.L2 [%0];\n" ::"l"(p));
}

// Phase 2 on the 1-bit tensor cores: C = X·S, X the 16 steps' columns (rows: steps pos + u, the
// last of the m counted standing in for u ≥ m), S the sets (column 0: A, 1: B, 2–7: zero), K
// the pattern words, 256 patterns (8 words) an mma. Warp w takes the 256-pattern chunks
// w, w + warps, ...; lane (g, t) brings words 2t and 2t + 1 of a chunk for rows g and g + 8
// (one 64-bit load each) and, for g < 2, of set g: that numbering of the chunk's words, the
// same in X and S, gives the same products (mma_and_popc). Words past pw are zero in X and S:
// none is counted, and nothing past the last column is read.
// partial[warp · 16 + u] ← C[u][0] + C[u][1] = |A ∩ col| + |B ∩ col|, this warp's share of step
// pos + u. Needs pw even (64-bit words) and 16-byte aligned sets.
__device__ __forceinline__ void count_on_tensor_cores(const std::uint32_t* columns,
                                                      const std::uint32_t* sa,
                                                      const std::uint32_t* sb, int pw,
                                                      const int* ring_site, int pos, int m,
                                                      int* partial) {
  static_assert(kMaxPipelineSteps == 16, "a round's steps are the 16 rows of one mma");
  constexpr int kBatch = 8;  // chunks whose loads are in flight at once
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = blockDim.x >> 5;
  const int g = lane >> 2, t = lane & 3;
  const std::uint32_t* low = columns + std::size_t(ring_site[(pos + min(g, m - 1)) & kRingMask]) * pw;
  const std::uint32_t* high =
      columns + std::size_t(ring_site[(pos + min(g + 8, m - 1)) & kRingMask]) * pw;
  const std::uint32_t* set = g == 0 ? sa : sb;  // read only for g < 2
  const int chunks = (pw + 7) / 8;
  int d[2][4] = {};  // two accumulators: every other mma, half the dependent chain
  for (int c0 = warp; c0 < chunks; c0 += kBatch * warps) {
    uint2 x[kBatch], z[kBatch], e[kBatch];
#pragma unroll
    for (int q = 0; q < kBatch; ++q) {
      const int w = 8 * (c0 + q * warps) + 2 * t;
      const bool in = w < pw;  // pw even: w + 1 too
      x[q] = in ? __ldg(reinterpret_cast<const uint2*>(low + w)) : make_uint2(0, 0);
      z[q] = in ? __ldg(reinterpret_cast<const uint2*>(high + w)) : make_uint2(0, 0);
      e[q] = in && g < 2 ? *reinterpret_cast<const uint2*>(set + w) : make_uint2(0, 0);
    }
#pragma unroll
    for (int q = 0; q < kBatch; ++q) {
      const std::uint32_t a[4] = {x[q].x, z[q].x, x[q].y, z[q].y};
      const std::uint32_t b[2] = {e[q].x, e[q].y};
      mma_and_popc(d[q & 1], a, b);
    }
  }
  if (t == 0) {  // columns 0 and 1 of rows g and g + 8
    partial[warp * kMaxPipelineSteps + g] = d[0][0] + d[0][1] + d[1][0] + d[1][1];
    partial[warp * kMaxPipelineSteps + g + 8] = d[0][2] + d[0][3] + d[1][2] + d[1][3];
  }
}

#endif

// The kernel's options (its second template argument, bits): kOptionSpreadReads, the others'
// weights read a (member, step) pair a lane, every lane of warp 0 busy, instead of lane b reading
// all of member b's steps (LOCENT_PIPELINE_READS=spread); kOptionInterleavedMove, a thread's
// pattern words moved together plane by plane (move_sliced_words), not one after another
// (LOCENT_PIPELINE_MOVE=interleaved); kOptionSplit, each replica on two blocks (two SMs), each
// counting and moving half of its pattern words, the first (the lead) deciding, the second (its
// helper) handing it its counts and taking its decisions through their mail boxes
// (LOCENT_PIPELINE_PARTS=2; traced coupling, popcount or staged counts); kOptionOrdered, the
// counts' columns read from a copy of the sweep's columns in step order, consecutive in memory
// (LOCENT_PIPELINE_COLUMNS=ordered; a launch a sweep, popcount or staged counts).
enum PipelineOption {
  kOptionSpreadReads = 1,
  kOptionInterleavedMove = 2,
  kOptionSplit = 4,
  kOptionOrdered = 8
};
constexpr int kPipelineOptions = 16;  // every combination of the bits

// kCount: phase 2 by popcounts of column words loaded from global memory (kCountPopc), on the
// 1-bit tensor cores (kCountTensor, count_on_tensor_cores), or by popcounts of columns copied
// into shared memory by the bulk-copy engine (kCountStaged). kOptions: PipelineOption bits.
template <int kCount, int kOptions>
__global__ void __launch_bounds__(32 * kPipelineWarps, 1)
    metropolis_pipeline_kernel(MetropolisBatch bt, MetropolisChunk ch, PipelineArgs pa) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  constexpr bool kSpreadReads = (kOptions & kOptionSpreadReads) != 0;
  constexpr bool kInterleavedMove = (kOptions & kOptionInterleavedMove) != 0;
  constexpr bool kSplit = (kOptions & kOptionSplit) != 0;
  constexpr bool kOrdered = (kOptions & kOptionOrdered) != 0;
  static_assert(!(kSplit || kOrdered) || kCount != kCountTensor, "these count by popcounts");
  extern __shared__ __align__(16) unsigned char smem[];
  __shared__ unsigned progress;  // steps of this sweep decided: read by the other members
  // Written by one thread between two block barriers and read by all between the next two: the
  // stop flag seen at a round's start (fill_stop) and at its decisions (ctrl_stop) are two, so
  // that a slow warp never reads the next round's value.
  __shared__ int fill_stop, ctrl_stop, ctrl_moved, ctrl_site, ctrl_was_plus, ctrl_decided, ctrl_k;
  __shared__ int size_a, size_b, new_size_a, new_size_b, centre_solved;
  __shared__ long long energy;
  __shared__ unsigned long long sums[3];  // a sweep's end: errors, centre errors, distance
  // Block 0 gathers every member's sums and accepted count at a sweep's end.
  __shared__ unsigned long long gathered[kMaxPipelineMembers][4];
  cg::cluster_group cluster = cg::this_cluster();

  const bool traced = !bt.explicit_centre, flips = bt.flip_energy;
  const int y = bt.replicas, members = traced ? y : y + 1;
  // kSplit: blocks members .. 2 · members − 1 are the replicas' second parts (helpers), block
  // members + a replica a's; a block's `a` is its member's, and the members' ranks stay theirs.
  const int blocks = kSplit ? 2 * members : members;
  const int rank = static_cast<int>(cluster.block_rank());
  const bool helper = kSplit && rank >= members;
  const int a = helper ? rank - members : rank;
  const int b = blockIdx.x / blocks;
  InstanceStatus* status = bt.status + b;
  if (status->solved) return;  // the same for every block of the cluster

  const int n = bt.sites, p = bt.patterns, pw = bt.pattern_words, nw = bt.weight_words;
  // The block's pattern words [part_w0, part_w0 + part_pw): with kSplit the lead's are the first
  // pa.split_words, its helper's the rest; else all.
  const int part_w0 = helper ? pa.split_words : 0;
  const int part_pw = kSplit ? (helper ? pw - pa.split_words : pa.split_words) : pw;
  const int rw = bt.input_words;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, warps = blockDim.x >> 5;
  const int threads = blockDim.x;
  const bool replica = a < y;
  const std::uint32_t instance = bt.instance_ids[b];
  const std::uint32_t full = 0xffffffffu;

  const int planes = stability_planes(n);
  const PipelineLayout lay(kSplit ? pa.split_words : pw, nw, planes,
                           pa.table_in_shared ? ch.table_stride : 0,
                           kCount == kCountStaged ? pa.staging_slots : 0, kSplit);
  // kCountStaged: the parity each slot's barrier completes next, a bit a slot (every thread
  // keeps the same copy).
  std::uint32_t staged_phases = 0;
  if constexpr (kCount == kCountStaged) {
    if (tid == 0) {
      std::uint64_t* bars = reinterpret_cast<std::uint64_t*>(smem + lay.bars);
      for (int q = 0; q < pa.staging_slots; ++q) mbarrier_init(bars + q, 1);
      fence_barrier_init();
    }
    // (the barrier after the load below makes the initialized barriers visible to every thread)
  }
  // Plane k of pattern word w's stabilities (sliced_stabilities.hpp) at plane[k · part_pw + w],
  // w counted from part_w0; so the sets.
  std::uint32_t* plane = reinterpret_cast<std::uint32_t*>(smem + lay.stabilities);
  // The patterns of word w, as a mask (pads left out; a word may hold only pads).
  const auto live_mask = [p](int w) { return pattern_word_mask(p, w); };
  std::uint32_t* sa = reinterpret_cast<std::uint32_t*>(smem + lay.set_a);
  std::uint32_t* sb = reinterpret_cast<std::uint32_t*>(smem + lay.set_b);
  std::uint32_t* wts = reinterpret_cast<std::uint32_t*>(smem + lay.weights);
  int* ring_site = reinterpret_cast<int*>(smem + lay.sites);
  std::uint32_t* ring_word = reinterpret_cast<std::uint32_t*>(smem + lay.words);
  int* ring_previous = reinterpret_cast<int*>(smem + lay.previous);  // pipeline_previous_visit
  int* partial = reinterpret_cast<int*>(smem + lay.partial);
  std::uint32_t* shared_table = reinterpret_cast<std::uint32_t*>(smem + lay.table);
  std::uint32_t* mail = reinterpret_cast<std::uint32_t*>(smem + lay.mail);  // kSplit

  const std::uint32_t* columns = bt.columns + std::size_t(b) * bt.inputs * pw;
  // The columns the counts read, and step j's index among them: the sweep's copy in step order
  // (kOrdered, one sweep a launch), or the columns themselves by site.
  const std::uint32_t* step_columns =
      kOrdered ? pa.ordered + std::size_t(b) * std::size_t(n) * std::size_t(pw) : columns;
  const auto column_index = [&](int j) -> int {
    return kOrdered ? j : ring_site[j & kRingMask];
  };
  const std::uint32_t* rows = bt.rows + std::size_t(b) * p * rw;
  const std::size_t ra = std::size_t(b) * y + (replica ? a : 0);  // (instance, replica) index
  std::uint32_t* global_weights =
      replica ? bt.weights + ra * nw : bt.centre + std::size_t(b) * nw;
  std::int32_t* global_stab = bt.stabilities + ra * p;
  std::int32_t* site_sums = bt.site_sums + std::size_t(b) * n;
  std::uint32_t* centre_bits = bt.centre_scratch + std::size_t(b) * nw;
  int* restart = pa.restart + b;

  // Load.
  if (tid == 0) {
    progress = 0;
    ctrl_stop = 0;
    centre_solved = 0;
    new_size_a = 0;
    new_size_b = 0;
    if (replica) {
      size_a = bt.size_a[ra];
      size_b = bt.size_b[ra];
      energy = bt.energy[ra];
    }
  }
  __syncthreads();
  for (int w = tid; w < nw; w += threads) wts[w] = global_weights[w];
  if (replica) {
    // A warp a pattern word, a lane a pattern: the planes by ballots.
    for (int w = warp; w < part_pw; w += warps) {
      const int mu = 32 * (part_w0 + w) + lane;
      const int d = mu < p ? global_stab[mu] : 0;
      for (int k = 0; k < planes; ++k) {
        const std::uint32_t bits = __ballot_sync(full, stability_bit(d, k));
        if (lane == 0) plane[k * part_pw + w] = bits;
      }
    }
    for (int w = tid; w < part_pw; w += threads) {
      sa[w] = bt.set_a[ra * pw + part_w0 + w];
      sb[w] = bt.set_b[ra * pw + part_w0 + w];
    }
    if constexpr (kSplit) {  // each part's sets' sizes, the lead's ΔE their sum
      int count_a = 0, count_b = 0;
      for (int w = tid; w < part_pw; w += threads) {
        count_a += __popc(sa[w] & live_mask(part_w0 + w));
        count_b += __popc(sb[w] & live_mask(part_w0 + w));
      }
      count_a = warp_sum(count_a);
      count_b = warp_sum(count_b);
      if (lane == 0) {
        atomicAdd(&new_size_a, count_a);
        atomicAdd(&new_size_b, count_b);
      }
    }
  }
  if constexpr (kSplit)
    if (tid < kPipelineMailWords) mail[tid] = 0;  // no sequence number yet
  __syncthreads();
  if constexpr (kSplit) {
    if (tid == 0 && replica) {
      size_a = new_size_a;
      size_b = new_size_b;
      new_size_a = 0;
      new_size_b = 0;
    }
  }
  // Thread 0's counters for this launch; the trace's are the status's plus every member's.
  const std::uint64_t accepted_at_start = status->accepted;
  std::uint64_t proposals = 0, accepted = 0, proposals_before = 0, accepted_before = 0;
  int seen = 0;  // warp 0, lane L: the progress of member L last seen (this sweep)
  const bool is_peer = lane < members && lane != a;
  // Warp 0, lane L: member L's progress and weights (shared::cluster addresses).
  std::uint32_t peer_progress_at = 0, peer_weights_at = 0;
  cluster.sync();  // every block of the cluster exists before any reads another's memory
  // LOCENT_ROUNDS_PROFILE: thread 0's cycles by phase (row 0: member 0, row 1: the last member).
  __shared__ unsigned long long cycles[kSlots];
  const int profile_row = pa.profile != nullptr && b == 0 && !helper
                              ? (a == 0 ? 0 : a == members - 1 ? 1 : -1)
                              : -1;
  if (profile_row >= 0 && tid == 0)
    for (int q = 0; q < kSlots; ++q) cycles[q] = 0;
  long long mark_at = clock64();
  const auto mark = [&](int phase) {
    if (profile_row < 0 || tid != 0) return;
    const long long now = clock64();
    cycles[phase] += static_cast<unsigned long long>(now - mark_at);
    mark_at = now;
  };
  if (warp == 0 && is_peer) {
    peer_progress_at = shared_cluster_address(&progress, lane);
    peer_weights_at = shared_cluster_address(wts, lane);
  }
  // kSplit: the other part's mail box, and the rounds so far (the same in both parts: the
  // sequence number of a round's messages).
  std::uint32_t partner_mail_at = 0;
  unsigned round_seq = 0;
  if constexpr (kSplit) partner_mail_at = shared_cluster_address(mail, helper ? a : members + a);
  // Until the other part's message of this round is in: the sequence number by relaxed loads,
  // then an acquire fence (every lane that reads the message takes its own).
  const auto wait_mail = [&](int seq_word) {
    long long spins = 0;
    // (A helper waits out its lead's whole round, whose waits for the other members are each
    // bounded by kSpinLimit polls, and those polls cost more than these: a larger bound here.)
    while (load_relaxed_shared_cluster(partner_mail_at + 4u * seq_word) != round_seq)
      if (++spins > 64 * kSpinLimit) __trap();
    fence_acquire_shared_cluster();
  };
  const auto partner_word = [&](int word) -> int {
    return static_cast<int>(load_relaxed_shared_cluster(partner_mail_at + 4u * word));
  };
  // The lead's decisions of this round, for its helper (lane 0 of warp 0).
  const auto publish_decisions = [&](int decided, bool moved, int site, bool was_plus, bool stop) {
    mail[kMailDecided] = static_cast<std::uint32_t>(decided);
    mail[kMailMoved] = moved;
    mail[kMailSite] = static_cast<std::uint32_t>(site);
    mail[kMailWasPlus] = was_plus;
    mail[kMailStop] = stop;
    store_release_shared_cta(mail + kMailDecisionSeq, round_seq);
  };
  // Another member's progress, polled (relaxed), or acquired: the fence orders the reads of
  // its weights after the load (both in the cluster's shared memory, all the fence covers).
  const auto poll_progress = [&]() -> int {
    return static_cast<int>(load_relaxed_shared_cluster(peer_progress_at));
  };
  const auto acquire_progress = [&]() -> int {
    const unsigned v = load_relaxed_shared_cluster(peer_progress_at);
    fence_acquire_shared_cluster();
    return static_cast<int>(v);
  };
  const auto peer_weight_word = [&](int w) -> std::uint32_t {
    return load_relaxed_shared_cluster(peer_weights_at + 4u * std::uint32_t(w));
  };

  std::uint64_t sweep = ch.first_sweep;  // the sweep under way
  // Step j's Philox words (the site's, this member's) and site into the ring.
  const auto fill_step = [&](int j) {
    const PhiloxBlock g0 = philox_block(ch.seed, Purpose::metropolis, instance,
                                        static_cast<std::uint32_t>(sweep),
                                        static_cast<std::uint32_t>(j), 0);
    const std::uint32_t slot = replica ? replica_slot(a) : centre_slot(y);
    const std::uint32_t word = slot < 4 ? g0.v[slot]
                                        : philox_block(ch.seed, Purpose::metropolis, instance,
                                                       static_cast<std::uint32_t>(sweep),
                                                       static_cast<std::uint32_t>(j), slot >> 2)
                                              .v[slot & 3u];
    ring_site[j & kRingMask] = static_cast<int>(uniform_below(g0.v[site_slot()], n));
    ring_word[j & kRingMask] = word;
    ring_previous[j & kRingMask] = -1;
  };
  // The previous visits within the window (pipeline_previous_visit) of steps [from, to), one
  // (step, earlier step) pair a thread (`rank` of `count`): the latest match wins.
  const int window = pa.window;
  const auto find_previous = [&](int from, int to, int rank, int count) {
    for (int e = rank; e < (to - from) * window; e += count) {
      const int j = from + e / window, l = j - 1 - e % window;
      if (l >= 0 && ring_site[l & kRingMask] == ring_site[j & kRingMask])
        atomicMax(ring_previous + (j & kRingMask), l);
    }
  };

  for (int s = 0; s < ch.sweeps; ++s) {
    sweep = ch.first_sweep + s;
    const std::uint32_t* table = ch.tables + s * ch.table_stride;
    if (pa.table_in_shared) {
      for (std::size_t e = tid; e < ch.table_stride; e += threads) shared_table[e] = table[e];
      table = shared_table;
    }
    if (tid == 0) {  // this sweep's count-ahead from this member's last acceptance
      // (The centre's rounds never end at a move: always k.)
      ctrl_k = !replica ? pa.k
                        : adaptive_round_steps(accepted - accepted_before,
                                               proposals - proposals_before, 1,
                                    pa.k);
      accepted_before = accepted;
      proposals_before = proposals;
    }
    __syncthreads();
    const ThresholdView view{table, ch.half_width, ch.coupling_states};
    const int k = ctrl_k;
    int pos = 0, filled = 0;
    seen = 0;
    // Warp 0, lane 0: the restart flag as loaded during the previous round's decisions, so that
    // no round waits at its first barrier for a load from global memory (a round late at most:
    // a stopped launch's state is never written back).
    // A helper follows its lead's decisions, stops included, and never reads the flag.
    int next_stop = warp == 0 && lane == 0 && !helper ? load_flag(restart) : 0;

    while (pos < n) {
      if constexpr (kSplit) ++round_seq;
      // 1. The ring up to 2k steps ahead (at a sweep's start; later rounds find it filled by
      // the warps that do not decide, phase 3), and the stop flag.
      const int target = min(n, pos + 2 * k);
      if (warp == 0) {
        for (int j = filled + lane; j < target; j += 32) fill_step(j);
        if (lane == 0) fill_stop = next_stop;
      }
      __syncthreads();
      if (fill_stop) {
        // The helper's stop, in place of this round's decisions. Not before its counts of this
        // round are in: they show that it has read the last round's decisions, which the stop
        // overwrites (without the wait, a helper slow to poll could miss both and trap).
        if constexpr (kSplit) {
          if (tid == 0 && replica) {
            wait_mail(kMailCountsSeq);
            publish_decisions(0, false, 0, false, true);
          }
        }
        break;
      }
      if (filled < target) {  // the same in every thread
        find_previous(filled, target, tid, threads);
        filled = target;
        __syncthreads();
      }
      mark(kFill);
      const int m = min(k, n - pos);
      if (replica) {  // the next round's columns on their way to L2
        const int lines = (4 * part_pw + 127) / 128;
        const int ahead = max(0, min(n, pos + 2 * k) - (pos + k));
        for (int e = tid; e < ahead * lines; e += threads) {
          const int u = e / lines, line = e - u * lines;
          prefetch_l2(step_columns + std::size_t(column_index(pos + k + u)) * pw + part_w0 +
                      32 * line);
        }
      }

      // 2. A replica's counts |A ∩ col| + |B ∩ col| for steps pos .. pos + m − 1.
      int hits = 0;  // warp 0, lane t: step pos + t's
      if (replica && kCount == kCountTensor) {
        count_on_tensor_cores(columns, sa, sb, pw, ring_site, pos, m, partial);
        __syncthreads();
        if (warp == 0 && lane < m)
          for (int q = 0; q < warps; ++q) hits += partial[q * kMaxPipelineSteps + lane];
        mark(kCount);
      } else if (replica && kCount == kCountStaged) {
        count_staged<kSplit ? kStagedSetWordsSplit : kStagedSetWords, kOrdered>(
            step_columns + part_w0, pw, sa, sb, part_pw, ring_site, pos, m, pa.staging_slots,
                     reinterpret_cast<std::uint64_t*>(smem + lay.bars),
                     reinterpret_cast<std::uint32_t*>(smem + lay.staging), staged_phases, partial);
        __syncthreads();
        if (warp == 0 && lane < m)
          for (int q = 0; q < warps; ++q) hits += partial[q * kMaxPipelineSteps + lane];
        mark(kCount);
      } else if (replica) {
        int acc[kMaxPipelineSteps];
        std::uint32_t col[kMaxPipelineSteps];  // word offsets (the shape keeps N · pw < 2^32)
#pragma unroll
        for (int t = 0; t < kMaxPipelineSteps; ++t) {
          acc[t] = 0;
          col[t] = std::uint32_t(column_index(pos + min(t, m - 1))) * std::uint32_t(pw);
        }
        for (int w = tid; w < part_pw; w += threads) {
          const std::uint32_t wa = sa[w], wb = sb[w];
          // Every load in flight before the first is used: loads taken only where t < m were
          // issued two at a time, each pair waiting out the L2 latency (disassembly). A step
          // past m loads step m − 1's column word again, an L1 hit, and is not counted.
          std::uint32_t x[kMaxPipelineSteps];
#pragma unroll
          for (int t = 0; t < kMaxPipelineSteps; ++t)
            x[t] = __ldg(step_columns + col[t] + part_w0 + w);
          // In the spread-reads, split and ordered kernels, a warp barrier between the loads and
          // their first use keeps ptxas from moving loads down between the popcounts, as it did
          // there (and in the default kernel when registers got scarce elsewhere:
          // bench/sass-check.sh). The default kernel keeps its measured code, grouped without it.
          if constexpr (kSpreadReads || kSplit) __syncwarp();
#pragma unroll
          for (int t = 0; t < kMaxPipelineSteps; ++t)
            if (t < m) acc[t] += __popc(x[t] & wa) + __popc(x[t] & wb);
        }
#pragma unroll
        for (int t = 0; t < kMaxPipelineSteps; ++t) {
          if (t < m) {
            const int v = warp_sum(acc[t]);
            if (lane == 0) partial[warp * kMaxPipelineSteps + t] = v;
          }
        }
        __syncthreads();
        if (warp == 0 && lane < m)
          for (int q = 0; q < warps; ++q) hits += partial[q * kMaxPipelineSteps + lane];
        mark(kCount);
      }
      // kSplit: the helper hands its counts (warp 0, lane t: step pos + t's over its words) and
      // its sets' sizes to its lead, which adds them to its own just before its first decision
      // of the round (take_partner_counts), so that the handover overlaps its look at the
      // others.
      int partner_a = 0, partner_b = 0;  // the lead's warp 0: the helper's sets' sizes
      bool partner_counted = false;      // (warp-uniform)
      const auto take_partner_counts = [&]() {
        wait_mail(kMailCountsSeq);
        const int theirs = lane < m ? partner_word(kMailHits + lane) : 0;
        partner_a = partner_word(kMailSizeA);
        partner_b = partner_word(kMailSizeB);
        hits += theirs;
        partner_counted = true;
      };
      if constexpr (kSplit) {
        if (warp == 0 && replica && helper) {
          // Lane 0 writes every word of the message itself, so that its release covers them.
#pragma unroll
          for (int u = 0; u < kMaxPipelineSteps; ++u) {
            const int v = __shfl_sync(full, hits, u);
            if (lane == 0) mail[kMailHits + u] = static_cast<std::uint32_t>(v);
          }
          if (lane == 0) {
            mail[kMailSizeA] = static_cast<std::uint32_t>(size_a);
            mail[kMailSizeB] = static_cast<std::uint32_t>(size_b);
            store_release_shared_cta(mail + kMailCountsSeq, round_seq);
          }
        }
      }

      // 3. The decisions, in warp 0; meanwhile the other warps fill the ring up to 3k steps
      // ahead, their previous visits after a barrier of their own. A helper's warp 0 takes its
      // lead's decisions instead.
      const int ahead = max(filled, min(n, pos + 3 * k));
      if (warp != 0) {
        const int helpers = threads - 32;
        for (int j = filled + tid - 32; j < ahead; j += helpers) fill_step(j);
        __syncwarp();  // bar.sync wants whole warps
        asm volatile("bar.sync 1, %0;\n" ::"r"(helpers) : "memory");
        find_previous(filled, ahead, tid - 32, helpers);
      } else if (helper) {
        wait_mail(kMailDecisionSeq);
        const int decided = partner_word(kMailDecided);
        const bool moved = partner_word(kMailMoved) != 0;
        const int site = partner_word(kMailSite);
        const bool was_plus = partner_word(kMailWasPlus) != 0;
        const bool stop = partner_word(kMailStop) != 0;
        // The lead's counters, kept alike: this sweep's count-ahead comes from them.
        proposals += static_cast<std::uint64_t>(decided);
        accepted += moved;
        if (lane == 0) {
          ctrl_moved = moved;
          ctrl_site = site;
          ctrl_was_plus = was_plus;
          ctrl_decided = decided;
          if (stop) ctrl_stop = 1;
        }
      } else {
        int t = 0;
        bool moved = false, stop = false;
        int flip_site = 0;
        bool flip_plus = false;
        // The run of steps from `from` whose needs the progress seen meets (warp-uniform): each
        // lane tests its member's needs at all of the round's steps at once (their previous
        // visits read together), one warp AND of the masks. A step past m is never counted.
        const auto ready_from = [&](int from) {
          std::uint32_t met = 0;
          if constexpr (kSpreadReads) {
            // With the spread reads, the 16 previous visits are loaded before any is used: the
            // compiler otherwise moves each load into the branch that needs it, 16 shared-memory
            // round trips one after another (disassembly). (The default kernel keeps its measured
            // code: a change here reshuffled its count phase's loads.)
            int previous[kMaxPipelineSteps];
#pragma unroll
            for (int u = 0; u < kMaxPipelineSteps; ++u)
              previous[u] = load_shared_volatile(ring_previous + ((pos + u) & kRingMask));
#pragma unroll
            for (int u = 0; u < kMaxPipelineSteps; ++u) {
              const int j = pos + u;
              const int need = is_peer ? pipeline_need(a, lane, j, previous[u], window) : 0;
              met |= std::uint32_t(seen >= need) << u;
            }
          } else {
#pragma unroll
            for (int u = 0; u < kMaxPipelineSteps; ++u) {
              const int j = pos + u;
              const int previous = ring_previous[j & kRingMask];
              const int need = is_peer ? pipeline_need(a, lane, j, previous, window) : 0;
              met |= std::uint32_t(seen >= need) << u;
            }
          }
          met = __reduce_and_sync(full, met) >> from;
          return min(__ffs(~met) - 1, m - from);  // bits past step 15 are clear
        };
        while (t < m && !moved && !stop) {
          // The run that the progress already seen allows (every value in `seen` came from an
          // acquire by this lane, earlier in program order); a fresh look, one round trip to the
          // others' shared memory, only where that falls short of the round.
          int ready = ready_from(t);
          if (t + ready < m) {
            if (is_peer) seen = max(seen, acquire_progress());
            ready = ready_from(t);
          }
          mark(kLook);
          if (ready == 0) {  // wait for step pos + t's needs, or a stop
            const int j = pos + t;
            const int need =
                is_peer ? pipeline_need(a, lane, j, ring_previous[j & kRingMask], window) : 0;
            long long spins = 0;
            while (!__all_sync(full, seen >= need)) {
              // The restart flag lives in global memory: a look every 64 polls.
              if ((spins & 63) == 63 && __shfl_sync(full, lane == 0 ? load_flag(restart) : 0, 0)) {
                stop = true;
                break;
              }
              // Polled with relaxed loads; once one shows the need met, the acquire (a load, which
              // returns no less by coherence, and the fence) orders the weight reads after it.
              if (is_peer && seen < need && poll_progress() >= need)
                seen = max(seen, acquire_progress());
              if (++spins > kSpinLimit) __trap();
            }
            mark(kWait);
            continue;
          }
          // The others' weights at those steps: `others` (lane u: the replicas with weight +1 at
          // step pos + t + u, this one left out) and `centre_plus` (bit u: the explicit centre's).
          std::uint32_t others = 0, centre_plus = 0;
          if constexpr (!kSpreadReads) {
            // Lane b reads member b's weights at every step of the run (bit u: step pos + t + u),
            // all loads in flight before the first is used.
            std::uint32_t bits = 0, read[kMaxPipelineSteps];
            int at[kMaxPipelineSteps];
#pragma unroll
            for (int u = 0; u < kMaxPipelineSteps; ++u) {
              at[u] = ring_site[(pos + t + min(u, ready - 1)) & kRingMask];
              read[u] = is_peer && u < ready ? peer_weight_word(at[u] >> 5) : 0u;
            }
#pragma unroll
            for (int u = 0; u < kMaxPipelineSteps; ++u)
              bits |= ((read[u] >> (at[u] & 31)) & 1u) << u;
            // The others' weights at step u by one ballot each.
#pragma unroll
            for (int u = 0; u < kMaxPipelineSteps; ++u) {
              const std::uint32_t o =
                  __ballot_sync(full, is_peer && lane < y && ((bits >> u) & 1u));
              if (lane == u) others = o;
            }
            centre_plus = __shfl_sync(full, bits, y & 31);  // lane y: the centre
          } else {
            // Pair e = 16 b + u (member b, step u) is lane e mod 32's, in its (e / 32)-th read:
            // members × 16 pairs over 32 lanes, ⌈members / 2⌉ reads a lane instead of 16. A lane
            // reads the progress of each member it reads, after lane b's acquire (the warp
            // barrier orders them: it reads no less), and its own acquire fence then orders its
            // weight reads after that member's flips, as lane b's did for lane b.
            constexpr int kReads = kMaxPipelineMembers / 2;
            __syncwarp();
            std::uint32_t word_at[kReads];
            bool valid[kReads];
            int bit_at[kReads];
#pragma unroll
            for (int r = 0; r < kReads; ++r) {
              const int e = lane + 32 * r, member = e >> 4, u = e & 15;
              valid[r] = member < members && member != a && u < ready;
              const int site = ring_site[(pos + t + min(u, ready - 1)) & kRingMask];
              bit_at[r] = site & 31;
              word_at[r] = shared_cluster_address(wts, valid[r] ? member : a) +
                           4u * std::uint32_t(site >> 5);
              // The value is used (a progress is never 2^32 − 1), so that the load stays: the
              // acquire fence below is this lane's only with it.
              if (valid[r])
                valid[r] = load_relaxed_shared_cluster(shared_cluster_address(&progress, member)) !=
                           0xffffffffu;
            }
            fence_acquire_shared_cluster();
            std::uint32_t plus[kReads];
#pragma unroll
            for (int r = 0; r < kReads; ++r)
              plus[r] = valid[r] ? load_relaxed_shared_cluster(word_at[r]) : 0u;
            std::uint32_t ballots[kReads];
#pragma unroll
            for (int r = 0; r < kReads; ++r)
              ballots[r] = __ballot_sync(full, (plus[r] >> bit_at[r]) & 1u);
            // Lane u gathers step u's bits: member b's is bit 16 (b mod 2) + u of ballot b / 2.
#pragma unroll
            for (int member = 0; member < kMaxPipelineMembers; ++member)
              if (member < y)
                others |= ((ballots[member >> 1] >> (((member & 1) << 4) + (lane & 15))) & 1u)
                          << member;
            if (lane >= kMaxPipelineSteps) others = 0;
#pragma unroll
            for (int r = 0; r < kReads; ++r)
              if (r == (y >> 1)) centre_plus = (ballots[r] >> ((y & 1) << 4)) & 0xffffu;
          }
          mark(kLook);
          // The run's decisions all at once, a lane a step (ready ≤ k ≤ 16). Until an accepted
          // proposal nothing a decision reads changes, so the first accepted lane ends the
          // replica's run. The centre goes on after it, deciding its later steps again with its
          // new weight; they cannot differ (the needs never let a run hold the same site twice
          // for a member with others), but the second pass keeps that out of the argument.
          if constexpr (kSplit)
            if (!partner_counted) take_partner_counts();
          const int hit = __shfl_sync(full, hits, min(t + lane, 31));          // step t + lane's
          int u = 0;  // the run's steps decided
          while (u < ready) {
            bool accept = false, own = false;
            int site = 0, de = 0;
            if (lane >= u && lane < ready) {
              const int j = pos + t + lane;
              site = ring_site[j & kRingMask];
              own = test_bit32(wts, site);
              RoundStep step;
              step.site = site;
              step.replica_plus = others | (replica ? std::uint32_t(own) << a : 0u);
              step.centre_plus = replica ? (!traced && ((centre_plus >> lane) & 1u)) : own;
              // ΔE needs only |A ∩ col| + |B ∩ col| (metropolis_rules.hpp: flip_delta_energy).
              de = replica ? flip_delta_energy(own, hit, 0, size_a + partner_a, size_b + partner_b)
                           : 0;
              const std::uint32_t word = ring_word[j & kRingMask];
              const auto random_at = [word](int, std::uint32_t) { return word; };
              accept = proposal_accepted(step, j, a, y, traced, de, view, random_at);
            }
            const std::uint32_t accepted_lanes = __ballot_sync(full, accept);
            if (accepted_lanes == 0) {
              proposals += ready - u;
              u = ready;
              break;
            }
            const int f = __ffs(accepted_lanes) - 1;  // the first accepted step of the run
            proposals += f + 1 - u;
            ++accepted;
            u = f + 1;
            const int f_site = __shfl_sync(full, site, f);
            const bool f_own = __shfl_sync(full, own, f);
            const int f_de = __shfl_sync(full, de, f);
            __syncwarp();  // every lane has read its weight
            // Atomic: the others may be reading other bits of the word.
            if (lane == 0) atomicXor(wts + (f_site >> 5), 1u << (f_site & 31));
            __syncwarp();
            if (!replica) continue;
            moved = true;
            flip_site = f_site;
            flip_plus = f_own;
            const long long after = energy + f_de;  // every lane reads it before lane 0 writes
            __syncwarp();
            if (lane == 0) energy = after;
            if (after == 0) {  // solved mid-sweep: the chunk again, by another kernel
              if (lane == 0) atomicExch(restart, s + 1);  // from this sweep of the chunk
              stop = true;
            }
            break;
          }
          t += u;
          mark(kDecide);
          __syncwarp();
          // Released with a fence that covers this block's shared memory (its weights) only:
          // no GPU-scope memory barrier (which the cluster-scope release store compiled to, and
          // which measured slower).
          if (lane == 0) store_release_shared_cta(&progress, static_cast<unsigned>(pos + t));
        }
        // The decisions overwrite the last round's, which the helper has read once its counts
        // of this round are in: a round that stops before its first decision waits for them
        // here (lane 0: the counts themselves are not needed).
        if constexpr (kSplit)
          if (!partner_counted && lane == 0) wait_mail(kMailCountsSeq);
        if (lane == 0) {
          if constexpr (kSplit) publish_decisions(t, moved, flip_site, flip_plus, stop);
          ctrl_moved = moved;
          ctrl_site = flip_site;
          ctrl_was_plus = flip_plus;
          ctrl_decided = t;
          if (stop) ctrl_stop = 1;
          next_stop = load_flag(restart);  // used at the next round's start
        }
      }
      filled = ahead;
      __syncthreads();
      if (ctrl_stop) break;

      // 4. A replica's move: stabilities by ±2 where the column drops (or raises) them, sets
      // rebuilt, their sizes summed; a thread a pattern word.
      if (replica && ctrl_moved) {
        const int site = ctrl_site;
        const bool was_plus = ctrl_was_plus != 0;
        const std::uint32_t* col = columns + std::size_t(site) * pw + part_w0;
        int count_a = 0, count_b = 0;
        move_thread_words<kInterleavedMove>(
            plane, sa, sb, part_pw, planes, col, was_plus, flips, tid, threads,
            [&](int w) { return live_mask(part_w0 + w); }, count_a, count_b);
        count_a = warp_sum(count_a);
        count_b = warp_sum(count_b);
        if (lane == 0) {
          atomicAdd(&new_size_a, count_a);
          atomicAdd(&new_size_b, count_b);
        }
        // Not thread 0: its warp's release of the progress (a GPU-scope memory barrier in the
        // disassembly) would wait for this global atomic to reach L2 first.
        if (tid == 32 && !helper) atomicAdd(site_sums + site, was_plus ? -2 : 2);
        __syncthreads();
        if (tid == 0) {
          size_a = new_size_a;
          size_b = new_size_b;
          new_size_a = 0;
          new_size_b = 0;
        }
      }
      pos += ctrl_decided;
      mark(kMove);
      if (profile_row >= 0 && tid == 0) {
        ++cycles[kRounds];
        cycles[kMoves] += ctrl_moved && replica;
      }
    }

    // The sweep's end: every member is done with it (or stopped). Block 0 reads the restart flag
    // (set before its setter arrived here) and hands its value to every block, so that all
    // take the same path through the barriers below.
    cluster.sync();
    if (tid == 0) progress = 0;  // nobody reads it again before the next sweep's start
    if (rank == 0 && tid < blocks) *cluster.map_shared_rank(&ctrl_stop, tid) = load_flag(restart);
    cluster.sync();
    if (ctrl_stop) break;
    const std::uint64_t done = sweep + 1;
    const bool check = done % ch.centre_check_every == 0;
    const bool record = ch.trace_every > 0 && done % ch.trace_every == 0;
    if (check || record) {
      // The centre's bits, a share of the words a member: the clipped majority of the replicas
      // (S_i ≥ 0), or the explicit centre's. (Helpers have no share: their weights are not kept.)
      const int wshare = (nw + members - 1) / members, w0 = a * wshare, w1 = min(nw, w0 + wshare);
      for (int w = w0 + tid; w < w1 && !helper; w += threads) {
        std::uint32_t word = 0;
        if (traced) {
          int plus[32];
#pragma unroll
          for (int q = 0; q < 32; ++q) plus[q] = 0;
          for (int r = 0; r < y; ++r) {
            const std::uint32_t x = *cluster.map_shared_rank(wts + w, r);
#pragma unroll
            for (int q = 0; q < 32; ++q) plus[q] += (x >> q) & 1u;
          }
#pragma unroll
          for (int q = 0; q < 32; ++q) word |= std::uint32_t(32 * w + q < n && 2 * plus[q] >= y) << q;
        } else {
          word = *cluster.map_shared_rank(wts + w, y);
        }
        centre_bits[w] = word;
      }
      if (tid < 3) sums[tid] = 0;
      cluster.sync();
      // This replica's errors and distance to the centre; the centre's errors over a share of the
      // patterns.
      // (A helper: its words' errors only.)
      if (replica) {
        int errors = 0, distance = 0;
        for (int w = tid; w < part_pw; w += threads)  // the sign plane
          errors += __popc(plane[(planes - 1) * part_pw + w] & live_mask(part_w0 + w));
        for (int w = tid; w < nw && !helper; w += threads)
          distance += __popc(wts[w] ^ centre_bits[w]);
        errors = warp_sum(errors);
        distance = warp_sum(distance);
        if (lane == 0) {
          atomicAdd(&sums[0], static_cast<unsigned long long>(errors));
          atomicAdd(&sums[2], static_cast<unsigned long long>(distance));
        }
      }
      {
        const int share = (p + members - 1) / members, mu0 = a * share, mu1 = min(p, mu0 + share);
        for (int mu = mu0 + warp; mu < mu1 && !helper; mu += warps) {
          const std::uint32_t* row = rows + std::size_t(mu) * rw;
          int differ = 0;
          for (int w = lane; w < nw; w += 32) differ += __popc(row[w] ^ centre_bits[w]);
          differ = warp_sum(differ);
          if (lane == 0 && n - 2 * differ < 0) atomicAdd(&sums[1], 1ULL);
        }
      }
      __syncthreads();
      if (tid == 0) {  // thread 0's counters
        for (int q = 0; q < 3; ++q) *cluster.map_shared_rank(&gathered[rank][q], 0) = sums[q];
        *cluster.map_shared_rank(&gathered[rank][3], 0) = helper ? 0 : accepted;
      }
      cluster.sync();
      if (rank == 0 && tid == 0) {
        unsigned long long centre_errors = 0, distance = 0, all_accepted = accepted_at_start;
        for (int r = 0; r < blocks; ++r) {
          centre_errors += gathered[r][1];
          distance += gathered[r][2];
          all_accepted += gathered[r][3];
        }
        if (record)
          append_trace_record(bt, b, instance, done, static_cast<long long>(centre_errors),
                              distance, all_accepted, [&](int r) {
                                return gathered[r][0] + (kSplit ? gathered[members + r][0] : 0);
                              });
        if (check && centre_errors == 0)
          for (int r = 0; r < blocks; ++r) *cluster.map_shared_rank(&centre_solved, r) = 1;
      }
      cluster.sync();
      if (centre_solved) break;
    }
    cluster.sync();  // every member has reset its progress before any looks at it again
    mark(kSweepEnd);
  }

  // kSplit: a helper's errors and sets' sizes, into its lead's mail box (read after the barrier).
  if constexpr (kSplit) {
    if (helper && replica) {
      int errors = 0;
      for (int w = tid; w < part_pw; w += threads)  // the sign plane
        errors += __popc(plane[(planes - 1) * part_pw + w] & live_mask(part_w0 + w));
      errors = warp_sum(errors);
      if (tid == 0) sums[0] = 0;
      __syncthreads();
      if (lane == 0) atomicAdd(&sums[0], static_cast<unsigned long long>(errors));
      __syncthreads();
      if (tid == 0) {
        std::uint32_t* lead_mail = cluster.map_shared_rank(mail, a);
        lead_mail[kMailErrors] = static_cast<std::uint32_t>(sums[0]);
        lead_mail[kMailEndSizeA] = static_cast<std::uint32_t>(size_a);
        lead_mail[kMailEndSizeB] = static_cast<std::uint32_t>(size_b);
      }
    }
  }
  // The launch's end: nobody reads another block's shared memory after this barrier.
  cluster.sync();
  if (profile_row >= 0 && tid == 0)
    for (int q = 0; q < kSlots; ++q) pa.profile[profile_row * kSlots + q] = cycles[q];
  if (load_flag(restart)) return;  // the chunk is taken again from its saved start
  for (int w = tid; w < nw && !helper; w += threads) global_weights[w] = wts[w];
  if (replica) {
    int errors = 0;
    for (int w = warp; w < part_pw; w += warps) {  // a lane a pattern
      const int mu = 32 * (part_w0 + w) + lane;
      const int d = sliced_stability(plane + w, std::size_t(part_pw), planes, lane);
      if (mu < p) {
        global_stab[mu] = d;
        errors += d < 0;
      }
    }
    for (int w = tid; w < part_pw; w += threads) {
      bt.set_a[ra * pw + part_w0 + w] = sa[w];
      bt.set_b[ra * pw + part_w0 + w] = sb[w];
    }
    errors = warp_sum(errors);
    if (tid == 0) sums[0] = 0;
    __syncthreads();
    if (lane == 0) atomicAdd(&sums[0], static_cast<unsigned long long>(errors));
    __syncthreads();
    if (tid == 0 && !helper) {  // with kSplit, the helper's part from its mail
      bt.size_a[ra] = size_a + (kSplit ? static_cast<int>(mail[kMailEndSizeA]) : 0);
      bt.size_b[ra] = size_b + (kSplit ? static_cast<int>(mail[kMailEndSizeB]) : 0);
      bt.errors[ra] = static_cast<std::int32_t>(sums[0] + (kSplit ? mail[kMailErrors] : 0u));
      bt.energy[ra] = energy;
    }
  }
  if (tid == 0 && !helper) {
    atomicAdd(reinterpret_cast<unsigned long long*>(&status->proposals),
              static_cast<unsigned long long>(proposals));
    atomicAdd(reinterpret_cast<unsigned long long*>(&status->accepted),
              static_cast<unsigned long long>(accepted));
    if (a == 0 && centre_solved) {
      status->solved = 1;
      status->solved_by = y;
    }
  }
#elif defined(__CUDA_ARCH__)
  __trap();  // no sm_90 code in this build: metropolis_pipeline_shape never picks it
#endif
}

// `blocks` a cluster: the members, or twice that with kOptionSplit.
cudaLaunchConfig_t pipeline_config(const MetropolisBatch& batch, int blocks, std::size_t bytes,
                                   cudaLaunchAttribute* attribute) {
  return cluster_launch_config(blocks * batch.instances, 32 * kPipelineWarps, blocks, bytes,
                               attribute);
}

}  // namespace

bool pipeline_wanted(int rounds_cluster) {
  const char* value = std::getenv("LOCENT_ROUNDS_PIPELINE");
  if (value == nullptr || *value == '\0') return rounds_cluster > 1;
  return std::string(value) == "1";
}

namespace {

std::atomic<std::uint64_t> launches{0};         // cuda_pipeline_launches
std::atomic<std::uint64_t> staged_launches{0};  // cuda_pipeline_staged_launches
std::atomic<std::uint64_t> interleaved_launches{0};  // cuda_pipeline_interleaved_launches
std::atomic<std::uint64_t> split_launches{0};        // cuda_pipeline_split_launches
std::atomic<std::uint64_t> ordered_launches{0};      // cuda_pipeline_ordered_launches

// kOptionOrdered: the device copy of the sweep's columns in step order (every instance's), kept
// from launch to launch and grown as needed.
// Allocated where the shape is found (find_shape drops the option where the allocation fails).
std::mutex ordered_lock;
std::uint32_t* ordered_columns = nullptr;
std::size_t ordered_words = 0;
bool reserve_ordered(std::size_t words) {
  const std::lock_guard<std::mutex> hold(ordered_lock);
  if (words > ordered_words) {
    if (ordered_columns != nullptr) LOCENT_CUDA_CHECK(cudaFree(ordered_columns));
    ordered_columns = nullptr;
    ordered_words = 0;
    if (cudaMalloc(&ordered_columns, 4 * words) != cudaSuccess) {
      (void)cudaGetLastError();
      ordered_columns = nullptr;
      return false;
    }
    ordered_words = words;
  }
  return true;
}
// The reserved copy (the shape's reservation, by launch time).
std::uint32_t* ordered_buffer(std::size_t words) {
  const std::lock_guard<std::mutex> hold(ordered_lock);
  if (words > ordered_words)
    throw Error("out of GPU memory for the columns in step order (" +
                    std::to_string(4 * words >> 20) +
                    " MiB; LOCENT_PIPELINE_COLUMNS=ordered): unset it",
                ExitCode::out_of_memory);
  return ordered_columns;
}

// Sweep `sweep`'s columns in step order: instance b's step j (its site drawn as the pipeline's
// fill_step draws it) at ordered[(b · N + j) · pw], a warp a step, 16-byte copies where the
// columns allow.
__global__ void gather_sweep_columns(MetropolisBatch bt, std::uint64_t seed, std::uint64_t sweep,
                                     std::uint32_t* ordered) {
  const int n = bt.sites, pw = bt.pattern_words;
  const std::size_t warp = (std::size_t(blockIdx.x) * blockDim.x + threadIdx.x) >> 5;
  const int lane = threadIdx.x & 31;
  if (warp >= std::size_t(bt.instances) * std::size_t(n)) return;
  const int b = static_cast<int>(warp / std::size_t(n)), j = static_cast<int>(warp % n);
  const PhiloxBlock g0 = philox_block(seed, Purpose::metropolis, bt.instance_ids[b],
                                      static_cast<std::uint32_t>(sweep),
                                      static_cast<std::uint32_t>(j), 0);
  const std::uint32_t site = uniform_below(g0.v[site_slot()], static_cast<std::uint32_t>(n));
  const std::uint32_t* from =
      bt.columns + (std::size_t(b) * bt.inputs + site) * std::size_t(pw);
  std::uint32_t* to = ordered + (std::size_t(b) * n + j) * std::size_t(pw);
  if (pw % 4 == 0) {  // whole 16-byte units, both ends aligned
    const uint4* from4 = reinterpret_cast<const uint4*>(from);
    uint4* to4 = reinterpret_cast<uint4*>(to);
    for (int q = lane; q < pw / 4; q += 32) to4[q] = __ldg(from4 + q);
  } else {
    for (int w = lane; w < pw; w += 32) to[w] = __ldg(from + w);
  }
}

// LOCENT_PIPELINE_WINDOW: the steps back a member looks for a previous visit.
int pipeline_window() {
  const char* value = std::getenv("LOCENT_PIPELINE_WINDOW");
  if (value == nullptr || *value == '\0') return kPipelineDefaultWindow;
  char* end = nullptr;
  const long window = std::strtol(value, &end, 10);
  if (*end != '\0' || window < 1 || window > kPipelineWindow)
    throw Error("LOCENT_PIPELINE_WINDOW must be a whole number of steps in 1.." +
                std::to_string(kPipelineWindow) + ", not '" + value + "'");
  return static_cast<int>(window);
}

// LOCENT_PIPELINE_READS=spread: the others' weights read a (member, step) pair a lane.
bool spread_reads_requested() {
  const char* value = std::getenv("LOCENT_PIPELINE_READS");
  return value != nullptr && std::string(value) == "spread";
}

// LOCENT_PIPELINE_COUNT: tensor or staged (else popcounts of loaded words).
PipelineCount count_requested() {
  const char* value = std::getenv("LOCENT_PIPELINE_COUNT");
  const std::string v = value != nullptr ? value : "";
  return v == "tensor" ? kCountTensor : v == "staged" ? kCountStaged : kCountPopc;
}

// LOCENT_PIPELINE_MOVE=interleaved: a thread's pattern words moved together, plane by plane.
bool interleaved_move_requested() {
  const char* value = std::getenv("LOCENT_PIPELINE_MOVE");
  return value != nullptr && std::string(value) == "interleaved";
}

// LOCENT_PIPELINE_PARTS: the blocks a replica takes, 1 (the default) or 2.
int parts_requested() {
  const char* value = std::getenv("LOCENT_PIPELINE_PARTS");
  if (value == nullptr || *value == '\0') return 1;
  const std::string v = value;
  if (v != "1" && v != "2")
    throw Error("LOCENT_PIPELINE_PARTS must be 1 or 2 (blocks a replica), not '" + v + "'");
  return v == "2" ? 2 : 1;
}

// LOCENT_PIPELINE_COLUMNS=ordered: the counts read a copy of each sweep's columns in step order.
bool ordered_columns_requested() {
  const char* value = std::getenv("LOCENT_PIPELINE_COLUMNS");
  return value != nullptr && std::string(value) == "ordered";
}

int pipeline_options(bool spread_reads, bool interleaved_move, bool split, bool ordered) {
  return (spread_reads ? kOptionSpreadReads : 0) |
         (interleaved_move ? kOptionInterleavedMove : 0) | (split ? kOptionSplit : 0) |
         (ordered ? kOptionOrdered : 0);
}
int pipeline_options(const PipelineShape& shape) {
  return pipeline_options(shape.spread_reads, shape.interleaved_move, shape.parts == 2,
                          shape.ordered_columns);
}

using PipelineKernel = void (*)(MetropolisBatch, MetropolisChunk, PipelineArgs);
template <int kOptions>
PipelineKernel pipeline_kernel_for(PipelineCount count) {
  switch (count) {
    case kCountTensor:  // (neither split nor ordered: find_shape never asks)
      if constexpr ((kOptions & (kOptionSplit | kOptionOrdered)) != 0) return nullptr;
      else return metropolis_pipeline_kernel<kCountTensor, kOptions>;
    case kCountStaged:
      return metropolis_pipeline_kernel<kCountStaged, kOptions>;
    default:
      return metropolis_pipeline_kernel<kCountPopc, kOptions>;
  }
}
template <int... kOptions>
PipelineKernel pipeline_kernel(PipelineCount count, int options,
                               std::integer_sequence<int, kOptions...>) {
  PipelineKernel kernel = nullptr;
  ((options == kOptions ? (kernel = pipeline_kernel_for<kOptions>(count), 0) : 0), ...);
  return kernel;
}
PipelineKernel pipeline_kernel(PipelineCount count, int options) {
  return pipeline_kernel(count, options, std::make_integer_sequence<int, kPipelineOptions>{});
}
PipelineCount shape_count(const PipelineShape& shape) {
  return shape.tensor_count ? kCountTensor : shape.staging_slots > 0 ? kCountStaged : kCountPopc;
}

PipelineShape find_shape(int device, const MetropolisBatch& batch, int round_steps,
                         PipelineCount count, int options) {
  PipelineShape none;
  const int members = batch.replicas + (batch.explicit_centre ? 1 : 0);
  if (batch.hidden_units > 1 || members > kMaxPipelineMembers || round_steps < 1) return none;
  if (std::uint64_t(batch.sites) * std::uint64_t(batch.pattern_words) >= (std::uint64_t{1} << 32))
    return none;  // column offsets are 32-bit
  int major = 0, optin = 0;
  LOCENT_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
  if (major < 9) return none;
  // The tensor-core count loads 64-bit pairs of words (always so: the sets are counted in
  // 64-bit words); the staged count copies whole columns in 16-byte units and keeps a thread's
  // set words in registers.
  const int pw = batch.pattern_words;
  if (count == kCountTensor && pw % 2 != 0) count = kCountPopc;
  // Two blocks a replica: traced coupling (no centre block), counts by popcounts (of loaded or
  // copied words), at most 16 blocks, and at least 8 pattern words. The lead's part is the
  // larger, a multiple of 4 words (whole 16-byte units for the staged copies); the helper's may
  // be as few as 1 word (pw = 9).
  if ((options & kOptionSplit) != 0 &&
      (batch.explicit_centre || count == kCountTensor || 2 * members > kMaxPipelineMembers ||
       pw < 8))
    options &= ~kOptionSplit;
  const bool split = (options & kOptionSplit) != 0;
  const int split_words = split ? std::min(pw, ((pw + 1) / 2 + 3) / 4 * 4) : 0;
  const int words = split ? split_words : pw;  // a block's, the most
  const int blocks = split ? 2 * members : members;
  // The columns in step order: counts by popcounts, and a copy of every instance's columns in
  // device memory, reserved here (kept from before where large enough), with 256 MB left free
  // for what the launches allocate.
  if ((options & kOptionOrdered) != 0) {
    const std::size_t words_needed =
        std::size_t(batch.instances) * std::size_t(batch.sites) * std::size_t(pw);
    bool fits = count != kCountTensor && reserve_ordered(words_needed);
    std::size_t free_bytes = 0, total_bytes = 0;
    if (fits && (cudaMemGetInfo(&free_bytes, &total_bytes) != cudaSuccess ||
                 free_bytes < (std::size_t{256} << 20))) {
      (void)cudaGetLastError();
      fits = false;
    }
    if (!fits) options &= ~kOptionOrdered;
  }
  const int set_words = split ? kStagedSetWordsSplit : kStagedSetWords;  // a thread's, the most
  if (count == kCountStaged && (pw % 4 != 0 || words > set_words * 32 * kPipelineWarps))
    count = kCountPopc;
  const PipelineKernel kernel = pipeline_kernel(count, options);
  LOCENT_CUDA_CHECK(
      cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));
  cudaFuncAttributes attributes{};
  LOCENT_CUDA_CHECK(cudaFuncGetAttributes(&attributes, kernel));
  if (attributes.ptxVersion < 90 || attributes.binaryVersion < 90) return none;
  const std::size_t limit = std::size_t(optin) - attributes.sharedSizeBytes;
  const int planes = stability_planes(batch.sites);
  std::size_t bytes = PipelineLayout(words, batch.weight_words, planes, 0, 0, split).bytes;
  if (bytes > limit) return none;
  // The staged count: as many column slots as shared memory holds, up to a round's; popcounts
  // of loaded words where not even two fit.
  int slots = 0;
  if (count == kCountStaged) {
    for (slots = kMaxPipelineSteps; slots >= 2; --slots)
      if (PipelineLayout(words, batch.weight_words, planes, 0, slots, split).bytes <= limit) break;
    if (slots < 2) return find_shape(device, batch, round_steps, kCountPopc, options);
    bytes = PipelineLayout(words, batch.weight_words, planes, 0, slots, split).bytes;
  }
  LOCENT_CUDA_CHECK(
      cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, int(limit)));
  if (blocks > 8)
    LOCENT_CUDA_CHECK(
        cudaFuncSetAttribute(kernel, cudaFuncAttributeNonPortableClusterSizeAllowed, 1));
  cudaLaunchAttribute attribute{};
  const cudaLaunchConfig_t config = pipeline_config(batch, blocks, bytes, &attribute);
  int clusters = 0;
  if (cudaOccupancyMaxActiveClusters(&clusters, kernel, &config) != cudaSuccess || clusters < 1) {
    (void)cudaGetLastError();
    // Twice the blocks may not fit a GPC where the members alone do: one block a replica then.
    if (split) return find_shape(device, batch, round_steps, count, options & ~kOptionSplit);
    return none;
  }
  PipelineShape shape;
  shape.members = members;
  shape.round_steps = std::min(round_steps, kMaxPipelineSteps);
  shape.shared_bytes = bytes;
  shape.max_shared_bytes = limit;
  shape.tensor_count = count == kCountTensor;
  shape.staging_slots = slots;
  shape.spread_reads = (options & kOptionSpreadReads) != 0;
  shape.interleaved_move = (options & kOptionInterleavedMove) != 0;
  shape.parts = split ? 2 : 1;
  shape.split_words = split_words;
  shape.ordered_columns = (options & kOptionOrdered) != 0;
  return shape;
}

}  // namespace

// The last answer is kept: every chunk of a run asks again with the same batch.
PipelineShape metropolis_pipeline_shape(int device, const MetropolisBatch& batch,
                                        int round_steps) {
  struct Key {
    int device, instances, sites, patterns, pattern_words, weight_words, replicas, hidden_units,
        steps;
    bool centre;
    PipelineCount count;
    int options;
    bool operator==(const Key& o) const {
      return device == o.device && instances == o.instances && sites == o.sites &&
             patterns == o.patterns && pattern_words == o.pattern_words &&
             weight_words == o.weight_words && replicas == o.replicas &&
             hidden_units == o.hidden_units && steps == o.steps && centre == o.centre &&
             count == o.count && options == o.options;
    }
  };
  static std::mutex lock;
  static bool known = false;
  static Key last{};
  static PipelineShape answer;
  const Key key{device, batch.instances, batch.sites, batch.patterns, batch.pattern_words, batch.weight_words,
                batch.replicas, batch.hidden_units, round_steps, batch.explicit_centre,
                count_requested(),
                pipeline_options(spread_reads_requested(), interleaved_move_requested(),
                                 parts_requested() == 2, ordered_columns_requested())};
  const std::lock_guard<std::mutex> hold(lock);
  if (!known || !(key == last)) {
    answer = find_shape(device, batch, round_steps, key.count, key.options);
    last = key;
    known = true;
  }
  return answer;
}

namespace {

// One launch of the kernel for the chunk; `ordered` (kOptionOrdered) the chunk's one sweep's
// columns in step order.
void launch_pipeline_kernel(const MetropolisBatch& batch, const MetropolisChunk& chunk,
                            const PipelineShape& shape, int* restart,
                            const std::uint32_t* ordered, cudaStream_t stream) {
  // LOCENT_ROUNDS_PROFILE: thread 0's cycles by phase, on stderr after each launch.
  static const bool profile = std::getenv("LOCENT_ROUNDS_PROFILE") != nullptr;
  static unsigned long long* cycles = nullptr;
  if (profile && cycles == nullptr) {
    LOCENT_CUDA_CHECK(cudaMalloc(&cycles, 2 * kSlots * sizeof(unsigned long long)));
    LOCENT_CUDA_CHECK(cudaMemset(cycles, 0, 2 * kSlots * sizeof(unsigned long long)));
  }
  PipelineArgs args{shape.round_steps, shape.staging_slots, pipeline_window(), restart, false,
                    profile ? cycles : nullptr, shape.split_words, ordered};
  // (A launch whose first instance returns at once writes no cycles: none from the last.)
  if (profile)
    LOCENT_CUDA_CHECK(
        cudaMemsetAsync(cycles, 0, 2 * kSlots * sizeof(unsigned long long), stream));
  const bool split = shape.parts == 2;
  std::size_t bytes = shape.shared_bytes;
  const std::size_t with_table =
      PipelineLayout(split ? shape.split_words : batch.pattern_words, batch.weight_words,
                     stability_planes(batch.sites), chunk.table_stride, shape.staging_slots, split)
          .bytes;
  if (with_table <= shape.max_shared_bytes && chunk.table_stride * 4 <= kSharedTableBytes) {
    args.table_in_shared = true;
    bytes = with_table;
  }
  // The L1 cache is what shared memory leaves of the SM's 256 KB, and a replica's counts from
  // loaded words keep their column words in flight through it (≈ 32 KB a block with popcounts,
  // ≈ 100 KB with the tensor cores): ask for the smallest shared-memory carve-out that holds a
  // block (LOCENT_PIPELINE_CARVEOUT=max: the largest, as the driver would pick). Measured on an
  // H200: +10 % with the tensor cores, no change with popcounts.
  const PipelineKernel kernel = pipeline_kernel(shape_count(shape), pipeline_options(shape));
  {
    static const bool max_carveout = [] {
      const char* value = std::getenv("LOCENT_PIPELINE_CARVEOUT");
      return value != nullptr && std::string(value) == "max";
    }();
    int device = 0, per_sm = 0;
    LOCENT_CUDA_CHECK(cudaGetDevice(&device));
    LOCENT_CUDA_CHECK(
        cudaDeviceGetAttribute(&per_sm, cudaDevAttrMaxSharedMemoryPerMultiprocessor, device));
    cudaFuncAttributes attributes{};
    LOCENT_CUDA_CHECK(cudaFuncGetAttributes(&attributes, kernel));
    const std::size_t need = bytes + attributes.sharedSizeBytes + 1024;  // 1 KB the system's
    const int percent =
        max_carveout ? 100
                     : static_cast<int>(std::min<std::size_t>(
                           100, (100 * need + std::size_t(per_sm) - 1) / std::size_t(per_sm)));
    LOCENT_CUDA_CHECK(
        cudaFuncSetAttribute(kernel, cudaFuncAttributePreferredSharedMemoryCarveout, percent));
  }
  cudaLaunchAttribute attribute{};
  cudaLaunchConfig_t config =
      pipeline_config(batch, shape.members * shape.parts, bytes, &attribute);
  config.stream = stream;
  LOCENT_CUDA_CHECK(cudaLaunchKernelEx(&config, kernel, batch, chunk, args));
  ++launches;
  if (shape.staging_slots > 0) ++staged_launches;
  if (shape.interleaved_move) ++interleaved_launches;
  if (split) ++split_launches;
  if (ordered != nullptr) ++ordered_launches;
  if (!profile) return;
  unsigned long long host[2 * kSlots] = {};
  LOCENT_CUDA_CHECK(cudaMemcpyAsync(host, cycles, sizeof(host), cudaMemcpyDeviceToHost, stream));
  LOCENT_CUDA_CHECK(cudaStreamSynchronize(stream));
  constexpr const char* kCountNames[] = {"popc", "tensor", "staged"};  // by PipelineCount
  std::fprintf(stderr,
               "pipeline profile (%s counts, %s reads, %s move, %d block%s a replica, columns "
               "%s, window %d):",
               kCountNames[shape_count(shape)], shape.spread_reads ? "spread" : "lane-a-member",
               shape.interleaved_move ? "interleaved" : "word-by-word", shape.parts,
               split ? "s" : "", ordered != nullptr ? "in step order" : "by site", args.window);
  for (int row = 0; row < 2; ++row) {
    const unsigned long long* c = host + row * kSlots;
    const double rounds = c[kRounds] > 0 ? double(c[kRounds]) : 1.0;
    std::fprintf(stderr, " %s member: %llu rounds, %llu moves, cycles a round",
                 row ? "last" : "first", c[kRounds], c[kMoves]);
    for (int q = 0; q < kRounds; ++q)
      std::fprintf(stderr, " %s:%.0f", kPhaseNames[q], double(c[q]) / rounds);
    std::fprintf(stderr, row ? "\n" : ";");
    }
}

}  // namespace

void launch_metropolis_pipeline(const MetropolisBatch& batch, const MetropolisChunk& chunk,
                                const PipelineShape& shape, int* restart, cudaStream_t stream) {
  if (shape.members == 0) throw Error("the member pipeline does not apply to this batch");
  if (!shape.ordered_columns) {
    launch_pipeline_kernel(batch, chunk, shape, restart, nullptr, stream);
    return;
  }
  // The columns in step order: a launch a sweep, each after its sweep's copy. A launch's restart
  // flag says 1 (its only sweep): the caller wants the chunk's sweep, s + 1, and later launches
  // must find the flag set (they stop at once and write nothing).
  std::uint32_t* ordered = ordered_buffer(std::size_t(batch.instances) *
                                          std::size_t(batch.sites) *
                                          std::size_t(batch.pattern_words));
  std::vector<int> flags(batch.instances, 0), seen(batch.instances, 0);
  const std::size_t warps = std::size_t(batch.instances) * std::size_t(batch.sites);
  const int threads = 256;
  const unsigned gather_blocks = static_cast<unsigned>((warps * 32 + threads - 1) / threads);
  for (int s = 0; s < chunk.sweeps; ++s) {
    MetropolisChunk one = chunk;
    one.sweeps = 1;
    one.first_sweep = chunk.first_sweep + static_cast<std::uint64_t>(s);
    one.tables = chunk.tables + std::size_t(s) * chunk.table_stride;
    gather_sweep_columns<<<gather_blocks, threads, 0, stream>>>(batch, chunk.seed, one.first_sweep,
                                                                ordered);
    LOCENT_CUDA_CHECK(cudaGetLastError());
    launch_pipeline_kernel(batch, one, shape, restart, ordered, stream);
    LOCENT_CUDA_CHECK(cudaMemcpyAsync(flags.data(), restart, flags.size() * sizeof(int),
                                      cudaMemcpyDeviceToHost, stream));
    LOCENT_CUDA_CHECK(cudaStreamSynchronize(stream));
    bool changed = false;
    for (std::size_t b = 0; b < flags.size(); ++b) {
      if (seen[b] == 0 && flags[b] != 0) {
        seen[b] = s + 1;
        changed = true;
      }
      flags[b] = seen[b];
    }
    if (changed) {
      LOCENT_CUDA_CHECK(cudaMemcpyAsync(restart, flags.data(), flags.size() * sizeof(int),
                                        cudaMemcpyHostToDevice, stream));
      LOCENT_CUDA_CHECK(cudaStreamSynchronize(stream));  // before `flags` is written again
    }
  }
}

}  // namespace locent::cuda

namespace locent {
std::uint64_t cuda_pipeline_launches() { return cuda::launches.load(); }
std::uint64_t cuda_pipeline_staged_launches() { return cuda::staged_launches.load(); }
std::uint64_t cuda_pipeline_interleaved_launches() {
  return cuda::interleaved_launches.load();
}
std::uint64_t cuda_pipeline_split_launches() { return cuda::split_launches.load(); }
std::uint64_t cuda_pipeline_ordered_launches() { return cuda::ordered_launches.load(); }
}  // namespace locent
