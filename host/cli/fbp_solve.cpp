// `locent solve --algo fbp` (fbp_solve.hpp): options, protocol parsing, the run over instances,
// progress on stderr, and the JSON result in the shape of the rSA result plus a per-step trace.
#include "host/cli/fbp_solve.hpp"
#include "host/cli/status_line.hpp"
#include "host/input_text.hpp"
#include "host/output_file.hpp"
#include "host/text_format.hpp"

#include <fmt/format.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "locent/backend.hpp"
#include "locent/error.hpp"
#include "locent/npy.hpp"
#include "locent/version.hpp"

namespace locent::cli {
namespace {

// Options of simulated annealing, and of fBP, that make no sense for the other algorithm.
const char* const kAnnealOnly[] = {"--replicas", "--coupling", "--energy", "--beta", "--gamma",
                                   "--max-sweeps", "--trace-every", "--centre-check-every",
                                   "--save-all"};
const char* const kFbpOnly[] = {"--protocol", "--protocol-steps", "--fbp-gamma", "--fbp-y",
                                "--protocol-file", "--max-iters", "--epsilon", "--damping",
                                "--init-size", "--save-messages", "--init-messages"};

// Every field, empty ones too (a trailing separator gives an empty last field).
std::vector<std::string> split(const std::string& text, char sep) {
  std::vector<std::string> parts;
  std::size_t begin = 0;
  for (std::size_t end; (end = text.find(sep, begin)) != std::string::npos; begin = end + 1)
    parts.push_back(text.substr(begin, end - begin));
  parts.push_back(text.substr(begin));
  return parts;
}

// JSON has no infinity: γ = ∞ and y = ∞ are written as the string "inf".
nlohmann::json number_or_inf(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  if (std::isnan(v)) return nullptr;
  return v;
}

nlohmann::json step_json(const FbpStepRecord& r) {
  return {{"step", r.step},
          {"gamma", number_or_inf(r.gamma)},
          {"y", number_or_inf(r.y)},
          {"iterations", r.iterations},
          {"converged", r.converged},
          {"max_change", r.max_change},
          {"errors", r.errors},
          {"free_entropy", number_or_inf(r.free_entropy)},
          {"q", number_or_inf(r.q)},
          {"reference_overlap", number_or_inf(r.reference_overlap)},
          {"wall_seconds", r.wall_seconds}};
}

std::string architecture_name(const ModelSpec& m) {
  return m.architecture == Architecture::perceptron       ? "perceptron"
         : m.architecture == Architecture::committee_tree ? "tree"
                                                          : "fc";
}

nlohmann::json result_json(const FbpSolveContext& ctx, const FbpConfig& config,
                           const std::string& init_messages, const std::vector<FbpResult>& results,
                           double wall_seconds) {
  using nlohmann::json;
  const Dataset& d0 = ctx.datasets.at(0);
  const bool committee = d0.model.architecture != Architecture::perceptron;
  json problem = {{"model", committee ? "committee" : "perceptron"},
                  {"N", d0.n_inputs()},
                  {"P", d0.n_patterns()},
                  {"alpha", double(d0.n_patterns()) / double(d0.model.capacity_unit())},
                  {"label_mode", ctx.label_mode}};
  if (committee) {
    problem["K"] = d0.model.hidden_units;
    problem["arch"] = architecture_name(d0.model);
  }
  if (ctx.label_mode == "files") {
    problem["patterns_file"] = ctx.patterns_file;
    problem["labels_file"] = ctx.labels_file;
  } else {
    problem["seed"] = d0.seed;
    problem["alpha_requested"] = ctx.alpha;
    if (d0.teacher) problem["teacher"] = architecture_name(d0.teacher_model);
  }
  json solver = {{"algo", "fbp"},
                 {"protocol", config.protocol.name},
                 {"protocol_text", config.protocol.text},
                 {"protocol_steps", config.protocol.steps.size()},
                 {"schedule", "parallel"},
                 {"max_iters", config.max_iters},
                 {"epsilon", config.epsilon},
                 {"damping", config.damping},
                 {"symmetry_breaking",
                  d0.model.architecture == Architecture::committee_fc ? config.symmetry_breaking : 0.0},
                 {"init_size", config.init_size},
                 {"max_seconds", config.max_seconds},
                 {"seed", config.seed}};
  if (!init_messages.empty()) solver["init_messages"] = init_messages;
  json instances = json::array();
  std::size_t solved = 0;
  bool stopped_by_time = false;
  std::string backend, device;
  for (std::size_t b = 0; b < results.size(); ++b) {
    const FbpResult& r = results[b];
    const Dataset& d = ctx.datasets[b];
    solved += r.solved;
    stopped_by_time = stopped_by_time || r.stopped_by_time;
    backend = r.backend;
    device = r.device;
    json j = {{"instance", d.instance},
              {"solved", r.solved},
              {"errors", r.errors},
              {"train_error", error_rate(d, r.weights)},
              {"focusing_steps", r.trace.size()},
              {"iterations", r.iterations},
              {"stopped_by_time", r.stopped_by_time},
              {"wall_seconds", r.wall_seconds},
              {"seconds_to_solution", r.solved ? json(r.seconds_to_solution) : json(nullptr)}};
    if (d.teacher) {
      // arccos(W·W*/N)/π is meaningful for a perceptron learning a perceptron only.
      if (!committee && d.teacher->size() == r.weights.size())
        j["generalization_error"] = generalization_error(*d.teacher, r.weights);
      if (ctx.test_patterns > 0)
        j["test_error"] = error_rate(generate_test_set(d, ctx.test_patterns), r.weights);
    }
    json trace = json::array();
    for (const auto& s : r.trace) trace.push_back(step_json(s));
    j["trace"] = std::move(trace);
    instances.push_back(std::move(j));
  }
  return {{"locent_version", kVersion},
          {"date", utc_now()},
          {"problem", problem},
          {"solver", solver},
          {"backend", backend},
          {"device", device},
          {"wall_seconds", wall_seconds},
          {"stopped_by_time", stopped_by_time},
          {"summary",
           {{"instances", results.size()},
            {"solved", solved},
            {"success_rate", double(solved) / double(results.size())}}},
          {"instances", instances}};
}

// Progress on stderr for runs longer than a second: rewritten in place on a terminal, one line
// every few seconds otherwise.
class StepProgress {
 public:
  explicit StepProgress(bool enabled) : line_(enabled, 1.0, 0.0) {}
  void update(std::size_t instance, std::size_t instances, std::size_t steps,
              const FbpStepRecord& r, double run_seconds) {
    if (!line_.due(run_seconds)) return;
    line_.show(fmt::format(
        "instance {}/{}  step {}/{}  gamma {}  y {:.4g}  iterations {}{}  errors {}  {:.1f} s",
        instance + 1, instances, r.step + 1, steps,
        std::isinf(r.gamma) ? std::string("inf") : fmt::format("{:.4g}", r.gamma), r.y,
        r.iterations, r.converged ? "" : " (not converged)", r.errors, run_seconds));
  }
  void finish() { line_.finish(); }

 private:
  StatusLine line_;
};

// A comma-separated list of numbers; "inf" is infinity.
std::vector<double> parse_numbers(const std::string& text, const std::string& option) {
  std::vector<double> v;
  for (std::string item : split(text, ',')) {
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (item == "inf" || item == "Inf" || item == "infinity") {
      v.push_back(kInfinity);
      continue;
    }
    char* end = nullptr;
    errno = 0;
    const double x = std::strtod(item.c_str(), &end);
    if (item.empty() || *end != '\0' || !std::isfinite(x) || errno == ERANGE)
      throw Error(option + ": '" + item + "' is not a finite number (write inf for infinity)");
    v.push_back(x);
  }
  if (v.empty()) throw Error(option + " is empty");
  return v;
}


}  // namespace

void add_fbp_options(CLI::App& cmd, FbpCliOptions& o) {
  cmd.add_option("--protocol", o.protocol,
                 "fBP (gamma, y) schedule: standard (gamma = inf, y = 1/(1-x)), scoping (y fixed, "
                 "gamma swept), pseudo (gamma = atanh sqrt(rho), y = (2-rho)/(1-rho)) or list")
      ->check(CLI::IsMember({"standard", "scoping", "pseudo", "list"}))
      ->capture_default_str();
  cmd.add_option("--protocol-steps", o.protocol_steps,
                 "fBP focusing steps S: x or rho = 0, 1/S, ..., (S-1)/S; scoping: S values of gamma")
      ->capture_default_str();
  cmd.add_option("--fbp-gamma", o.gamma,
                 "fBP scoping: first:last gamma (geometric); list: gamma1,gamma2,... (inf allowed)")
      ->capture_default_str();
  cmd.add_option("--fbp-y", o.y, "fBP scoping: the fixed y; list: y1,y2,... or one y for all")
      ->capture_default_str();
  cmd.add_option("--protocol-file", o.protocol_file,
                 "fBP list protocol from a file of 'gamma y' lines ('#' comments)");
  cmd.add_option("--max-iters", o.max_iters, "fBP: BP iterations per focusing step")
      ->capture_default_str();
  cmd.add_option("--epsilon", o.epsilon,
                 "fBP: a step has converged when no message magnetization moves more than this")
      ->capture_default_str();
  cmd.add_option("--damping", o.damping,
                 "fBP: m <- lambda m_old + (1 - lambda) m_new on every message (parallel updates "
                 "oscillate without it)")
      ->capture_default_str();
  cmd.add_option("--init-size", o.init_size,
                 "fBP: initial message magnetizations uniform in +-this")
      ->capture_default_str();
  cmd.add_option("--save-messages", o.save_messages,
                 "fBP: save the final messages, float32 (P+1) x K x (fan_in+2) .npy");
  cmd.add_option("--init-messages", o.init_messages,
                 "fBP: start from messages saved by --save-messages (warm start)");
}

void check_algo_options(const std::string& algo, const CLI::App& cmd) {
  if (algo == "fbp") {
    for (const char* name : kAnnealOnly)
      if (cmd.count(name))
        throw Error(std::string(name) + " is an option of simulated annealing; it does not apply "
                                        "to --algo fbp");
  } else {
    for (const char* name : kFbpOnly)
      if (cmd.count(name)) throw Error(std::string(name) + " applies to --algo fbp only");
  }
}

FbpProtocol make_fbp_protocol(const FbpCliOptions& o, const CLI::App& cmd) {
  const bool gamma_given = cmd.count("--fbp-gamma") > 0, y_given = cmd.count("--fbp-y") > 0;
  const bool file_given = cmd.count("--protocol-file") > 0;
  const std::string protocol = file_given && !cmd.count("--protocol") ? "list" : o.protocol;
  if (file_given && protocol != "list")
    throw Error("--protocol-file gives a list protocol; drop --protocol " + protocol);
  if ((protocol == "standard" || protocol == "pseudo") && (gamma_given || y_given))
    throw Error("--fbp-gamma and --fbp-y do not apply to the " + protocol +
                " protocol (use --protocol scoping or list)");
  if (file_given && (gamma_given || y_given))
    throw Error("give the list either in --protocol-file or in --fbp-gamma/--fbp-y");
  if (protocol == "list" && cmd.count("--protocol-steps"))
    throw Error("--protocol-steps does not apply to a list protocol");
  if (protocol == "standard") return FbpProtocol::standard(o.protocol_steps);
  if (protocol == "pseudo") return FbpProtocol::pseudo(o.protocol_steps);
  if (protocol == "scoping") {
    const std::vector<std::string> range = split(o.gamma, ':');
    if (range.empty() || range.size() > 2)
      throw Error("--fbp-gamma for scoping is first:last (got '" + o.gamma + "')");
    for (const std::string& end : range)
      if (parse_numbers(end, "--fbp-gamma").size() != 1)
        throw Error("--fbp-gamma for scoping is first:last, one number each (got '" + o.gamma + "')");
    const double first = parse_numbers(range[0], "--fbp-gamma").at(0);
    const double last = range.size() == 2 ? parse_numbers(range[1], "--fbp-gamma").at(0) : first;
    const std::vector<double> y = parse_numbers(o.y, "--fbp-y");
    if (y.size() != 1) throw Error("--fbp-y for scoping is one number (got '" + o.y + "')");
    return FbpProtocol::scoping(y[0], first, last, o.protocol_steps);
  }
  // list
  if (file_given) {
    std::vector<FbpStep> steps;
    try {
      steps = FbpProtocol::parse_steps(
          read_input_text(o.protocol_file, "protocol file", std::size_t{16} << 20), o.protocol_file);
    } catch (const Error& e) {
      throw Error(e.what(), ExitCode::bad_input);
    }
    for (std::size_t s = 0; s < steps.size(); ++s)
      if (!(steps[s].gamma >= 0) || !(steps[s].y >= 1))
        throw Error(o.protocol_file + ": step " + std::to_string(s + 1) +
                        " needs gamma ≥ 0 and y ≥ 1 (got " + format_number(steps[s].gamma) + " " +
                        format_number(steps[s].y) + ")",
                    ExitCode::bad_input);
    return FbpProtocol::list(std::move(steps));
  }
  if (!gamma_given) throw Error("--protocol list needs --fbp-gamma (and --fbp-y) or --protocol-file");
  const std::vector<double> gamma = parse_numbers(o.gamma, "--fbp-gamma");
  const std::vector<double> y = parse_numbers(o.y, "--fbp-y");
  if (y.size() != 1 && y.size() != gamma.size())
    throw Error("--fbp-y needs one value or as many as --fbp-gamma (" + std::to_string(gamma.size()) +
                "), got " + std::to_string(y.size()));
  std::vector<FbpStep> steps;
  for (std::size_t s = 0; s < gamma.size(); ++s) steps.push_back({gamma[s], y.size() == 1 ? y[0] : y[s]});
  return FbpProtocol::list(std::move(steps));
}

int run_fbp_solve(const FbpCliOptions& o, const FbpSolveContext& ctx, const CLI::App& cmd) {
  check_algo_options("fbp", cmd);
  FbpConfig config;
  config.protocol = make_fbp_protocol(o, cmd);
  config.max_iters = o.max_iters;
  config.epsilon = o.epsilon;
  config.damping = o.damping;
  config.init_size = o.init_size;
  config.seed = ctx.seed;
  config.max_seconds = ctx.max_seconds;
  config.threads = ctx.threads;
  config.validate();
  if ((!o.save_messages.empty() || !o.init_messages.empty()) && ctx.datasets.size() != 1)
    throw Error("--save-messages and --init-messages need --instances 1");

  FbpBackend backend = FbpBackend::cpu;
  if (ctx.backend == "cuda") {
    backend = FbpBackend::cuda;
  } else if (ctx.backend == "auto") {
    if (cuda_available())
      backend = FbpBackend::cuda;
    else if (!ctx.quiet)
      std::cerr << "locent: note: no usable CUDA device; running on the CPU backend\n";
  }

  FbpMessages initial;
  if (!o.init_messages.empty()) {
    const FloatArray a = read_float32_array(o.init_messages);
    try {
      initial = FbpMessages::from_array(a.values, a.shape);
    } catch (const Error& e) {
      throw Error(o.init_messages + ": " + e.what(), ExitCode::bad_input);
    }
  }

  const auto t0 = std::chrono::steady_clock::now();
  std::vector<FbpResult> results;
  StepProgress progress(!ctx.quiet);
  for (std::size_t b = 0; b < ctx.datasets.size(); ++b) {
    FbpHooks hooks;
    hooks.on_step = [&](const FbpStepRecord& r) {
      const double run = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      progress.update(b, ctx.datasets.size(), config.protocol.steps.size(), r, run);
    };
    results.push_back(solve_fbp(ctx.datasets[b], config, backend,
                                o.init_messages.empty() ? nullptr : &initial, hooks));
  }
  progress.finish();
  const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  const nlohmann::json j = result_json(ctx, config, o.init_messages, results, wall);
  if (!ctx.save_weights.empty()) {
    const ModelSpec& m = ctx.datasets[0].model;
    std::vector<std::size_t> shape;
    if (results.size() > 1) shape.push_back(results.size());
    if (m.architecture != Architecture::perceptron) {
      shape.push_back(std::size_t(m.hidden_units));
      shape.push_back(std::size_t(m.fan_in()));
    } else {
      shape.push_back(m.weights());
    }
    std::vector<std::int8_t> values;
    for (const auto& r : results) values.insert(values.end(), r.weights.begin(), r.weights.end());
    write_int8_array(ctx.save_weights, shape, values);
  }
  if (!o.save_messages.empty())
    write_float32_array(o.save_messages, results[0].messages.array_shape(),
                        results[0].messages.to_array());
  if (ctx.out.empty()) {
    write_stdout(j.dump(2) + "\n");
  } else {
    write_output_text(ctx.out, j.dump(2) + "\n");
  }
  if (!ctx.quiet) {
    const auto& s = j["summary"];
    std::uint64_t iterations = 0;
    for (const auto& r : results) iterations += r.iterations;
    std::cerr << fmt::format("locent: fBP solved {}/{} in {:.2f} s on {} ({}), {} BP iterations\n",
                             s["solved"].get<std::size_t>(), s["instances"].get<std::size_t>(),
                             wall, results[0].backend, results[0].device, iterations);
  }
  return 0;
}

}  // namespace locent::cli
