// Scaling experiments: a grid of (N, α, solver) points, many instances each, defined in a TOML
// file, run in batches into an append-only, resumable JSON Lines file, and summarized.
// The file format, record schema and resume semantics are documented in examples/README.md.
#pragma once
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "locent/anneal.hpp"
#include "locent/backend.hpp"
#include "locent/error.hpp"
#include "locent/fbp.hpp"
#include "locent/problem.hpp"

namespace locent {

// --- the sweep definition ---------------------------------------------------------------------

struct SolverSpec {
  std::string name;     // unique within the sweep; the report's label
  std::string algo;     // "rsa", "sa" or "fbp"
  AnnealConfig config;  // rsa, sa: everything but the seed, which is derived per point
  FbpConfig fbp;        // fbp: everything but the seed (per point), threads and device
};

struct SweepSpec {
  std::string source;  // file name, for messages
  ModelSpec model;     // the network's architecture and K; its inputs are each N in turn
  LabelMode labels = LabelMode::storage;
  std::vector<int> n_values;         // odd, in the order given
  std::vector<double> alpha_values;  // each rounded to 1e-9
  std::uint32_t instances = 0;       // per (N, α) point
  std::uint64_t seed = 1;            // base seed of the whole sweep
  std::vector<SolverSpec> solvers;
  // How to run; none of these changes an outcome, so none is part of the hash.
  BackendKind backend = BackendKind::automatic;
  std::size_t batch_size = 0;  // 0: 1024 on CUDA, 4 × threads on the CPU
  int threads = 0;             // CPU threads per process; 0: the cores / processes per node

  std::size_t run_count() const {
    return n_values.size() * alpha_values.size() * solvers.size() * instances;
  }
  // Canonical JSON of what determines the outcomes (grid, instances, seed, solvers).
  std::string canonical() const;
  // 64-bit FNV-1a of canonical(), as 16 hex digits: the sweep hash of every record.
  std::string hash() const;
};

// "perceptron", or "committee-tree-K3" / "committee-fc-K5": the model in run keys and records.
std::string model_name(const ModelSpec& model);

// Parses and validates a whole sweep file. Throws Error(bad_input) listing every problem as
// "FILE:LINE: KEY: what is wrong".
SweepSpec parse_sweep(const std::string& text, const std::string& source);
SweepSpec load_sweep(const std::string& path);

// --- seeds -------------------------------------------------------------------------------------

std::uint64_t splitmix64(std::uint64_t x);
double round_alpha(double alpha);  // to the nearest multiple of 1e-9
// Seed of the instances and of the Monte Carlo at one grid point: a function of (base seed, N, α)
// only, so results do not depend on batching, order, solver or process count.
std::uint64_t point_seed(std::uint64_t base_seed, int n, double alpha);

// --- runs --------------------------------------------------------------------------------------

struct SweepRun {
  std::size_t solver = 0;  // index into SweepSpec::solvers
  int n = 0;
  double alpha = 0;
  std::uint32_t instance = 0;
};

// Every run of the sweep, point by point: N, then α, then solver, then instance.
std::vector<SweepRun> enumerate_runs(const SweepSpec& spec);
// The run key (see RunRecord::key) of a run of this sweep.
std::string run_key(const SweepSpec& spec, const SweepRun& run);

// One line of a results file, as resuming and the report need it.
struct RunRecord {
  // Identifies a run whatever process, batch or file produced it: model, label mode, N, α, the
  // solver's name and settings, point seed and instance index.
  std::string key;
  // The reproducible result: solved, solved_by, sweeps, proposals, accepted, final errors.
  std::string outcome;
  std::string sweep_hash;
  std::string solver;    // name
  std::string settings;  // canonical JSON of the solver settings
  std::string label_mode;
  std::string model;     // "perceptron", "committee-tree-K3"...
  int n = 0;
  double alpha = 0;
  std::size_t patterns = 0;
  std::uint32_t instance = 0;
  bool solved = false;
  double sweeps = 0;
  std::optional<double> seconds_to_solution;
};

struct ResultsContents {
  std::vector<RunRecord> records;
  bool torn_tail = false;  // the last line had no newline (a writer was killed) and was ignored
};

// Reads a results file without changing it. Throws Error(bad_input) naming the line of any
// record that is not valid.
ResultsContents read_results(const std::string& path);

// --- running -----------------------------------------------------------------------------------

// The processes of a distributed sweep. The default is a single process; an MPI implementation
// lives with the command-line tool.
class SweepComm {
 public:
  virtual ~SweepComm() = default;
  virtual int rank() const { return 0; }
  virtual int size() const { return 1; }
  virtual int local_rank() const { return 0; }  // among the processes of this node
  virtual int local_size() const { return 1; }
  // Collective and a barrier: true on every process iff `ok` is true on every process.
  virtual bool all_ok(bool ok) { return ok; }
  virtual std::uint64_t min_all(std::uint64_t v) { return v; }
  virtual std::uint64_t sum_all(std::uint64_t v) { return v; }
  // Ends every process of the job after an error in this one; a single process just returns.
  virtual void abort(int exit_code) { (void)exit_code; }
};

// An error on some processes of a job, thrown on every process at the same collective step, so
// that the job ends without MPI_Abort. Only one process (the lowest failing rank) reports it.
class CollectiveError : public Error {
 public:
  CollectiveError(const Error& e, bool report) : Error(e.what(), e.code()), report_(report) {}
  bool report() const { return report_; }

 private:
  bool report_;
};

// Collective: returns when no process has a failure, else throws CollectiveError on every one,
// with the message and exit code of the lowest failing rank.
void check_all(SweepComm& comm, const std::optional<Error>& failure);

struct SweepProgress {
  std::size_t total = 0;     // runs in the sweep
  std::size_t done = 0;      // recorded, including those of earlier invocations (this process)
  std::size_t pending = 0;   // runs this process still has to do, the current batch included
  std::size_t done_now = 0;  // runs this process finished in this invocation
  // The same in proposal budgets (runs × N × replicas × max_sweeps), a better measure for an ETA.
  double pending_work = 0, done_work = 0, batch_work = 0;
  double wall_seconds = 0;     // since this process started working
  std::string point;           // "N=201 α=0.3 rsa"
  std::string step_name = "sweep";  // what batch.sweeps counts: "sweep", or "step" (fBP focusing steps)
  std::size_t batch_runs = 0;  // runs in the current batch
  SolveProgress batch;         // within the current batch
};

struct SweepOptions {
  std::string results_path;
  bool force = false;                  // append to a file of another sweep
  std::optional<BackendKind> backend;  // overrides the file's
  std::optional<int> threads;
  std::optional<std::size_t> batch_size;
  std::function<bool()> stop_requested;  // polled between batches
  std::function<void(const SweepProgress&)> on_progress;
  std::function<void(const std::string&)> on_note;  // one-line notes for the user
};

struct SweepSummary {
  std::size_t total = 0;         // runs in the sweep
  std::size_t already_done = 0;  // recorded before this invocation
  std::size_t done_now = 0;      // recorded by this invocation, all processes
  std::size_t solved_now = 0;
  // Runs of this invocation's list recorded meanwhile by another writer (another invocation on
  // the same file): not run, or not recorded, a second time.
  std::size_t recorded_elsewhere = 0;
  std::size_t batches = 0;  // batches this invocation had to run, all processes
  std::size_t batch_size = 0;
  std::string backend, device;  // of this process
  bool interrupted = false;     // stopped early at a batch boundary (any process)
};

// Runs every run of `spec` not yet in the results file and appends its records. Collective over
// `comm`: every process calls it with the same spec and options.
SweepSummary run_sweep(const SweepSpec& spec, const SweepOptions& options, SweepComm& comm);

// --- report ------------------------------------------------------------------------------------

struct Interval {
  double low = 0, high = 0;
};
// Wilson score interval for a binomial proportion; z = 1.96 gives 95%.
Interval wilson_interval(std::size_t successes, std::size_t trials, double z = 1.959963984540054);

struct Quartiles {
  double q1 = 0, median = 0, q3 = 0;
};
// Quartiles with linear interpolation between order statistics (position q·(n − 1)).
Quartiles quartiles(std::vector<double> values);  // values must not be empty

struct ReportRow {
  std::string solver;    // name, suffixed " [2]", " [3]"... when one name has several settings
  std::string settings;  // canonical JSON
  std::string label_mode;
  std::string model;
  int n = 0;
  double alpha = 0;
  std::size_t patterns = 0;
  std::size_t runs = 0, solved = 0;
  double success = 0;                // solved / runs
  Interval success_ci;               // 95% Wilson
  std::optional<Quartiles> sweeps;   // over solved runs
  std::optional<Quartiles> seconds;  // over solved runs
};

struct Report {
  std::vector<ReportRow> rows;     // by solver (first appearance), N, α
  std::vector<std::string> notes;  // duplicates dropped, solver names with several settings
};

Report summarize(const std::vector<RunRecord>& records);
std::string report_table(const Report& report);
std::string report_csv(const Report& report);
std::string report_json(const Report& report);

}  // namespace locent
