// Backend entry points of a CPU-only build (-DLOCENT_CUDA=OFF).
#include "locent/backend.hpp"
#include "locent/dense_fields.hpp"
#include "locent/error.hpp"

namespace locent {

bool cuda_available() { return false; }
bool cuda_clusters_available(int) { return false; }
std::uint64_t cuda_pipeline_launches() { return 0; }
std::uint64_t cuda_pipeline_staged_launches() { return 0; }
std::uint64_t cuda_pipeline_interleaved_launches() { return 0; }
std::uint64_t cuda_pipeline_split_launches() { return 0; }
std::uint64_t cuda_pipeline_ordered_launches() { return 0; }

std::unique_ptr<Backend> make_cuda_backend(int, const CudaOptions&) {
  throw Error("this build of locent has no CUDA backend (built with LOCENT_CUDA=OFF)",
              ExitCode::no_device);
}

bool dense_kernel_available(DenseKernel) { return false; }

std::unique_ptr<DenseFieldsGpu> make_dense_fields_gpu(const BitMatrix&, const BitMatrix&, DenseKernel) {
  throw Error("this build of locent has no CUDA backend (built with LOCENT_CUDA=OFF)",
              ExitCode::no_device);
}

}  // namespace locent
