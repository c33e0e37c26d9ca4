// `locent solve --algo fbp`: the focusing-BP options of `locent solve`, and the run that turns
// them into a JSON result, saved weights and saved messages.
#pragma once
#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>
#include <vector>

#include "locent/fbp.hpp"
#include "locent/problem.hpp"

namespace locent::cli {

struct FbpCliOptions {
  std::string protocol = "standard";
  int protocol_steps = 100;
  std::string gamma = "0.1:20";  // scoping: first:last (geometric); list: g1,g2,...
  std::string y = "100";         // scoping: the fixed y; list: y1,y2,... (or one for all)
  std::string protocol_file;     // list: "gamma y" lines
  int max_iters = FbpConfig{}.max_iters;
  double epsilon = FbpConfig{}.epsilon;
  double damping = FbpConfig{}.damping;
  double init_size = FbpConfig{}.init_size;
  std::string save_messages, init_messages;
};

// What `locent solve` knows that an fBP run needs besides its own options.
struct FbpSolveContext {
  std::vector<Dataset> datasets;
  std::string label_mode;        // "storage", "teacher" or "files"
  std::string patterns_file, labels_file;
  double alpha = 0;
  std::size_t test_patterns = 0;
  std::uint64_t seed = 1;
  std::string backend = "auto";  // auto, cpu or cuda
  int threads = 0;
  double max_seconds = 0;        // per instance
  std::string out, save_weights;
  bool quiet = false;
};

void add_fbp_options(CLI::App& cmd, FbpCliOptions& o);
// Throws Error(usage) when an option of simulated annealing is given to fBP or the reverse.
void check_algo_options(const std::string& algo, const CLI::App& cmd);
// The protocol the options describe (throws Error on a malformed one or on --fbp-gamma/--fbp-y
// given to a protocol that has no use for them).
FbpProtocol make_fbp_protocol(const FbpCliOptions& o, const CLI::App& cmd);
int run_fbp_solve(const FbpCliOptions& o, const FbpSolveContext& ctx, const CLI::App& cmd);

}  // namespace locent::cli
