// Macros and tiny helpers that compile both as host C++ and as CUDA device code, so the CPU
// backend and the kernels share one definition of every rule that decides a trajectory.
#pragma once
#include <cstdint>

#if defined(__CUDACC__)
#define LOCENT_HD __host__ __device__ __forceinline__
#else
#define LOCENT_HD inline
#endif

// Unrolls the loop that follows in device code (its arrays then stay in registers); nothing on
// the host.
#if defined(__CUDA_ARCH__)
#define LOCENT_UNROLL _Pragma("unroll")
#else
#define LOCENT_UNROLL
#endif

namespace locent {

LOCENT_HD int popcount64(std::uint64_t x) {
#if defined(__CUDA_ARCH__)
  return __popcll(x);
#else
  return __builtin_popcountll(x);
#endif
}

LOCENT_HD int popcount32(std::uint32_t x) {
#if defined(__CUDA_ARCH__)
  return __popc(x);
#else
  return __builtin_popcount(x);
#endif
}

}  // namespace locent
