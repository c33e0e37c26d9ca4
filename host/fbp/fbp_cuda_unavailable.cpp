// fBP entry point of a CPU-only build (-DLOCENT_CUDA=OFF): the CUDA engine is not there.
#include "locent/error.hpp"
#include "locent/fbp.hpp"

namespace locent {

std::unique_ptr<FbpEngine> make_cuda_fbp_engine(const Dataset&, std::size_t, int) {
  throw Error("this build of locent has no CUDA backend (built with LOCENT_CUDA=OFF)",
              ExitCode::no_device);
}

}  // namespace locent
