// `locent report`: success probability and time to solution per (solver, N, α) from the results
// of `locent sweep`, as a table, CSV or JSON, and optionally a plot drawn by locent_plot.py.
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>

#include "host/cli/commands.hpp"
#include "host/output_file.hpp"
#include "locent/error.hpp"
#include "locent/sweep.hpp"

extern char** environ;

namespace locent::cli {
namespace {

struct ReportOptions {
  std::string results;
  bool csv = false, json = false;
  std::string plot;
};

// The plot script is installed beside the binary.
std::string plot_script() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0)
    throw Error("cannot find the locent binary to locate locent_plot.py", ExitCode::failure);
  std::string dir(buf, std::size_t(n));
  dir = dir.substr(0, dir.find_last_of('/'));
  const std::string script = dir + "/locent_plot.py";
  if (access(script.c_str(), R_OK) != 0)
    throw Error(
        "the plot script " + script + " is missing; it is installed beside the locent binary",
        ExitCode::failure);
  return script;
}

// LOCENT_PYTHON, else the system Python (which has the distribution's matplotlib), else PATH's.
std::string plot_python() {
  if (const char* p = std::getenv("LOCENT_PYTHON"); p && *p) return p;
  if (access("/usr/bin/python3", X_OK) == 0) return "/usr/bin/python3";
  return "python3";
}

void draw_plot(const Report& report, const std::string& out) {
  const std::string script = plot_script();
  const std::string python = plot_python();
  const char* tmpdir = std::getenv("TMPDIR");
  std::string data = std::string(tmpdir && *tmpdir ? tmpdir : "/tmp") + "/locent-report-XXXXXX";
  const int fd = mkstemp(data.data());
  if (fd < 0) throw Error("cannot create a temporary file for the plot data", ExitCode::failure);
  close(fd);
  struct Remove {
    std::string path;
    ~Remove() { std::remove(path.c_str()); }
  } remove_data{data};
  {
    std::ofstream f(data);
    if (!(f << report_json(report)))
      throw Error("cannot write the plot data to " + data, ExitCode::failure);
  }
  std::vector<std::string> args = {python, script, data, out};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid = 0;
  const int err = posix_spawnp(&pid, python.c_str(), nullptr, nullptr, argv.data(), environ);
  if (err != 0)
    throw Error("cannot run " + python + " for the plot: " + std::strerror(err) +
                    " (set LOCENT_PYTHON to a Python with matplotlib)",
                ExitCode::failure);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw Error(
        "no plot written: " + python + " " + script + " failed" +
            (WIFEXITED(status) ? " (exit status " + std::to_string(WEXITSTATUS(status)) + ")"
                               : std::string(" (killed by a signal)")),
        ExitCode::failure);
}

}  // namespace

std::function<int()> add_report_command(CLI::App& app) {
  auto o = std::make_shared<ReportOptions>();
  CLI::App* cmd = app.add_subcommand(
      "report",
      "Summarize the results of locent sweep: success probability (95% Wilson interval) "
      "and quartiles of the time to solution per solver, N and alpha");
  cmd->add_option("results", o->results, "Results file written by locent sweep (JSON Lines)")
      ->required();
  auto* csv = cmd->add_flag("--csv", o->csv, "Print CSV instead of a table");
  auto* json = cmd->add_flag("--json", o->json, "Print JSON instead of a table");
  csv->excludes(json);
  cmd->add_option("--plot", o->plot,
                  "Also draw success probability vs alpha and median sweeps to solution vs N "
                  "into this image, .png, .pdf or .svg (needs Python with matplotlib; "
                  "LOCENT_PYTHON picks the Python)");

  return [o, cmd]() -> int {
    if (cmd->count("--plot")) {
      const std::string& p = o->plot;
      const auto dot = p.find_last_of('.');
      const std::string ext = dot == std::string::npos || p.find('/', dot) != std::string::npos
                                  ? ""
                                  : p.substr(dot);
      if (!p.empty() && ext != ".png" && ext != ".pdf" && ext != ".svg")
        throw Error("--plot " + p + ": name the image .png, .pdf or .svg");
      check_output_path(p, "--plot");
    }
    const ResultsContents contents = read_results(o->results);
    if (contents.torn_tail)
      std::cerr
          << "locent: note: " << o->results
          << ": ignored an incomplete last line (a sweep is writing the file, or was killed)\n";
    if (contents.records.empty())
      throw Error(o->results + " holds no run records", ExitCode::bad_input);
    const Report report = summarize(contents.records);
    for (const auto& n : report.notes) std::cerr << "locent: note: " << n << "\n";
    write_stdout(o->csv ? report_csv(report) : o->json ? report_json(report) : report_table(report));
    if (!o->plot.empty()) draw_plot(report, o->plot);
    return 0;
  };
}

}  // namespace locent::cli
