// `locent solve`: one or a batch of instances with (replicated) simulated annealing.
#include <fmt/format.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <limits>
#include <map>

#include "host/cli/commands.hpp"
#include "host/cli/fbp_solve.hpp"
#include "host/cli/result_json.hpp"
#include "host/cli/status_line.hpp"
#include "host/cli/validators.hpp"
#include "host/output_file.hpp"
#include "locent/backend.hpp"
#include "locent/error.hpp"
#include "locent/fbp.hpp"
#include "locent/npy.hpp"

namespace locent::cli {
namespace {

struct SolveOptions {
  std::string model = "perceptron";
  int hidden_units = 3;       // K, committee only
  std::string arch = "tree";  // committee only: tree or fc
  int n = 1001;
  double alpha = 0.5;
  std::string label_mode = "storage";
  std::string teacher = "same";  // teacher–student: same network as the student, or perceptron
  std::string patterns_file, labels_file;
  std::size_t test_patterns = 10000;
  std::string algo = "rsa";
  int replicas = AnnealConfig{}.replicas;
  std::string coupling = "traced";
  std::string energy = "flips";
  std::string beta = AnnealConfig{}.beta.to_string();
  std::string gamma = AnnealConfig{}.gamma.to_string();
  std::uint64_t max_sweeps = AnnealConfig{}.max_sweeps;
  double max_seconds = 0;
  std::uint64_t seed = 1;
  std::uint32_t instances = 1;
  std::uint32_t first_instance = 0;
  std::string backend = "auto";
  int threads = 0;
  std::string out;
  std::string save_weights;
  bool save_all = false;
  int trace_every = 0;
  int centre_check_every = 1;
  bool quiet = false;
};

bool is_committee(const SolveOptions& o) { return o.model == "committee"; }

AnnealConfig make_config(const SolveOptions& o, CLI::App& cmd) {
  const AnnealConfig defaults = is_committee(o) ? committee_defaults() : AnnealConfig{};
  AnnealConfig c;
  c.replicas = o.replicas;
  c.coupling = o.coupling == "explicit" ? Coupling::explicit_ : Coupling::traced;
  c.energy = !cmd.count("--energy") ? defaults.energy
             : o.energy == "errors" ? EnergyKind::errors
                                    : EnergyKind::flips;
  c.max_sweeps = o.max_sweeps;
  c.beta = cmd.count("--beta") ? Schedule::parse(o.beta, "--beta") : defaults.beta;
  c.gamma = cmd.count("--gamma") ? Schedule::parse(o.gamma, "--gamma") : defaults.gamma;
  if (o.algo == "sa") {
    if (cmd.count("--replicas") && o.replicas != 1)
      throw Error("--algo sa is plain simulated annealing (y = 1); drop --replicas or use --algo rsa");
    for (const char* name : {"--gamma", "--coupling"})
      if (cmd.count(name))
        throw Error(std::string("--algo sa has no replicas to couple; drop ") + name +
                    " or use --algo rsa");
    c.replicas = 1;
    c.gamma = Schedule::constant(0);
  }
  c.max_seconds = o.max_seconds;
  c.seed = o.seed;
  c.trace_every = o.trace_every;
  c.centre_check_every = o.centre_check_every;
  c.validate();
  return c;
}

// The network of --model/--K/--arch with N inputs.
ModelSpec model_spec(const SolveOptions& o, int inputs) {
  ModelSpec m;
  m.inputs = inputs;
  if (is_committee(o)) {
    m.architecture = o.arch == "fc" ? Architecture::committee_fc : Architecture::committee_tree;
    m.hidden_units = o.hidden_units;
  }
  return m;
}

// N of a generated instance: --N, or for a committee without it 101 inputs per hidden unit, tree
// or fully connected.
int generated_inputs(const SolveOptions& o, const CLI::App& cmd) {
  return is_committee(o) && !cmd.count("--N") ? (o.arch == "fc" ? 101 : 101 * o.hidden_units)
                                              : o.n;
}

std::vector<Dataset> make_datasets(const SolveOptions& o, CLI::App& cmd) {
  std::vector<Dataset> data;
  if (!o.patterns_file.empty()) {
    if (o.instances != 1) throw Error("--instances must be 1 with --patterns/--labels");
    Dataset d;
    read_training_data(o.patterns_file, o.labels_file, d.patterns, d.labels);
    if (d.patterns.cols() > std::size_t{1} << 30)
      throw Error(o.patterns_file + ": " + std::to_string(d.patterns.cols()) +
                      " columns: more inputs N than this tool takes (2^30)",
                  ExitCode::bad_input);
    d.model = model_spec(o, static_cast<int>(d.patterns.cols()));
    try {
      d.model.validate();
    } catch (const Error& e) {
      throw Error(o.patterns_file + ": " + e.what(), ExitCode::bad_input);
    }
    data.push_back(std::move(d));
    return data;
  }
  GenerateSpec spec;
  spec.model = model_spec(o, generated_inputs(o, cmd));
  spec.alpha = o.alpha;
  spec.labels = o.label_mode == "teacher" ? LabelMode::teacher : LabelMode::storage;
  if (o.teacher == "perceptron") spec.teacher_architecture = Architecture::perceptron;
  spec.seed = o.seed;
  spec.model.validate();
  pattern_count(spec.model, spec.alpha);  // validates α before any allocation
  for (std::uint32_t b = 0; b < o.instances; ++b)
    data.push_back(generate_dataset(spec, o.first_instance + b));
  return data;
}

// Shape (K, fan_in) for a committee's weights, (N,) for a perceptron's; B instances and
// --save-all add leading axes.
void save_weights(const SolveOptions& o, const BatchResult& result, const ModelSpec& model) {
  std::vector<std::int8_t> values;
  std::vector<std::size_t> shape;
  const std::size_t b = result.instances.size();
  for (const auto& r : result.instances) {
    if (o.save_all) {
      for (const auto& w : r.replica_weights) values.insert(values.end(), w.begin(), w.end());
      values.insert(values.end(), r.centre_weights.begin(), r.centre_weights.end());
    } else {
      values.insert(values.end(), r.best_weights().begin(), r.best_weights().end());
    }
  }
  if (b > 1) shape.push_back(b);
  if (o.save_all) shape.push_back(result.instances[0].replica_weights.size() + 1);
  if (model.architecture != Architecture::perceptron) {
    shape.push_back(std::size_t(model.hidden_units));
    shape.push_back(std::size_t(model.fan_in()));
  } else {
    shape.push_back(model.weights());
  }
  write_int8_array(o.save_weights, shape, values);
}

// Progress on stderr for runs longer than a second: rewritten in place on a terminal, one line
// every few seconds otherwise.
class ProgressLine {
 public:
  explicit ProgressLine(bool enabled) : line_(enabled, 1.0, 0.0) {}
  void update(const SolveProgress& p) {
    if (line_.due(p.wall_seconds))
      line_.show(fmt::format("sweep {}/{}  solved {}/{}  {:.1f} s  {:.3g} proposals/s", p.sweeps,
                             p.max_sweeps, p.solved, p.instances, p.wall_seconds,
                             p.proposals_per_second));
  }
  void finish() { line_.finish(); }

 private:
  StatusLine line_;
};

}  // namespace

std::function<int()> add_solve_command(CLI::App& app) {
  auto o = std::make_shared<SolveOptions>();
  CLI::App* cmd = app.add_subcommand(
      "solve",
      "Train a binary perceptron or committee machine with replicated (rSA) or plain (SA) "
      "simulated annealing, or with focusing belief propagation (fBP)");
  cmd->add_option("--model", o->model, "Network: perceptron or committee (K hidden units)")
      ->check(CLI::IsMember({"perceptron", "committee"}))
      ->capture_default_str();
  cmd->add_option("--K", o->hidden_units, "Committee: hidden units K (odd)")
      ->check(whole_number_up_to(1001))
      ->capture_default_str();
  cmd->add_option("--arch", o->arch,
                  "Committee: tree (unit k sees inputs [k N/K, (k+1) N/K)) or fc (every unit sees "
                  "all N inputs)")
      ->check(CLI::IsMember({"tree", "fc"}))
      ->capture_default_str();
  auto* n_opt = cmd->add_option("--N", o->n,
                                "Number of inputs (odd; a tree committee: K × an odd number; "
                                "committee default: 101 per unit)")
                    ->capture_default_str();
  auto* alpha_opt =
      cmd->add_option("--alpha", o->alpha,
                      "Patterns per weight, P = round(alpha × weights): alpha N (perceptron, tree), "
                      "alpha K N (fully connected)")
          ->capture_default_str();
  auto* mode_opt = cmd->add_option("--label-mode", o->label_mode,
                                   "storage (random labels) or teacher (teacher–student)")
                       ->check(CLI::IsMember({"storage", "teacher"}))
                       ->capture_default_str();
  auto* test_opt = cmd->add_option("--test-patterns", o->test_patterns,
                                   "Fresh patterns for the test error of a teacher–student run")
                       ->check(whole_number_up_to(100000000))
                       ->capture_default_str();
  auto* pat = cmd->add_option("--patterns", o->patterns_file, "Training patterns, P × N .npy (±1, or 0/1 bool/uint8)");
  auto* lab = cmd->add_option("--labels", o->labels_file, "Training labels, length-P .npy");
  pat->needs(lab);
  lab->needs(pat);
  pat->excludes(n_opt)->excludes(alpha_opt)->excludes(mode_opt)->excludes(test_opt);
  cmd->add_option("--teacher", o->teacher,
                  "Teacher–student: the teacher is the student's network (same) or a perceptron")
      ->check(CLI::IsMember({"same", "perceptron"}))
      ->capture_default_str();
  cmd->add_option("--algo", o->algo,
                  "rsa (replicated SA), sa (plain SA: y = 1, gamma = 0) or fbp (focusing BP)")
      ->check(CLI::IsMember({"rsa", "sa", "fbp"}))
      ->capture_default_str();
  cmd->add_option("-y,--replicas", o->replicas, "Number of replicas y, 1 to 30")
      ->check(whole_number_in(1, 30))
      ->capture_default_str();
  cmd->add_option("--coupling", o->coupling, "traced (centre summed out) or explicit (centre moved)")
      ->check(CLI::IsMember({"traced", "explicit"}))
      ->capture_default_str();
  cmd->add_option("--energy", o->energy,
                  "flips (weight flips to fix each violated pattern) or errors (misclassified "
                  "patterns); committees: errors only, the default there")
      ->check(CLI::IsMember({"flips", "errors"}))
      ->capture_default_str();
  cmd->add_option("--beta", o->beta,
                  "Inverse temperature per sweep: V, const:V, lin:A:B, geom:A:B, list:V0,V1,.. "
                  "(committee default: " + committee_defaults().beta.to_string() + ")")
      ->capture_default_str();
  cmd->add_option("--gamma", o->gamma,
                  "Replica coupling per sweep, same forms as --beta (committee default: " +
                      committee_defaults().gamma.to_string() + ")")
      ->capture_default_str();
  cmd->add_option("--max-sweeps", o->max_sweeps,
                  "Sweep budget (one sweep = weights·y proposals, weights = N, or K × fan_in for "
                  "a committee); the schedules span it")
      ->check(whole_number_up_to(0xffffffffu))
      ->capture_default_str();
  cmd->add_option("--max-seconds", o->max_seconds, "Wall-clock budget for the batch, 0 = none")
      ->check(finite_number_in(0, 1e9))
      ->capture_default_str();
  cmd->add_option("--seed", o->seed, "Seed of the instances and of the Monte Carlo")
      ->check(whole_number_up_to(std::numeric_limits<std::uint64_t>::max()))
      ->capture_default_str();
  cmd->add_option("--instances", o->instances, "Independent instances solved together")
      ->check(CLI::Range(1u, 1u << 24))
      ->capture_default_str();
  cmd->add_option("--first-instance", o->first_instance, "Instance index of the first instance")
      ->check(whole_number_up_to(std::numeric_limits<std::uint32_t>::max()))
      ->capture_default_str();
  cmd->add_option("--backend", o->backend, "auto (CUDA if a GPU is usable), cpu or cuda")
      ->check(CLI::IsMember({"auto", "cpu", "cuda"}))
      ->capture_default_str();
  cmd->add_option("--threads", o->threads, "CPU threads, 0 = all cores")
      ->check(whole_number_up_to(kMaxThreads));
  cmd->add_option("--out", o->out, "Write the JSON result to this file instead of stdout");
  cmd->add_option("--save-weights", o->save_weights,
                  "Save the solving (else lowest-error) weights as int8 .npy");
  cmd->add_flag("--save-all", o->save_all,
                "With --save-weights: save all replicas and then the centre, (y+1) × N "
                "(committee: (y+1) × K × fan_in)")
      ->needs("--save-weights");
  cmd->add_option("--trace-every", o->trace_every,
                  "Record errors, distance, acceptance, beta, gamma every k sweeps (JSON 'trace')")
      ->check(whole_number_up_to(0x7fffffff));
  cmd->add_option("--centre-check-every", o->centre_check_every,
                  "Sweeps between checks of the centre's errors (stop criterion)")
      ->check(whole_number_up_to(0x7fffffff))
      ->capture_default_str();
  cmd->add_flag("-q,--quiet", o->quiet, "No progress on stderr");

  auto fbp = std::make_shared<FbpCliOptions>();
  add_fbp_options(*cmd, *fbp);

  return [o, cmd, fbp]() -> int {
    if (!is_committee(*o) && (cmd->count("--K") || cmd->count("--arch")))
      throw Error("--K and --arch describe a committee machine; add --model committee");
    check_algo_options(o->algo, *cmd);
    // Options that would otherwise be ignored, and files that could not be written after the work.
    if (cmd->count("--patterns") && (o->patterns_file.empty() || o->labels_file.empty()))
      throw Error("--patterns and --labels need file names (got an empty one)");
    if (o->label_mode != "teacher" && (cmd->count("--teacher") || cmd->count("--test-patterns")))
      throw Error("--teacher and --test-patterns apply to --label-mode teacher only");
    if (cmd->count("--patterns") && cmd->count("--first-instance"))
      throw Error("--first-instance numbers generated instances; it does not apply to --patterns");
    if (std::uint64_t(o->first_instance) + o->instances > (std::uint64_t{1} << 32))
      throw Error("--first-instance + --instances must not pass 2^32 (instance numbers are 32-bit)");
    for (const auto& [option, path] : {std::pair<const char*, const std::string*>{"--out", &o->out},
                                       {"--save-weights", &o->save_weights},
                                       {"--save-messages", &fbp->save_messages}})
      if (cmd->count(option)) check_output_path(*path, option);
    check_distinct_files({{"--out", o->out},
                          {"--save-weights", o->save_weights},
                          {"--save-messages", fbp->save_messages}},
                         {{"--patterns", o->patterns_file},
                          {"--labels", o->labels_file},
                          {"--init-messages", fbp->init_messages},
                          {"--protocol-file", fbp->protocol_file}},
                         {{"--save-messages", "--init-messages"}});
    if (o->algo == "fbp") {
      // A generated instance too large for the CPU engine is refused before it is generated.
      if (o->patterns_file.empty() &&
          (o->backend == "cpu" || (o->backend == "auto" && !cuda_available()))) {
        const ModelSpec model = model_spec(*o, generated_inputs(*o, *cmd));
        model.validate();
        require_fbp_host_memory(model, pattern_count(model, o->alpha));
      }
      FbpSolveContext ctx;
      ctx.datasets = make_datasets(*o, *cmd);
      ctx.label_mode = o->patterns_file.empty() ? o->label_mode : "files";
      ctx.patterns_file = o->patterns_file;
      ctx.labels_file = o->labels_file;
      ctx.alpha = o->alpha;
      ctx.test_patterns = o->test_patterns;
      ctx.seed = o->seed;
      ctx.backend = o->backend;
      ctx.threads = o->threads;
      ctx.max_seconds = o->max_seconds;
      ctx.out = o->out;
      ctx.save_weights = o->save_weights;
      ctx.quiet = o->quiet;
      return run_fbp_solve(*fbp, ctx, *cmd);
    }
    const AnnealConfig config = make_config(*o, *cmd);
    const std::vector<Dataset> datasets = make_datasets(*o, *cmd);
    std::string note;
    const BackendKind kind = o->backend == "cpu"    ? BackendKind::cpu
                             : o->backend == "cuda" ? BackendKind::cuda
                                                    : BackendKind::automatic;
    auto backend = make_backend(kind, o->threads, &note);
    if (!note.empty() && !o->quiet) std::cerr << "locent: note: " << note << "\n";

    std::map<std::uint32_t, std::vector<TraceRecord>> traces;
    ProgressLine progress(!o->quiet);
    SolveHooks hooks;
    if (config.trace_every > 0)
      hooks.on_trace = [&](const TraceRecord& r) { traces[r.instance].push_back(r); };
    hooks.on_progress = [&](const SolveProgress& p) { progress.update(p); };
    const BatchResult result = solve_batch(datasets, config, *backend, hooks);
    progress.finish();

    SolveDescription what;
    what.algo = o->algo;
    what.label_mode = o->patterns_file.empty() ? o->label_mode : "files";
    what.patterns_file = o->patterns_file;
    what.labels_file = o->labels_file;
    what.alpha = o->alpha;
    what.test_patterns = o->test_patterns;
    const nlohmann::json j = solve_result_json(what, config, datasets, result, traces);
    if (!o->save_weights.empty()) save_weights(*o, result, datasets[0].model);
    if (o->out.empty()) {
      write_stdout(j.dump(2) + "\n");
    } else {
      write_output_text(o->out, j.dump(2) + "\n");
    }
    if (!o->quiet) {
      const auto& s = j["summary"];
      std::cerr << fmt::format("locent: solved {}/{} in {:.2f} s on {} ({}), {:.3g} proposals/s\n",
                               s["solved"].get<std::size_t>(), s["instances"].get<std::size_t>(),
                               result.wall_seconds, result.backend, result.device,
                               result.proposals_per_second());
    }
    return 0;
  };
}

}  // namespace locent::cli
