// Summary statistics of a results file per (solver, N, α): success probability with its Wilson
// interval and the quartiles of the time to solution, as a table, CSV or JSON.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <map>
#include <tuple>
#include <unordered_set>

#include "host/sweep/sweep_internal.hpp"
#include "locent/error.hpp"

namespace locent {
namespace {

std::string format(const char* fmt, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, fmt, v);
  return buf;
}

std::string alpha_text(double a) {
  std::string s = format("%.9f", a);
  s.erase(s.find_last_not_of('0') + 1);
  if (s.back() == '.') s.pop_back();
  return s;
}

std::string pad(const std::string& s, std::size_t width, bool left = false) {
  // Width in characters, not bytes: the headers hold "α" and "≤".
  std::size_t chars = 0;
  for (unsigned char c : s) chars += (c & 0xc0) != 0x80;
  if (chars >= width) return s;
  return left ? s + std::string(width - chars, ' ') : std::string(width - chars, ' ') + s;
}

nlohmann::ordered_json quartiles_json(const std::optional<Quartiles>& q) {
  if (!q) return nullptr;
  return {{"q1", q->q1}, {"median", q->median}, {"q3", q->q3}};
}

}  // namespace

Interval wilson_interval(std::size_t successes, std::size_t trials, double z) {
  if (trials == 0) return {0, 1};
  const double n = double(trials), p = double(successes) / n, z2 = z * z;
  const double centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const double half = z / (1 + z2 / n) * std::sqrt(p * (1 - p) / n + z2 / (4 * n * n));
  return {std::max(0.0, centre - half), std::min(1.0, centre + half)};
}

Quartiles quartiles(std::vector<double> v) {
  if (v.empty()) throw Error("quartiles of an empty set", ExitCode::failure);
  std::sort(v.begin(), v.end());
  auto at = [&](double q) {
    const double h = q * double(v.size() - 1);
    const std::size_t lo = static_cast<std::size_t>(std::floor(h));
    const std::size_t hi = std::min(lo + 1, v.size() - 1);
    return v[lo] + (h - double(lo)) * (v[hi] - v[lo]);
  };
  return {at(0.25), at(0.5), at(0.75)};
}

Report summarize(const std::vector<RunRecord>& records) {
  Report report;
  // A solver name with several settings, label modes or models (files extended with --force) gets
  // one label per variant, so that different experiments are never pooled.
  std::vector<std::string> names;
  std::map<std::string, std::vector<std::tuple<std::string, std::string, std::string>>> variants_of;
  std::unordered_set<std::string> seen;
  std::size_t duplicates = 0;
  struct Group {
    std::size_t patterns = 0, runs = 0, solved = 0;
    std::vector<double> sweeps, seconds;
  };
  std::map<std::tuple<std::size_t, int, double>, Group> groups;  // (label index, N, α)
  struct Label {
    std::string name, settings, label_mode, model;
  };
  std::vector<Label> labels;
  for (const RunRecord& r : records) {
    if (!seen.insert(r.key).second) {
      ++duplicates;
      continue;
    }
    auto& list = variants_of[r.solver];
    if (list.empty()) names.push_back(r.solver);
    const std::tuple<std::string, std::string, std::string> variant_id{r.settings, r.label_mode,
                                                                      r.model};
    auto it = std::find(list.begin(), list.end(), variant_id);
    const std::size_t variant = it - list.begin();
    if (it == list.end()) list.push_back(variant_id);
    const std::string label =
        variant == 0 ? r.solver : r.solver + " [" + std::to_string(variant + 1) + "]";
    auto l = std::find_if(labels.begin(), labels.end(), [&](auto& x) { return x.name == label; });
    if (l == labels.end()) {
      labels.push_back({label, r.settings, r.label_mode, r.model});
      l = labels.end() - 1;
    }
    Group& g = groups[{std::size_t(l - labels.begin()), r.n, r.alpha}];
    g.patterns = r.patterns;
    ++g.runs;
    if (r.solved) {
      ++g.solved;
      g.sweeps.push_back(r.sweeps);
      if (r.seconds_to_solution) g.seconds.push_back(*r.seconds_to_solution);
    }
  }
  if (duplicates)
    report.notes.push_back(std::to_string(duplicates) +
                           " records repeat the run key of an earlier one and were not counted");
  for (const auto& name : names)
    if (variants_of[name].size() > 1)
      report.notes.push_back("solver \"" + name + "\" appears with " +
                             std::to_string(variants_of[name].size()) +
                             " different settings, label modes or models, reported as \"" + name +
                             "\", \"" + name + " [2]\"...");
  for (const auto& [key, g] : groups) {
    ReportRow row;
    const Label& label = labels[std::get<0>(key)];
    row.solver = label.name;
    row.settings = label.settings;
    row.label_mode = label.label_mode;
    row.model = label.model;
    row.n = std::get<1>(key);
    row.alpha = std::get<2>(key);
    row.patterns = g.patterns;
    row.runs = g.runs;
    row.solved = g.solved;
    row.success = double(g.solved) / double(g.runs);
    row.success_ci = wilson_interval(g.solved, g.runs);
    if (!g.sweeps.empty()) row.sweeps = quartiles(g.sweeps);
    if (!g.seconds.empty()) row.seconds = quartiles(g.seconds);
    report.rows.push_back(std::move(row));
  }
  return report;
}

std::string report_table(const Report& report) {
  const std::vector<std::pair<std::string, std::size_t>> columns = {
      {"solver", 10}, {"N", 6},           {"α", 7},       {"P", 6},          {"runs", 5},
      {"solved", 7},  {"P(solve)", 9},    {"95% CI", 16}, {"sweeps q1", 10}, {"median", 9},
      {"q3", 9},      {"seconds q1", 11}, {"median", 8},  {"q3", 8}};
  std::size_t solver_width = columns[0].second;
  for (const auto& r : report.rows) solver_width = std::max(solver_width, r.solver.size() + 1);
  std::string out;
  for (std::size_t c = 0; c < columns.size(); ++c)
    out += c == 0 ? pad(columns[c].first, solver_width, true)
                  : pad(columns[c].first, columns[c].second);
  out += "\n";
  for (const auto& r : report.rows) {
    std::vector<std::string> cells = {
        r.solver,
        std::to_string(r.n),
        alpha_text(r.alpha),
        std::to_string(r.patterns),
        std::to_string(r.runs),
        std::to_string(r.solved),
        format("%.3f", r.success),
        "[" + format("%.3f", r.success_ci.low) + ", " + format("%.3f", r.success_ci.high) + "]"};
    auto add = [&](const std::optional<Quartiles>& q, const char* f) {
      if (q)
        cells.insert(cells.end(), {format(f, q->q1), format(f, q->median), format(f, q->q3)});
      else
        cells.insert(cells.end(), {"-", "-", "-"});
    };
    add(r.sweeps, "%.1f");
    add(r.seconds, "%.3g");
    // A cell wider than its column still gets one space before it.
    for (std::size_t c = 0; c < cells.size(); ++c)
      out += c == 0 ? pad(cells[c], solver_width, true)
                    : pad(cells[c], std::max(columns[c].second, cells[c].size() + 1));
    out += "\n";
  }
  return out;
}

std::string report_csv(const Report& report) {
  std::string out =
      "solver,N,alpha,P,runs,solved,success,ci_low,ci_high,sweeps_q1,sweeps_median,sweeps_q3,"
      "seconds_q1,seconds_median,seconds_q3\n";
  for (const auto& r : report.rows) {
    out += r.solver + "," + std::to_string(r.n) + "," + alpha_text(r.alpha) + "," +
           std::to_string(r.patterns) + "," + std::to_string(r.runs) + "," +
           std::to_string(r.solved) + "," + format("%.9g", r.success) + "," +
           format("%.9g", r.success_ci.low) + "," + format("%.9g", r.success_ci.high);
    for (const auto& q : {r.sweeps, r.seconds}) {
      if (q)
        out += "," + format("%.9g", q->q1) + "," + format("%.9g", q->median) + "," +
               format("%.9g", q->q3);
      else
        out += ",,,";
    }
    out += "\n";
  }
  return out;
}

std::string report_json(const Report& report) {
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  for (const auto& r : report.rows) {
    nlohmann::ordered_json j;
    j["solver"] = r.solver;
    j["settings"] = nlohmann::ordered_json::parse(r.settings);
    j["label_mode"] = r.label_mode;
    j["model"] = r.model;
    j["N"] = r.n;
    j["alpha"] = r.alpha;
    j["P"] = r.patterns;
    j["runs"] = r.runs;
    j["solved"] = r.solved;
    j["success"] = r.success;
    j["success_ci95"] = {r.success_ci.low, r.success_ci.high};
    j["sweeps_to_solution"] = quartiles_json(r.sweeps);
    j["seconds_to_solution"] = quartiles_json(r.seconds);
    rows.push_back(std::move(j));
  }
  nlohmann::ordered_json out;
  out["rows"] = rows;
  out["notes"] = report.notes;
  return out.dump(2) + "\n";
}

}  // namespace locent
