// The sweep file: TOML parsing and whole-file validation with the line and key of every problem,
// the canonical form and hash, the per-point seeds and the list of runs.
#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <set>
#include <sstream>

#include "host/input_text.hpp"
#include "host/sweep/sweep_internal.hpp"
#include "locent/error.hpp"
#include "locent/sweep.hpp"

namespace locent {
namespace {

constexpr std::size_t kMaxGridValues = 10000;

std::string number_text(double v) {
  std::ostringstream o;
  o.precision(10);
  o << v;
  return o.str();
}

// Collects every problem of the file so that one run of the command lists them all.
class Problems {
 public:
  explicit Problems(std::string source) : source_(std::move(source)) {}
  void add(const toml::source_region& at, const std::string& key, const std::string& what) {
    std::string where = source_;
    if (at.begin.line > 0) where += ":" + std::to_string(at.begin.line);
    // Problems without a line (missing keys) go last.
    const std::uint32_t line = at.begin.line > 0 ? at.begin.line : UINT32_MAX;
    list_.push_back({line, where + ": " + key + ": " + what});
  }
  void add(const toml::node& at, const std::string& key, const std::string& what) {
    add(at.source(), key, what);
  }
  std::size_t count() const { return list_.size(); }
  void throw_if_any() {
    if (list_.empty()) return;
    std::stable_sort(list_.begin(), list_.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::string message;
    for (const auto& [line, text] : list_) message += (message.empty() ? "" : "\n") + text;
    throw Error(message, ExitCode::bad_input);
  }

 private:
  std::string source_;
  std::vector<std::pair<std::uint32_t, std::string>> list_;
};

std::optional<double> as_number(const toml::node& n) {
  if (auto i = n.as_integer()) return static_cast<double>(i->get());
  if (auto f = n.as_floating_point()) return f->get();
  return std::nullopt;
}

void check_keys(const toml::table& t, const std::string& prefix,
                const std::vector<std::string>& allowed, Problems& problems) {
  for (auto&& [k, v] : t) {
    if (std::find(allowed.begin(), allowed.end(), k.str()) != allowed.end()) continue;
    std::string list;
    for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
    problems.add(k.source(), prefix + std::string(k.str()),
                 "unknown key (expected one of: " + list + ")");
  }
}

// The table's own line, for a key that is missing from it.
const toml::source_region& region_of(const toml::table& t) { return t.source(); }

std::optional<std::int64_t> integer(const toml::node& n, const std::string& key, std::int64_t min,
                                    std::int64_t max, Problems& problems) {
  auto i = n.as_integer();
  if (!i) {
    problems.add(n, key, "expected an integer");
    return std::nullopt;
  }
  if (i->get() < min || i->get() > max) {
    problems.add(n, key,
                 "must be between " + std::to_string(min) + " and " + std::to_string(max) +
                     " (got " + std::to_string(i->get()) + ")");
    return std::nullopt;
  }
  return i->get();
}

std::optional<std::string> choice(const toml::node& n, const std::string& key,
                                  const std::vector<std::string>& choices, Problems& problems) {
  std::string list;
  for (const auto& c : choices) list += (list.empty() ? "" : ", ") + c;
  auto s = n.as_string();
  if (!s) {
    problems.add(n, key, "expected a string, one of: " + list);
    return std::nullopt;
  }
  if (std::find(choices.begin(), choices.end(), s->get()) == choices.end()) {
    problems.add(n, key, "must be one of: " + list + " (got \"" + s->get() + "\")");
    return std::nullopt;
  }
  return s->get();
}

// N = 201 | [201, 401] | {from = 201, to = 1601, factor = 2} | {from = 201, to = 1001, step = 200}
std::vector<int> parse_n(const toml::node& n, Problems& problems) {
  const std::string key = "N";
  std::vector<std::pair<std::int64_t, const toml::node*>> values;
  if (n.is_integer()) {
    values.push_back({n.as_integer()->get(), &n});
  } else if (auto a = n.as_array()) {
    if (a->empty()) problems.add(n, key, "the list is empty");
    for (auto&& e : *a) {
      if (auto i = e.as_integer())
        values.push_back({i->get(), &e});
      else
        problems.add(e, key, "values must be integers");
    }
  } else if (auto t = n.as_table()) {
    check_keys(*t, "N.", {"from", "to", "factor", "step"}, problems);
    const toml::node* from = t->get("from");
    const toml::node* to = t->get("to");
    const toml::node* factor = t->get("factor");
    const toml::node* step = t->get("step");
    if (!from || !to || (factor == nullptr) == (step == nullptr)) {
      problems.add(n, key, "a range needs from, to and one of factor or step");
      return {};
    }
    const auto f = integer(*from, "N.from", 1, 1 << 30, problems);
    const auto l = integer(*to, "N.to", 1, 1 << 30, problems);
    if (!f || !l) return {};
    if (*f % 2 == 0) problems.add(*from, "N.from", "must be odd (got " + std::to_string(*f) + ")");
    if (*l < *f) {
      problems.add(*to, "N.to", "must be at least from (" + std::to_string(*f) + ")");
      return {};
    }
    if (step) {
      const auto s = integer(*step, "N.step", 1, 1 << 30, problems);
      if (!s) return {};
      if (*s % 2 != 0) {
        problems.add(*step, "N.step",
                     "must be even so that N stays odd (got " + std::to_string(*s) + ")");
        return {};
      }
      for (std::int64_t v = *f; v <= *l && values.size() <= kMaxGridValues; v += *s)
        values.push_back({v, &n});
    } else {
      const auto x = as_number(*factor);
      if (!x || !(*x > 1) || !std::isfinite(*x)) {
        problems.add(*factor, "N.factor", "must be a number > 1");
        return {};
      }
      if (*f < 3) {
        problems.add(*from, "N.from",
                     "must be at least 3 with a factor (the grid grows N − 1 geometrically)");
        return {};
      }
      // Geometric in N − 1, rounded to the nearest odd N: 201, 401, 801, 1601 for factor 2.
      for (int k = 0; values.size() <= kMaxGridValues; ++k) {
        const double half = double(*f - 1) / 2 * std::pow(*x, k);
        if (2 * half + 1 > double(*l) + 0.5) break;
        const std::int64_t v = 2 * std::llround(half) + 1;
        if (!values.empty() && values.back().first == v) {
          problems.add(*factor, "N.factor",
                       "is too close to 1: N repeats (" + std::to_string(v) + ")");
          return {};
        }
        if (v <= *l) values.push_back({v, &n});
      }
    }
  } else {
    problems.add(n, key,
                 "expected an odd integer, a list of them, or a range {from, to, factor or step}");
    return {};
  }
  if (values.size() > kMaxGridValues) {
    problems.add(n, key, "more than " + std::to_string(kMaxGridValues) + " values");
    return {};
  }
  std::vector<int> out;
  const std::size_t before = problems.count();
  for (const auto& [v, at] : values) {
    if (v < 1 || v > (1 << 30)) {
      problems.add(*at, key, "values must be between 1 and 2^30 (got " + std::to_string(v) + ")");
      continue;
    }
    ModelSpec m;
    m.inputs = static_cast<int>(v);
    try {
      m.validate();
    } catch (const Error& e) {
      problems.add(*at, key, e.what());
      continue;
    }
    if (std::find(out.begin(), out.end(), int(v)) != out.end()) {
      problems.add(*at, key, "value " + std::to_string(v) + " appears twice");
      continue;
    }
    out.push_back(static_cast<int>(v));
  }
  return problems.count() == before ? out : std::vector<int>{};
}

// alpha = 0.5 | [0.3, 0.4] | {from = 0.3, to = 0.7, step = 0.05}
std::vector<double> parse_alpha(const toml::node& n, Problems& problems) {
  const std::string key = "alpha";
  std::vector<std::pair<double, const toml::node*>> values;
  if (auto x = as_number(n)) {
    values.push_back({*x, &n});
  } else if (auto a = n.as_array()) {
    if (a->empty()) problems.add(n, key, "the list is empty");
    for (auto&& e : *a) {
      if (auto v = as_number(e))
        values.push_back({*v, &e});
      else
        problems.add(e, key, "values must be numbers");
    }
  } else if (auto t = n.as_table()) {
    check_keys(*t, "alpha.", {"from", "to", "step"}, problems);
    const toml::node* from = t->get("from");
    const toml::node* to = t->get("to");
    const toml::node* step = t->get("step");
    if (!from || !to || !step) {
      problems.add(n, key, "a range needs from, to and step");
      return {};
    }
    const auto f = as_number(*from), l = as_number(*to), s = as_number(*step);
    if (!f) problems.add(*from, "alpha.from", "expected a number");
    if (!l) problems.add(*to, "alpha.to", "expected a number");
    if (!s) problems.add(*step, "alpha.step", "expected a number");
    if (!f || !l || !s) return {};
    if (!std::isfinite(*f) || !std::isfinite(*l)) {
      problems.add(n, key, "from and to must be finite numbers");
      return {};
    }
    if (!(*s > 0) || !std::isfinite(*s)) {
      problems.add(*step, "alpha.step", "must be > 0 (got " + number_text(*s) + ")");
      return {};
    }
    if (!(*l >= *f)) {
      problems.add(*to, "alpha.to", "must be at least from (" + number_text(*f) + ")");
      return {};
    }
    // Integer steps and a tolerance, so that 0.3 + 8 × 0.05 still includes 0.7.
    const double count = std::floor((*l - *f) / *s + 1e-9) + 1;
    if (count > double(kMaxGridValues)) {
      problems.add(n, key, "more than " + std::to_string(kMaxGridValues) + " values");
      return {};
    }
    for (int k = 0; k < int(count); ++k) values.push_back({*f + k * *s, from});
  } else {
    problems.add(n, key, "expected a number, a list of numbers, or a range {from, to, step}");
    return {};
  }
  std::vector<double> out;
  const std::size_t before = problems.count();
  for (const auto& [v, at] : values) {
    if (!(v > 0) || !std::isfinite(v)) {
      problems.add(*at, key, "values must be > 0 (got " + number_text(v) + ")");
      continue;
    }
    const double a = round_alpha(v);
    if (a == 0) {
      problems.add(*at, key,
                   "values are kept to 9 decimals, and " + number_text(v) + " rounds to 0");
      continue;
    }
    if (std::find(out.begin(), out.end(), a) != out.end()) {
      problems.add(*at, key, "value " + number_text(a) + " appears twice");
      continue;
    }
    out.push_back(a);
  }
  return problems.count() == before ? out : std::vector<double>{};
}

std::optional<Schedule> parse_schedule(const toml::node& n, const std::string& key,
                                       Problems& problems) {
  try {
    if (auto x = as_number(n)) return Schedule::constant(*x);
    if (auto s = n.as_string()) return Schedule::parse(s->get(), key);
    problems.add(n, key, "expected a schedule: a number or a string such as \"geom:0.5:5\"");
  } catch (const Error& e) {
    // Schedule::parse names the key itself.
    std::string what = e.what();
    const std::string prefix = key + ": ";
    if (what.rfind(prefix, 0) == 0) what = what.substr(prefix.size());
    problems.add(n, key, what);
  }
  return std::nullopt;
}

std::string parse_name(const toml::table& t, const std::string& p, Problems& problems) {
  const toml::node* n = t.get("name");
  if (!n) {
    problems.add(region_of(t), p + "name", "missing: every solver needs a name");
    return "";
  }
  auto v = n->as_string();
  const std::string name = v ? v->get() : "";
  const bool ok = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-' || c == '.' ||
           c == '+';
  });
  if (!ok) problems.add(*n, p + "name", "expected a non-empty name of letters, digits, _ - . +");
  return name;
}

// A number in [min, max) (or [min, max] with `closed`), else a problem.
std::optional<double> bounded(const toml::node& n, const std::string& key, double min, double max,
                              bool closed, const std::string& range_text, Problems& problems) {
  const auto v = as_number(n);
  if (!v || !(*v >= min) || !(closed ? *v <= max : *v < max)) {
    problems.add(n, key, "must be a number in " + range_text);
    return std::nullopt;
  }
  return *v;
}

// A wall-clock budget in seconds: a finite number ≥ 0 (0: none).
std::optional<double> seconds_budget(const toml::node& n, const std::string& key,
                                     Problems& problems) {
  const auto v = as_number(n);
  if (!v || !(*v >= 0) || !std::isfinite(*v)) {
    problems.add(n, key, "must be a number >= 0 (0: no time budget)");
    return std::nullopt;
  }
  return *v;
}

// The settings of an fBP solver (algo = "fbp"): the protocol and the BP options of
// `locent solve --algo fbp`.
void parse_fbp_solver(const toml::table& t, const std::string& p, SolverSpec& s,
                      Problems& problems) {
  const std::size_t before = problems.count();
  FbpConfig& f = s.fbp;
  std::string protocol = "standard";
  if (const toml::node* n = t.get("protocol"))
    if (auto v = choice(*n, p + "protocol", {"standard", "scoping", "pseudo", "list"}, problems))
      protocol = *v;
  int steps = 100;
  if (const toml::node* n = t.get("protocol_steps")) {
    if (auto v = integer(*n, p + "protocol_steps", 1, 1000000, problems)) steps = int(*v);
    if (protocol == "list")
      problems.add(*n, p + "protocol_steps", "does not apply to a list protocol (give steps)");
  }
  const toml::node* gamma = t.get("fbp_gamma");
  const toml::node* y = t.get("fbp_y");
  const toml::node* list = t.get("steps");
  if (protocol != "scoping") {
    if (gamma) problems.add(*gamma, p + "fbp_gamma", "applies to protocol \"scoping\" only");
    if (y) problems.add(*y, p + "fbp_y", "applies to protocol \"scoping\" only");
  }
  if (protocol != "list" && list)
    problems.add(*list, p + "steps", "applies to protocol \"list\" only");
  if (const toml::node* n = t.get("max_iters"))
    if (auto v = integer(*n, p + "max_iters", 1, 1 << 30, problems)) f.max_iters = int(*v);
  if (const toml::node* n = t.get("epsilon")) {
    const auto v = as_number(*n);
    if (!v || !(*v > 0) || !std::isfinite(*v))
      problems.add(*n, p + "epsilon", "must be a positive number");
    else
      f.epsilon = *v;
  }
  if (const toml::node* n = t.get("damping"))
    if (auto v = bounded(*n, p + "damping", 0, 1, false, "[0, 1)", problems)) f.damping = *v;
  if (const toml::node* n = t.get("init_size"))
    if (auto v = bounded(*n, p + "init_size", 0, 1, false, "[0, 1)", problems)) f.init_size = *v;
  if (const toml::node* n = t.get("max_seconds"))
    if (auto v = seconds_budget(*n, p + "max_seconds", problems)) f.max_seconds = *v;
  if (problems.count() != before) return;
  try {
    if (protocol == "standard") {
      f.protocol = FbpProtocol::standard(steps);
    } else if (protocol == "pseudo") {
      f.protocol = FbpProtocol::pseudo(steps);
    } else if (protocol == "scoping") {
      const toml::array* range = gamma ? gamma->as_array() : nullptr;
      const auto first = range && range->size() == 2 ? as_number(*range->get(0)) : std::nullopt;
      const auto last = range && range->size() == 2 ? as_number(*range->get(1)) : std::nullopt;
      const auto fixed_y = y ? as_number(*y) : std::nullopt;
      if (!first || !last) {
        problems.add(gamma ? gamma->source() : region_of(t), p + "fbp_gamma",
                     "scoping needs fbp_gamma = [first, last] (a geometric range of gamma)");
        return;
      }
      if (!fixed_y) {
        problems.add(y ? y->source() : region_of(t), p + "fbp_y",
                     "scoping needs fbp_y = the fixed number of replicas y");
        return;
      }
      f.protocol = FbpProtocol::scoping(*fixed_y, *first, *last, steps);
    } else {
      const toml::array* a = list ? list->as_array() : nullptr;
      std::vector<FbpStep> pairs;
      for (std::size_t i = 0; a && i < a->size(); ++i) {
        const toml::array* pair = a->get(i)->as_array();
        const auto g = pair && pair->size() == 2 ? as_number(*pair->get(0)) : std::nullopt;
        const auto yy = pair && pair->size() == 2 ? as_number(*pair->get(1)) : std::nullopt;
        if (!g || !yy) {
          pairs.clear();
          break;
        }
        pairs.push_back({*g, *yy});
      }
      if (pairs.empty()) {
        problems.add(list ? list->source() : region_of(t), p + "steps",
                     "a list protocol needs steps = [[gamma, y], ...] (inf allowed)");
        return;
      }
      f.protocol = FbpProtocol::list(std::move(pairs));
    }
    f.validate();
  } catch (const Error& e) {
    problems.add(region_of(t), p.substr(0, p.size() - 1), e.what());
  }
}

std::optional<SolverSpec> parse_solver(const toml::table& t, std::size_t index,
                                       const ModelSpec& model, Problems& problems) {
  const std::string p = "solver[" + std::to_string(index) + "].";
  const std::size_t before = problems.count();
  SolverSpec s;
  s.algo = "rsa";
  if (const toml::node* n = t.get("algo"))
    if (auto v = choice(*n, p + "algo", {"rsa", "sa", "fbp"}, problems)) s.algo = *v;
  if (s.algo == "fbp") {
    check_keys(t, p,
               {"name", "algo", "protocol", "protocol_steps", "fbp_gamma", "fbp_y", "steps",
                "max_iters", "epsilon", "damping", "init_size", "max_seconds"},
               problems);
    s.name = parse_name(t, p, problems);
    parse_fbp_solver(t, p, s, problems);
    if (problems.count() != before) return std::nullopt;
    return s;
  }
  check_keys(t, p,
             {"name", "algo", "replicas", "coupling", "energy", "beta", "gamma", "max_sweeps",
              "max_seconds", "centre_check_every"},
             problems);
  s.name = parse_name(t, p, problems);
  const bool committee = model.architecture != Architecture::perceptron;
  // Committees start from their own defaults (errors energy, colder β, weaker γ).
  s.config = committee ? committee_defaults() : AnnealConfig{};
  AnnealConfig& c = s.config;
  if (const toml::node* n = t.get("replicas")) {
    if (auto v = integer(*n, p + "replicas", 1, 30, problems)) c.replicas = int(*v);
    if (s.algo == "sa" && c.replicas != 1)
      problems.add(*n, p + "replicas", "algo \"sa\" is plain simulated annealing with one replica");
  }
  if (const toml::node* n = t.get("coupling"))
    if (auto v = choice(*n, p + "coupling", {"traced", "explicit"}, problems))
      c.coupling = *v == "traced" ? Coupling::traced : Coupling::explicit_;
  if (const toml::node* n = t.get("energy"))
    if (auto v = choice(*n, p + "energy", {"flips", "errors"}, problems)) {
      c.energy = *v == "flips" ? EnergyKind::flips : EnergyKind::errors;
      if (committee && c.energy == EnergyKind::flips)
        problems.add(*n, p + "energy",
                     "the flips energy is defined for the perceptron only; committees use \"errors\"");
    }
  if (const toml::node* n = t.get("max_sweeps"))
    if (auto v = integer(*n, p + "max_sweeps", 1, 0xffffffffll, problems))
      c.max_sweeps = std::uint64_t(*v);
  if (const toml::node* n = t.get("max_seconds"))
    if (auto v = seconds_budget(*n, p + "max_seconds", problems)) c.max_seconds = *v;
  if (const toml::node* n = t.get("centre_check_every"))
    if (auto v = integer(*n, p + "centre_check_every", 1, 1 << 30, problems))
      c.centre_check_every = int(*v);
  if (const toml::node* n = t.get("beta")) {
    if (auto v = parse_schedule(*n, p + "beta", problems)) {
      c.beta = *v;
      if (!(c.beta.min_value(c.max_sweeps) > 0))
        problems.add(*n, p + "beta",
                     "must stay > 0 over the whole schedule (" + c.beta.to_string() + ")");
    }
  }
  if (const toml::node* n = t.get("gamma")) {
    if (auto v = parse_schedule(*n, p + "gamma", problems)) {
      c.gamma = *v;
      if (!(c.gamma.min_value(c.max_sweeps) >= 0))
        problems.add(*n, p + "gamma",
                     "must stay >= 0 over the whole schedule (" + c.gamma.to_string() + ")");
      if (s.algo == "sa" && c.gamma.max_value(c.max_sweeps) != 0)
        problems.add(*n, p + "gamma", "algo \"sa\" has no coupling: drop gamma or set it to 0");
    }
  }
  if (s.algo == "sa") {
    c.replicas = 1;
    c.gamma = Schedule::constant(0);
  }
  if (problems.count() != before) return std::nullopt;
  try {
    c.validate();  // whatever the per-key checks above do not cover
  } catch (const Error& e) {
    problems.add(region_of(t), p.substr(0, p.size() - 1), e.what());
    return std::nullopt;
  }
  return s;
}

std::string hex64(std::uint64_t v) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace

std::uint64_t splitmix64(std::uint64_t x) {
  std::uint64_t z = x + 0x9e3779b97f4a7c15ull;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

double round_alpha(double alpha) { return std::round(alpha * 1e9) / 1e9; }

std::uint64_t point_seed(std::uint64_t base_seed, int n, double alpha) {
  const double a = round_alpha(alpha);
  std::uint64_t bits = 0;
  std::memcpy(&bits, &a, sizeof bits);
  std::uint64_t h = splitmix64(base_seed);
  h = splitmix64(h ^ static_cast<std::uint64_t>(n));
  return splitmix64(h ^ bits);
}

std::uint64_t fnv1a64(const std::string& bytes) {
  std::uint64_t h = 0xcbf29ce484222325ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  return h;
}

nlohmann::json settings_json(const SolverSpec& solver) {
  if (solver.algo == "fbp") {
    const FbpConfig& f = solver.fbp;
    nlohmann::json j = {{"algo", "fbp"},
                        {"protocol", f.protocol.text},
                        {"max_iters", f.max_iters},
                        {"epsilon", f.epsilon},
                        {"damping", f.damping},
                        {"init_size", f.init_size},
                        {"symmetry_breaking", f.symmetry_breaking},
                        {"max_seconds", f.max_seconds}};
    if (f.protocol.name == "list") {  // its text gives only the length
      nlohmann::json steps = nlohmann::json::array();
      for (const FbpStep& st : f.protocol.steps)
        steps.push_back({std::isinf(st.gamma) ? nlohmann::json("inf") : nlohmann::json(st.gamma),
                         std::isinf(st.y) ? nlohmann::json("inf") : nlohmann::json(st.y)});
      j["steps"] = steps;
    }
    return j;
  }
  const AnnealConfig& c = solver.config;
  return {{"algo", solver.algo},
          {"replicas", c.replicas},
          {"coupling", c.coupling == Coupling::traced ? "traced" : "explicit"},
          {"energy", c.energy == EnergyKind::flips ? "flips" : "errors"},
          {"beta", c.beta.to_string()},
          {"gamma", c.gamma.to_string()},
          {"max_sweeps", c.max_sweeps},
          {"max_seconds", c.max_seconds},
          {"centre_check_every", c.centre_check_every}};
}

std::string model_name(const ModelSpec& model) {
  if (model.architecture == Architecture::perceptron) return "perceptron";
  return std::string(model.architecture == Architecture::committee_tree ? "committee-tree"
                                                                        : "committee-fc") +
         "-K" + std::to_string(model.hidden_units);
}

std::string SweepSpec::canonical() const {
  nlohmann::json solvers_json = nlohmann::json::array();
  for (const auto& s : solvers)
    solvers_json.push_back({{"name", s.name}, {"settings", settings_json(s)}});
  const nlohmann::json j = {{"model", model_name(model)},
                            {"label_mode", labels == LabelMode::storage ? "storage" : "teacher"},
                            {"N", n_values},
                            {"alpha", alpha_values},
                            {"instances", instances},
                            {"seed", seed},
                            {"solvers", solvers_json}};
  return j.dump();
}

std::string SweepSpec::hash() const { return hex64(fnv1a64(canonical())); }

SweepSpec parse_sweep(const std::string& text, const std::string& source) {
  toml::table root;
  try {
    root = toml::parse(text, source);
  } catch (const toml::parse_error& e) {
    throw Error(
        source + ":" + std::to_string(e.source().begin.line) + ": " + std::string(e.description()),
        ExitCode::bad_input);
  }
  Problems problems(source);
  SweepSpec spec;
  spec.source = source;
  check_keys(root, "",
             {"model", "K", "arch", "label_mode", "N", "alpha", "instances", "seed", "solver",
              "backend", "batch_size", "threads"},
             problems);
  bool committee = false;
  if (const toml::node* n = root.get("model"))
    if (auto v = choice(*n, "model", {"perceptron", "committee"}, problems))
      committee = *v == "committee";
  if (committee) {
    spec.model.architecture = Architecture::committee_tree;
    spec.model.hidden_units = 3;
    if (const toml::node* n = root.get("arch"))
      if (auto v = choice(*n, "arch", {"tree", "fc"}, problems))
        spec.model.architecture = *v == "fc" ? Architecture::committee_fc : Architecture::committee_tree;
    if (const toml::node* n = root.get("K")) {
      if (auto v = integer(*n, "K", 1, 100001, problems)) {
        spec.model.hidden_units = int(*v);
        if (*v % 2 == 0) problems.add(*n, "K", "the number of hidden units must be odd");
      }
    }
  } else {
    for (const char* key : {"K", "arch"})
      if (const toml::node* n = root.get(key))
        problems.add(*n, key, "applies to model = \"committee\" only");
  }
  if (const toml::node* n = root.get("label_mode"))
    if (auto v = choice(*n, "label_mode", {"storage", "teacher"}, problems))
      spec.labels = *v == "storage" ? LabelMode::storage : LabelMode::teacher;
  if (const toml::node* n = root.get("N"))
    spec.n_values = parse_n(*n, problems);
  else
    problems.add(toml::source_region{}, "N", "missing: give the sizes, e.g. N = [201, 401]");
  if (const toml::node* n = root.get("alpha"))
    spec.alpha_values = parse_alpha(*n, problems);
  else
    problems.add(toml::source_region{}, "alpha",
                 "missing: give the loads, e.g. alpha = [0.3, 0.5]");
  if (const toml::node* n = root.get("instances")) {
    if (auto v = integer(*n, "instances", 1, 1 << 24, problems)) spec.instances = std::uint32_t(*v);
  } else {
    problems.add(toml::source_region{}, "instances",
                 "missing: give the instances per point, e.g. instances = 20");
  }
  if (const toml::node* n = root.get("seed"))
    if (auto v = integer(*n, "seed", 0, INT64_MAX, problems)) spec.seed = std::uint64_t(*v);
  if (const toml::node* n = root.get("backend"))
    if (auto v = choice(*n, "backend", {"auto", "cpu", "cuda"}, problems))
      spec.backend = parse_backend_kind(*v);
  if (const toml::node* n = root.get("batch_size"))
    if (auto v = integer(*n, "batch_size", 0, 1 << 24, problems)) spec.batch_size = std::size_t(*v);
  if (const toml::node* n = root.get("threads"))
    if (auto v = integer(*n, "threads", 0, 4096, problems)) spec.threads = int(*v);

  if (const toml::node* n = root.get("solver")) {
    const toml::array* a = n->as_array();
    if (!a || !a->is_array_of_tables() || a->empty()) {
      problems.add(*n, "solver", "expected one or more [[solver]] tables");
    } else {
      std::set<std::string> names;
      for (std::size_t i = 0; i < a->size(); ++i) {
        const toml::table& t = *(*a)[i].as_table();
        auto s = parse_solver(t, i, spec.model, problems);
        if (!s) continue;
        if (!names.insert(s->name).second) {
          problems.add(*t.get("name"), "solver[" + std::to_string(i) + "].name",
                       "\"" + s->name + "\" is the name of an earlier solver");
          continue;
        }
        spec.solvers.push_back(std::move(*s));
      }
    }
  } else {
    problems.add(toml::source_region{}, "solver", "missing: add at least one [[solver]] table");
  }
  // fBP's output factor holds K values per thread.
  if (spec.model.hidden_units > kMaxFbpHiddenUnits)
    for (const SolverSpec& solver : spec.solvers)
      if (solver.algo == "fbp") {
        problems.add(*root.get("K"), "K",
                     "fBP supports at most K = " + std::to_string(kMaxFbpHiddenUnits) +
                         " hidden units (solver \"" + solver.name + "\")");
        break;
      }
  // Every N must fit the network (a tree needs N = K × odd), every (N, α) at least one pattern.
  if (committee)
    if (const toml::node* n = root.get("N"))
      for (int nv : spec.n_values) {
        ModelSpec m = spec.model;
        m.inputs = nv;
        try {
          m.validate();
        } catch (const Error& e) {
          problems.add(*n, "N", e.what());
        }
      }
  if (const toml::node* n = root.get("alpha")) {
    for (int nv : spec.n_values)
      for (double a : spec.alpha_values) {
        ModelSpec m = spec.model;
        m.inputs = nv;
        try {
          pattern_count(m, a);
        } catch (const Error& e) {
          problems.add(*n, "alpha",
                       std::string(e.what()) + " (alpha = " + number_text(a) +
                           ", N = " + std::to_string(nv) + ")");
        }
      }
  }
  problems.throw_if_any();
  return spec;
}

SweepSpec load_sweep(const std::string& path) {
  const std::string text = read_input_text(path, "sweep file", std::size_t{16} << 20);
  if (text.find_first_not_of(" \t\r\n") == std::string::npos)
    throw Error(path + " is empty: not a sweep file", ExitCode::bad_input);
  return parse_sweep(text, path);
}

std::vector<SweepRun> enumerate_runs(const SweepSpec& spec) {
  std::vector<SweepRun> runs;
  runs.reserve(spec.run_count());
  for (int n : spec.n_values)
    for (double a : spec.alpha_values)
      for (std::size_t s = 0; s < spec.solvers.size(); ++s)
        for (std::uint32_t i = 0; i < spec.instances; ++i) runs.push_back({s, n, a, i});
  return runs;
}

std::string run_key(const SweepSpec& spec, const SweepRun& run) {
  const SolverSpec& s = spec.solvers[run.solver];
  return make_run_key(model_name(spec.model), spec.labels == LabelMode::storage ? "storage" : "teacher",
                      run.n, run.alpha, s.name, settings_json(s),
                      point_seed(spec.seed, run.n, run.alpha), run.instance);
}

}  // namespace locent
