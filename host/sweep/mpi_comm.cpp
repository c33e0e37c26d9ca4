// The MPI implementation of SweepComm, and the single-process fallback of builds without MPI.
#include "host/sweep/mpi_comm.hpp"

#include <cstdlib>
#include <string>

#include "locent/error.hpp"

#ifdef LOCENT_HAVE_MPI
#include <mpi.h>
#endif

namespace locent {
namespace {

int env_int(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? std::atoi(v) : 0;
}

[[maybe_unused]] bool launched_by_mpi() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMIX_RANK", "MV2_COMM_WORLD_SIZE"})
    if (std::getenv(name)) return true;
  return false;
}

#ifdef LOCENT_HAVE_MPI
class MpiComm final : public SweepComm {
 public:
  MpiComm() {
    int provided = 0;
    // Worker threads exist (the CPU backend), but only the main thread calls MPI.
    MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    MPI_Comm node;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node);
    MPI_Comm_rank(node, &local_rank_);
    MPI_Comm_size(node, &local_size_);
    MPI_Comm_free(&node);
  }
  ~MpiComm() override { MPI_Finalize(); }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_rank() const override { return local_rank_; }
  int local_size() const override { return local_size_; }
  bool all_ok(bool ok) override {
    int mine = ok ? 1 : 0, all = 0;
    MPI_Allreduce(&mine, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    return all == 1;
  }
  std::uint64_t min_all(std::uint64_t v) override { return reduce(v, MPI_MIN); }
  std::uint64_t sum_all(std::uint64_t v) override { return reduce(v, MPI_SUM); }
  void abort(int exit_code) override {
    if (size_ > 1) MPI_Abort(MPI_COMM_WORLD, exit_code);
  }

 private:
  std::uint64_t reduce(std::uint64_t v, MPI_Op op) {
    std::uint64_t out = 0;
    MPI_Allreduce(&v, &out, 1, MPI_UINT64_T, op, MPI_COMM_WORLD);
    return out;
  }
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
};
#endif

}  // namespace

bool mpi_compiled() {
#ifdef LOCENT_HAVE_MPI
  return true;
#else
  return false;
#endif
}

int launcher_world_size() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "MV2_COMM_WORLD_SIZE"})
    if (const int n = env_int(name); n > 0) return n;
  return 1;
}

std::unique_ptr<SweepComm> make_sweep_comm() {
#ifdef LOCENT_HAVE_MPI
  // Outside a launcher, MPI_Init would start a singleton runtime: slow, and fragile in containers.
  if (launched_by_mpi()) return std::make_unique<MpiComm>();
#else
  if (launcher_world_size() > 1)
    throw Error("launched as one of " + std::to_string(launcher_world_size()) +
                    " MPI processes, but this build of locent has no MPI support (built with "
                    "LOCENT_MPI=OFF), so every process would run the whole sweep; run it without "
                    "mpirun, or rebuild with MPI",
                ExitCode::usage);
#endif
  return std::make_unique<SweepComm>();
}

}  // namespace locent
