// Subcommands of the locent command-line tool.
#pragma once
#include <CLI/CLI.hpp>

#include <functional>

namespace locent::cli {

// Registers `locent solve` on `app`; the returned function runs it after parsing.
std::function<int()> add_solve_command(CLI::App& app);

}  // namespace locent::cli
