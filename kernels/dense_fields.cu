// Dense field and error evaluation on the 1-bit tensor cores (dense_fields.hpp). CPU twin:
// host/cpu/dense_fields.cpp.
//
// A (R × N weights) times B (N × P, the pattern rows as its columns) with the b1 AND+POPC
// tensor-core operation (WMMA 8×8×128, sm_80+; AND is native on sm_80/sm_90, XOR is emulated on
// sm_90). Each warp owns a 32 × 32 output tile (4 × 4 fragments), a block 2 × 2 warps. The POPC
// counts go through shared memory, where each lane turns 32 of them into fields with
// a·b = N − 2(|a| + |b|) + 4·popc(a AND b), writes them coalesced and ballots the errors.
#include <mma.h>

#include <algorithm>
#include <vector>

#include "kernels/cuda_check.cuh"
#include "kernels/device_array.cuh"
#include "locent/dense_fields.hpp"

namespace locent {
namespace {

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

// Rows of a BitMatrix as 32-bit words, padded with zero rows to `rows_padded` and with zero bits
// to `k_bits` per row.
std::vector<std::uint32_t> pad_rows(const BitMatrix& m, std::size_t rows_padded, int k_bits,
                                    std::vector<int>& ones) {
  const std::size_t k_words = k_bits / 32;
  std::vector<std::uint32_t> out(rows_padded * k_words, 0);
  ones.assign(rows_padded, 0);
  for (std::size_t r = 0; r < m.rows(); ++r) {
    const std::uint64_t* src = m.row(r);
    for (std::size_t w = 0; w < m.words_per_row(); ++w) {
      out[r * k_words + 2 * w] = static_cast<std::uint32_t>(src[w]);
      out[r * k_words + 2 * w + 1] = static_cast<std::uint32_t>(src[w] >> 32);
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
  CudaDenseFields(const BitMatrix& weights, const BitMatrix& patterns)
      : rows_(int(weights.rows())), cols_(int(patterns.rows())), n_(int(weights.cols())) {
    int device = 0, major = 0;
    LOCENT_CUDA_CHECK(cudaGetDevice(&device));
    LOCENT_CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
    if (major < 8) throw Error("the 1-bit tensor-core path needs compute capability 8.0 or newer", ExitCode::no_device);
    k_bits_ = int((weights.cols() + kKBits - 1) / kKBits * kKBits);
    const std::size_t rows_padded = (rows_ + kBlockTile - 1) / kBlockTile * kBlockTile;
    const std::size_t cols_padded = (cols_ + kBlockTile - 1) / kBlockTile * kBlockTile;
    const double bytes = (double(rows_padded) + double(cols_padded)) * k_bits_ / 8 +
                         4.0 * double(rows_) * cols_ + 8.0 * (rows_padded + cols_padded);
    std::size_t free_bytes = 0, total = 0;
    LOCENT_CUDA_CHECK(cudaMemGetInfo(&free_bytes, &total));
    if (bytes > 0.95 * double(free_bytes))
      throw Error("out of GPU memory: dense fields of " + std::to_string(rows_) + " × " +
                      std::to_string(cols_) + " need " + std::to_string(bytes / 1e9) + " GB",
                  ExitCode::out_of_memory);
    std::vector<int> a_ones, b_ones;
    a_ = device_copy(pad_rows(weights, rows_padded, k_bits_, a_ones));
    b_ = device_copy(pad_rows(patterns, cols_padded, k_bits_, b_ones));
    a_ones_ = device_copy(a_ones);
    b_ones_ = device_copy(b_ones);
    fields_ = cuda::DeviceArray<std::int32_t>(std::max<std::size_t>(1, std::size_t(rows_) * cols_));
    errors_ = cuda::DeviceArray<std::int32_t>(std::max(1, rows_));
  }

  void evaluate() override {
    LOCENT_CUDA_CHECK(cudaMemset(errors_.get(), 0, std::max(1, rows_) * 4));
    const dim3 grid((cols_ + kBlockTile - 1) / kBlockTile, (rows_ + kBlockTile - 1) / kBlockTile);
    dense_fields_kernel<<<grid, 128>>>(a_.get(), b_.get(), a_ones_.get(), b_ones_.get(), rows_,
                                       cols_, n_, k_bits_, fields_.get(), errors_.get());
    LOCENT_CUDA_CHECK(cudaGetLastError());
    LOCENT_CUDA_CHECK(cudaDeviceSynchronize());
  }

  DenseFields download() const override {
    DenseFields out;
    out.fields.resize(std::size_t(rows_) * cols_);
    out.errors.resize(rows_);
    fields_.download(out.fields.data(), out.fields.size());
    errors_.download(out.errors.data(), out.errors.size());
    return out;
  }

 private:
  int rows_, cols_, n_, k_bits_ = 0;
  cuda::DeviceArray<std::uint32_t> a_, b_;
  cuda::DeviceArray<int> a_ones_, b_ones_;
  cuda::DeviceArray<std::int32_t> fields_, errors_;
};

}  // namespace

std::unique_ptr<DenseFieldsGpu> make_dense_fields_gpu(const BitMatrix& weights,
                                                      const BitMatrix& patterns) {
  if (weights.cols() != patterns.cols())
    throw Error("dense fields: weights have " + std::to_string(weights.cols()) +
                " inputs but patterns " + std::to_string(patterns.cols()));
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess || count == 0)
    throw Error("no usable CUDA device", ExitCode::no_device);
  return std::make_unique<CudaDenseFields>(weights, patterns);
}

}  // namespace locent
