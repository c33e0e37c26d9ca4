// Backend selection: --backend auto|cpu|cuda.
#include "locent/backend.hpp"

namespace locent {

BackendKind parse_backend_kind(const std::string& name) {
  return name == "cpu" ? BackendKind::cpu : name == "cuda" ? BackendKind::cuda : BackendKind::automatic;
}

std::unique_ptr<Backend> make_backend(BackendKind kind, int threads, std::string* note,
                                      const CudaOptions& cuda) {
  switch (kind) {
    case BackendKind::cpu: return make_cpu_backend(threads);
    case BackendKind::cuda: return make_cuda_backend(0, cuda);
    case BackendKind::automatic:
      if (cuda_available()) return make_cuda_backend(0, cuda);
      if (note) *note = "no usable CUDA device; running on the CPU backend";
      return make_cpu_backend(threads);
  }
  return make_cpu_backend(threads);
}

}  // namespace locent
