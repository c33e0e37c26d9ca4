// Dense field and error evaluation with Hopper's warpgroup tensor-core instruction (wgmma, b1
// AND+POPC), the `wgmma` kernel of dense_fields.cu. Built for sm_90a only (wgmma exists in no
// other target), so it runs on compute capability 9.0 and nowhere else. CPU twin:
// host/cpu/dense_fields.cpp; test: tests/dense_fields_test.cpp.
#pragma once
#include <cstdint>

namespace locent::cuda {

// Whether DenseKernel::automatic picks these kernels on compute capability 9.0 (the cluster one
// where the device launches clusters): measured correct and fastest on an H200
// (tests/dense_fields_test.cpp, `locent bench --dense-kernel wgmma-cluster`, bench/RESULTS.md).
inline constexpr bool kWgmmaByDefault = true;

inline constexpr int kWgmmaTileRows = 128;    // two warpgroups of 64 rows
inline constexpr int kWgmmaTileCols = 256;    // wgmma n = 256
inline constexpr int kWgmmaStageBits = 1024;  // K per pipeline stage: one 128-byte swizzle row

// Whether `device` can run the kernel (compute capability 9.0).
bool dense_wgmma_supported(int device);

// fields = a · bᵀ for ±1 rows packed as bits: a is `rows` rows padded with zero rows to a multiple
// of kWgmmaTileRows, b `cols` rows padded to kWgmmaTileCols, both k_bits (a multiple of
// kWgmmaStageBits, zero padded) per row, as plain row-major 32-bit words; a_ones and b_ones count
// each padded row's set bits. Exactly one of fields16 (when n < 2^15) and fields32 is given.
// `errors` (rows entries) must be zero. Asynchronous on the default stream.
void launch_dense_fields_wgmma(const std::uint32_t* a, const std::uint32_t* b, const int* a_ones,
                               const int* b_ones, int rows, int cols, int n, int k_bits,
                               std::int16_t* fields16, std::int32_t* fields32,
                               std::int32_t* errors);

// The same on clusters of two blocks that share each B tile through TMA multicast (half the B
// traffic from L2), with a producer warp and mbarriers instead of block barriers, and the fields
// written by other warps while the tensor cores go on with the next tile. `a` must be padded to a
// multiple of 2 · kWgmmaTileRows rows. With int32 fields (fields16 null) it runs the kernel above.
void launch_dense_fields_wgmma_cluster(const std::uint32_t* a, const std::uint32_t* b,
                                       const int* a_ones, const int* b_ones, int rows, int cols,
                                       int n, int k_bits, std::int16_t* fields16,
                                       std::int32_t* fields32, std::int32_t* errors);

}  // namespace locent::cuda
