// CUDA Metropolis kernel for (replicated) simulated annealing (metropolis.cuh). CPU twin:
// host/cpu/metropolis.cpp; both follow include/locent/metropolis_rules.hpp.
//
// One thread block per instance runs many sweeps per launch. A step has four phases separated by
// block barriers:
//   1. the first threads draw the step's Philox words;
//   2. the (replica, chunk of pattern words) work items are spread over the warps: each counts
//      |A ∩ col| and |B ∩ col| by AND+POPC and adds them to shared per-replica counters;
//   3. thread 0 decides the y proposals in order: a replica's ΔE does not depend on the others,
//      but its coupling factor does, through S_i, so this part is sequential and kept short
//      (shared-memory counters, the sweep's threshold table in shared memory when it fits);
//   4. the accepted replicas' stabilities move by ±2 and their boundary sets are rebuilt 32
//      patterns at a time with ballots, by the replica's warp (many instances) or by all the
//      block's warps over slices of the pattern words (few instances). Committees (a separate instance of the kernel, so the
//      perceptron's code is unchanged) move the step's unit's fields, the votes where that unit's
//      sign flipped, and then rebuild the sets of all K units of the replica from the {h = ±1}
//      and {M = ±1} bits (docs/committee.md).
#include <algorithm>

#include "kernels/cuda_check.cuh"
#include "kernels/device_util.cuh"
#include "kernels/metropolis.cuh"
#include "locent/metropolis_rules.hpp"
#include "locent/rng.hpp"

namespace locent::cuda {
namespace {

constexpr int kMaxWarps = 32;



// kWide: the perceptron's few-instance shape (chunks > 1), whose block holds many warps per
// replica. It gets its own instance of the kernel, because what serves it costs registers (110
// against 71), and registers bound how many blocks of the many-instance shape are resident (4 per
// SM at y = 7 with at most 72: 528 on an H100; 264 with 96). Both move four stability words at
// a time, their loads in flight together (one at a time, each waited out a global-memory round
// trip behind the previous store: disassembly, seventh session).
template <bool kCommittee, bool kWide>
__global__ void metropolis_chunk_kernel(MetropolisBatch bt, MetropolisChunk ch, int chunks,
                                        bool table_in_shared) {
  extern __shared__ std::uint32_t shared_table[];
  const int b = blockIdx.x;
  InstanceStatus* status = bt.status + b;
  if (status->solved) return;

  const int n = bt.sites, p = bt.patterns, y = bt.replicas;
  const int K = kCommittee ? bt.hidden_units : 1;
  const int fan_in = bt.fan_in;
  const int rw = bt.input_words, nw = bt.weight_words, pw = bt.pattern_words;
  const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5, warps = blockDim.x >> 5;
  const bool traced = !bt.explicit_centre, flips = bt.flip_energy;
  const std::uint32_t instance = bt.instance_ids[b];
  const int items = y * chunks;
  const int chunk_words = (pw + chunks - 1) / chunks;

  const std::uint32_t* columns = bt.columns + std::size_t(b) * bt.inputs * pw;
  const std::uint32_t* rows = bt.rows + std::size_t(b) * p * rw;
  std::uint32_t* weights = bt.weights + std::size_t(b) * y * nw;
  std::uint32_t* centre = bt.centre ? bt.centre + std::size_t(b) * nw : nullptr;
  std::uint32_t* scratch = bt.centre_scratch + std::size_t(b) * nw;
  std::int32_t* site_sums = bt.site_sums + std::size_t(b) * n;
  std::int32_t* stab = bt.stabilities + std::size_t(b) * y * K * p;
  std::uint32_t* set_a = bt.set_a + std::size_t(b) * K * y * pw;
  std::uint32_t* set_b = bt.set_b + std::size_t(b) * K * y * pw;
  // Committees keep the K × y set sizes in global memory (L1/L2-resident, K is not bounded by
  // the shared arrays) and stage the step's y of them in shared memory.
  std::int32_t* global_size_a = bt.size_a + std::size_t(b) * K * y;
  std::int32_t* global_size_b = bt.size_b + std::size_t(b) * K * y;
  std::int32_t* votes = nullptr;
  std::uint32_t *field_plus_one = nullptr, *field_minus_one = nullptr;
  std::uint32_t *votes_plus_one = nullptr, *votes_minus_one = nullptr;
  if (kCommittee) {
    votes = bt.votes + std::size_t(b) * y * p;
    field_plus_one = bt.field_plus_one + std::size_t(b) * y * K * pw;
    field_minus_one = bt.field_minus_one + std::size_t(b) * y * K * pw;
    votes_plus_one = bt.votes_plus_one + std::size_t(b) * y * pw;
    votes_minus_one = bt.votes_minus_one + std::size_t(b) * y * pw;
  }

  __shared__ std::uint32_t random[4 * 8];
  __shared__ int hits_a[kMaxReplicas], hits_b[kMaxReplicas];
  __shared__ int size_a[kMaxReplicas], size_b[kMaxReplicas], errors[kMaxReplicas];
  __shared__ int old_plus[kMaxReplicas];
  __shared__ int accepted_list[kMaxReplicas], accepted_count;
  __shared__ long long energy[kMaxReplicas];
  __shared__ int stop;
  __shared__ int centre_errors;
  __shared__ unsigned long long distance;

  if (tid < y) {
    hits_a[tid] = hits_b[tid] = 0;
    if (!kCommittee) {
      size_a[tid] = global_size_a[tid];
      size_b[tid] = global_size_b[tid];
    }
    errors[tid] = bt.errors[b * y + tid];
    energy[tid] = bt.energy[std::size_t(b) * y + tid];
  }
  // Thread 0 owns the counters for the whole launch.
  std::uint64_t proposals = status->proposals, accepted = status->accepted;
  const int groups = (step_slots(y, !traced) + 3) / 4;
  if (tid == 0) stop = 0;
  __syncthreads();

  for (int s = 0; s < ch.sweeps; ++s) {
    const std::uint64_t sweep = ch.first_sweep + s;
    const std::uint32_t* table = ch.tables + s * ch.table_stride;
    if (table_in_shared) {
      for (std::size_t k = tid; k < ch.table_stride; k += blockDim.x) shared_table[k] = table[k];
      table = shared_table;
      __syncthreads();
    }
    const ThresholdView view{table, ch.half_width, ch.coupling_states};

    for (int step = 0; step < n; ++step) {
      // Phase 1: the step's random words.
      if (tid < groups) {
        const PhiloxBlock blk = philox_block(ch.seed, Purpose::metropolis, instance,
                                             static_cast<std::uint32_t>(sweep),
                                             static_cast<std::uint32_t>(step), tid);
        for (int j = 0; j < 4; ++j) random[4 * tid + j] = blk.v[j];
      }
      __syncthreads();
      const int i = static_cast<int>(uniform_below(random[site_slot()], n));
      int unit = 0, input = i;
      if (kCommittee) {
        unit = committee_unit_of_site(i, fan_in);
        input = committee_input_of_site(i, fan_in, bt.tree);
      }
      const std::uint32_t* col = columns + std::size_t(input) * pw;
      const std::uint32_t* unit_set_a = set_a + std::size_t(unit) * y * pw;
      const std::uint32_t* unit_set_b = set_b + std::size_t(unit) * y * pw;

      // Phase 2: boundary-set hits of the step's unit, (replica, chunk) items over the warps.
      for (int item = warp; item < items; item += warps) {
        const int a = item / chunks, c = item - a * chunks;
        const int w0 = c * chunk_words, w1 = min(pw, w0 + chunk_words);
        const std::uint32_t* sa = unit_set_a + a * pw;
        const std::uint32_t* sb = unit_set_b + a * pw;
        int pa = 0, pb = 0;
        const std::uint32_t weight_word = (lane == 0 && c == 0) ? weights[a * nw + (i >> 5)] : 0u;
        // All of a batch's words in flight before the first is used (a lane's tail used to
        // wait out one round trip per word after the unrolled body).
        constexpr int kBatch = 4;
        for (int w = w0 + lane; w < w1; w += 32 * kBatch) {
          std::uint32_t cw[kBatch], xa[kBatch], xb[kBatch];
#pragma unroll
          for (int u = 0; u < kBatch; ++u) {
            const bool in = w + 32 * u < w1;
            cw[u] = in ? col[w + 32 * u] : 0u;
            xa[u] = in ? sa[w + 32 * u] : 0u;
            xb[u] = in ? sb[w + 32 * u] : 0u;
          }
#pragma unroll
          for (int u = 0; u < kBatch; ++u) {
            pa += __popc(xa[u] & cw[u]);
            pb += __popc(xb[u] & cw[u]);
          }
        }
        pa = warp_sum(pa);
        pb = warp_sum(pb);
        if (lane == 0) {
          if (chunks == 1) {
            hits_a[a] = pa;
            hits_b[a] = pb;
          } else {
            atomicAdd(&hits_a[a], pa);
            atomicAdd(&hits_b[a], pb);
          }
          if (c == 0) {
            old_plus[a] = (weight_word >> (i & 31)) & 1u;
            if (kCommittee) {
              size_a[a] = global_size_a[unit * y + a];
              size_b[a] = global_size_b[unit * y + a];
            }
          }
        }
      }
      __syncthreads();

      // Phase 3: the y decisions, in order.
      if (tid == 0) {
        int site_sum = site_sums[i];
        const int centre_i = traced ? 0 : (test_bit32(centre, i) ? 1 : -1);
        int count = 0;
        int a = 0;
        for (; a < y; ++a) {
          const bool w_plus = old_plus[a];
          const int delta_e = flip_delta_energy(w_plus, hits_a[a], hits_b[a], size_a[a], size_b[a]);
          hits_a[a] = hits_b[a] = 0;
          const int s_ai = w_plus ? 1 : -1;
          const int k = traced ? traced_coupling_index(s_ai, site_sum, y)
                               : explicit_coupling_index(s_ai, centre_i);
          ++proposals;
          const bool ok = view.accept_replica(delta_e, k, random[replica_slot(a)]);
          if (!ok) continue;
          ++accepted;
          accepted_list[count++] = a;
          weights[a * nw + (i >> 5)] ^= 1u << (i & 31);
          site_sum -= 2 * s_ai;
          energy[a] += delta_e;
          if (chunks > 1) {  // rebuilt by atomics below
            if (kCommittee) {
              for (int j = 0; j < K; ++j) global_size_a[j * y + a] = global_size_b[j * y + a] = 0;
            } else {
              size_a[a] = size_b[a] = errors[a] = 0;
            }
          }
          if (energy[a] == 0) {
            status->solved = 1;
            status->solved_by = a;
            stop = 1;
            break;
          }
        }
        for (++a; a < y; ++a) hits_a[a] = hits_b[a] = 0;
        accepted_count = count;
        site_sums[i] = site_sum;
        if (!stop && !traced) {
          ++proposals;
          if (view.accept_centre(centre_coupling_index(centre_i, site_sum, y),
                                 random[centre_slot(y)])) {
            ++accepted;
            centre[i >> 5] ^= 1u << (i & 31);
          }
        }
      }
      __syncthreads();

      // Phase 4: accepted replicas move their fields and rebuild their boundary sets. Their
      // pattern words are split over all the block's warps (in the few-instance shape, where the
      // sizes are summed by atomics; one warp per replica otherwise): a single accepted flip of
      // a large instance then has every warp of the block on it.
      const int count = accepted_count;
      const int update_chunks = chunks > 1 ? max(chunks, warps / max(count, 1)) : 1;
      const int update_words = (pw + update_chunks - 1) / update_chunks;
      for (int item = warp; item < count * update_chunks; item += warps) {
        const int a = accepted_list[item / update_chunks], c = item % update_chunks;
        const int w0 = c * update_words, w1 = min(pw, w0 + update_words);
        const bool w_plus = old_plus[a];
        if (kCommittee) {
          // The moved unit's fields; the votes change only where its sign flipped.
          const std::size_t field = std::size_t(a) * K + unit;
          std::int32_t* h = stab + field * p;
          std::int32_t* m_of = votes + std::size_t(a) * p;
          int error_change = 0;
          for (int w = w0; w < w1 && 32 * w < p; ++w) {
            const int mu = 32 * w + lane;
            const std::uint32_t cw = col[w];
            const bool drops = ((w_plus ? cw : ~cw) >> lane) & 1u;
            int d = 0, m = 0;
            bool changed = false;
            if (mu < p) {
              const int before = h[mu];
              d = before + (drops ? -2 : 2);
              h[mu] = d;
              changed = (before > 0) != (d > 0);
              if (changed) {
                const int m_before = m_of[mu];
                m = m_before + (d > 0 ? 2 : -2);
                m_of[mu] = m;
                error_change += int(m < 0) - int(m_before < 0);
              }
            }
            const std::uint32_t plus_one = __ballot_sync(0xffffffffu, mu < p && d == 1);
            const std::uint32_t minus_one = __ballot_sync(0xffffffffu, mu < p && d == -1);
            const std::uint32_t moved = __ballot_sync(0xffffffffu, changed);
            const std::uint32_t now_plus = __ballot_sync(0xffffffffu, changed && m == 1);
            const std::uint32_t now_minus = __ballot_sync(0xffffffffu, changed && m == -1);
            if (lane == 0) {
              field_plus_one[field * pw + w] = plus_one;
              field_minus_one[field * pw + w] = minus_one;
              std::uint32_t& vp = votes_plus_one[a * pw + w];
              std::uint32_t& vm = votes_minus_one[a * pw + w];
              vp = (vp & ~moved) | now_plus;
              vm = (vm & ~moved) | now_minus;
            }
          }
          error_change = warp_sum(error_change);
          if (lane == 0 && error_change) atomicAdd(&errors[a], error_change);
          __syncwarp();
          // The votes changed, so the sets of every unit of the replica change: rebuild this
          // chunk's words of all K.
          for (int j = 0; j < K; ++j) {
            const std::size_t f = (std::size_t(a) * K + j) * pw;
            const std::size_t set = (std::size_t(j) * y + a) * pw;
            int na = 0, nb = 0;
            for (int w = w0 + lane; w < w1; w += 32) {
              const std::uint32_t sa = field_plus_one[f + w] & votes_plus_one[a * pw + w];
              const std::uint32_t sb = field_minus_one[f + w] & votes_minus_one[a * pw + w];
              set_a[set + w] = sa;
              set_b[set + w] = sb;
              na += __popc(sa);
              nb += __popc(sb);
            }
            na = warp_sum(na);
            nb = warp_sum(nb);
            if (lane == 0) {
              if (chunks == 1) {
                global_size_a[j * y + a] = na;
                global_size_b[j * y + a] = nb;
              } else {
                atomicAdd(&global_size_a[j * y + a], na);
                atomicAdd(&global_size_b[j * y + a], nb);
              }
            }
          }
          continue;
        }
        std::int32_t* st = stab + std::size_t(a) * p;
        int na = 0, nb = 0, ne = 0;
        // Four words at a time, their loads issued before any store: the loop is bound by the
        // latency of global memory, and the compiler cannot prove that the stores of one word
        // leave the next word's loads alone.
        constexpr int kUnroll = 4;
        const int w_end = min(w1, (p + 31) / 32);
        for (int w = w0; w < w_end; w += kUnroll) {
          std::uint32_t cw[kUnroll];
          int before[kUnroll];
#pragma unroll
          for (int u = 0; u < kUnroll; ++u) {
            const int mu = 32 * (w + u) + lane;
            cw[u] = w + u < w_end ? col[w + u] : 0u;
            before[u] = w + u < w_end && mu < p ? st[mu] : 0;
          }
#pragma unroll
          for (int u = 0; u < kUnroll; ++u) {
            if (w + u >= w_end) break;  // the same for every lane
            const int mu = 32 * (w + u) + lane;
            const bool drops = ((w_plus ? cw[u] : ~cw[u]) >> lane) & 1u;
            bool in_a = false, in_b = false, err = false;
            if (mu < p) {
              const int d = before[u] + (drops ? -2 : 2);
              st[mu] = d;
              in_a = in_set_a(d, flips);
              in_b = in_set_b(d, flips);
              err = d < 0;
            }
            const std::uint32_t ba = __ballot_sync(0xffffffffu, in_a);
            const std::uint32_t bb = __ballot_sync(0xffffffffu, in_b);
            const std::uint32_t be = __ballot_sync(0xffffffffu, err);
            if (lane == 0) {
              set_a[a * pw + w + u] = ba;
              set_b[a * pw + w + u] = bb;
            }
            na += __popc(ba);
            nb += __popc(bb);
            ne += __popc(be);
          }
        }
        if (lane == 0) {
          if (chunks == 1) {
            size_a[a] = na;
            size_b[a] = nb;
            errors[a] = ne;
          } else {
            atomicAdd(&size_a[a], na);
            atomicAdd(&size_b[a], nb);
            atomicAdd(&errors[a], ne);
          }
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
      const std::uint32_t* row = rows + std::size_t(mu) * rw;
      bool error;
      if (kCommittee) {
        int vote_sum = 0;
        for (int k = 0; k < K; ++k) {
          const std::size_t first_input = bt.tree ? std::size_t(k) * fan_in : 0;
          const int differ = warp_sum(unit_disagreements(
              row, first_input, scratch, std::size_t(k) * fan_in, fan_in, lane, 32));
          vote_sum += fan_in - 2 * differ > 0 ? 1 : -1;
        }
        error = vote_sum < 0;
      } else {
        int differ = 0;
        for (int w = lane; w < nw; w += 32) differ += __popc(row[w] ^ scratch[w]);
        differ = warp_sum(differ);
        error = n - 2 * differ < 0;
      }
      if (lane == 0 && error) atomicAdd(&centre_errors, 1);
    }
    for (int a = 0; a < y; ++a) {
      int differ = 0;
      for (int w = tid; w < nw; w += blockDim.x) differ += __popc(weights[a * nw + w] ^ scratch[w]);
      if (differ) atomicAdd(&distance, static_cast<unsigned long long>(differ));
    }
    __syncthreads();
    if (tid == 0) {
      if (record)
        append_trace_record(bt, b, instance, done, centre_errors, distance, accepted,
                            [&](int a) { return errors[a]; });
      if (check && centre_errors == 0) {
        status->solved = 1;
        status->solved_by = y;
        stop = 1;
      }
    }
    __syncthreads();
    if (stop) break;
  }
  if (tid < y) {
    if (!kCommittee) {
      global_size_a[tid] = size_a[tid];
      global_size_b[tid] = size_b[tid];
    }
    bt.errors[b * y + tid] = errors[tid];
    bt.energy[std::size_t(b) * y + tid] = energy[tid];
  }
  if (tid == 0) {
    status->proposals = proposals;
    status->accepted = accepted;
  }
}

// Many-instance shape: one warp per replica, up to 8.
int many_instance_warps(int replicas) { return replicas < 8 ? replicas : 8; }

}  // namespace

BlockShape metropolis_block_shape(int device, int instances, int replicas, int pattern_words,
                                  bool committee) {
  int sms = 0;
  LOCENT_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  BlockShape shape;
  shape.warps = many_instance_warps(replicas);
  if (instances >= sms) return shape;
  // The kernels use more than 64 registers a thread, so a 1024-thread block would not launch:
  // the compiled kernel's own limit caps the block.
  cudaFuncAttributes attr{};
  if (committee)
    LOCENT_CUDA_CHECK(cudaFuncGetAttributes(&attr, metropolis_chunk_kernel<true, false>));
  else
    LOCENT_CUDA_CHECK(cudaFuncGetAttributes(&attr, metropolis_chunk_kernel<false, true>));
  const int max_warps = std::max(1, std::min(kMaxWarps, attr.maxThreadsPerBlock / 32));
  // Few instances: use the whole block's warps, giving each replica several of them as long as
  // each warp still gets at least one 32-word slice of the pattern words.
  const int per_replica = std::max(1, std::min(max_warps / replicas, (pattern_words + 31) / 32));
  shape.chunks = per_replica;
  shape.warps = std::min(max_warps, std::max(replicas * per_replica, shape.warps));
  return shape;
}

int resident_metropolis_blocks(int device, int replicas) {
  int per_sm = 0, sms = 0;
  LOCENT_CUDA_CHECK(cudaOccupancyMaxActiveBlocksPerMultiprocessor(
      &per_sm, metropolis_chunk_kernel<false, false>, 32 * many_instance_warps(replicas), 0));
  LOCENT_CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, device));
  return per_sm * sms;
}

void launch_metropolis_chunk(const MetropolisBatch& batch, const MetropolisChunk& chunk,
                             const BlockShape& shape, cudaStream_t stream) {
  const std::size_t table_bytes = chunk.table_stride * sizeof(std::uint32_t);
  const bool table_in_shared = table_bytes <= kSharedTableBytes;
  const std::size_t shared_bytes = table_in_shared ? table_bytes : 0;
  // The perceptron keeps its own instances of the kernel, free of the committee's indexing (the
  // committee's has no unrolled loop, so one instance serves both shapes).
  const dim3 grid(batch.instances), block(32 * shape.warps);
  if (batch.hidden_units > 1)
    metropolis_chunk_kernel<true, false><<<grid, block, shared_bytes, stream>>>(
        batch, chunk, shape.chunks, table_in_shared);
  else if (shape.chunks > 1)
    metropolis_chunk_kernel<false, true><<<grid, block, shared_bytes, stream>>>(
        batch, chunk, shape.chunks, table_in_shared);
  else
    metropolis_chunk_kernel<false, false><<<grid, block, shared_bytes, stream>>>(
        batch, chunk, shape.chunks, table_in_shared);
  LOCENT_CUDA_CHECK(cudaGetLastError());
}

}  // namespace locent::cuda
