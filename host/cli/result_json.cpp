// The JSON result of `locent solve`.
#include "host/cli/result_json.hpp"
#include "host/text_format.hpp"

#include <chrono>
#include <ctime>

#include "locent/version.hpp"

namespace locent::cli {

nlohmann::json trace_json(const TraceRecord& r) {
  return {{"sweep", r.sweep},          {"beta", r.beta},
          {"gamma", r.gamma},          {"replica_errors", r.replica_errors},
          {"centre_errors", r.centre_errors}, {"mean_distance", r.mean_distance},
          {"acceptance", r.acceptance}};
}

nlohmann::json solve_result_json(const SolveDescription& what, const AnnealConfig& config,
                                 const std::vector<Dataset>& datasets, const BatchResult& result,
                                 const std::map<std::uint32_t, std::vector<TraceRecord>>& traces) {
  using nlohmann::json;
  const Dataset& d0 = datasets.at(0);
  const bool committee = d0.model.architecture != Architecture::perceptron;
  json problem = {{"model", committee ? "committee" : "perceptron"},
                  {"N", d0.n_inputs()},
                  {"P", d0.n_patterns()},
                  // Patterns per weight: P/N, or P/(K N) for a fully connected committee.
                  {"alpha", double(d0.n_patterns()) /
                                double(committee ? d0.model.weights() : d0.n_inputs())},
                  {"label_mode", what.label_mode}};
  if (committee) {
    problem["K"] = d0.model.hidden_units;
    problem["arch"] = d0.model.architecture == Architecture::committee_tree ? "tree" : "fc";
  }
  if (what.label_mode == "files") {
    problem["patterns_file"] = what.patterns_file;
    problem["labels_file"] = what.labels_file;
  } else {
    problem["seed"] = d0.seed;
    problem["alpha_requested"] = what.alpha;
  }
  json solver = {{"algo", what.algo},
                 {"replicas", config.replicas},
                 {"coupling", config.coupling == Coupling::traced ? "traced" : "explicit"},
                 {"energy", config.energy == EnergyKind::flips ? "flips" : "errors"},
                 {"beta", config.beta.to_string()},
                 {"gamma", config.gamma.to_string()},
                 {"max_sweeps", config.max_sweeps},
                 {"max_seconds", config.max_seconds},
                 {"seed", config.seed},
                 {"centre_check_every", config.centre_check_every}};
  json instances = json::array();
  std::size_t solved = 0;
  for (std::size_t b = 0; b < result.instances.size(); ++b) {
    const InstanceResult& r = result.instances[b];
    const Dataset& d = datasets[b];
    solved += r.solved;
    json j = {{"instance", r.instance},
              {"solved", r.solved},
              {"solved_by", r.solved ? (r.solved_by == config.replicas
                                            ? json("centre")
                                            : json("replica " + std::to_string(r.solved_by)))
                                     : json(nullptr)},
              {"sweeps", r.sweeps},
              {"proposals", r.proposals},
              {"accepted", r.accepted},
              {"acceptance_rate", r.proposals ? double(r.accepted) / double(r.proposals) : 0.0},
              {"replica_errors", r.replica_errors},
              {"replica_energy", r.replica_energy},
              {"centre_errors", r.centre_errors},
              {"best", r.best_index() == config.replicas ? json("centre")
                                                         : json("replica " + std::to_string(r.best_index()))},
              {"train_error", error_rate(d, r.best_weights())},
              {"wall_seconds", r.wall_seconds},
              {"seconds_to_solution", r.solved ? json(r.seconds_to_solution) : json(nullptr)},
              {"proposals_per_second",
               result.wall_seconds > 0 ? double(r.proposals) / result.wall_seconds : 0.0}};
    if (d.teacher) {
      // arccos(W·W*/N)/π is the generalization error of a perceptron student of a perceptron
      // teacher only; committees report the test error.
      if (!committee && d.teacher->size() == r.best_weights().size())
        j["generalization_error"] = generalization_error(*d.teacher, r.best_weights());
      if (what.test_patterns > 0)
        j["test_error"] = error_rate(generate_test_set(d, what.test_patterns), r.best_weights());
    }
    auto t = traces.find(r.instance);
    if (t != traces.end()) {
      json tr = json::array();
      for (const auto& rec : t->second) tr.push_back(trace_json(rec));
      j["trace"] = std::move(tr);
    }
    instances.push_back(std::move(j));
  }
  return {{"locent_version", kVersion},
          {"date", utc_now()},
          {"problem", problem},
          {"solver", solver},
          {"backend", result.backend},
          {"device", result.device},
          {"wall_seconds", result.wall_seconds},
          {"sweeps_run", result.sweeps_run},
          {"stopped_by_time", result.stopped_by_time},
          {"proposals_per_second", result.proposals_per_second()},
          {"summary",
           {{"instances", result.instances.size()},
            {"solved", solved},
            {"success_rate", double(solved) / double(result.instances.size())}}},
          {"instances", instances}};
}

}  // namespace locent::cli
