// CUDA Metropolis kernel for (replicated) simulated annealing (metropolis.cuh).
//
// Layout: one block per instance, one warp per replica (replicas beyond the warp count are
// strided over the warps). Per step: the first threads draw the step's Philox words; each warp
// computes its replica's ΔE by AND+POPC of the site's pattern column with the replica's two
// boundary sets; thread 0 then decides the y proposals in order (the coupling makes replica a's
// decision depend on the earlier ones through S_i, never its ΔE), and each warp whose proposal
// was accepted moves its P stabilities by ±2, rebuilding the boundary sets with ballots.
#include "kernels/cuda_check.cuh"
#include "kernels/metropolis.cuh"
#include "locent/metropolis_rules.hpp"
#include "locent/rng.hpp"

namespace locent::cuda {
namespace {

__device__ __forceinline__ int warp_sum(int v) {
  for (int offset = 16; offset > 0; offset >>= 1) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

__device__ __forceinline__ bool test_bit32(const std::uint32_t* words, int i) {
  return (words[i >> 5] >> (i & 31)) & 1u;
}

__global__ void metropolis_chunk_kernel(MetropolisBatch bt, MetropolisChunk ch) {
  const int b = blockIdx.x;
  InstanceStatus* status = bt.status + b;
  if (status->solved) return;

  const int n = bt.inputs, p = bt.patterns, y = bt.replicas;
  const int nw = bt.input_words, pw = bt.pattern_words;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, warps = blockDim.x >> 5;
  const bool traced = !bt.explicit_centre, flips = bt.flip_energy;
  const std::uint32_t instance = bt.instance_ids[b];

  const std::uint32_t* columns = bt.columns + std::size_t(b) * n * pw;
  const std::uint32_t* rows = bt.rows + std::size_t(b) * p * nw;
  std::uint32_t* weights = bt.weights + std::size_t(b) * y * nw;
  std::uint32_t* centre = bt.centre ? bt.centre + std::size_t(b) * nw : nullptr;
  std::uint32_t* scratch = bt.centre_scratch + std::size_t(b) * nw;
  std::int32_t* site_sums = bt.site_sums + std::size_t(b) * n;
  std::int32_t* stab = bt.stabilities + std::size_t(b) * y * p;
  std::uint32_t* set_a = bt.set_a + std::size_t(b) * y * pw;
  std::uint32_t* set_b = bt.set_b + std::size_t(b) * y * pw;
  std::int32_t* size_a = bt.size_a + b * y;
  std::int32_t* size_b = bt.size_b + b * y;
  std::int64_t* energy = bt.energy + std::size_t(b) * y;
  std::int32_t* errors = bt.errors + b * y;

  __shared__ std::uint32_t random[4 * 8];
  __shared__ int delta_e[kMaxReplicas];
  __shared__ int old_plus[kMaxReplicas];
  __shared__ int accepted_flag[kMaxReplicas];
  __shared__ int stop;
  __shared__ int centre_errors;
  __shared__ unsigned long long distance;

  // Thread 0 owns the counters for the whole launch.
  std::uint64_t proposals = status->proposals, accepted = status->accepted;
  const int groups = (step_slots(y, !traced) + 3) / 4;
  if (tid == 0) stop = 0;
  __syncthreads();

  for (int s = 0; s < ch.sweeps; ++s) {
    const std::uint64_t sweep = ch.first_sweep + s;
    const ThresholdView view{ch.tables + s * ch.table_stride, ch.half_width, ch.coupling_states};
    for (int step = 0; step < n; ++step) {
      if (tid < groups) {
        const PhiloxBlock blk = philox_block(ch.seed, Purpose::metropolis, instance,
                                             static_cast<std::uint32_t>(sweep),
                                             static_cast<std::uint32_t>(step), tid);
        for (int j = 0; j < 4; ++j) random[4 * tid + j] = blk.v[j];
      }
      __syncthreads();
      const int i = static_cast<int>(uniform_below(random[site_slot()], n));
      const std::uint32_t* col = columns + std::size_t(i) * pw;

      for (int a = warp; a < y; a += warps) {
        const std::uint32_t* sa = set_a + a * pw;
        const std::uint32_t* sb = set_b + a * pw;
        int pa = 0, pb = 0;
        for (int w = lane; w < pw; w += 32) {
          const std::uint32_t c = col[w];
          pa += __popc(sa[w] & c);
          pb += __popc(sb[w] & c);
        }
        pa = warp_sum(pa);
        pb = warp_sum(pb);
        if (lane == 0) {
          const bool w_plus = test_bit32(weights + a * nw, i);
          old_plus[a] = w_plus;
          delta_e[a] = flip_delta_energy(w_plus, pa, pb, size_a[a], size_b[a]);
        }
      }
      __syncthreads();

      if (tid == 0) {
        int a = 0;
        for (; a < y; ++a) {
          const int s_ai = old_plus[a] ? 1 : -1;
          const int k = traced ? traced_coupling_index(s_ai, site_sums[i], y)
                               : explicit_coupling_index(s_ai, test_bit32(centre, i) ? 1 : -1);
          ++proposals;
          const bool ok = view.accept_replica(delta_e[a], k, random[replica_slot(a)]);
          accepted_flag[a] = ok;
          if (!ok) continue;
          ++accepted;
          weights[a * nw + (i >> 5)] ^= 1u << (i & 31);
          site_sums[i] -= 2 * s_ai;
          energy[a] += delta_e[a];
          if (energy[a] == 0) {
            status->solved = 1;
            status->solved_by = a;
            stop = 1;
            break;
          }
        }
        for (++a; a < y; ++a) accepted_flag[a] = 0;
        if (!stop && !traced) {
          const int c = test_bit32(centre, i) ? 1 : -1;
          ++proposals;
          if (view.accept_centre(centre_coupling_index(c, site_sums[i], y),
                                 random[centre_slot(y)])) {
            ++accepted;
            centre[i >> 5] ^= 1u << (i & 31);
          }
        }
      }
      __syncthreads();

      for (int a = warp; a < y; a += warps) {
        if (!accepted_flag[a]) continue;
        std::int32_t* st = stab + std::size_t(a) * p;
        const bool w_plus = old_plus[a];
        int na = 0, nb = 0, ne = 0;
        for (int base = 0; base < p; base += 32) {
          const int mu = base + lane;
          const std::uint32_t c = col[base >> 5];
          const bool drops = ((w_plus ? c : ~c) >> lane) & 1u;
          bool in_a = false, in_b = false, err = false;
          if (mu < p) {
            const int d = st[mu] + (drops ? -2 : 2);
            st[mu] = d;
            in_a = in_set_a(d, flips);
            in_b = in_set_b(d, flips);
            err = d < 0;
          }
          const std::uint32_t ba = __ballot_sync(0xffffffffu, in_a);
          const std::uint32_t bb = __ballot_sync(0xffffffffu, in_b);
          const std::uint32_t be = __ballot_sync(0xffffffffu, err);
          if (lane == 0) {
            set_a[a * pw + (base >> 5)] = ba;
            set_b[a * pw + (base >> 5)] = bb;
          }
          na += __popc(ba);
          nb += __popc(bb);
          ne += __popc(be);
        }
        if (lane == 0) {
          size_a[a] = na;
          size_b[a] = nb;
          errors[a] = ne;
        }
      }
      __syncthreads();
      if (stop) break;
    }
    if (stop) break;

    // End of the sweep: the centre's errors (stop criterion) and the trace record.
    const std::uint64_t done = sweep + 1;
    const bool check = done % ch.centre_check_every == 0;
    const bool record = ch.trace_every > 0 && done % ch.trace_every == 0;
    if (!check && !record) continue;
    for (int w = tid; w < nw; w += blockDim.x) {
      std::uint32_t word;
      if (traced) {
        word = 0;
        for (int j = 0; j < 32 && 32 * w + j < n; ++j)
          word |= std::uint32_t(site_sums[32 * w + j] >= 0) << j;
      } else {
        word = centre[w];
      }
      scratch[w] = word;
    }
    if (tid == 0) centre_errors = 0, distance = 0;
    __syncthreads();
    for (int mu = warp; mu < p; mu += warps) {
      const std::uint32_t* row = rows + std::size_t(mu) * nw;
      int differ = 0;
      for (int w = lane; w < nw; w += 32) differ += __popc(row[w] ^ scratch[w]);
      differ = warp_sum(differ);
      if (lane == 0 && n - 2 * differ < 0) atomicAdd(&centre_errors, 1);
    }
    for (int a = 0; a < y; ++a) {
      int differ = 0;
      for (int w = tid; w < nw; w += blockDim.x) differ += __popc(weights[a * nw + w] ^ scratch[w]);
      if (differ) atomicAdd(&distance, static_cast<unsigned long long>(differ));
    }
    __syncthreads();
    if (tid == 0) {
      if (record && bt.trace_count[b] < bt.trace_capacity) {
        std::int64_t* r = bt.trace + (std::size_t(b) * bt.trace_capacity + bt.trace_count[b]) * (5 + y);
        r[0] = instance;
        r[1] = static_cast<std::int64_t>(done);
        r[2] = centre_errors;
        r[3] = static_cast<std::int64_t>(distance);
        r[4] = static_cast<std::int64_t>(accepted);
        for (int a = 0; a < y; ++a) r[5 + a] = errors[a];
        ++bt.trace_count[b];
      }
      if (check && centre_errors == 0) {
        status->solved = 1;
        status->solved_by = y;
        stop = 1;
      }
    }
    __syncthreads();
    if (stop) break;
  }
  if (tid == 0) {
    status->proposals = proposals;
    status->accepted = accepted;
  }
}

}  // namespace

namespace {
// One warp per replica (up to 8), so the y ΔE evaluations of a step run side by side.
int block_threads(int replicas) { return 32 * (replicas < 8 ? replicas : 8); }
}  // namespace

int resident_metropolis_blocks(int device, int replicas) {
  int per_sm = 0, sms = 0;
  LOCENT_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(
      &per_sm, metropolis_chunk_kernel, block_threads(replicas), 0));
  LOCENT_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  return per_sm * sms;
}

void launch_metropolis_chunk(const MetropolisBatch& batch, const MetropolisChunk& chunk,
                             cudaStream_t stream) {
  metropolis_chunk_kernel<<<batch.instances, block_threads(batch.replicas), 0, stream>>>(batch,
                                                                                        chunk);
  LOCENT_CUDA_CHECK(cudaGetLastError());
}

}  // namespace locent::cuda
