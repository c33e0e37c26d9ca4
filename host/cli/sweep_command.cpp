// `locent sweep`: runs a scaling experiment defined in a TOML file into a resumable JSON Lines
// file, in one process or over the ranks of an MPI job.
#include <fmt/format.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <iostream>
#include <optional>

#include "host/cli/commands.hpp"
#include "host/cli/validators.hpp"
#include "host/cli/status_line.hpp"
#include "host/sweep/mpi_comm.hpp"
#include "locent/error.hpp"
#include "locent/sweep.hpp"

namespace locent::cli {
namespace {

constexpr int kInterruptedExit = 130;  // 128 + SIGINT, as shells report it

volatile std::sig_atomic_t g_stop = 0;

extern "C" void on_stop_signal(int) {
  if (g_stop) _exit(kInterruptedExit);  // a second interrupt: stop now, resume redoes the batch
  g_stop = 1;
  static const char message[] =
      "\nlocent: stopping after the current batch (interrupt again to stop at once)\n";
  [[maybe_unused]] ssize_t ignored = write(STDERR_FILENO, message, sizeof message - 1);
}

// Installs the stop handlers for its lifetime.
class StopSignals {
 public:
  StopSignals() {
    g_stop = 0;
    struct sigaction sa {};
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(SIGINT, &sa, &old_int_);
    sigaction(SIGTERM, &sa, &old_term_);
  }
  ~StopSignals() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }

 private:
  struct sigaction old_int_ {
  }, old_term_{};
};

std::string duration_text(double seconds) {
  if (!(seconds >= 0) || seconds > 1e8) return "?";
  const long s = std::lround(seconds);
  if (s >= 3600) return fmt::format("{}h{:02}m", s / 3600, s / 60 % 60);
  if (s >= 60) return fmt::format("{}m{:02}s", s / 60, s % 60);
  return fmt::format("{}s", s);
}

// A live line on stderr: rewritten in place on a terminal, one line every few seconds otherwise.
class SweepProgressLine {
 public:
  // Nothing for the first moments (the first interval): short sweeps need no progress line.
  SweepProgressLine(bool enabled, int rank, int size)
      : line_(enabled && rank == 0, StatusLine::on_terminal() ? 0.25 : 5.0, 0.25), size_(size) {}
  void update(const SweepProgress& p) {
    const double now = p.wall_seconds;
    if (!line_.due(now)) return;
    // Work in proposal budgets, the current batch counted by how far it is: runs at large N
    // cost more than at small N, and the rate means something before the first batch ends.
    double fraction = 0;
    if (p.batch_runs && p.batch.max_sweeps && p.batch.instances)
      fraction = std::max(double(p.batch.sweeps) / double(p.batch.max_sweeps),
                          double(p.batch.solved) / double(p.batch.instances));
    const double done_work = p.done_work + p.batch_work * fraction;
    const double work_rate = now > 0 ? done_work / now : 0;
    const double eta = work_rate > 0 ? (p.pending_work - p.batch_work * fraction) / work_rate : -1;
    const double rate = now > 0 ? (double(p.done_now) + double(p.batch_runs) * fraction) / now : 0;
    std::string line =
        size_ > 1 ? fmt::format("rank 0 of {}: {}/{} of its runs", size_, p.done_now,
                                p.done_now + p.pending)
                  : fmt::format("runs {}/{} ({:.1f}%)", p.done, p.total,
                                p.total ? 100.0 * double(p.done) / double(p.total) : 100.0);
    line += fmt::format("  {:.3g} runs/s  ETA {}", rate, eta >= 0 ? duration_text(eta) : "?");
    if (p.batch_runs)
      line += fmt::format("  {} ×{}: {} {}/{}, {} solved", p.point, p.batch_runs, p.step_name,
                          p.batch.sweeps, p.batch.max_sweeps, p.batch.solved);
    line_.show(line);
  }
  void finish() { line_.finish(/*erase=*/true); }

 private:
  StatusLine line_;
  int size_;
};

struct SweepCommandOptions {
  std::string file;
  std::string results;
  bool force = false;
  std::string backend;
  int threads = -1;
  long batch_size = -1;
  bool quiet = false;
};

std::string default_results_path(const std::string& file) {
  const std::string ext = ".toml";
  if (file.size() > ext.size() && file.compare(file.size() - ext.size(), ext.size(), ext) == 0)
    return file.substr(0, file.size() - ext.size()) + ".jsonl";
  return file + ".jsonl";
}

int run(const SweepCommandOptions& o, SweepComm& comm) {
  std::optional<SweepSpec> loaded;
  std::optional<Error> failure;
  try {
    loaded = load_sweep(o.file);
  } catch (const Error& e) {
    failure = e;
  }
  check_all(comm, failure);
  const SweepSpec& spec = *loaded;
  SweepOptions options;
  options.results_path = o.results.empty() ? default_results_path(o.file) : o.results;
  options.force = o.force;
  if (!o.backend.empty())
    options.backend = parse_backend_kind(o.backend);
  if (o.threads >= 0) options.threads = o.threads;
  if (o.batch_size > 0) options.batch_size = std::size_t(o.batch_size);
  const int rank = comm.rank();
  SweepProgressLine progress(!o.quiet, rank, comm.size());
  options.on_progress = [&](const SweepProgress& p) { progress.update(p); };
  options.on_note = [&](const std::string& s) {
    if (o.quiet) return;
    progress.finish();
    std::cerr << "locent: note: " << s << "\n";
  };
  StopSignals signals;
  options.stop_requested = [] { return g_stop != 0; };

  const auto t0 = std::chrono::steady_clock::now();
  const SweepSummary s = run_sweep(spec, options, comm);
  progress.finish();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const std::size_t recorded = std::min(s.total, s.already_done + s.done_now + s.recorded_elsewhere);
  if (!o.quiet && rank == 0) {
    std::cerr << fmt::format("locent: {} runs done now ({} solved) in {}; {}/{} recorded in {}\n",
                             s.done_now, s.solved_now, duration_text(seconds), recorded, s.total,
                             options.results_path);
    if (s.recorded_elsewhere > 0)
      std::cerr << "locent: note: " << s.recorded_elsewhere
                << " runs were recorded meanwhile by another writer of the same file, and not "
                   "recorded again\n";
    if (recorded < s.total)
      std::cerr << "locent: run the same command again to resume the remaining "
                << s.total - recorded << " runs\n";
  }
  // Interrupted: work is left (a signal during the last batch leaves none, and that run is done).
  return (g_stop || s.interrupted) && recorded < s.total ? kInterruptedExit : 0;
}

}  // namespace

std::function<int()> add_sweep_command(CLI::App& app) {
  auto o = std::make_shared<SweepCommandOptions>();
  CLI::App* cmd = app.add_subcommand(
      "sweep",
      "Run a scaling experiment (grid of N, alpha and solvers) defined in a TOML file; resumable, "
      "distributed with mpirun");
  cmd->add_option("file", o->file, "Sweep definition (TOML)")->required();
  cmd->add_option("--results", o->results,
                  "Results file (JSON Lines), appended to and resumed from; default: the sweep "
                  "file with .jsonl instead of .toml");
  cmd->add_flag("--force", o->force,
                "Append to a results file that holds runs of a different sweep");
  cmd->add_option("--backend", o->backend, "Override the file's backend: auto, cpu or cuda")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}));
  cmd->add_option("--threads", o->threads,
                  "Override the file's CPU threads per process (0: cores / processes per node)")
      ->check(whole_number_up_to(kMaxThreads));
  cmd->add_option(
         "--batch-size", o->batch_size,
         "Override the file's runs per batch (default: 1024 on CUDA, 4 x threads on the CPU)")
      ->check(whole_number_in(1, 1 << 24));
  cmd->add_flag("-q,--quiet", o->quiet, "No progress or notes on stderr");

  return [o, cmd]() -> int {
    if (cmd->count("--results") && o->results.empty())
      throw Error("--results needs a file name (got an empty one)");
    std::unique_ptr<SweepComm> comm = make_sweep_comm();
    try {
      return run(*o, *comm);
    } catch (const CollectiveError& e) {
      // Every process got here at the same step: the job can end normally, with one message.
      if (e.report()) throw;
      return static_cast<int>(e.code());
    } catch (const Error& e) {
      if (comm->size() <= 1) throw;
      // Other ranks may wait in a collective for this one: end the whole job.
      std::cerr << "locent: error: rank " << comm->rank() << ": " << e.what() << "\n";
      comm->abort(static_cast<int>(e.code()));
      throw;
    } catch (const std::exception& e) {
      if (comm->size() <= 1) throw;
      std::cerr << "locent: error: rank " << comm->rank() << ": " << e.what() << "\n";
      comm->abort(static_cast<int>(ExitCode::failure));
      throw;
    }
  };
}

}  // namespace locent::cli
