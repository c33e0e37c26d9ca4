// CUDA Metropolis in speculative rounds over a thread-block cluster (metropolis_rounds.cuh).
// CPU twin: host/cpu/metropolis_rounds.cpp; the round logic is shared
// (include/locent/metropolis_rounds.hpp).
//
// One cluster of C blocks per instance (C = 1 for batches of instances: a cluster of one). Block
// r holds the 32-bit pattern words [r·S, (r+1)·S) of every replica: both boundary sets in shared
// memory, and their stabilities (32 per word) there too, except in the one-block shape for
// instances too large for four blocks an SM, where they stay in global memory and only accepted
// flips touch them. A round of up to k steps, in the numbered phases of the kernel's body:
//   1. the random words and sites of the steps not yet fetched (up to the ring's size, 2k, from
//      the round's start; 3k in the frontier rounds);
//      meanwhile the last warp reads the weights at the round's sites;
//   2. the column slices of those steps by cp.async into the ring's slots (this round's were
//      requested by an earlier round);
//   3. every (step, replica) item counts |A ∩ col| and |B ∩ col| over the block's slice (and the
//      slice's set sizes), packed two 16-bit counts to a word;
//   4. each block pushes its record into every block's shared memory (16-byte stores through
//      distributed shared memory), then the round's one cluster barrier;
//   5. every block sums the C records into each item's ΔE;
//   6. every block decides the round, identically (decide_round_masked: tentative decisions one
//      per lane of warp 0, then a walk over the acceptances), on its own copy of the weights so
//      that no block reads what another writes;
//   7. the accepted replicas (at most one flip each per round; two in the longer rounds, 6b–6d
//      below) move their slice.
// The lean kernels (kLean below) do phases 1 and 2 inside phase 4, between their arrival at the
// cluster barrier and their wait, for the rounds after a launch's first. The frontier kernels
// (kFrontier, metropolis_frontier.hpp) keep each member at its own position: a round's steps are
// the window from the last member to k past the first, each replica counts its own k steps, and
// phase 6 walks the members one after the other.
// The end of a sweep (centre errors, trace record) splits the patterns over the blocks and
// gathers the partial sums the same way. Block 0 keeps the batch's own weights, site sums,
// counters and trace; the other blocks' copies are discarded at the end of the launch.
#include <cooperative_groups.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "kernels/cuda_check.cuh"
#include "kernels/device_util.cuh"
#include "kernels/metropolis_pipeline.cuh"
#include "kernels/metropolis_rounds.cuh"
#include "locent/metropolis_frontier.hpp"
#include "locent/metropolis_rounds.hpp"
#include "locent/metropolis_rules.hpp"
#include "locent/rng.hpp"

namespace locent::cuda {
namespace {

namespace cg = cooperative_groups;

constexpr int kMaxCluster = 16;
constexpr int kClusterWarps = 16;  // a block of a cluster: one per SM, the SM's 512 threads
constexpr int kBatchWarps = 4;     // one block per instance, four blocks an SM
constexpr int kMaxSliceWords = 2047;  // 32·S local counts fit in 16 bits

struct RoundsArgs {
  int cluster, slice_words, round_steps;  // round_steps: the most (the ring holds twice that)
  bool adaptive, parallel_decisions, table_in_shared;
  // Diagnostics: the counts and the sums (phases 3 and 5) run a second time each round and are
  // timed apart (LOCENT_ROUNDS_PROFILE=2): the second run finds its code and data warm.
  bool repeat_phases;
  // The longer rounds' kernels (LOCENT_ROUNDS_LONGER=n): at most n parts a round after the plain
  // decisions, each with one more cluster barrier.
  int extensions;
  // The frontier rounds' kernels (LOCENT_ROUNDS_FRONTIER=1): set for an instance where a replica
  // reached zero energy; the launch then takes the chunk again in the lean rounds.
  int* restart;
  std::uint32_t* rank_words;
  std::size_t rank_stride;
  // Diagnostics (LOCENT_ROUNDS_PROFILE): thread 0 of the first instance's block 0 adds up the
  // cycles of each phase (as seen past the barrier that ends it) and counts the rounds.
  unsigned long long* phase_cycles;  // kPhaseSlots entries, or null
};
constexpr int kPhases = 8;                // 1–7 of a round, 8: the end of a sweep
constexpr int kRounds = kPhases;          // the slot counting the rounds
constexpr int kRepeatCounts = kPhases + 1, kRepeatSums = kPhases + 2;  // phases 3 and 5 again
constexpr int kSecondOrder = kPhases + 3;  // the longer rounds' second part (6b–6d)
constexpr int kPhaseSlots = kPhases + 4;

// Words of one block's record: k·y packed hit counts, then y packed set sizes, padded to 16 bytes.
__host__ __device__ inline int record_words(int k, int y) { return ((k + 1) * y + 3) / 4 * 4; }
// The longer rounds' second record: for replica a that moved and each later step l < k, two words
// at 2(a·(k + 1) + l) (the three-way count's two parts, the first-order count of C or D), and at
// l = k the counts of C and D in the moved step's column and in the slice.
__host__ __device__ inline int second_record_words(int k, int y) {
  return (2 * y * (k + 1) + 3) / 4 * 4;
}
__host__ __device__ inline int reduce_stride(int y) { return 3 * y; }

// The carve-up of dynamic shared memory, in bytes from the start; the same on host and device.
struct SharedLayout {
  std::size_t stabilities, set_a, set_b, set_c, set_d, ring, random, sites, stage, exchange,
      stage2, exchange2, hits, second, delta, steps, flips, centre_steps, energy, reduce, local,
      positions, starts, masks, repeated_words, table, bytes;
  __host__ __device__ SharedLayout(int y, int cluster, int slice, int k, int slot_stride,
                                   bool shared_stabilities, std::size_t table_words, bool twice,
                                   bool frontier) {
    std::size_t at = 0;
    auto take = [&at](std::size_t size, std::size_t align) {
      at = (at + align - 1) / align * align;
      const std::size_t here = at;
      at += size;
      return here;
    };
    // The frontier rounds' window: member 0 at most 2k steps ahead of the last, k more counted.
    const int ring_slots = frontier ? 3 * k : 2 * k;
    const int rec = record_words(k, y);
    exchange = take(sizeof(std::uint32_t) * 2 * cluster * rec, 16);
    stage = take(sizeof(std::uint32_t) * rec, 16);
    reduce = take(sizeof(unsigned long long) * cluster * reduce_stride(y), 8);
    local = take(sizeof(unsigned long long) * reduce_stride(y), 8);
    energy = take(sizeof(std::int64_t) * y, 8);
    stabilities = take(shared_stabilities ? sizeof(std::int32_t) * y * 32 * slice : 0, 16);
    set_a = take(sizeof(std::uint32_t) * y * slice, 16);
    set_b = take(sizeof(std::uint32_t) * y * slice, 16);
    // The longer rounds: the outer sets C and D, the second records (two buffers), the round's
    // hit totals (2 ints an item, then the set sizes), and the second-order terms (y·k sums,
    // then two sizes a replica).
    const int rec2 = twice ? second_record_words(k, y) : 0;
    set_c = take(twice ? sizeof(std::uint32_t) * y * slice : 0, 16);
    set_d = take(twice ? sizeof(std::uint32_t) * y * slice : 0, 16);
    exchange2 = take(sizeof(std::uint32_t) * 2 * cluster * rec2, 16);
    stage2 = take(sizeof(std::uint32_t) * rec2, 16);
    hits = take(twice ? sizeof(int) * 2 * (k + 1) * y : 0, 4);
    second = take(twice ? sizeof(int) * (y * k + 2 * y) : 0, 4);
    ring = take(sizeof(std::uint32_t) * ring_slots * slice, 16);
    random = take(sizeof(std::uint32_t) * ring_slots * slot_stride, 4);
    sites = take(sizeof(int) * ring_slots, 4);
    delta = take(sizeof(int) * k * y, 4);
    steps = take(sizeof(RoundStep) * (frontier ? ring_slots : k), 4);
    flips = take(sizeof(RoundFlip) * 2 * y, 4);  // two a replica in the longer rounds
    centre_steps = take(sizeof(int) * k, 4);
    // The frontier rounds: each member's position and tentative decisions, the window's repeated
    // sites (four words of bits).
    positions = take(frontier ? sizeof(int) * (y + 1) : 0, 4);
    starts = take(frontier ? sizeof(int) * (y + 1) : 0, 4);
    masks = take(frontier ? sizeof(std::uint32_t) * (y + 1) : 0, 4);
    repeated_words = take(frontier ? sizeof(std::uint32_t) * 4 : 0, 16);
    table = take(sizeof(std::uint32_t) * table_words, 16);
    bytes = at;
  }
};


// kWarps warps a block; the stabilities in shared memory (kSharedStabilities) or left in global
// memory, where only accepted flips touch them (instances too large for several blocks an SM).
// 512 threads an SM at most, so that each thread may have 128 registers.
// kLean (LOCENT_ROUNDS_LEAN=1, not yet run on hardware, so not the default): the counts four
// items a warp at a time with the slice's set sizes as y more items (one warp reduction per four
// items instead of one per item, no run-time division), rounds of up to 128 proposals decided in
// parallel (four tentative decisions a lane), the ring's next steps (random words, sites,
// column copies) drawn while the round's cluster barrier is pending, the moves one flip at a
// time (no division per word), the accepted flips' site-sum updates as reductions that thread 0 does not wait for, and
// less code in the round's loop (no run-time modulo of the ring or 64-bit division of step
// numbers, loops not unrolled where they run once). The same trajectory, bit for bit.
// kVariant: 0 the default kernels, 1 the lean ones (kLean), 2 the lean ones with the longer
// rounds (kTwice: LOCENT_ROUNDS_LONGER=n), 3 the lean ones with the frontier rounds (kFrontier:
// LOCENT_ROUNDS_FRONTIER=1), 4 both (the longer frontier rounds), each a kernel of its own so
// that its code costs the others no registers. Variants 2 to 4 have not yet run on hardware.
enum RoundsVariant {
  kDefaultRounds = 0,
  kLeanRounds = 1,
  kLongerRounds = 2,
  kFrontierRounds = 3,
  kFrontierLongerRounds = 4
};
template <int kWarps, bool kSharedStabilities, int kVariant>
__global__ void __launch_bounds__(32 * kWarps, 16 / kWarps)
    metropolis_rounds_kernel(MetropolisBatch bt, MetropolisChunk ch, RoundsArgs ra) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  constexpr bool kLean = kVariant >= kLeanRounds;
  constexpr bool kTwice = kVariant == kLongerRounds || kVariant == kFrontierLongerRounds;
  constexpr bool kFrontier = kVariant == kFrontierRounds || kVariant == kFrontierLongerRounds;
  static_assert(!kTwice || kLean, "a replica's two flips need the lean kernels' moves");
  extern __shared__ __align__(16) unsigned char smem[];
  __shared__ int ctrl_flips, ctrl_next_step, ctrl_next_replica, ctrl_solved_by;
  __shared__ std::uint32_t ctrl_extend;  // the longer rounds: replicas whose terms come next
  __shared__ int stop;
  __shared__ int round_k;  // the steps of this sweep's rounds (≤ k)
  cg::cluster_group cluster = cg::this_cluster();

  const int C = ra.cluster, S = ra.slice_words, k = ra.round_steps, ring = kFrontier ? 3 * k : 2 * k;
  const int rank = static_cast<int>(cluster.block_rank());
  const int b = blockIdx.x / C;
  InstanceStatus* status = bt.status + b;
  if (status->solved) return;  // the same for every block of the cluster

  const int n = bt.sites, p = bt.patterns, y = bt.replicas;
  const int rw = bt.input_words, nw = bt.weight_words, pw = bt.pattern_words;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, warps = blockDim.x >> 5;
  const int threads = blockDim.x;
  const bool traced = !bt.explicit_centre, flips = bt.flip_energy;
  const std::uint32_t instance = bt.instance_ids[b];
  const int groups = (step_slots(y, !traced) + 3) / 4, slot_stride = 4 * groups;
  const int rec = record_words(k, y), red = reduce_stride(y);
  const int w_lo = rank * S, words = max(0, min(pw, w_lo + S) - w_lo);
  const int mu_lo = 32 * w_lo, slice_patterns = 32 * S;

  const int rec2 = kTwice ? second_record_words(k, y) : 0;  // the longer rounds
  const SharedLayout lay(y, C, S, k, slot_stride, kSharedStabilities,
                         ra.table_in_shared ? ch.table_stride : 0, kTwice, kFrontier);
  std::uint32_t* exchange = reinterpret_cast<std::uint32_t*>(smem + lay.exchange);
  std::uint32_t* stage = reinterpret_cast<std::uint32_t*>(smem + lay.stage);
  unsigned long long* reduce = reinterpret_cast<unsigned long long*>(smem + lay.reduce);
  unsigned long long* local = reinterpret_cast<unsigned long long*>(smem + lay.local);
  std::int64_t* energy = reinterpret_cast<std::int64_t*>(smem + lay.energy);
  // Replica a's stability of local pattern m (mu_lo + m) is st[a · st_stride + m].
  std::int32_t* const global_stab = bt.stabilities + std::size_t(b) * y * p;
  std::int32_t* const st = kSharedStabilities
                               ? reinterpret_cast<std::int32_t*>(smem + lay.stabilities)
                               : global_stab + mu_lo;
  const int st_stride = kSharedStabilities ? slice_patterns : p;
  std::uint32_t* sa = reinterpret_cast<std::uint32_t*>(smem + lay.set_a);
  std::uint32_t* sb = reinterpret_cast<std::uint32_t*>(smem + lay.set_b);
  std::uint32_t* sc = reinterpret_cast<std::uint32_t*>(smem + lay.set_c);  // the longer rounds'
  std::uint32_t* sd = reinterpret_cast<std::uint32_t*>(smem + lay.set_d);
  std::uint32_t* stage2 = reinterpret_cast<std::uint32_t*>(smem + lay.stage2);
  std::uint32_t* exchange2 = reinterpret_cast<std::uint32_t*>(smem + lay.exchange2);
  int* hits = reinterpret_cast<int*>(smem + lay.hits);  // item e: |A ∩ col| at 2e, |B ∩ col| at 2e + 1
  int* second_sums = reinterpret_cast<int*>(smem + lay.second);  // replica a, step l: a·k + l
  int* second_sizes = second_sums + y * k;                       // |A'| at 2a, |B'| at 2a + 1
  // The frontier rounds: member a's position (step of the sweep), its tentative decisions (bit t:
  // step position + t), the window's repeated sites (bit t: step base + t; zero between rounds).
  int* positions = reinterpret_cast<int*>(smem + lay.positions);
  int* starts = reinterpret_cast<int*>(smem + lay.starts);  // positions at the round's start
  std::uint32_t* masks = reinterpret_cast<std::uint32_t*>(smem + lay.masks);
  std::uint32_t* repeated_words = reinterpret_cast<std::uint32_t*>(smem + lay.repeated_words);
  const int members = traced ? y : y + 1, last_member = members - 1;
  __shared__ int restart;  // the frontier rounds: a replica reached zero energy
  std::uint32_t* cols = reinterpret_cast<std::uint32_t*>(smem + lay.ring);
  std::uint32_t* random = reinterpret_cast<std::uint32_t*>(smem + lay.random);
  int* sites = reinterpret_cast<int*>(smem + lay.sites);
  int* delta = reinterpret_cast<int*>(smem + lay.delta);
  RoundStep* steps = reinterpret_cast<RoundStep*>(smem + lay.steps);
  RoundFlip* flip_list = reinterpret_cast<RoundFlip*>(smem + lay.flips);
  int* centre_steps = reinterpret_cast<int*>(smem + lay.centre_steps);
  std::uint32_t* shared_table = reinterpret_cast<std::uint32_t*>(smem + lay.table);

  const std::uint32_t* columns = bt.columns + std::size_t(b) * bt.inputs * pw;
  const std::uint32_t* rows = bt.rows + std::size_t(b) * p * rw;
  std::uint32_t* batch_weights = bt.weights + std::size_t(b) * y * nw;
  std::uint32_t* batch_centre = bt.centre ? bt.centre + std::size_t(b) * nw : nullptr;
  std::int32_t* site_sums = bt.site_sums + std::size_t(b) * n;
  std::uint32_t* global_set_a = bt.set_a + std::size_t(b) * y * pw;
  std::uint32_t* global_set_b = bt.set_b + std::size_t(b) * y * pw;
  // This block's weights: block 0 works on the batch's own, the others on private copies (then
  // the private centre, then every block's scratch for the centre bits at sweep ends).
  std::uint32_t* own = ra.rank_words + (std::size_t(b) * C + rank) * ra.rank_stride;
  std::uint32_t* weights = rank == 0 ? batch_weights : own;
  std::uint32_t* centre = rank == 0 ? batch_centre : own + std::size_t(y) * nw;
  std::uint32_t* scratch = own + std::size_t(y + 1) * nw;

  // Load: private copies, this block's slices, the energies.
  if (rank != 0) {
    for (int w = tid; w < y * nw; w += threads) weights[w] = batch_weights[w];
    if (!traced)
      for (int w = tid; w < nw; w += threads) centre[w] = batch_centre[w];
  }
  if (kSharedStabilities)
    for (int e = tid; e < y * slice_patterns; e += threads) {
      const int a = e / slice_patterns, mu = mu_lo + e % slice_patterns;
      st[e] = mu < p ? global_stab[std::size_t(a) * p + mu] : 0;
    }
  for (int e = tid; e < y * S; e += threads) {
    const int a = e / S, w = e % S;
    sa[e] = w < words ? global_set_a[a * pw + w_lo + w] : 0u;
    sb[e] = w < words ? global_set_b[a * pw + w_lo + w] : 0u;
  }
  if (tid < y) energy[tid] = bt.energy[std::size_t(b) * y + tid];
  if (tid == 0) stop = 0;
  if (tid == 0) {
    restart = 0;
    ctrl_solved_by = -1;  // set with every solve but the frontier rounds' restart
  }
  if (kFrontier && tid < 4) repeated_words[tid] = 0;
  std::uint64_t proposals = status->proposals, accepted = status->accepted;  // thread 0's
  int solved_by = -1;
  cluster.sync();  // every block of the cluster exists before any touches another's memory
  if constexpr (kTwice) {  // the outer sets C and D, from the stabilities (read by no phase before 6b)
    for (int item = warp; item < y * S; item += warps) {
      const int a = item / S, w = item - a * S;
      const bool live = w < words && mu_lo + 32 * w + lane < p;
      const int d = live ? st[a * st_stride + 32 * w + lane] : 0;
      const std::uint32_t bc = __ballot_sync(0xffffffffu, live && in_set_c(d, flips));
      const std::uint32_t bd = __ballot_sync(0xffffffffu, live && in_set_d(d, flips));
      if (lane == 0) {
        sc[item] = bc;
        sd[item] = bd;
      }
    }
  }
  // Totals in shared memory, not registers: the kernel is at its register limit.
  __shared__ unsigned long long phase_cycles[kPhaseSlots];
  const bool timed = ra.phase_cycles != nullptr && b == 0 && rank == 0 && tid == 0;
  if (timed)
    for (int q = 0; q < kPhaseSlots; ++q) phase_cycles[q] = 0;
  long long phase_start = clock64();
  const auto phase_done = [&](int phase) {
    if (!timed) return;
    const long long now = clock64();
    phase_cycles[phase] += static_cast<unsigned long long>(now - phase_start);
    phase_start = now;
  };
  // A phase's body and its block barrier, then its time; with LOCENT_ROUNDS_PROFILE=2 the body
  // runs again (the same code, not a second copy) and that run is timed apart in `repeat_slot`.
  const auto run_phase = [&](const auto& body, int phase, int repeat_slot) {
    for (int pass = 0; pass < (ra.repeat_phases ? 2 : 1); ++pass) {
      const long long before = clock64();
      body();
      __syncthreads();
      if (pass == 0) phase_done(phase);
      if (pass == 1 && timed)
        phase_cycles[repeat_slot] += static_cast<unsigned long long>(clock64() - before);
    }
    if (ra.repeat_phases) phase_start = clock64();
  };

  const std::uint64_t n64 = static_cast<std::uint64_t>(n);
  std::uint64_t loaded = 0;  // steps (from the launch's first) whose words and columns are requested
  // The lean kernels keep the ring slots and sweep positions up to date instead of dividing
  // 64-bit step numbers: the round's first step's slot (g mod 2k), and `loaded` as its slot, its
  // sweep (from the launch's first) and its position in that sweep.
  int lean_g_slot = 0, loaded_slot = 0, loaded_position = 0, loaded_sweep = 0;
  int buffer = 0;
  // Thread 0's counters at the start of the previous sweep (the chain's start at first).
  std::uint64_t proposals_before = 0, accepted_before = 0;
  for (int s = 0; s < ch.sweeps && !stop; ++s) {
    const std::uint64_t sweep = ch.first_sweep + s;
    const std::uint32_t* table = ch.tables + s * ch.table_stride;
    if (ra.table_in_shared) {
      for (std::size_t e = tid; e < ch.table_stride; e += threads) shared_table[e] = table[e];
      table = shared_table;
    }
    // The sweep's round length, from the last sweep's acceptance (the same in every block: the
    // same counters, the same arithmetic). Any length gives the same trajectory: the ring's
    // 2k slots stay ahead of every round of at most k steps.
    if (tid == 0) {
      const std::uint64_t sweep_accepted = accepted - accepted_before;
      const std::uint64_t sweep_proposals = proposals - proposals_before;
      // The frontier rounds count k steps a replica: a walk ends at its own replica's move.
      round_k = !ra.adaptive || kFrontier ? k
                : kTwice ? adaptive_round_steps_twice(sweep_accepted, sweep_proposals, y, k)
                         : adaptive_round_steps(sweep_accepted, sweep_proposals, y, k);
      proposals_before = proposals;
      accepted_before = accepted;
      if constexpr (kFrontier)
        for (int a = 0; a < members; ++a) positions[a] = 0;
    }
    __syncthreads();
    const ThresholdView view{table, ch.half_width, ch.coupling_states};

    int step = 0, first_replica = 0;  // the frontier rounds: step is the window's base
    while (step < n) {
      // The frontier rounds' window [step, end): from the last member to k past the first.
      const int end = kFrontier ? min(n, positions[0] + k) : 0;
      const int count = kFrontier ? end - step : min(round_k, n - step);
      const std::uint64_t g = std::uint64_t(s) * n64 + step;  // the round's first step
      const int g_slot = kLean ? lean_g_slot : static_cast<int>(g % ring);  // its slot in the ring

      // 1. Random words and sites of the steps [loaded, g + 2k); meanwhile, except in a launch's
      // first round (whose sites are drawn here), the last warp reads the weights at the
      // round's sites, so that this global-memory latency overlaps the Philox rounds.
      const bool first_round = loaded == 0;
      const int fresh = static_cast<int>(g + ring - loaded);
      // Step j's slot in the ring (j < ring: one subtraction instead of a run-time modulo).
      const auto slot_of = [&](int j) {
        if constexpr (kLean) {
          const int slot = g_slot + j;
          return slot >= ring ? slot - ring : slot;
        } else {
          return (g_slot + j) % ring;
        }
      };
      const auto read_step = [&](int j) {
        const int i = sites[slot_of(j)];
        // The replicas' words eight at a time, all in flight before the first is used (one at a
        // time, each waited out an L2 round trip: disassembly), the centre's with them.
        const std::uint32_t* at = weights + (i >> 5);
        const std::uint32_t centre_word = traced ? 0u : centre[i >> 5];
        std::uint32_t plus = 0;
#pragma unroll 1
        for (int a0 = 0; a0 < y; a0 += 8) {
          std::uint32_t word[8];
#pragma unroll
          for (int u = 0; u < 8; ++u) word[u] = a0 + u < y ? at[(a0 + u) * nw] : 0u;
#pragma unroll
          for (int u = 0; u < 8; ++u) plus |= ((word[u] >> (i & 31)) & 1u) << (a0 + u);
        }
        steps[j] = RoundStep{i, plus, !traced && ((centre_word >> (i & 31)) & 1u)};
      };
      // The ring's fresh steps [loaded, g + 2k): their random words and sites (draw_fresh),
      // then, after a block barrier, their column slices as one cp.async group (copy_fresh).
      // Their slots are those of the steps before g, which no phase of this round reads.
      const auto draw_fresh = [&]() {
        for (int e = tid; e < fresh * groups; e += threads) {
          std::uint64_t gs;  // step loaded + e / groups: its sweep and position, its ring slot
          std::uint32_t position;
          int group, slot;
          if constexpr (kLean) {
            const int ahead = e / groups;  // < ring
            group = e - ahead * groups;
            slot = loaded_slot + ahead;
            if (slot >= ring) slot -= ring;
            int at = loaded_position + ahead, sweeps_on = loaded_sweep;
            while (at >= n) {  // more than once only when the ring is longer than N
              at -= n;
              ++sweeps_on;
            }
            gs = ch.first_sweep + sweeps_on;
            position = static_cast<std::uint32_t>(at);
          } else {
            const std::uint64_t gg = loaded + e / groups;
            group = e % groups;
            slot = static_cast<int>(gg % ring);
            gs = ch.first_sweep + gg / n64;
            position = static_cast<std::uint32_t>(gg % n64);
          }
          const PhiloxBlock blk = philox_block(ch.seed, Purpose::metropolis, instance,
                                               static_cast<std::uint32_t>(gs), position, group);
          for (int q = 0; q < 4; ++q) random[slot * slot_stride + 4 * group + q] = blk.v[q];
          if (group == 0) sites[slot] = static_cast<int>(uniform_below(blk.v[site_slot()], n));
        }
      };
      const auto copy_fresh = [&]() {
        for (int e = tid; e < fresh * words; e += threads) {
          const int ahead = e / words, w = e - ahead * words;
          int slot;
          if constexpr (kLean) {
            slot = loaded_slot + ahead;
            if (slot >= ring) slot -= ring;
          } else {
            slot = static_cast<int>((loaded + ahead) % ring);
          }
          copy_4_bytes(cols + slot * S + w, columns + std::size_t(sites[slot]) * pw + w_lo + w);
        }
        commit_copies();
        loaded = g + ring;
        if constexpr (kLean) {  // g + ring: the same slot as g, a ring further in the sweeps
          loaded_slot = g_slot;
          loaded_position = step + ring;
          loaded_sweep = s;
          while (loaded_position >= n) {
            loaded_position -= n;
            ++loaded_sweep;
          }
        }
      };
      // The lean kernels fill the ring while the round's cluster barrier is pending (phase 4),
      // except in a launch's first round, whose own steps come from this fill.
      const bool fill_here = !kLean || first_round;
      if (!first_round && warp == warps - 1)
        for (int j = lane; j < count; j += 32) read_step(j);
      if (fill_here) draw_fresh();
      __syncthreads();
      phase_done(0);
      // 2. Their column slices, one cp.async group per round: the slices of this round's steps
      // were requested by an earlier round (all but the newest group complete; in the lean
      // kernels the newest group, requested during the last round's phase 4, is waited for),
      // except at the first round of the launch.
      if (fill_here) {
        copy_fresh();
        if (first_round)
          wait_copies<0>();
        else
          wait_copies<1>();
      } else {
        wait_copies<0>();
      }
      if (first_round)
        for (int j = tid; j < count; j += threads) read_step(j);
      __syncthreads();
      phase_done(1);

      // 3. This block's counts: (step, replica) items over the warps.
      const auto count_phase = [&]() {
        if constexpr (kLean) {
          // Items j·y + a for j < count, then y items (j = count) for the set sizes, which
          // count against an all-ones column; four items a warp at a time, j = item / y by a
          // multiply (exact for y ≤ 32 and items < 2048).
          constexpr int kItems = 4;
          static_assert((kMaxRoundSteps + 1) * 32 < 2048, "j = item / y by a multiply needs items < 2048");
          // The frontier rounds: k items a replica, item (j, a) at the replica's own step
          // positions[a] + j (none past the sweep's end).
          const int counted = kFrontier ? k : count;
          const int items = (counted + 1) * y, inverse_y = (65536 + y - 1) / y;
          for (int base = warp; base < items; base += kItems * warps) {
            const std::uint32_t* col[kItems];
            const std::uint32_t* set_a[kItems];
            const std::uint32_t* set_b[kItems];
            std::uint32_t all[kItems];  // ~0: a set-size item
            int ha[kItems], hb[kItems], at[kItems];
#pragma unroll
            for (int u = 0; u < kItems; ++u) {
              const int item = min(base + u * warps, items - 1);  // past the end: redone, not kept
              const int j = (item * inverse_y) >> 16, a = item - j * y;
              const bool sizes = j >= counted;
              int at_step = j;  // the item's step, from the window's base
              bool live = !sizes;
              if constexpr (kFrontier) {
                at_step = positions[a] - step + j;  // < 3k = ring
                live = live && positions[a] + j < n;
              }
              int slot = g_slot + at_step;
              if (slot >= ring) slot -= ring;
              col[u] = cols + (live ? slot : g_slot) * S;
              all[u] = sizes ? ~0u : 0u;
              set_a[u] = sa + a * S;
              set_b[u] = sb + a * S;
              at[u] = sizes ? k * y + a : item;
              ha[u] = hb[u] = 0;
            }
            for (int w = lane; w < words; w += 32) {
#pragma unroll
              for (int u = 0; u < kItems; ++u) {
                const std::uint32_t x = col[u][w] | all[u];
                ha[u] += __popc(set_a[u][w] & x);
                hb[u] += __popc(set_b[u][w] & x);
              }
            }
#pragma unroll
            for (int u = 0; u < kItems; ++u) {
              ha[u] = warp_sum(ha[u]);
              hb[u] = warp_sum(hb[u]);
            }
            if (lane == 0)
#pragma unroll
              for (int u = 0; u < kItems; ++u)
                if (base + u * warps < items) stage[at[u]] = std::uint32_t(ha[u]) | std::uint32_t(hb[u]) << 16;
          }
        } else {
          for (int item = warp; item < count * y; item += warps) {
            const int j = item / y, a = item - j * y;
            const std::uint32_t* col = cols + ((g_slot + j) % ring) * S;
            const std::uint32_t* set_a = sa + a * S;
            const std::uint32_t* set_b = sb + a * S;
            int ha = 0, hb = 0, za = 0, zb = 0;
            if (j == 0) {  // the same for the whole warp: the slice's set sizes as well
              for (int w = lane; w < words; w += 32) {
                const std::uint32_t x = col[w], wa = set_a[w], wb = set_b[w];
                ha += __popc(wa & x);
                hb += __popc(wb & x);
                za += __popc(wa);
                zb += __popc(wb);
              }
              za = warp_sum(za);
              zb = warp_sum(zb);
            } else {
              for (int w = lane; w < words; w += 32) {
                const std::uint32_t x = col[w];
                ha += __popc(set_a[w] & x);
                hb += __popc(set_b[w] & x);
              }
            }
            ha = warp_sum(ha);
            hb = warp_sum(hb);
            if (lane == 0) {
              stage[j * y + a] = std::uint32_t(ha) | std::uint32_t(hb) << 16;
              if (j == 0) stage[k * y + a] = std::uint32_t(za) | std::uint32_t(zb) << 16;
            }
          }
        }
      };
      if constexpr (kFrontier) {
        // The window's repeated sites (frontier_step_safe), before the counts' barrier: job
        // (word, quarter) compares the steps 32·word + lane with the steps 32·quarter ..
        // 32·quarter + 31 (count ≤ 3k ≤ 96 < 128), sixteen jobs over the warps; thread 0 sets
        // the words back to zero once it has read them.
        for (int job = warp; job < 16; job += warps) {
          const int word = job & 3, quarter = job >> 2;
          const int t = 32 * word + lane, m_end = min(count, 32 * quarter + 32);
          bool again = false;
          if (t < count) {
            const int site = steps[t].site;
            for (int m = 32 * quarter; m < m_end; ++m) again |= m != t && steps[m].site == site;
          }
          const std::uint32_t bits = __ballot_sync(0xffffffffu, again);
          if (lane == 0 && bits != 0) atomicOr(&repeated_words[word], bits);
        }
      }
      run_phase(count_phase, 2, kRepeatCounts);
      // 4. The record to every block of the cluster, then the round's barrier.
      {
        const int vectors = rec / 4;
        const uint4* from = reinterpret_cast<const uint4*>(stage);
        for (int e = tid; e < C * vectors; e += threads) {
          const int dst = e / vectors, v = e % vectors;
          uint4* own = reinterpret_cast<uint4*>(exchange + (std::size_t(buffer) * C + rank) * rec);
          uint4* to = C == 1 ? own : cluster.map_shared_rank(own, dst);
          to[v] = from[v];
        }
      }
      if (kLean && !first_round) {  // the ring's fill in the barrier's shadow (sync() split)
        auto arrived = cluster.barrier_arrive();
        draw_fresh();
        __syncthreads();
        copy_fresh();
        cluster.barrier_wait(std::move(arrived));
      } else if (C == 1) {
        // A cluster of one: a block barrier, not the cluster barrier's GPU-scope fence and L1
        // invalidation (disassembly).
        __syncthreads();
      } else {
        cluster.sync();
      }
      phase_done(3);

      // 5. Totals and ΔE of every (step, replica).
      const auto sum_phase = [&]() {
        const std::uint32_t* records = exchange + std::size_t(buffer) * C * rec;
        for (int e = tid; e < (kFrontier ? k : count) * y; e += threads) {
          const int j = e / y, a = e - j * y;
          int at_step = j;  // the item's step, from the window's base
          if constexpr (kFrontier) {
            if (positions[a] + j >= n) continue;
            at_step = positions[a] - step + j;
          }
          int ha = 0, hb = 0, za = 0, zb = 0;
          for (int r = 0; r < C; ++r) {
            const std::uint32_t h = records[r * rec + j * y + a];
            const std::uint32_t z = records[r * rec + k * y + a];
            ha += h & 0xffffu;
            hb += h >> 16;
            za += z & 0xffffu;
            zb += z >> 16;
          }
          delta[e] = flip_delta_energy((steps[at_step].replica_plus >> a) & 1u, ha, hb, za, zb);
          if constexpr (kTwice) {  // the totals, for the second-order rule
            hits[2 * e] = ha;
            hits[2 * e + 1] = hb;
            if (j == 0) {
              hits[2 * (k * y + a)] = za;
              hits[2 * (k * y + a) + 1] = zb;
            }
          }
        }
      };
      run_phase(sum_phase, 4, kRepeatSums);
      buffer ^= 1;

      // 6. The decisions, in the chain's order; every block takes the same ones. Warp 0 takes
      // every proposal's tentative decision at once (up to two a lane, four in the lean
      // kernels), thread 0 walks from acceptance to acceptance (decide_round_masked); rounds of
      // more than 64 proposals (128 lean), or with parallel decisions off, are decided one
      // proposal after the other.
      const auto random_at = [&](int j, std::uint32_t slot) {
        return random[slot_of(j) * slot_stride + slot];
      };
      // The longer rounds' second-order records (phases 6b–6d, global and frontier alike).
      // Replica a's record slot r (two words, stage2[2(a·(k + 1) + r)]), counted by one warp
      // from its move's column col_j and a later step's column col_l: the three-way count's two
      // parts over col_j ∩ col_l (second_order_u, _v) and |C ∩ col_l| (moved from −1) or
      // |D ∩ col_l| (from +1); with col_l null (r = k), |C ∩ col_j|, |D ∩ col_j|, |C|, |D|.
      const auto count_second_item = [&](int a, bool was_plus, const std::uint32_t* col_j,
                                         const std::uint32_t* col_l, int r) {
        const std::uint32_t* set_a = sa + a * S;
        const std::uint32_t* set_b = sb + a * S;
        const std::uint32_t* set_c = sc + a * S;
        const std::uint32_t* set_d = sd + a * S;
        int x0 = 0, x1 = 0, x2 = 0, x3 = 0;
        if (col_l != nullptr) {
          const std::uint32_t* outer = was_plus ? set_d : set_c;
          for (int w = lane; w < words; w += 32) {
            const std::uint32_t both = col_j[w] & col_l[w];
            const std::uint32_t wa = set_a[w], wb = set_b[w], wc = set_c[w], wd = set_d[w];
            x0 += __popc(both & second_order_u(wa, wb, wc, wd, flips));
            x1 += __popc(both & second_order_v(wa, wb, wc, wd, flips));
            x2 += __popc(col_l[w] & outer[w]);
          }
        } else {
          for (int w = lane; w < words; w += 32) {
            const std::uint32_t wc = set_c[w], wd = set_d[w];
            x0 += __popc(col_j[w] & wc);
            x1 += __popc(col_j[w] & wd);
            x2 += __popc(wc);
            x3 += __popc(wd);
          }
        }
        x0 = warp_sum(x0);
        x1 = warp_sum(x1);
        x2 = warp_sum(x2);
        x3 = warp_sum(x3);
        if (lane == 0) {  // each below 2^16: 32·S ≤ 32·kMaxSliceWords patterns
          const int at = 2 * (a * (k + 1) + r);
          stage2[at] = std::uint32_t(x0) | std::uint32_t(x1) << 16;
          stage2[at + 1] = std::uint32_t(x2) | std::uint32_t(x3) << 16;
        }
      };
      // The block's records to every block of the cluster (6c), into records2.
      const auto push_second_records = [&](std::uint32_t* records2) {
        const int vectors = max(1, rec2 / 4);  // rec2 > 0 wherever it is called
        const uint4* from = reinterpret_cast<const uint4*>(stage2);
        for (int e = tid; e < C * vectors; e += threads) {
          const int dst = e / vectors, v = e - dst * vectors;
          uint4* to = cluster.map_shared_rank(
              reinterpret_cast<uint4*>(records2 + std::size_t(rank) * rec2), dst);
          to[v] = from[v];
        }
      };
      // Replica a's terms from slot r summed over the blocks (6d): with h_l (its first-order
      // counts at the later step), the sum s (second_sums[a·k + r]); without, r = k, the sizes
      // after its move (second_sizes). h_j: its first-order counts at its move.
      const auto second_terms = [&](const std::uint32_t* records2, int a, bool was_plus,
                                    const int* h_j, int r, const int* h_l) {
        const int e = a * (k + 1) + r;
        int x0 = 0, x1 = 0, x2 = 0, x3 = 0;
        for (int b = 0; b < C; ++b) {
          const std::uint32_t v0 = records2[b * rec2 + 2 * e];
          const std::uint32_t v1 = records2[b * rec2 + 2 * e + 1];
          x0 += v0 & 0xffffu;
          x1 += v0 >> 16;
          x2 += v1 & 0xffffu;
          x3 += v1 >> 16;
        }
        if (h_l == nullptr) {
          const int* size = hits + 2 * (k * y + a);  // |A|, |B|
          // x0 = |C ∩ col_j|, x1 = |D ∩ col_j|, x2 = |C|, x3 = |D|
          const SizesAfterFlip after_move =
              sizes_after_flip(was_plus, h_j[0], h_j[1], x0, x1, size[0], size[1], x2, x3);
          second_sizes[2 * a] = after_move.a;
          second_sizes[2 * a + 1] = after_move.b;
        } else {
          second_sums[a * k + r] =
              second_order_sum(was_plus, second_order_q(x0, x1, flips), h_l[0], h_l[1], x2);
        }
      };
      if constexpr (kFrontier) {
        // The frontier rounds (metropolis_frontier.hpp): every member's tentative decisions over
        // its own k steps, a ballot a member and a member a warp, then thread 0 walks the members
        // in the chain's order (frontier_walk_masked), each from its position to at most where
        // the member before it got; member 0 at most 2k steps past the last member (the window's
        // base, `step`). A replica at zero energy stops the launch for a restart.
#pragma unroll 1
        for (int a = warp; a < members; a += warps) {  // a: the same for the whole warp
          const int j = positions[a] + lane;
          const bool accept =
              lane < k && j < end &&
              frontier_tentative(steps, step, j, a, y, traced, a < y ? delta[lane * y + a] : 0,
                                 view, random_at);
          const std::uint32_t bits = __ballot_sync(0xffffffffu, accept);
          if (lane == 0) masks[a] = bits;
        }
        __syncthreads();
        // Thread 0's, across the parts of the longer frontier rounds below.
        ProposalBits touched = 0, repeats = 0;
        int flip_count = 0, centre_count = 0, moved_before = 0;
        bool solved = false;
        if (tid == 0) {
          for (int w = 0; w < 4; ++w) {
            repeats |= ProposalBits(repeated_words[w]) << (32 * w);
            repeated_words[w] = 0;  // for the next round's repeated sites
          }
          for (int a = 0; a < members; ++a) {
            moved_before += positions[a];
            starts[a] = positions[a];  // where each member's counted steps begin
          }
#pragma unroll 1
          for (int a = 0; a < members && !solved; ++a) {
            const int from = positions[a];
            const int bound =
                frontier_bound(a, y, from, k, n, step, 2 * k, a > 0 ? positions[a - 1] : 0);
            const FrontierWalk walk = frontier_walk_masked(
                steps, repeats, step, end, a, last_member, y, traced, from, bound,
                positions[0], delta + (a < y ? a : 0), y, view, random_at, masks[a], touched,
                energy, flip_list, flip_count, centre_steps, centre_count, proposals, accepted);
            positions[a] = walk.position;
            solved = walk.solved;
          }
        }
        if constexpr (kTwice) {
          phase_done(5);  // the first walks; the parts are timed apart (6b–6d)
          // The longer frontier rounds (LOCENT_ROUNDS_FRONTIER with LOCENT_ROUNDS_LONGER): while
          // replicas moved once without terms, their second-order terms, counted (6b) and
          // exchanged (6c) as in the longer rounds, summed by warp 0, which takes every member's
          // tentative decisions from the part's bits (6d), and thread 0 walks the members on
          // (frontier_walk_on_masked); at most ra.extensions parts a round. Item (a, t): replica
          // a's own step starts[a] + t.
          // Replica a's flips among the first `count_of` of flip_list: the first, and how many.
          const auto first_flip = [&](int a, int count_of, int& moves) {
            int first = -1;
            moves = 0;
            for (int f = 0; f < count_of; ++f)
              if (flip_list[f].replica == a) {
                if (moves++ == 0) first = f;
              }
            return first;
          };
          std::uint32_t known = 0;  // the same in every thread
#pragma unroll 1
          for (int part = 0; part < ra.extensions; ++part) {
            if (tid == 0) {
              std::uint32_t extend = 0;
              for (int a = 0; a < y && !solved; ++a) {
                int moves = 0;
                first_flip(a, flip_count, moves);
                if (moves == 1 && !((known >> a) & 1u)) extend |= 1u << a;
              }
              ctrl_extend = extend;
              ctrl_flips = flip_count;
            }
            __syncthreads();
            const std::uint32_t extend = ctrl_extend;
            if (extend == 0) break;
            known |= extend;
            const int flips_so_far = ctrl_flips;
            // 6b. Pair e = f·(k + 1) + t over the warps: the f-th flip, a move of a replica in
            // `extend` at its own step t1, and its later own steps t (t = k: the sizes item).
#pragma unroll 1
            for (int e = warp; e < flips_so_far * (k + 1); e += warps) {
              const int f = e / (k + 1), t = e - f * (k + 1);
              const RoundFlip m = flip_list[f];
              const int a = m.replica;
              if (!((extend >> a) & 1u)) continue;
              const int t1 = m.step - starts[a];
              if (t != k && (t <= t1 || starts[a] + t >= n)) continue;
              count_second_item(a, m.was_plus, cols + slot_of(m.step - step) * S,
                                t != k ? cols + slot_of(starts[a] - step + t) * S : nullptr, t);
            }
            __syncthreads();
            // 6c. The records to every block (two buffers by the part's parity), one more
            // cluster barrier.
            std::uint32_t* records2 = exchange2 + std::size_t(part & 1) * C * rec2;
            push_second_records(records2);
            cluster.sync();
            // 6d. Warp 0: the terms, every member's tentative decisions, thread 0's walks.
            if (warp == 0) {
#pragma unroll 1
              for (int f = 0; f < flips_so_far; ++f) {
                const RoundFlip m = flip_list[f];
                const int a = m.replica;
                if (!((extend >> a) & 1u)) continue;
                const int t1 = m.step - starts[a];
                const int* h_j = hits + 2 * (t1 * y + a);  // |A ∩ col_j|, |B ∩ col_j|
                for (int t = t1 + 1 + lane; t <= k; t += 32) {
                  if (t != k && starts[a] + t >= n) continue;
                  second_terms(records2, a, m.was_plus, h_j, t,
                               t != k ? hits + 2 * (t * y + a) : nullptr);
                }
              }
              __syncwarp();
              // A known replica's ΔE at step l after its own first move.
              const auto after = [&](int, int l, int a, bool, bool l_plus) {
                return delta_energy_after_flip(
                    l_plus, second_sums[a * k + (l - starts[a])],
                    SizesAfterFlip{second_sizes[2 * a], second_sizes[2 * a + 1]});
              };
#pragma unroll 1
              for (int a = 0; a < members; ++a) {
                int moves = 0;
                const int f = a < y ? first_flip(a, flips_so_far, moves) : -1;
                const RoundFlip* first = moves > 0 ? &flip_list[f] : nullptr;
                const bool walks = moves == 0 || (moves == 1 && ((known >> a) & 1u));
                const int j = positions[a] + lane;
                const bool accept =
                    walks && j < min(n, starts[a] + k) && j < end &&
                    frontier_tentative_on(steps, step, j, a, y, traced, starts[a],
                                          delta + (a < y ? a : 0), y, first, after, view,
                                          random_at);
                const std::uint32_t bits = __ballot_sync(0xffffffffu, accept);
                if (lane == 0) masks[a] = bits;
              }
              if (lane == 0) {
#pragma unroll 1
                for (int a = 0; a < members && !solved; ++a) {
                  int moves = 0;
                  const int f = a < y ? first_flip(a, flip_count, moves) : -1;
                  if (moves >= 2) continue;  // stale
                  const RoundFlip* first = moves > 0 ? &flip_list[f] : nullptr;
                  const int from = positions[a];
                  const int bound = frontier_bound(a, y, starts[a], k, n, step, 2 * k,
                                                   a > 0 ? positions[a - 1] : 0);
                  if (bound <= from) continue;
                  const FrontierWalk walk = frontier_walk_on_masked(
                      steps, repeats, step, end, a, last_member, y, traced, starts[a], from,
                      bound, positions[0], delta + (a < y ? a : 0), y, first,
                      ((known >> a) & 1u) != 0, after, view, random_at, masks[a], touched,
                      energy, flip_list, flip_count, centre_steps, centre_count, proposals,
                      accepted);
                  positions[a] = walk.position;
                  solved = walk.solved;
                }
              }
            }
            // thread 0's steps[], flips and positions reach the others at the next barrier
          }
        }
        if (tid == 0) {
          for (int a = 0; a < members; ++a) moved_before -= positions[a];
          // Some member always moves on (host/cpu/metropolis_frontier.cpp); a round that moved
          // nobody would repeat forever: a launch error instead of a hang.
          if (moved_before == 0 && !solved) __trap();
          for (int f = 0; f < flip_count; ++f) {
            RoundFlip& m = flip_list[f];
            m.step -= step;  // from the window's base, as the moves read it
            const int i = steps[m.step].site;
            weights[m.replica * nw + (i >> 5)] ^= 1u << (i & 31);
            if (rank == 0) atomicAdd(&site_sums[i], m.was_plus ? -2 : 2);
          }
          for (int f = 0; f < centre_count; ++f) {
            const int i = steps[centre_steps[f] - step].site;
            centre[i >> 5] ^= 1u << (i & 31);
          }
          ctrl_flips = flip_count;
          ctrl_next_step = positions[last_member] - step;  // the window's base moves on
          ctrl_next_replica = 0;
          if (solved) {
            stop = 1;
            restart = 1;
          }
        }
        __syncthreads();
        phase_done(kTwice ? kSecondOrder : 5);
      } else {
        const int total = count * round_stride(y, traced);
        constexpr int kMasked = kLean ? kMaxMaskedProposals : 64;  // proposals decided in parallel
        const bool masked = ra.parallel_decisions && total <= kMasked;
        using Bits = std::conditional_t<kLean, ProposalBits, std::uint64_t>;  // kMasked bits
        Bits tentative = 0;
        if (warp == 0 && masked) {
#pragma unroll 1
          for (int m = 0; m < kMasked / 32; ++m) {
            const int q = lane + 32 * m;  // first_replica < y ≤ 30 < 32
            const bool accept = q >= first_replica && q < total &&
                                tentative_decision(steps, q, y, traced, delta, view, random_at);
            tentative |= Bits(__ballot_sync(0xffffffffu, accept)) << (32 * m);
          }
        }
        RoundOutcome out;  // thread 0's
        if (tid == 0)
          out = masked ? decide_round_masked(steps, count, first_replica, y, traced, delta, view,
                                             random_at, tentative, energy, flip_list, centre_steps,
                                             proposals, accepted)
                       : decide_round(steps, count, first_replica, y, traced, delta, view, random_at,
                                      energy, flip_list, centre_steps, proposals, accepted);
        if constexpr (kTwice) {
          // The longer rounds. While the decisions stop at the next proposal of a replica that
          // moved once, the rest of the round needs the second-order terms of the replicas that
          // moved (delta_energy_after_flip): counted (6b) and exchanged (6c) like the first counts,
          // then summed by warp 0, which also takes the rest's tentative decisions, and thread 0
          // walks on (6d: continue_round_masked); at most ra.extensions such parts a round.
          // Every block takes the same decisions, so the same branches.
          phase_done(5);
          std::uint32_t known = 0;  // replicas with terms: the same in every thread
#pragma unroll 1
          for (int part = 0; part < ra.extensions; ++part) {
            if (tid == 0) {
              ctrl_extend = replicas_to_extend(out, flip_list, count, known);
              ctrl_flips = out.flips;
              ctrl_next_step = out.next_step;
              ctrl_next_replica = out.next_replica;
            }
            __syncthreads();
            const std::uint32_t extend = ctrl_extend;
            if (extend == 0) break;
            known |= extend;
            // Read here, between barriers: thread 0 writes them again in the next part.
            const int flips_so_far = ctrl_flips;
            const int from = ctrl_next_step * round_stride(y, traced) + ctrl_next_replica;
            // 6b. For each replica a in `extend` (its one move at step j) and each later step l
            // (count_second_item, record slot l; at l = count, slot k, the sizes item): the
            // (flip, l) pairs over the warps, pair e = f·(k + 1) + l, l = k standing for count.
#pragma unroll 1
            for (int e = warp; e < flips_so_far * (k + 1); e += warps) {  // e: the same for the warp
              const int f = e / (k + 1), l_slot = e - f * (k + 1);
              const RoundFlip m = flip_list[f];
              if (!((extend >> m.replica) & 1u)) continue;
              if (l_slot != k && (l_slot <= m.step || l_slot >= count)) continue;
              count_second_item(m.replica, m.was_plus, cols + slot_of(m.step) * S,
                                l_slot != k ? cols + slot_of(l_slot) * S : nullptr, l_slot);
            }
            __syncthreads();
            // 6c. The records to every block, one more cluster barrier. Two buffers, by the part's
            // parity: a block writes a buffer again only after a barrier (the next part's, or
            // the next round's phase 4) that every block reaches after reading it.
            std::uint32_t* records2 = exchange2 + std::size_t(part & 1) * C * rec2;
            push_second_records(records2);
            cluster.sync();
            // 6d. Warp 0 sums the records into each extended replica's terms: the sums s (a·k + l)
            // and the sizes |A'|, |B'| after its move (sizes_after_flip, metropolis_rules.hpp);
            // then the tentative decisions of the rest of the round, and thread 0 walks on.
            if (warp == 0) {
#pragma unroll 1
              for (int f = 0; f < flips_so_far; ++f) {
                const RoundFlip m = flip_list[f];
                if (!((extend >> m.replica) & 1u)) continue;
                const int* h_j = hits + 2 * (m.step * y + m.replica);  // |A ∩ col_j|, |B ∩ col_j|
                for (int l = m.step + 1 + lane; l <= count; l += 32)
                  second_terms(records2, m.replica, m.was_plus, h_j, l < count ? l : k,
                               l < count ? hits + 2 * (l * y + m.replica) : nullptr);
              }
              __syncwarp();
              // A known replica's ΔE at step l after its own first move.
              const auto after = [&](int, int l, int a, bool, bool l_plus) {
                return delta_energy_after_flip(
                    l_plus, second_sums[a * k + l],
                    SizesAfterFlip{second_sizes[2 * a], second_sizes[2 * a + 1]});
              };
              const bool masked_rest = ra.parallel_decisions && total <= kMaxMaskedProposals;
              const RoundMoves moves(flip_list, flips_so_far, known);
              ProposalBits later = 0;
              if (masked_rest) {
#pragma unroll 1
                for (int m = 0; m < kMaxMaskedProposals / 32; ++m) {
                  const int q = lane + 32 * m;
                  const bool accept = q >= from && q < total &&
                                      tentative_decision(steps, q, y, traced, delta, view,
                                                         random_at, &moves, after);
                  later |= ProposalBits(__ballot_sync(0xffffffffu, accept)) << (32 * m);
                }
              }
              if (lane == 0)
                out = masked_rest
                          ? continue_round_masked(steps, count, out, known, y, traced, delta,
                                                  after, view, random_at, later, energy,
                                                  flip_list, centre_steps, proposals, accepted)
                          : continue_round(steps, count, out, known, y, traced, delta, after, view,
                                           random_at, energy, flip_list, centre_steps, proposals,
                                           accepted);
            }
            // thread 0's steps[] and flips reach the other warps at the next part's barrier
          }
        }
        if (tid == 0) {
          for (int f = 0; f < out.flips; ++f) {
            const RoundFlip& m = flip_list[f];
            const int i = steps[m.step].site;
            // Reductions that thread 0 does not wait for: a plain update loads the word first,
            // from L2 (the cluster barrier's L1 invalidation has dropped it), one flip after
            // another (disassembly). This block's own copy of the weights; the site sums are
            // read by nobody before the launch ends.
            atomicXor(&weights[m.replica * nw + (i >> 5)], 1u << (i & 31));
            if (rank == 0) atomicAdd(&site_sums[i], m.was_plus ? -2 : 2);
          }
          for (int f = 0; f < out.centre_flips; ++f) {
            const int i = steps[centre_steps[f]].site;
            atomicXor(&centre[i >> 5], 1u << (i & 31));
          }
          ctrl_flips = out.flips;
          ctrl_next_step = out.next_step;
          ctrl_next_replica = out.next_replica;
          if (out.solved) {
            stop = 1;
            ctrl_solved_by = out.solved_by;
          }
        }
        __syncthreads();
        phase_done(kTwice ? kSecondOrder : 5);
      }

      // 7. The accepted replicas' slices move: stabilities by ±2, sets rebuilt word by word.
      // In the default kernels each flip has its own replica, so the (flip, word) items are
      // independent: a warp takes four at a time, their loads first (the compiler cannot see
      // that the stores leave the other items' loads alone). The lean kernels take one flip
      // after the other, so that a replica's two flips in the longer rounds add up.
      const int moves = ctrl_flips;
      constexpr int kUnroll = 4;
      // A move's word: stability by ±2 where the column drops (or raises) it, then the sets.
      const auto move_word = [&](int replica, int w, int before, bool drops, bool live) {
        bool in_a = false, in_b = false, in_c = false, in_d = false;
        if (live) {
          const int d = before + (drops ? -2 : 2);
          st[replica * st_stride + 32 * w + lane] = d;
          in_a = in_set_a(d, flips);
          in_b = in_set_b(d, flips);
          in_c = kTwice && in_set_c(d, flips);
          in_d = kTwice && in_set_d(d, flips);
        }
        const std::uint32_t ba = __ballot_sync(0xffffffffu, in_a);
        const std::uint32_t bb = __ballot_sync(0xffffffffu, in_b);
        if (lane == 0) {
          sa[replica * S + w] = ba;
          sb[replica * S + w] = bb;
        }
        if constexpr (kTwice) {  // the longer rounds' outer sets
          const std::uint32_t bc = __ballot_sync(0xffffffffu, in_c);
          const std::uint32_t bd = __ballot_sync(0xffffffffu, in_d);
          if (lane == 0) {
            sc[replica * S + w] = bc;
            sd[replica * S + w] = bd;
          }
        }
      };
      if constexpr (kLean) {
        // One flip after the other (rarely more than one a round), four words a warp at a time:
        // no division per item.
        for (int f = 0; f < moves; ++f) {
          const RoundFlip m = flip_list[f];  // the same for every thread
          const std::uint32_t* col = cols + slot_of(m.step) * S;
          const std::int32_t* st_replica = st + m.replica * st_stride;
          for (int base = warp; base < words; base += kUnroll * warps) {
            int before[kUnroll];
            bool drops[kUnroll], live[kUnroll];
#pragma unroll
            for (int u = 0; u < kUnroll; ++u) {
              const int w = base + u * warps;  // the same for the whole warp
              const std::uint32_t x = w < words ? col[w] : 0u;
              drops[u] = ((m.was_plus ? x : ~x) >> lane) & 1u;
              live[u] = w < words && mu_lo + 32 * w + lane < p;  // a pattern here (or a pad)
              before[u] = live[u] ? st_replica[32 * w + lane] : 0;
            }
#pragma unroll
            for (int u = 0; u < kUnroll; ++u) {
              if (base + u * warps >= words) break;  // the same for the whole warp
              move_word(m.replica, base + u * warps, before[u], drops[u], live[u]);
            }
          }
        }
      } else {
        for (int base = warp; base < moves * words; base += kUnroll * warps) {
          int before[kUnroll], replica[kUnroll], word[kUnroll];
          bool drops[kUnroll], live[kUnroll];
#pragma unroll
          for (int u = 0; u < kUnroll; ++u) {
            const int item = base + u * warps;  // the same for the whole warp
            live[u] = item < moves * words;
            const int f = live[u] ? item / words : 0, w = live[u] ? item - f * words : 0;
            const RoundFlip m = flip_list[f];
            const std::uint32_t x = cols[slot_of(m.step) * S + w];
            drops[u] = ((m.was_plus ? x : ~x) >> lane) & 1u;
            live[u] = live[u] && mu_lo + 32 * w + lane < p;  // a pattern here (or a pad)
            replica[u] = m.replica;
            word[u] = w;
            before[u] = live[u] ? st[m.replica * st_stride + 32 * w + lane] : 0;
          }
#pragma unroll
          for (int u = 0; u < kUnroll; ++u) {
            if (base + u * warps >= moves * words) break;  // the same for the whole warp
            move_word(replica[u], word[u], before[u], drops[u], live[u]);
          }
        }
      }
      if (stop) solved_by = ctrl_solved_by;
      __syncthreads();
      phase_done(6);
      if (timed) ++phase_cycles[kRounds];
      if (stop) break;
      step += ctrl_next_step;
      first_replica = ctrl_next_replica;
      if constexpr (kLean) {  // the next round starts ctrl_next_step (≤ k < ring) steps on
        lean_g_slot += ctrl_next_step;
        if (lean_g_slot >= ring) lean_g_slot -= ring;
      }
    }
    if (stop) break;

    // End of the sweep: the centre's errors (stop criterion), the trace record.
    const std::uint64_t done = sweep + 1;
    const bool check = done % ch.centre_check_every == 0;
    const bool record = ch.trace_every > 0 && done % ch.trace_every == 0;
    phase_done(7);
    if (!check && !record) continue;
    for (int w = tid; w < nw; w += threads) {
      std::uint32_t word;
      if (traced) {  // clipped majority: S_i ≥ 0, i.e. at least half the replicas at +1
        int plus[32];
#pragma unroll
        for (int q = 0; q < 32; ++q) plus[q] = 0;
        for (int a = 0; a < y; ++a) {
          const std::uint32_t x = weights[a * nw + w];
#pragma unroll
          for (int q = 0; q < 32; ++q) plus[q] += (x >> q) & 1u;
        }
        word = 0;
#pragma unroll
        for (int q = 0; q < 32; ++q) word |= std::uint32_t(32 * w + q < n && 2 * plus[q] >= y) << q;
      } else {
        word = centre[w];
      }
      scratch[w] = word;
    }
    for (int e = tid; e < red; e += threads) local[e] = 0;
    __syncthreads();
    // Replica errors over this block's slice, the centre's over a share of the patterns, the
    // distances over a share of the weight words.
    for (int item = warp; item < y * words; item += warps) {
      const int a = item / words, w = item - a * words;
      const bool err = mu_lo + 32 * w + lane < p && st[a * st_stride + 32 * w + lane] < 0;
      const int c = __popc(__ballot_sync(0xffffffffu, err));
      if (lane == 0 && c) atomicAdd(&local[a], static_cast<unsigned long long>(c));
    }
    {
      const int share = (p + C - 1) / C, mu0 = rank * share, mu1 = min(p, mu0 + share);
      for (int mu = mu0 + warp; mu < mu1; mu += warps) {
        const std::uint32_t* row = rows + std::size_t(mu) * rw;
        int differ = 0;
        for (int w = lane; w < nw; w += 32) differ += __popc(row[w] ^ scratch[w]);
        differ = warp_sum(differ);
        if (lane == 0 && n - 2 * differ < 0) atomicAdd(&local[y], 1ULL);
      }
      const int wshare = (nw + C - 1) / C, w0 = rank * wshare, w1 = min(nw, w0 + wshare);
      for (int a = 0; a < y; ++a) {
        int differ = 0;
        for (int w = w0 + tid; w < w1; w += threads) differ += __popc(weights[a * nw + w] ^ scratch[w]);
        if (differ) atomicAdd(&local[y + 1], static_cast<unsigned long long>(differ));
      }
    }
    __syncthreads();
    for (int e = tid; e < C * (y + 2); e += threads) {
      const int dst = e / (y + 2), v = e % (y + 2);
      *cluster.map_shared_rank(reduce + rank * red + v, dst) = local[v];
    }
    cluster.sync();
    if (tid == 0) {
      unsigned long long centre_errors = 0, distance = 0;
      for (int r = 0; r < C; ++r) {
        centre_errors += reduce[r * red + y];
        distance += reduce[r * red + y + 1];
      }
      if (rank == 0 && record)
        append_trace_record(bt, b, instance, done, static_cast<long long>(centre_errors),
                            distance, accepted, [&](int a) {
                              unsigned long long errors = 0;
                              for (int r = 0; r < C; ++r) errors += reduce[r * red + a];
                              return errors;
                            });
      if (check && centre_errors == 0) {
        stop = 1;
        solved_by = y;
      }
    }
    __syncthreads();
    phase_done(7);
  }
  if (timed)
    for (int q = 0; q < kPhaseSlots; ++q) ra.phase_cycles[q] = phase_cycles[q];

  // End of the launch: the slices go back, block 0 gathers the set sizes and errors.
  wait_copies<0>();
  cluster.sync();  // nobody reads the reduction area any more
  for (int e = tid; e < red; e += threads) local[e] = 0;
  __syncthreads();
  for (int item = warp; item < y * words; item += warps) {
    const int a = item / words, w = item - a * words;
    const int e = a * st_stride + 32 * w + lane;
    const int mu = mu_lo + 32 * w + lane;
    const bool err = mu < p && st[e] < 0;
    const int c = __popc(__ballot_sync(0xffffffffu, err));
    if (kSharedStabilities && mu < p) global_stab[std::size_t(a) * p + mu] = st[e];
    if (lane == 0) {
      global_set_a[a * pw + w_lo + w] = sa[a * S + w];
      global_set_b[a * pw + w_lo + w] = sb[a * S + w];
      atomicAdd(&local[a], static_cast<unsigned long long>(__popc(sa[a * S + w])));
      atomicAdd(&local[y + a], static_cast<unsigned long long>(__popc(sb[a * S + w])));
      if (c) atomicAdd(&local[2 * y + a], static_cast<unsigned long long>(c));
    }
  }
  __syncthreads();
  for (int e = tid; e < red; e += threads) *cluster.map_shared_rank(reduce + rank * red + e, 0) = local[e];
  cluster.sync();
  if (rank != 0) return;
  if (tid < y) {
    unsigned long long size_a = 0, size_b = 0, errors = 0;
    for (int r = 0; r < C; ++r) {
      size_a += reduce[r * red + tid];
      size_b += reduce[r * red + y + tid];
      errors += reduce[r * red + 2 * y + tid];
    }
    bt.size_a[std::size_t(b) * y + tid] = static_cast<std::int32_t>(size_a);
    bt.size_b[std::size_t(b) * y + tid] = static_cast<std::int32_t>(size_b);
    bt.errors[std::size_t(b) * y + tid] = static_cast<std::int32_t>(errors);
    bt.energy[std::size_t(b) * y + tid] = energy[tid];
  }
  if (tid == 0) {
    status->proposals = proposals;
    status->accepted = accepted;
    if (restart) {  // the frontier rounds: taken again from the chunk's start (the launch's host)
      ra.restart[b] = 1;
    } else if (stop) {
      status->solved = 1;
      status->solved_by = solved_by;
    }
  }
#elif defined(__CUDA_ARCH__)
  __trap();  // no sm_90 code in this build: metropolis_rounds_shape never picks it
#endif
}

std::size_t shared_bytes(const MetropolisBatch& batch, int cluster, int slice, int k,
                         bool shared_stabilities, std::size_t table_words, bool twice,
                         bool frontier) {
  const int slots = step_slots(batch.replicas, batch.explicit_centre);
  return SharedLayout(batch.replicas, cluster, slice, k, 4 * ((slots + 3) / 4), shared_stabilities,
                      table_words, twice, frontier)
      .bytes;
}

using RoundsKernel = void (*)(MetropolisBatch, MetropolisChunk, RoundsArgs);

template <int kVariant>
RoundsKernel kernel_for(int warps, bool shared_stabilities) {
  if (warps == kClusterWarps) return metropolis_rounds_kernel<kClusterWarps, true, kVariant>;
  return shared_stabilities ? metropolis_rounds_kernel<kBatchWarps, true, kVariant>
                            : metropolis_rounds_kernel<kBatchWarps, false, kVariant>;
}
RoundsKernel kernel_for(int warps, bool shared_stabilities, RoundsVariant variant) {
  switch (variant) {
    case kLeanRounds: return kernel_for<kLeanRounds>(warps, shared_stabilities);
    case kLongerRounds: return kernel_for<kLongerRounds>(warps, shared_stabilities);
    case kFrontierRounds: return kernel_for<kFrontierRounds>(warps, shared_stabilities);
    case kFrontierLongerRounds:
      return kernel_for<kFrontierLongerRounds>(warps, shared_stabilities);
    default: return kernel_for<kDefaultRounds>(warps, shared_stabilities);
  }
}

bool env_is_one(const char* name) {
  const char* v = std::getenv(name);
  return v != nullptr && std::string(v) == "1";
}
// LOCENT_ROUNDS_LONGER=n (1 ≤ n ≤ 30): the longer rounds on the lean kernels, at most n parts a
// round after the plain decisions (not yet run on hardware); 0 or unset: none.
int longer_round_parts() {
  const char* v = std::getenv("LOCENT_ROUNDS_LONGER");
  if (v == nullptr || *v == 0) return 0;
  char* end = nullptr;
  const long n = std::strtol(v, &end, 10);
  if (*end != 0 || n < 0 || n > 30)
    throw Error("LOCENT_ROUNDS_LONGER must be a number of parts from 0 to 30");
  return static_cast<int>(n);
}
bool twice_rounds() { return longer_round_parts() > 0; }
// LOCENT_ROUNDS_FRONTIER=1 (not yet run on hardware): the lean kernels with each member at its
// own position (metropolis_frontier.hpp).
bool frontier_rounds() { return env_is_one("LOCENT_ROUNDS_FRONTIER"); }
// LOCENT_ROUNDS_LEAN=1: the lean kernels; LOCENT_ROUNDS_LONGER: the lean kernels with the
// longer rounds; LOCENT_ROUNDS_FRONTIER: with the frontier rounds; both: the longer frontier
// rounds. Read at every shape and launch, so that a test can switch them.
RoundsVariant rounds_variant() {
  if (frontier_rounds()) return twice_rounds() ? kFrontierLongerRounds : kFrontierRounds;
  return twice_rounds() ? kLongerRounds
         : env_is_one("LOCENT_ROUNDS_LEAN") ? kLeanRounds
                                            : kDefaultRounds;
}
bool is_frontier(RoundsVariant v) { return v == kFrontierRounds || v == kFrontierLongerRounds; }
bool is_longer(RoundsVariant v) { return v == kLongerRounds || v == kFrontierLongerRounds; }

cudaLaunchConfig_t launch_config(const MetropolisBatch& batch, int cluster, int warps,
                                 std::size_t bytes, cudaLaunchAttribute* attribute) {
  return cluster_launch_config(cluster * batch.instances, 32 * warps, cluster, bytes, attribute);
}

}  // namespace

RoundsShape metropolis_rounds_shape(int device, const MetropolisBatch& batch, int cluster,
                                    int round_steps, bool adaptive_rounds,
                                    bool parallel_decisions, bool global_stabilities) {
  RoundsShape none;
  if (batch.hidden_units > 1) return none;
  if (round_steps < 1 || round_steps > kMaxRoundSteps)
    throw Error("round length must be 1.." + std::to_string(kMaxRoundSteps) + " steps");
  if (cluster < 0 || cluster > kMaxCluster || (cluster & (cluster - 1)) != 0)
    throw Error("blocks per instance must be 1, 2, 4, 8 or 16, or 0 for the largest cluster "
                "that fits");
  int major = 0, sms = 0, optin = 0;
  LOCENT_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
  if (major < 9) return none;
  LOCENT_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  LOCENT_CUDA_CHECK(
      cudaDeviceGetAttribute(&optin, cudaDevAttrMaxSharedMemoryPerBlockOptin, device));

  // Tries one kernel instance and size; fills `shape` when every instance gets resident blocks.
  const auto fits = [&](int c, int warps, bool shared_stabilities, RoundsShape& shape) {
    const RoundsKernel kernel = kernel_for(warps, shared_stabilities, rounds_variant());
    // Built for sm_90 (a PTX-only build for an older target would run its empty body).
    cudaFuncAttributes attributes{};
    LOCENT_CUDA_CHECK(cudaFuncGetAttributes(&attributes, kernel));
    if (attributes.ptxVersion < 90 || attributes.binaryVersion < 90) return false;
    // Any variant may be launched with this shape (LOCENT_ROUNDS_LEAN, _LONGER, _FRONTIER; the
    // frontier rounds' restart takes the lean ones), and each one's static shared memory counts
    // against the opt-in limit with the dynamic: one limit for all, from the largest.
    constexpr RoundsVariant kVariants[] = {kDefaultRounds, kLeanRounds, kLongerRounds,
                                           kFrontierRounds, kFrontierLongerRounds};
    std::size_t most_static = 0;
    for (const RoundsVariant v : kVariants) {
      cudaFuncAttributes each{};
      LOCENT_CUDA_CHECK(cudaFuncGetAttributes(&each, kernel_for(warps, shared_stabilities, v)));
      most_static = std::max(most_static, each.sharedSizeBytes);
    }
    const int limit = optin - static_cast<int>(most_static);
    const int slice = (batch.pattern_words + c - 1) / c;
    if (slice > kMaxSliceWords) return false;
    const std::size_t bytes = shared_bytes(batch, c, slice, round_steps, shared_stabilities, 0,
                                           twice_rounds(), frontier_rounds());
    if (bytes > std::size_t(limit)) return false;
    for (const RoundsVariant v : kVariants) {
      const RoundsKernel variant = kernel_for(warps, shared_stabilities, v);
      LOCENT_CUDA_CHECK(
          cudaFuncSetAttribute(variant, cudaFuncAttributeMaxDynamicSharedMemorySize, limit));
      if (c > 1)
        LOCENT_CUDA_CHECK(
            cudaFuncSetAttribute(variant, cudaFuncAttributeNonPortableClusterSizeAllowed, 1));
    }
    int resident = 0;
    if (c > 1) {
      cudaLaunchAttribute attribute{};
      const cudaLaunchConfig_t config = launch_config(batch, c, warps, bytes, &attribute);
      if (cudaOccupancyMaxActiveClusters(&resident, kernel, &config) != cudaSuccess) {
        (void)cudaGetLastError();
        return false;
      }
    } else {
      int per_sm = 0;
      LOCENT_CUDA_CHECK(
          cudaOccupancyMaxActiveBlocksPerMultiprocessor(&per_sm, kernel, 32 * warps, bytes));
      resident = per_sm * sms;
    }
    if (resident < batch.instances) return false;  // a second wave would double the time
    shape.cluster = c;
    shape.slice_words = slice;
    shape.round_steps = round_steps;
    shape.adaptive_rounds = adaptive_rounds;
    shape.parallel_decisions = parallel_decisions;
    shape.shared_stabilities = shared_stabilities;
    shape.warps = warps;
    shape.base_shared_bytes = bytes;
    shape.max_shared_bytes = std::size_t(limit);
    shape.rank_stride = std::size_t(batch.replicas + 2) * batch.weight_words;
    shape.sms = sms;
    return true;
  };

  RoundsShape shape;
  if (cluster == 1) {
    if (!global_stabilities && fits(1, kBatchWarps, true, shape)) return shape;
    if (fits(1, kBatchWarps, false, shape)) return shape;
    return none;
  }
  for (int c = kMaxCluster; c >= 2; c /= 2) {
    if (cluster != 0 && c != cluster) continue;
    if (cluster == 0 && std::size_t(c) * batch.instances > std::size_t(sms)) continue;
    if (fits(c, kClusterWarps, true, shape)) return shape;
  }
  return none;
}

namespace {

// One launch of the rounds kernel's `variant` over the chunk.
void launch_variant(const MetropolisBatch& batch, const MetropolisChunk& chunk,
                    const RoundsShape& shape, std::uint32_t* rank_words, cudaStream_t stream,
                    RoundsVariant variant, int* restart) {
  // LOCENT_ROUNDS_PROFILE=1: the first instance's cycles per phase, on stderr after each launch;
  // =2: phases 3 and 5 also run a second time each round, timed apart (the trajectory is the
  // same; the rate is not a figure then).
  static const char* const profile_value = std::getenv("LOCENT_ROUNDS_PROFILE");
  static const bool profile = profile_value != nullptr;
  static const bool repeat = profile && std::string(profile_value) == "2";
  const bool lean = variant != kDefaultRounds, twice = is_longer(variant);
  const bool frontier = is_frontier(variant);
  static unsigned long long* phase_cycles = nullptr;
  if (profile && phase_cycles == nullptr)
    LOCENT_CUDA_CHECK(cudaMalloc(&phase_cycles, kPhaseSlots * sizeof(unsigned long long)));
  RoundsArgs args{shape.cluster,
                  shape.slice_words,
                  shape.round_steps,
                  shape.adaptive_rounds,
                  shape.parallel_decisions,
                  false,
                  repeat,
                  twice ? longer_round_parts() : 0,
                  restart,
                  rank_words,
                  shape.rank_stride,
                  profile ? phase_cycles : nullptr};
  // The shape was sized for the rounds chosen when it was made.
  std::size_t bytes = shared_bytes(batch, shape.cluster, shape.slice_words, shape.round_steps,
                                   shape.shared_stabilities, 0, twice, frontier);
  if (bytes > shape.max_shared_bytes)
    throw Error("the longer or frontier rounds (LOCENT_ROUNDS_LONGER, LOCENT_ROUNDS_FRONTIER) were "
                "switched on after the kernel's shape was chosen");
  const std::size_t with_table = shared_bytes(batch, shape.cluster, shape.slice_words,
                                              shape.round_steps, shape.shared_stabilities,
                                              chunk.table_stride, twice, frontier);
  // The table joins shared memory when that costs no resident blocks: a cluster's blocks hold
  // an SM each; one block per instance asks the occupancy calculator again.
  bool room = with_table <= shape.max_shared_bytes && chunk.table_stride * 4 <= kSharedTableBytes;
  if (room && shape.cluster == 1) {
    int per_sm = 0;
    LOCENT_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(
        &per_sm, kernel_for(shape.warps, shape.shared_stabilities, variant), 32 * shape.warps,
        with_table));
    room = per_sm * shape.sms >= batch.instances;
  }
  if (room) {
    args.table_in_shared = true;
    bytes = with_table;
  }
  cudaLaunchAttribute attribute{};
  cudaLaunchConfig_t config = launch_config(batch, shape.cluster, shape.warps, bytes, &attribute);
  config.stream = stream;
  LOCENT_CUDA_CHECK(cudaLaunchKernelEx(&config,
                                       kernel_for(shape.warps, shape.shared_stabilities, variant),
                                       batch, chunk, args));
  if (profile) {
    unsigned long long host[kPhaseSlots] = {};
    LOCENT_CUDA_CHECK(cudaMemcpyAsync(host, phase_cycles, sizeof(host), cudaMemcpyDeviceToHost, stream));
    LOCENT_CUDA_CHECK(cudaStreamSynchronize(stream));
    const double rounds = host[kRounds] > 0 ? double(host[kRounds]) : 1.0;
    std::fprintf(stderr, "rounds profile%s: %llu rounds; cycles a round by phase:",
                 frontier && twice ? " (lean, longer frontier rounds)"
                 : frontier        ? " (lean, frontier rounds)"
                 : twice           ? " (lean, longer rounds)"
                 : lean   ? " (lean)"
                          : "",
                 host[kRounds]);
    for (int q = 0; q < kPhases; ++q) std::fprintf(stderr, " %d:%.0f", q + 1, double(host[q]) / rounds);
    if (twice) std::fprintf(stderr, " 6b-6d:%.0f", double(host[kSecondOrder]) / rounds);
    if (repeat)
      std::fprintf(stderr, " 3again:%.0f 5again:%.0f", double(host[kRepeatCounts]) / rounds,
                   double(host[kRepeatSums]) / rounds);
    std::fprintf(stderr, "\n");
  }
}

// The batch's arrays that a launch changes (the trace's records are rewritten from trace_count).
struct Region {
  void* ptr;
  std::size_t bytes;
};
std::vector<Region> changing_regions(const MetropolisBatch& b) {
  const std::size_t n = b.instances, y = b.replicas, ky = std::size_t(b.hidden_units) * y;
  std::vector<Region> regions = {
      {b.weights, n * y * b.weight_words * sizeof(std::uint32_t)},
      {b.site_sums, n * b.sites * sizeof(std::int32_t)},
      {b.stabilities, n * ky * b.patterns * sizeof(std::int32_t)},
      {b.set_a, n * ky * b.pattern_words * sizeof(std::uint32_t)},
      {b.set_b, n * ky * b.pattern_words * sizeof(std::uint32_t)},
      {b.size_a, n * ky * sizeof(std::int32_t)},
      {b.size_b, n * ky * sizeof(std::int32_t)},
      {b.energy, n * y * sizeof(std::int64_t)},
      {b.errors, n * y * sizeof(std::int32_t)},
      {b.status, n * sizeof(InstanceStatus)},
      {b.trace_count, n * sizeof(std::int32_t)}};
  if (b.explicit_centre) regions.push_back({b.centre, n * b.weight_words * sizeof(std::uint32_t)});
  return regions;
}

}  // namespace

void launch_metropolis_rounds(const MetropolisBatch& batch, const MetropolisChunk& chunk,
                              const RoundsShape& shape, std::uint32_t* rank_words,
                              cudaStream_t stream) {
  const RoundsVariant variant = rounds_variant();
  // The member pipeline where it applies and is wanted (metropolis_pipeline.cuh: by default for
  // a cluster an instance).
  PipelineShape pipeline;
  if (pipeline_wanted(shape.cluster)) {
    int device = 0;
    LOCENT_CUDA_CHECK(cudaGetDevice(&device));
    pipeline = metropolis_pipeline_shape(device, batch, shape.round_steps);
  }
  if (!is_frontier(variant) && pipeline.members == 0) {
    launch_variant(batch, chunk, shape, rank_words, stream, variant, nullptr);
    return;
  }
  // The frontier rounds and the pipeline: the chunk's starting state aside, then the launch;
  // where a replica reached zero energy (the members ahead of it have gone past that point of
  // the chain), the state back and the chunk again in the lean rounds, which stop exactly there.
  static unsigned char* store = nullptr;
  static std::size_t store_bytes = 0;
  static int* restart = nullptr;
  static std::size_t restart_slots = 0;
  const std::vector<Region> regions = changing_regions(batch);
  std::size_t bytes = 0;
  for (const Region& r : regions) bytes += (r.bytes + 255) / 256 * 256;
  if (bytes > store_bytes) {
    if (store) LOCENT_CUDA_CHECK(cudaFree(store));
    LOCENT_CUDA_CHECK(cudaMalloc(&store, bytes));
    store_bytes = bytes;
  }
  if (std::size_t(batch.instances) > restart_slots) {
    if (restart) LOCENT_CUDA_CHECK(cudaFree(restart));
    LOCENT_CUDA_CHECK(cudaMalloc(&restart, batch.instances * sizeof(int)));
    restart_slots = batch.instances;
  }
  const auto copy = [&](bool aside) {
    std::size_t at = 0;
    for (const Region& r : regions) {
      void* to = aside ? static_cast<void*>(store + at) : r.ptr;
      const void* from = aside ? r.ptr : static_cast<const void*>(store + at);
      LOCENT_CUDA_CHECK(cudaMemcpyAsync(to, from, r.bytes, cudaMemcpyDeviceToDevice, stream));
      at += (r.bytes + 255) / 256 * 256;
    }
  };
  copy(true);
  LOCENT_CUDA_CHECK(cudaMemsetAsync(restart, 0, batch.instances * sizeof(int), stream));
  if (pipeline.members > 0)
    launch_metropolis_pipeline(batch, chunk, pipeline, restart, stream);
  else
    launch_variant(batch, chunk, shape, rank_words, stream, variant, restart);
  std::vector<int> flags(batch.instances);
  LOCENT_CUDA_CHECK(cudaMemcpyAsync(flags.data(), restart, flags.size() * sizeof(int),
                                    cudaMemcpyDeviceToHost, stream));
  LOCENT_CUDA_CHECK(cudaStreamSynchronize(stream));
  // The earliest sweep to take again: flag s + 1 (the pipeline) or 1 (the frontier rounds, the
  // chunk's first).
  int first = chunk.sweeps;
  for (const int f : flags)
    if (f > 0) first = std::min(first, f - 1);
  if (first == chunk.sweeps) return;
  copy(false);
  MetropolisChunk rest = chunk;
  if (first > 0) {  // the sweeps before it again, as before: no instance solved mid-sweep there
    MetropolisChunk before = chunk;
    before.sweeps = first;
    LOCENT_CUDA_CHECK(cudaMemsetAsync(restart, 0, batch.instances * sizeof(int), stream));
    launch_metropolis_pipeline(batch, before, pipeline, restart, stream);
    rest.tables += std::size_t(first) * chunk.table_stride;
    rest.first_sweep += static_cast<std::uint64_t>(first);
    rest.sweeps -= first;
  }
  launch_variant(batch, rest, shape, rank_words, stream, kLeanRounds, nullptr);
}

}  // namespace locent::cuda
