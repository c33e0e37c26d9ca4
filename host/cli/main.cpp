// locent: replicated learning (robust ensemble, local entropy) for binary neural networks.
// Entry point: parses the subcommand and turns every error into one message and an exit code.
#include <CLI/CLI.hpp>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <new>
#include <string>

#include "host/cli/commands.hpp"
#include "locent/error.hpp"
#include "locent/version.hpp"

int main(int argc, char** argv) {
  // A file-size limit makes a write fail (EFBIG) instead of killing the process, so that the
  // output code removes its temporary file and says why.
  std::signal(SIGXFSZ, SIG_IGN);
  CLI::App app{"locent: local-entropy (robust-ensemble) learning for binary neural networks"};
  app.set_version_flag("--version", std::string("locent ") + locent::kVersion);
  app.require_subcommand(1);
  auto run_solve = locent::cli::add_solve_command(app);
  auto run_sweep = locent::cli::add_sweep_command(app);
  auto run_report = locent::cli::add_report_command(app);
  auto run_bench = locent::cli::add_bench_command(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    // The subcommand the options were for, if one was named.
    std::string command;
    for (int i = 1; i < argc && command.empty(); ++i)
      for (const char* name : {"solve", "sweep", "report", "bench"})
        if (std::string(argv[i]) == name) command = name;
    if (command.empty() && argc > 1 && argv[1][0] != '-') {
      std::cerr << "locent: error: unknown subcommand '" << argv[1]
                << "' (solve, sweep, report or bench)\n";
    } else {
      std::cerr << "locent: error: " << e.what() << "\n"
                << "Run 'locent " << (command.empty() ? "" : command + " ")
                << "--help' for the options.\n";
    }
    return static_cast<int>(locent::ExitCode::usage);
  }
  try {
    if (app.got_subcommand("solve")) return run_solve();
    if (app.got_subcommand("sweep")) return run_sweep();
    if (app.got_subcommand("report")) return run_report();
    if (app.got_subcommand("bench")) return run_bench();
  } catch (const locent::Error& e) {
    std::cerr << "locent: error: " << e.what() << "\n";
    return static_cast<int>(e.code());
  } catch (const std::bad_alloc&) {
    std::cerr << "locent: error: out of host memory\n";
    return static_cast<int>(locent::ExitCode::out_of_memory);
  } catch (const std::exception& e) {
    std::cerr << "locent: internal error: " << e.what() << "\n";
    return static_cast<int>(locent::ExitCode::failure);
  }
  return 0;
}
