// How `locent sweep` finds the other processes of its MPI job, if any.
#pragma once
#include <memory>

#include "locent/sweep.hpp"

namespace locent {

// Whether this build can run distributed sweeps.
bool mpi_compiled();

// Processes in the job that launched this one, as the launcher's environment says (Open MPI,
// MPICH, Intel MPI, MVAPICH); 1 when not launched by an MPI launcher.
int launcher_world_size();

// MPI when launched by an MPI launcher and compiled in (initialized here, finalized by the
// destructor); a single process otherwise. Throws Error(usage) when launched as one of several
// processes by a build without MPI, which would otherwise run the whole sweep in every process.
std::unique_ptr<SweepComm> make_sweep_comm();

}  // namespace locent
