// Checked CUDA calls: every failure becomes a locent::Error naming the call, file and line.
#pragma once
#include <cuda_runtime.h>

#include <string>

#include "locent/error.hpp"

namespace locent::cuda {

[[noreturn]] inline void throw_cuda_error(cudaError_t err, const char* call, const char* file,
                                          int line) {
  const ExitCode code =
      err == cudaErrorMemoryAllocation ? ExitCode::out_of_memory : ExitCode::failure;
  throw Error(std::string("CUDA error: ") + cudaGetErrorString(err) + " in " + call + " (" +
                  file + ":" + std::to_string(line) + ")",
              code);
}

}  // namespace locent::cuda

#define LOCENT_CUDA_CHECK(call)                                                      \
  do {                                                                               \
    cudaError_t locent_err_ = (call);                                                \
    if (locent_err_ != cudaSuccess)                                                  \
      ::locent::cuda::throw_cuda_error(locent_err_, #call, __FILE__, __LINE__);      \
  } while (0)
