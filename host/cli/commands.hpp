// Subcommands of the locent command-line tool.
#pragma once
#include <CLI/CLI.hpp>

#include <functional>

namespace locent::cli {

// Registers `locent solve` on `app`; the returned function runs it after parsing.
std::function<int()> add_solve_command(CLI::App& app);

// Registers `locent sweep` (scaling experiments from a TOML file; may return 130 when interrupted).
std::function<int()> add_sweep_command(CLI::App& app);

// Registers `locent report` (statistics and plots of the results of `locent sweep`).
std::function<int()> add_report_command(CLI::App& app);

// Registers `locent bench` (throughput figures as JSON).
std::function<int()> add_bench_command(CLI::App& app);

}  // namespace locent::cli
