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

// Throws Error(no_device) unless `device` names a usable CUDA device.
inline void require_device(int device) {
  int count = 0;
  const cudaError_t err = cudaGetDeviceCount(&count);
  if (err != cudaSuccess || count == 0)
    throw Error(std::string("no usable CUDA device: ") +
                    (err != cudaSuccess ? cudaGetErrorString(err) : "none found"),
                ExitCode::no_device);
  if (device < 0 || device >= count)
    throw Error("CUDA device " + std::to_string(device) + " does not exist (" +
                    std::to_string(count) + " found)",
                ExitCode::no_device);
}

}  // namespace locent::cuda

#define LOCENT_CUDA_CHECK(call)                                                      \
  do {                                                                               \
    cudaError_t locent_err_ = (call);                                                \
    if (locent_err_ != cudaSuccess)                                                  \
      ::locent::cuda::throw_cuda_error(locent_err_, #call, __FILE__, __LINE__);      \
  } while (0)
