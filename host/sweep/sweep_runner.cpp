// Runs a sweep: the runs not yet recorded, in batches of one (N, α, solver) point, shared
// round-robin among the processes, each batch appended to the results file as soon as it ends.
#include <algorithm>
#include <chrono>
#include <ctime>
#include <functional>
#include <map>
#include <memory>
#include <thread>
#include <unordered_set>

#include "host/sweep/sweep_internal.hpp"
#include "host/text_format.hpp"
#include "locent/error.hpp"
#include "locent/version.hpp"

namespace locent {
namespace {

using Clock = std::chrono::steady_clock;

std::string label_mode_name(LabelMode m) { return m == LabelMode::storage ? "storage" : "teacher"; }

std::string alpha_text(double a) {
  // α is a multiple of 1e-9: nine decimals print it exactly; trailing zeros go.
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9f", a);
  std::string s = buf;
  s.erase(s.find_last_not_of('0') + 1);
  if (s.back() == '.') s.pop_back();
  return s;
}

int count_cuda_devices() {
  // Creating a CUDA backend only reads the device's properties, so probing is cheap.
  int count = 0;
  for (; count < 1024; ++count) {
    try {
      make_cuda_backend(count);
    } catch (const Error&) {
      break;
    }
  }
  return count;
}

// One GPU per process, by rank on the node, when CUDA is asked for or available. `device`
// receives the CUDA device's index (fBP engines are created per instance on it).
std::unique_ptr<Backend> make_sweep_backend(BackendKind kind, int threads, int local_rank,
                                            std::string* note, int* device) {
  *device = 0;
  if (kind == BackendKind::cpu) return make_cpu_backend(threads);
  if (kind == BackendKind::automatic && !cuda_available()) {
    *note = "no usable CUDA device; running on the CPU backend";
    return make_cpu_backend(threads);
  }
  const int devices = count_cuda_devices();
  if (devices == 0) return make_cuda_backend(0);  // throws the backend's own explanation
  *device = local_rank % devices;
  return make_cuda_backend(*device);
}

struct Batch {
  std::size_t solver = 0;
  int n = 0;
  double alpha = 0;
  std::vector<std::uint32_t> instances;
};

// Work of the batch if no run ends early, the measure behind the ETA: proposals for annealing,
// message updates of one BP iteration a focusing step for fBP (a lower bound on its work).
double budget(const SweepSpec& spec, const Batch& b) {
  const SolverSpec& s = spec.solvers[b.solver];
  ModelSpec m = spec.model;
  m.inputs = b.n;
  if (s.algo == "fbp")
    return double(b.instances.size()) * double(m.weights()) *
           double(pattern_count(m, b.alpha)) * double(s.fbp.protocol.steps.size());
  return double(b.instances.size()) * double(m.weights()) * s.config.replicas *
         double(s.config.max_sweeps);
}

std::string point_name(const SweepSpec& spec, const Batch& b) {
  return "N=" + std::to_string(b.n) + " α=" + alpha_text(b.alpha) + " " +
         spec.solvers[b.solver].name;
}

// The runs not in `done`, in the order of enumerate_runs, cut into batches of one point each. A
// stop request ends the listing early (*stopped; the caller then runs nothing): a grid of
// millions of runs takes seconds to list.
std::vector<Batch> make_batches(const SweepSpec& spec, const std::unordered_set<std::string>& done,
                                std::size_t batch_size, const std::function<bool()>& stop,
                                bool* stopped) {
  std::vector<Batch> batches;
  std::size_t listed = 0;
  *stopped = false;
  for (const SweepRun& run : enumerate_runs(spec)) {
    if (stop && ++listed % 65536 == 0 && stop()) {
      *stopped = true;
      break;
    }
    if (!done.empty() && done.count(run_key(spec, run))) continue;
    const bool same_point = !batches.empty() && batches.back().solver == run.solver &&
                            batches.back().n == run.n && batches.back().alpha == run.alpha;
    if (!same_point || batches.back().instances.size() >= batch_size)
      batches.push_back({run.solver, run.n, run.alpha, {}});
    batches.back().instances.push_back(run.instance);
  }
  return batches;
}

// The fields every record starts with: the sweep, the problem, the solver and the seeds.
nlohmann::ordered_json record_head(const SweepSpec& spec, const std::string& hash,
                                   const SolverSpec& solver, const Dataset& data, double alpha,
                                   std::uint32_t instance) {
  const nlohmann::json sorted = settings_json(solver);
  nlohmann::ordered_json settings;
  for (const auto& [k, v] : sorted.items()) settings[k] = v;
  nlohmann::ordered_json j;
  j["sweep_hash"] = hash;
  j["model"] = model_name(spec.model);
  j["label_mode"] = label_mode_name(spec.labels);
  j["N"] = data.n_inputs();
  j["alpha"] = alpha;
  j["P"] = data.n_patterns();
  j["solver"] = solver.name;
  j["settings"] = settings;
  j["base_seed"] = spec.seed;
  j["point_seed"] = data.seed;
  j["instance"] = instance;
  return j;
}

// The fields every record ends with: the batch, and where and when it ran.
void record_tail(nlohmann::ordered_json& j, std::size_t batch_runs, double batch_seconds,
                 const std::string& backend, const std::string& device, int rank,
                 const std::string& date) {
  j["batch_runs"] = batch_runs;
  j["batch_seconds"] = batch_seconds;
  j["backend"] = backend;
  j["device"] = device;
  j["rank"] = rank;
  j["date"] = date;
  j["locent_version"] = kVersion;
}

nlohmann::ordered_json make_record(const SweepSpec& spec, const std::string& hash,
                                   const SolverSpec& solver, const Dataset& data, double alpha,
                                   const InstanceResult& r, const BatchResult& batch,
                                   std::size_t batch_runs, int rank, const std::string& date) {
  const int y = solver.config.replicas;
  nlohmann::ordered_json j = record_head(spec, hash, solver, data, alpha, r.instance);
  j["solved"] = r.solved;
  j["solved_by"] =
      r.solved
          ? (r.solved_by == y ? nlohmann::ordered_json("centre")
                              : nlohmann::ordered_json("replica " + std::to_string(r.solved_by)))
          : nlohmann::ordered_json(nullptr);
  j["sweeps"] = r.sweeps;
  j["proposals"] = r.proposals;
  j["accepted"] = r.accepted;
  j["replica_errors"] = r.replica_errors;
  j["centre_errors"] = r.centre_errors;
  j["seconds_to_solution"] = r.solved ? nlohmann::ordered_json(r.seconds_to_solution) : nullptr;
  j["stopped_by_time"] = !r.solved && batch.stopped_by_time;
  record_tail(j, batch_runs, batch.wall_seconds, batch.backend, batch.device, rank, date);
  return j;
}

// The record of an fBP run: the same fields as an annealing run's, so that resuming and the
// report treat both alike. "sweeps" counts BP iterations (every message updated once), proposals
// and accepted are 0, the errors are those of sign(marginals).
nlohmann::ordered_json make_fbp_record(const SweepSpec& spec, const std::string& hash,
                                       const SolverSpec& solver, const Dataset& data, double alpha,
                                       const FbpResult& r, double batch_seconds,
                                       std::size_t batch_runs, int rank, const std::string& date) {
  nlohmann::ordered_json j = record_head(spec, hash, solver, data, alpha, data.instance);
  j["solved"] = r.solved;
  j["solved_by"] = r.solved ? nlohmann::ordered_json("marginals") : nlohmann::ordered_json(nullptr);
  j["sweeps"] = r.iterations;
  j["proposals"] = 0;
  j["accepted"] = 0;
  j["replica_errors"] = nlohmann::ordered_json::array();
  j["centre_errors"] = r.errors;
  j["iterations"] = r.iterations;
  j["focusing_steps"] = r.trace.size();
  j["seconds_to_solution"] = r.solved ? nlohmann::ordered_json(r.seconds_to_solution) : nullptr;
  j["stopped_by_time"] = r.stopped_by_time;
  record_tail(j, batch_runs, batch_seconds, r.backend, r.device, rank, date);
  return j;
}

}  // namespace

void check_all(SweepComm& comm, const std::optional<Error>& failure) {
  if (comm.all_ok(!failure.has_value())) return;
  constexpr std::uint64_t none = ~std::uint64_t{0};
  const std::uint64_t first = comm.min_all(failure ? std::uint64_t(comm.rank()) : none);
  const bool reporter = first == std::uint64_t(comm.rank());
  const auto code =
      static_cast<ExitCode>(comm.min_all(reporter ? std::uint64_t(failure->code()) : none));
  if (reporter) throw CollectiveError(*failure, true);
  throw CollectiveError(Error("rank " + std::to_string(first) + " failed", code), false);
}

SweepSummary run_sweep(const SweepSpec& spec, const SweepOptions& o, SweepComm& comm) {
  const int rank = comm.rank();
  auto note = [&](const std::string& s) {
    if (o.on_note) o.on_note(s);
  };
  const std::string hash = spec.hash();
  const std::uint64_t h = fnv1a64(spec.canonical());
  if (!comm.all_ok(comm.min_all(h) == h && comm.min_all(~h) == ~h))
    throw CollectiveError(Error("the processes of this job read different sweep files (the sweep "
                                "hashes differ)",
                                ExitCode::usage),
                          comm.rank() == 0);

  const BackendKind kind = o.backend.value_or(spec.backend);
  int threads = o.threads.value_or(spec.threads);
  if (threads <= 0) {
    const int cores = std::max(1, int(std::thread::hardware_concurrency()));
    threads = std::max(1, cores / std::max(1, comm.local_size()));
  }

  // Every process reads the results file before any process appends to it (all_ok is a
  // barrier), so all of them derive the same list of batches.
  std::unique_ptr<Backend> backend;
  int cuda_device = 0;
  std::unique_ptr<ResultsFile> file;
  ResultsContents contents;
  std::optional<Error> failure;
  try {
    std::string backend_note;
    backend = make_sweep_backend(kind, threads, comm.local_rank(), &backend_note, &cuda_device);
    if (!backend_note.empty() && rank == 0) note(backend_note);
    file = std::make_unique<ResultsFile>(o.results_path);
    std::size_t dropped = 0;
    const std::string text = file->repair_and_read(&dropped);
    if (dropped)
      note(o.results_path + ": dropped an incomplete last line (" + std::to_string(dropped) +
           " bytes) left by an interrupted run");
    contents = parse_results(text, o.results_path);
    std::map<std::string, std::size_t> foreign;
    for (const RunRecord& r : contents.records)
      if (r.sweep_hash != hash) ++foreign[r.sweep_hash];
    if (!foreign.empty()) {
      std::string list;
      for (const auto& [fh, count] : foreign)
        list += (list.empty() ? "" : ", ") + std::to_string(count) + " runs of sweep " + fh;
      if (!o.force)
        throw Error(o.results_path + " holds runs of another sweep (" + list + ") than " +
                        spec.source + " (sweep " + hash +
                        "): write to another results file, or add --force to append to it; "
                        "runs recorded with the same key are not repeated",
                    ExitCode::usage);
      if (rank == 0)
        note(o.results_path + ": also holds runs of other sweeps (" + list +
             "); appending because of --force");
    }
  } catch (const Error& e) {
    failure = e;
  }
  check_all(comm, failure);

  std::size_t batch_size = o.batch_size.value_or(0) ? *o.batch_size : spec.batch_size;
  if (batch_size == 0) batch_size = backend->name() == "cuda" ? 1024 : 4 * std::size_t(threads);
  batch_size = comm.min_all(batch_size);  // the batch list must be the same on every process

  std::unordered_set<std::string> done;
  for (const RunRecord& r : contents.records) done.insert(r.key);
  if (rank == 0 && spec.run_count() >= 1000000)
    note("listing the " + std::to_string(spec.run_count()) + " runs of the grid");
  // Stopped while listing: nothing runs, and the runs recorded are those read from the file.
  bool listing_stopped = false;
  std::vector<Batch> batches =
      make_batches(spec, done, batch_size, o.stop_requested, &listing_stopped);
  if (listing_stopped) batches.clear();
  std::size_t pending = 0;
  for (const Batch& b : batches) pending += b.instances.size();

  SweepSummary summary;
  summary.total = spec.run_count();
  summary.already_done =
      listing_stopped ? std::min(summary.total, done.size()) : summary.total - pending;
  summary.batches = batches.size();
  summary.batch_size = batch_size;
  summary.backend = backend->name();
  summary.device = backend->device_name();
  if (rank == 0 && !listing_stopped)
    note(std::to_string(summary.total) + " runs, " + std::to_string(summary.already_done) +
         " already recorded; " + std::to_string(pending) + " to run in " +
         std::to_string(batches.size()) + (batches.size() == 1 ? " batch" : " batches") +
         " of up to " + std::to_string(batch_size) +
         (comm.size() > 1 ? " on " + std::to_string(comm.size()) + " processes" : ""));
  note((comm.size() > 1 ? "rank " + std::to_string(rank) + ": " : std::string()) + "backend " +
       summary.backend + " (" + summary.device + ")" +
       (summary.backend == "cpu"
            ? ", " + std::to_string(threads) + (threads == 1 ? " thread" : " threads")
            : ""));

  SweepProgress progress;
  progress.total = summary.total;
  progress.done = summary.already_done;
  for (std::size_t i = rank; i < batches.size(); i += comm.size()) {
    progress.pending += batches[i].instances.size();
    progress.pending_work += budget(spec, batches[i]);
  }
  const auto t0 = Clock::now();
  std::size_t solved_now = 0, recorded_elsewhere = 0;
  bool interrupted = false;
  for (std::size_t i = rank; i < batches.size(); i += comm.size()) {
    if (o.stop_requested && o.stop_requested()) {
      interrupted = true;
      break;
    }
    // Runs another writer recorded meanwhile (another invocation on the same file, a rank of a
    // killed job still running) are not run again.
    file->catch_up();
    Batch b = batches[i];
    const auto key_of = [&](std::uint32_t instance) {
      return run_key(spec, SweepRun{b.solver, b.n, b.alpha, instance});
    };
    const std::size_t listed = b.instances.size();
    b.instances.erase(
        std::remove_if(b.instances.begin(), b.instances.end(),
                       [&](std::uint32_t instance) { return file->recorded(key_of(instance)); }),
        b.instances.end());
    recorded_elsewhere += listed - b.instances.size();
    if (b.instances.empty()) {
      progress.done += listed;
      progress.pending -= listed;
      progress.done_work += budget(spec, batches[i]);
      progress.pending_work -= budget(spec, batches[i]);
      continue;
    }
    const SolverSpec& solver = spec.solvers[b.solver];
    GenerateSpec g;
    g.model = spec.model;
    g.model.inputs = b.n;
    g.alpha = b.alpha;
    g.labels = spec.labels;
    g.seed = point_seed(spec.seed, b.n, b.alpha);
    std::vector<Dataset> data;
    data.reserve(b.instances.size());
    for (std::uint32_t instance : b.instances) data.push_back(generate_dataset(g, instance));
    progress.point = point_name(spec, b);
    progress.step_name = solver.algo == "fbp" ? "step" : "sweep";
    progress.batch_runs = b.instances.size();
    progress.batch_work = budget(spec, b);
    progress.batch = SolveProgress{};
    const auto report = [&](const SolveProgress& p) {
      progress.batch = p;
      progress.wall_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
      o.on_progress(progress);
    };
    if (o.on_progress) o.on_progress(progress);

    std::vector<std::pair<std::string, std::string>> records;  // (run key, record line)
    std::vector<bool> solved;
    if (solver.algo == "fbp") {
      // One instance after another, each on every thread (or the process's GPU).
      FbpConfig config = solver.fbp;
      config.seed = g.seed;
      config.threads = threads;
      config.device = cuda_device;
      const FbpBackend engine = backend->name() == "cuda" ? FbpBackend::cuda : FbpBackend::cpu;
      std::vector<FbpResult> results;
      const auto batch_start = Clock::now();
      for (std::size_t k = 0; k < data.size(); ++k) {
        FbpHooks fbp_hooks;
        if (o.on_progress) {
          SolveProgress p;
          p.instances = data.size();
          p.solved = 0;
          for (const auto& r : results) p.solved += r.solved;
          p.max_sweeps = config.protocol.steps.size() * data.size();
          fbp_hooks.on_step = [&, p](const FbpStepRecord& step) mutable {
            p.sweeps = k * config.protocol.steps.size() + std::size_t(step.step) + 1;
            report(p);
          };
        }
        results.push_back(solve_fbp(data[k], config, engine, nullptr, fbp_hooks));
      }
      const double seconds = std::chrono::duration<double>(Clock::now() - batch_start).count();
      const std::string date = utc_now();
      for (std::size_t k = 0; k < results.size(); ++k) {
        records.emplace_back(key_of(b.instances[k]),
                             make_fbp_record(spec, hash, solver, data[k], b.alpha, results[k],
                                             seconds, b.instances.size(), rank, date)
                                 .dump());
        solved.push_back(results[k].solved);
      }
    } else {
      AnnealConfig config = solver.config;
      config.seed = g.seed;
      SolveHooks hooks;
      if (o.on_progress) hooks.on_progress = report;
      const BatchResult result = solve_batch(data, config, *backend, hooks);
      const std::string date = utc_now();
      for (std::size_t k = 0; k < result.instances.size(); ++k) {
        records.emplace_back(key_of(b.instances[k]),
                             make_record(spec, hash, solver, data[k], b.alpha,
                                         result.instances[k], result, b.instances.size(), rank,
                                         date)
                                 .dump());
        solved.push_back(result.instances[k].solved);
      }
    }
    // A record another writer got in first is theirs, not ours.
    const std::vector<bool> mine = file->append(records);
    std::size_t written = 0;
    for (std::size_t k = 0; k < records.size(); ++k) {
      written += mine[k];
      solved_now += mine[k] && solved[k];
    }
    recorded_elsewhere += records.size() - written;

    progress.done += listed;
    progress.done_now += written;
    progress.pending -= listed;
    progress.done_work += budget(spec, batches[i]);
    progress.pending_work -= budget(spec, batches[i]);
    progress.batch_runs = 0;
    progress.batch_work = 0;
    progress.wall_seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    if (o.on_progress) o.on_progress(progress);
  }

  summary.done_now = comm.sum_all(progress.done_now);
  summary.solved_now = comm.sum_all(solved_now);
  summary.recorded_elsewhere = comm.sum_all(recorded_elsewhere);
  summary.interrupted = !comm.all_ok(!interrupted && !listing_stopped);
  return summary;
}

}  // namespace locent
