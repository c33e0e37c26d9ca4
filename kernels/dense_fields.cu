// Dense field and error evaluation on the 1-bit tensor cores (dense_fields.hpp). CPU twin:
// host/cpu/dense_fields.cpp.
//
// A (R × N weights) times B (N × P, the pattern rows as its columns) with the b1 AND+POPC
// tensor-core operation (AND is native on sm_80/sm_90, XOR is emulated on sm_90), and
// a·b = N − 2(|a| + |b|) + 4·popc(a AND b). The kernels:
//  * mma (the default below compute capability 9.0): mma.sync m16n8k256 from shared memory. A
//    block computes a 128 × 128 output tile with 2 × 2 warps of 64 × 64 (4 × 8 fragments), or
//    256 × 128 with 4 × 2 warps
//    (mma_256: half the L2 traffic per multiply-add, but one block per SM instead of three; it
//    measured 9 % slower). __launch_bounds__(128, 3) holds the 2 × 2-warp kernel to 168
//    registers, so that three blocks share an SM's register file (at the 170 it took unbounded,
//    allocated as 176, only two did). 512-bit slices of A and B rows go through a 3-stage cp.async ring. Each 256-bit chunk of a row is stored with its words
//    interleaved (w0 w4 w1 w5 w2 w6 w3 w7), so that the two words a thread's fragment takes from
//    a row (t and t + 4, PTX ISA fragment layout) are one 64-bit load; a row stride of 24 words
//    keeps those loads free of bank conflicts. Fields are written straight from the
//    accumulators, as int16 on the device when N < 2^15 (widened on download); errors are summed
//    over each row's four lanes, one atomic per row and warp.
//  * mma_staged: mma with the fields staged through shared memory and written as 16-byte row
//    vectors (see the kernel's epilogue).
//  * wgmma (compute capability 9.0): Hopper's warpgroup instruction, operands read by the tensor
//    cores from swizzled shared memory, 128 × 256 tiles, a persistent grid
//    (dense_fields_wgmma.cu); wgmma_cluster (the default on 9.0): the same on clusters of two
//    blocks that share the B tile through TMA multicast, with the fields written by their own
//    warps while the tensor cores go on with the next tile.
//  * wmma: the first version, WMMA 8×8×128 fragments loaded straight from global memory; kept as
//    the reference that the new kernel was measured against (bench/RESULTS.md).
#include <mma.h>

#include <algorithm>
#include <vector>

#include "kernels/cuda_check.cuh"
#include "kernels/dense_fields_wgmma.cuh"
#include "kernels/device_util.cuh"
#include "kernels/device_array.cuh"
#include "locent/dense_fields.hpp"

namespace locent {
namespace {

using cuda::commit_copies;
using cuda::copy_16_bytes;
using cuda::mma_and_popc;
using cuda::wait_copies;

namespace wmma = nvcuda::wmma;
using wmma::experimental::precision::b1;

constexpr int kWarpTile = 32;            // outputs per warp tile side
constexpr int kBlockTile = 64;           // 2 × 2 warps
constexpr int kKBits = 128;              // bits per fragment step
constexpr int kTileLd = kWarpTile + 4;   // shared tile row stride (ints), a multiple of 4

__global__ void dense_fields_kernel(const std::uint32_t* a, const std::uint32_t* b,
                                    const int* a_ones, const int* b_ones, int rows, int cols,
                                    int n, int k_bits, std::int32_t* fields, std::int32_t* errors) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  __shared__ int tile[4][kWarpTile * kTileLd];
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int r0 = blockIdx.y * kBlockTile + (warp >> 1) * kWarpTile;
  const int c0 = blockIdx.x * kBlockTile + (warp & 1) * kWarpTile;
  const int k_words = k_bits / 32;

  wmma::fragment<wmma::accumulator, 8, 8, 128, int> acc[4][4];
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j) wmma::fill_fragment(acc[i][j], 0);
  for (int k = 0; k < k_bits; k += kKBits) {
    wmma::fragment<wmma::matrix_a, 8, 8, 128, b1, wmma::row_major> fa[4];
    wmma::fragment<wmma::matrix_b, 8, 8, 128, b1, wmma::col_major> fb[4];
    for (int i = 0; i < 4; ++i)
      wmma::load_matrix_sync(fa[i], a + std::size_t(r0 + 8 * i) * k_words + k / 32, k_bits);
    for (int j = 0; j < 4; ++j)
      wmma::load_matrix_sync(fb[j], b + std::size_t(c0 + 8 * j) * k_words + k / 32, k_bits);
    for (int i = 0; i < 4; ++i)
      for (int j = 0; j < 4; ++j)
        wmma::bmma_sync(acc[i][j], fa[i], fb[j], acc[i][j], wmma::experimental::bmmaBitOpAND,
                        wmma::experimental::bmmaAccumulateOpPOPC);
  }
  int* t = tile[warp];
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 4; ++j)
      wmma::store_matrix_sync(t + 8 * i * kTileLd + 8 * j, acc[i][j], kTileLd, wmma::mem_row_major);
  __syncwarp();
  const int col = c0 + lane;
  const int col_ones = col < cols ? b_ones[col] : 0;
  for (int rr = 0; rr < kWarpTile; ++rr) {
    const int row = r0 + rr;
    if (row >= rows) break;
    bool wrong = false;
    if (col < cols) {
      const int field = n - 2 * (a_ones[row] + col_ones) + 4 * t[rr * kTileLd + lane];
      fields[std::size_t(row) * cols + col] = field;
      wrong = field < 0;
    }
    const unsigned ballot = __ballot_sync(0xffffffffu, wrong);
    if (lane == 0 && ballot) atomicAdd(&errors[row], __popc(ballot));
  }
#endif
}

// ---- mma.sync m16n8k256 kernel ----
constexpr int kMmaTile = 128;                 // block tile columns; rows 64 × warp rows
constexpr int kStageBits = 512;               // bits of K per pipeline stage
constexpr int kStageWords = kStageBits / 32;  // 16
constexpr int kRowStride = kStageWords + 8;   // shared row stride in words (bank-conflict free)
constexpr int kStages = 3;
// Shared bytes of a block with `warp_rows` × 2 warps: per stage, (64·warp_rows + 128) rows.
constexpr std::size_t mma_shared_bytes(int warp_rows) {
  return std::size_t(kStages) * (64 * warp_rows + kMmaTile) * kRowStride * 4;
}

// Copies one stage (a_rows rows of a from a_row0, 128 of b from b_row0, K words [k_word,
// k_word + 16)) into the stage's shared tiles, in pieces of 16 bytes, 4 per row.
__device__ __forceinline__ void load_stage(std::uint32_t* sa, std::uint32_t* sb,
                                           const std::uint32_t* a, const std::uint32_t* b,
                                           int a_rows, int a_row0, int b_row0, int k_words,
                                           int k_word) {
  for (int piece = threadIdx.x; piece < a_rows * 4; piece += blockDim.x) {
    const int row = piece >> 2, quarter = piece & 3;
    copy_16_bytes(sa + row * kRowStride + 4 * quarter,
                  a + std::size_t(a_row0 + row) * k_words + k_word + 4 * quarter);
  }
  for (int piece = threadIdx.x; piece < kMmaTile * 4; piece += blockDim.x) {
    const int row = piece >> 2, quarter = piece & 3;
    copy_16_bytes(sb + row * kRowStride + 4 * quarter,
                  b + std::size_t(b_row0 + row) * k_words + k_word + 4 * quarter);
  }
}

// Field is std::int16_t when N < 2^15 (|a·b| ≤ N), halving the bytes written, which at
// R = P = N = 8192 are as many as the tensor cores take time for.
// kWarpRows × 2 warps of 64 × 64 outputs: a (64·kWarpRows) × 128 block tile. More rows per block
// mean fewer bytes through L2 per multiply-add, and fewer blocks per SM (registers).
// The staged epilogue (mma_staged): each warp writes its 64 × 64 fields into shared memory (the
// pipeline's, free by then), rows padded so that the fragment-order writes are free of bank
// conflicts, then copies them out as 16-byte row vectors, 4 rows a warp instruction, instead of
// 128 two- or four-byte stores a thread scattered over 8 rows each.
// 72 fields a row (36 words for int16, 72 for int32): a warp's 64 × 64 tile fits in the
// pipeline's shared memory for the 2 × 2-warp block in both widths.
constexpr int kStagedStride = 72;

template <class Field, int kWarpRows, bool kStaged = false>
__global__ void __launch_bounds__(64 * kWarpRows, kWarpRows == 2 ? 3 : 1) dense_fields_mma_kernel(
    const std::uint32_t* a, const std::uint32_t* b, const int* a_ones, const int* b_ones, int rows,
    int cols, int n, int k_bits, Field* fields, std::int32_t* errors) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  extern __shared__ __align__(16) std::uint32_t smem[];
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int g = lane >> 2, t = lane & 3;  // the fragment layout's groupID and thread-in-group
  constexpr int kTileRows = 64 * kWarpRows;
  constexpr int kStageWordsA = kTileRows * kRowStride, kStageWordsAll = kStageWordsA + kMmaTile * kRowStride;
  const int block_row = blockIdx.y * kTileRows, block_col = blockIdx.x * kMmaTile;
  const int warp_row = (warp >> 1) * 64, warp_col = (warp & 1) * 64;
  const int k_words = k_bits / 32, stages_total = k_bits / kStageBits;

  int acc[4][8][4];
#pragma unroll
  for (int i = 0; i < 4; ++i)
#pragma unroll
    for (int j = 0; j < 8; ++j)
#pragma unroll
      for (int e = 0; e < 4; ++e) acc[i][j][e] = 0;

  auto tile_a = [&](int stage) { return smem + stage * kStageWordsAll; };
  auto tile_b = [&](int stage) { return smem + stage * kStageWordsAll + kStageWordsA; };
#pragma unroll
  for (int s = 0; s < kStages - 1; ++s) {
    if (s < stages_total)
      load_stage(tile_a(s), tile_b(s), a, b, kTileRows, block_row, block_col, k_words,
                 s * kStageWords);
    commit_copies();
  }
  for (int kt = 0; kt < stages_total; ++kt) {
    wait_copies<kStages - 2>();
    __syncthreads();
    const int next = kt + kStages - 1;
    if (next < stages_total)
      load_stage(tile_a(next % kStages), tile_b(next % kStages), a, b, kTileRows, block_row,
                 block_col, k_words, next * kStageWords);
    commit_copies();
    const std::uint32_t* sa = tile_a(kt % kStages) + (warp_row + g) * kRowStride + 2 * t;
    const std::uint32_t* sb = tile_b(kt % kStages) + (warp_col + g) * kRowStride + 2 * t;
#pragma unroll
    for (int kk = 0; kk < kStageWords; kk += 8) {  // two 256-bit steps per stage
      std::uint32_t fa[4][4], fb[8][2];
#pragma unroll
      for (int i = 0; i < 4; ++i) {
        const uint2 lo = *reinterpret_cast<const uint2*>(sa + (16 * i) * kRowStride + kk);
        const uint2 hi = *reinterpret_cast<const uint2*>(sa + (16 * i + 8) * kRowStride + kk);
        fa[i][0] = lo.x;  // row g, word t
        fa[i][1] = hi.x;  // row g + 8, word t
        fa[i][2] = lo.y;  // row g, word t + 4
        fa[i][3] = hi.y;  // row g + 8, word t + 4
      }
#pragma unroll
      for (int j = 0; j < 8; ++j) {
        const uint2 v = *reinterpret_cast<const uint2*>(sb + (8 * j) * kRowStride + kk);
        fb[j][0] = v.x;
        fb[j][1] = v.y;
      }
#pragma unroll
      for (int i = 0; i < 4; ++i)
#pragma unroll
        for (int j = 0; j < 8; ++j) mma_and_popc(acc[i][j], fa[i], fb[j]);
    }
  }
  wait_copies<0>();

  // Two separate epilogues: merged into one loop with the store as the only difference, the
  // kernels spilled at the 168 registers that three blocks an SM allow.
  if constexpr (kStaged) {
    static_assert(kWarpRows == 2, "the staged tiles fill the 2 x 2-warp block's shared memory");
    static_assert(4 * 64 * kStagedStride * sizeof(Field) <= mma_shared_bytes(2), "staged tiles");
    __syncthreads();  // every warp is done with the pipeline's tiles
    constexpr int kStride = kStagedStride;
    constexpr int kVector = 16 / int(sizeof(Field));  // fields per 16-byte vector
    Field* tile = reinterpret_cast<Field*>(smem) + warp * 64 * kStride;
#pragma unroll
    for (int i = 0; i < 4; ++i) {
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const int local_row = 16 * i + 8 * half + g;
        const int row = block_row + warp_row + local_row;
        const bool row_ok = row < rows;
        const int row_part = row_ok ? n - 2 * a_ones[row] : 0;
        int wrong = 0;
#pragma unroll
        for (int j = 0; j < 8; ++j) {
          const int col = block_col + warp_col + 8 * j + 2 * t;
          Field pair[2];
#pragma unroll
          for (int e = 0; e < 2; ++e) {
            const int field =
                col + e < cols ? row_part - 2 * b_ones[col + e] + 4 * acc[i][j][2 * half + e] : 0;
            pair[e] = static_cast<Field>(field);
            wrong += row_ok && col + e < cols && field < 0;
          }
          Field* at = tile + local_row * kStride + 8 * j + 2 * t;  // one 4- or 8-byte store
          if constexpr (sizeof(Field) == 2)
            *reinterpret_cast<std::uint32_t*>(at) = std::uint32_t(std::uint16_t(pair[0])) |
                                                    std::uint32_t(std::uint16_t(pair[1])) << 16;
          else
            *reinterpret_cast<int2*>(at) = make_int2(pair[0], pair[1]);
        }
        wrong += __shfl_xor_sync(0xffffffffu, wrong, 1);
        wrong += __shfl_xor_sync(0xffffffffu, wrong, 2);
        if (t == 0 && wrong) atomicAdd(&errors[row], wrong);
      }
    }
    __syncwarp();
    // Copy-out: vector v of the tile is row v / (64 / kVector), columns kVector · (v % ...).
    constexpr int kPerRow = 64 / kVector;
    const bool aligned = cols % kVector == 0;  // every row starts on a 16-byte boundary
    for (int v = lane; v < 64 * kPerRow; v += 32) {
      const int local_row = v / kPerRow, local_col = kVector * (v % kPerRow);
      const int row = block_row + warp_row + local_row;
      const int col = block_col + warp_col + local_col;
      if (row >= rows || col >= cols) continue;
      const Field* from = tile + local_row * kStride + local_col;
      Field* to = fields + std::size_t(row) * cols + col;
      if (aligned && col + kVector <= cols) {
        *reinterpret_cast<uint4*>(to) = *reinterpret_cast<const uint4*>(from);
      } else {
        for (int e = 0; e < kVector && col + e < cols; ++e) to[e] = from[e];
      }
    }
  } else {
    // Epilogue: c0, c1 at (row g, columns 2t, 2t + 1), c2, c3 at row g + 8.
#pragma unroll
    for (int i = 0; i < 4; ++i) {
#pragma unroll
      for (int half = 0; half < 2; ++half) {
        const int row = block_row + warp_row + 16 * i + 8 * half + g;
        const bool row_ok = row < rows;
        const int row_part = row_ok ? n - 2 * a_ones[row] : 0;
        int wrong = 0;
#pragma unroll
        for (int j = 0; j < 8; ++j) {
          const int col = block_col + warp_col + 8 * j + 2 * t;
#pragma unroll
          for (int e = 0; e < 2; ++e) {
            if (row_ok && col + e < cols) {
              const int field = row_part - 2 * b_ones[col + e] + 4 * acc[i][j][2 * half + e];
              fields[std::size_t(row) * cols + col + e] = static_cast<Field>(field);
              wrong += field < 0;
            }
          }
        }
        wrong += __shfl_xor_sync(0xffffffffu, wrong, 1);
        wrong += __shfl_xor_sync(0xffffffffu, wrong, 2);
        if (t == 0 && wrong) atomicAdd(&errors[row], wrong);
      }
    }
  }
#endif
}

// Rows of a BitMatrix as 32-bit words, padded with zero rows to `rows_padded` and with zero bits
// to `k_bits` per row. `interleave`: each 256-bit chunk's words stored as w0 w4 w1 w5 w2 w6 w3 w7
// (the mma kernel's layout).
std::vector<std::uint32_t> pad_rows(const BitMatrix& m, std::size_t rows_padded, int k_bits,
                                    bool interleave, std::vector<int>& ones) {
  const std::size_t k_words = k_bits / 32;
  std::vector<std::uint32_t> out(rows_padded * k_words, 0);
  ones.assign(rows_padded, 0);
  const auto position = [interleave](std::size_t w) -> std::size_t {
    if (!interleave) return w;
    const std::size_t chunk = w / 8, i = w % 8;
    return 8 * chunk + (i < 4 ? 2 * i : 2 * (i - 4) + 1);
  };
  for (std::size_t r = 0; r < m.rows(); ++r) {
    const std::uint64_t* src = m.row(r);
    for (std::size_t w = 0; w < m.words_per_row(); ++w) {
      out[r * k_words + position(2 * w)] = static_cast<std::uint32_t>(src[w]);
      out[r * k_words + position(2 * w + 1)] = static_cast<std::uint32_t>(src[w] >> 32);
      ones[r] += __builtin_popcountll(src[w]);
    }
  }
  return out;
}

template <class T>
cuda::DeviceArray<T> device_copy(const std::vector<T>& v) {
  cuda::DeviceArray<T> d(std::max<std::size_t>(1, v.size()));
  d.upload(v.data(), v.size());
  return d;
}

class CudaDenseFields final : public DenseFieldsGpu {
 public:
  CudaDenseFields(const BitMatrix& weights, const BitMatrix& patterns, DenseKernel kernel)
      : rows_(int(weights.rows())), cols_(int(patterns.rows())), n_(int(weights.cols())),
        kernel_(kernel) {
    int device = 0, major = 0;
    LOCENT_CUDA_CHECK(cudaGetDevice(&device));
    LOCENT_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
    if (major < 8) throw Error("the 1-bit tensor-core path needs compute capability 8.0 or newer", ExitCode::no_device);
    const bool cluster = kernel_ == DenseKernel::wgmma_cluster;
    const bool wgmma = kernel_ == DenseKernel::wgmma || cluster;
    if (wgmma && !cuda::dense_wgmma_supported(device))
      throw Error("the wgmma dense kernel needs compute capability 9.0 (H100, H200); the mma "
                  "kernel runs on 8.0 and newer",
                  ExitCode::no_device);
    const bool mma = kernel_ != DenseKernel::wmma && !wgmma;
    warp_rows_ = kernel_ == DenseKernel::mma_256 ? 4 : 2;
    const int k_step = wgmma ? cuda::kWgmmaStageBits : mma ? kStageBits : kKBits;
    const int row_tile = cluster ? 2 * cuda::kWgmmaTileRows  // a cluster's pair of row tiles
                         : wgmma ? cuda::kWgmmaTileRows
                         : mma   ? 64 * warp_rows_
                                 : kBlockTile;
    const int col_tile = wgmma ? cuda::kWgmmaTileCols : mma ? kMmaTile : kBlockTile;
    // At least one stage, so that N = 0 still writes its (zero) fields.
    k_bits_ = int((std::max<std::size_t>(1, weights.cols()) + k_step - 1) / k_step * k_step);
    const std::size_t rows_padded = (rows_ + row_tile - 1) / row_tile * row_tile;
    const std::size_t cols_padded = (cols_ + col_tile - 1) / col_tile * col_tile;
    const double bytes = (double(rows_padded) + double(cols_padded)) * k_bits_ / 8 +
                         4.0 * double(rows_) * cols_ + 8.0 * (rows_padded + cols_padded);
    std::size_t free_bytes = 0, total = 0;
    LOCENT_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total));
    if (bytes > 0.95 * double(free_bytes))
      throw Error("out of GPU memory: dense fields of " + std::to_string(rows_) + " × " +
                      std::to_string(cols_) + " need " + std::to_string(bytes / 1e9) + " GB",
                  ExitCode::out_of_memory);
    std::vector<int> a_ones, b_ones;
    a_ = device_copy(pad_rows(weights, rows_padded, k_bits_, mma, a_ones));
    b_ = device_copy(pad_rows(patterns, cols_padded, k_bits_, mma, b_ones));
    a_ones_ = device_copy(a_ones);
    b_ones_ = device_copy(b_ones);
    const std::size_t outputs = std::max<std::size_t>(1, std::size_t(rows_) * cols_);
    narrow_ = (mma || wgmma) && n_ < 32768;
    if (narrow_)
      narrow_fields_ = cuda::DeviceArray<std::int16_t>(outputs);
    else
      fields_ = cuda::DeviceArray<std::int32_t>(outputs);
    errors_ = cuda::DeviceArray<std::int32_t>(std::max(1, rows_));
    if (mma) {
      const int bytes = int(mma_shared_bytes(warp_rows_));
      if (warp_rows_ == 4) {
        allow_shared(dense_fields_mma_kernel<std::int16_t, 4>, bytes);
        allow_shared(dense_fields_mma_kernel<std::int32_t, 4>, bytes);
      } else {
        allow_shared(dense_fields_mma_kernel<std::int16_t, 2>, bytes);
        allow_shared(dense_fields_mma_kernel<std::int32_t, 2>, bytes);
        allow_shared(dense_fields_mma_kernel<std::int16_t, 2, true>, bytes);
        allow_shared(dense_fields_mma_kernel<std::int32_t, 2, true>, bytes);
      }
    }
  }

  void evaluate() override {
    LOCENT_CUDA_CHECK(cudaMemset(errors_.get(), 0, std::max(1, rows_) * 4));
    if (kernel_ == DenseKernel::wgmma_cluster) {
      cuda::launch_dense_fields_wgmma_cluster(
          a_.get(), b_.get(), a_ones_.get(), b_ones_.get(), rows_, cols_, n_, k_bits_,
          narrow_ ? narrow_fields_.get() : nullptr, narrow_ ? nullptr : fields_.get(), errors_.get());
    } else if (kernel_ == DenseKernel::wgmma) {
      cuda::launch_dense_fields_wgmma(a_.get(), b_.get(), a_ones_.get(), b_ones_.get(), rows_, cols_,
                                      n_, k_bits_, narrow_ ? narrow_fields_.get() : nullptr,
                                      narrow_ ? nullptr : fields_.get(), errors_.get());
    } else if (kernel_ != DenseKernel::wmma) {
      if (warp_rows_ == 4)
        launch_mma<4>();
      else if (kernel_ == DenseKernel::mma_staged)
        launch_mma<2, true>();
      else
        launch_mma<2>();
    } else {
      const dim3 grid((cols_ + kBlockTile - 1) / kBlockTile, (rows_ + kBlockTile - 1) / kBlockTile);
      dense_fields_kernel<<<grid, 128>>>(a_.get(), b_.get(), a_ones_.get(), b_ones_.get(), rows_,
                                         cols_, n_, k_bits_, fields_.get(), errors_.get());
    }
    LOCENT_CUDA_CHECK(cudaGetLastError());
    LOCENT_CUDA_CHECK(cudaDeviceSynchronize());
  }

  DenseFields download() const override {
    DenseFields out;
    out.fields.resize(std::size_t(rows_) * cols_);
    out.errors.resize(rows_);
    if (narrow_) {
      std::vector<std::int16_t> narrow(out.fields.size());
      narrow_fields_.download(narrow.data(), narrow.size());
      std::copy(narrow.begin(), narrow.end(), out.fields.begin());
    } else {
      fields_.download(out.fields.data(), out.fields.size());
    }
    errors_.download(out.errors.data(), out.errors.size());
    return out;
  }

  template <int kWarpRows, bool kStaged = false>
  void launch_mma() {
    const int tile_rows = 64 * kWarpRows;
    const dim3 grid((cols_ + kMmaTile - 1) / kMmaTile, (rows_ + tile_rows - 1) / tile_rows);
    const std::size_t bytes = mma_shared_bytes(kWarpRows);
    if (narrow_)
      dense_fields_mma_kernel<std::int16_t, kWarpRows, kStaged><<<grid, 64 * kWarpRows, bytes>>>(
          a_.get(), b_.get(), a_ones_.get(), b_ones_.get(), rows_, cols_, n_, k_bits_,
          narrow_fields_.get(), errors_.get());
    else
      dense_fields_mma_kernel<std::int32_t, kWarpRows, kStaged><<<grid, 64 * kWarpRows, bytes>>>(
          a_.get(), b_.get(), a_ones_.get(), b_ones_.get(), rows_, cols_, n_, k_bits_,
          fields_.get(), errors_.get());
  }

  template <class Kernel>
  static void allow_shared(Kernel kernel, int bytes) {
    LOCENT_CUDA_CHECK(
        cudaFuncSetAttribute(kernel, cudaFuncAttributeMaxDynamicSharedMemorySize, bytes));
  }

  std::string kernel_name() const override {
    if (kernel_ == DenseKernel::wmma)
      return "1-bit tensor cores, wmma 8x8x128 b1 and+popc from global memory, int32 fields";
    if (kernel_ == DenseKernel::wgmma)
      return std::string("1-bit tensor cores, wgmma m64n256k256 and+popc from swizzled shared "
                         "memory, 128 x 256 tiles, persistent grid, ") +
             (narrow_ ? "int16 fields, staged epilogue" : "int32 fields");
    if (kernel_ == DenseKernel::wgmma_cluster)
      return std::string("1-bit tensor cores, wgmma m64n256k256 and+popc, 128 x 256 tiles on "
                         "clusters of 2 sharing B by TMA multicast, producer warpgroup, "
                         "persistent grid, ") +
             (narrow_ ? "int16 fields, staged epilogue" : "int32 fields");
    return "1-bit tensor cores, mma.sync m16n8k256 and+popc, " + std::to_string(64 * warp_rows_) +
           " x 128 block tiles, shared-memory pipeline, " + (narrow_ ? "int16" : "int32") +
           " fields" + (kernel_ == DenseKernel::mma_staged ? ", staged epilogue" : "");
  }

 private:
  int rows_, cols_, n_, k_bits_ = 0;
  DenseKernel kernel_;
  bool narrow_ = false;  // fields kept as int16 on the device (mma kernel, N < 2^15)
  int warp_rows_ = 2;     // mma kernels: 2 × 2 or 4 × 2 warps
  cuda::DeviceArray<std::int16_t> narrow_fields_;
  cuda::DeviceArray<std::uint32_t> a_, b_;
  cuda::DeviceArray<int> a_ones_, b_ones_;
  cuda::DeviceArray<std::int32_t> fields_, errors_;
};

}  // namespace

bool dense_kernel_available(DenseKernel kernel) {
  int count = 0, device = 0, major = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0) return false;
  if (cudaGetDevice(&device) != cudaSuccess ||
      cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device) != cudaSuccess)
    return false;
  if (kernel == DenseKernel::wgmma) return cuda::dense_wgmma_supported(device);
  if (kernel == DenseKernel::wgmma_cluster) {
    int clusters = 0;
    return cuda::dense_wgmma_supported(device) &&
           cudaDeviceGetAttribute(&clusters, cudaDevAttrClusterLaunch, device) == cudaSuccess &&
           clusters != 0;
  }
  return major >= 8;
}

namespace {
DenseKernel resolve(DenseKernel kernel) {
  if (kernel != DenseKernel::automatic) return kernel;
  // The fastest measured first (bench/RESULTS.md): wgmma on clusters, wgmma, then mma.
  if (cuda::kWgmmaByDefault && dense_kernel_available(DenseKernel::wgmma_cluster))
    return DenseKernel::wgmma_cluster;
  if (cuda::kWgmmaByDefault && dense_kernel_available(DenseKernel::wgmma))
    return DenseKernel::wgmma;
  return DenseKernel::mma;
}
}  // namespace

std::unique_ptr<DenseFieldsGpu> make_dense_fields_gpu(const BitMatrix& weights,
                                                      const BitMatrix& patterns, DenseKernel kernel) {
  if (weights.cols() != patterns.cols())
    throw Error("dense fields: weights have " + std::to_string(weights.cols()) +
                " inputs but patterns " + std::to_string(patterns.cols()));
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0)
    throw Error("no usable CUDA device", ExitCode::no_device);
  return std::make_unique<CudaDenseFields>(weights, patterns, resolve(kernel));
}

}  // namespace locent
