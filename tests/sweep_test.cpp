// Sweeps: the TOML format and its error messages, the hash and the per-point seeds, outcomes that
// do not depend on batching or interruptions, and the report's statistics on a hand-computed case.
#include "locent/sweep.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>

#include "host/sweep/sweep_internal.hpp"
#include "locent/error.hpp"

namespace locent {
namespace {

// The message of the Error that parsing `text` throws, or "" when it parses.
std::string parse_error(const std::string& text, ExitCode* code = nullptr) {
  try {
    parse_sweep(text, "s.toml");
  } catch (const Error& e) {
    if (code) *code = e.code();
    return e.what();
  }
  return "";
}

const char* kSolver = "[[solver]]\nname = \"rsa\"\n";

TEST(SweepSpec, ParsesListsRangesAndSolverDefaults) {
  const SweepSpec s = parse_sweep(
      "label_mode = \"teacher\"\n"
      "N = {from = 201, to = 1601, factor = 2}\n"
      "alpha = {from = 0.3, to = 0.7, step = 0.05}\n"
      "instances = 12\n"
      "seed = 99\n"
      "backend = \"cpu\"\n"
      "batch_size = 5\n"
      "threads = 3\n"
      "[[solver]]\n"
      "name = \"rsa\"\n"
      "beta = \"lin:0.5:4\"\n"
      "gamma = 0.25\n"
      "max_sweeps = 2000\n"
      "[[solver]]\n"
      "name = \"sa\"\n"
      "algo = \"sa\"\n"
      "max_sweeps = 14000\n"
      "max_seconds = 30\n",
      "s.toml");
  EXPECT_EQ(s.labels, LabelMode::teacher);
  EXPECT_EQ(s.n_values, (std::vector<int>{201, 401, 801, 1601}));
  // Nine values: the end point 0.7 survives floating-point steps, and values are exact to 1e-9.
  ASSERT_EQ(s.alpha_values.size(), 9u);
  EXPECT_EQ(s.alpha_values.front(), 0.3);
  EXPECT_EQ(s.alpha_values[5], 0.55);
  EXPECT_EQ(s.alpha_values.back(), 0.7);
  EXPECT_EQ(s.instances, 12u);
  EXPECT_EQ(s.seed, 99u);
  EXPECT_EQ(s.backend, BackendKind::cpu);
  EXPECT_EQ(s.batch_size, 5u);
  EXPECT_EQ(s.threads, 3);
  ASSERT_EQ(s.solvers.size(), 2u);
  const AnnealConfig defaults;
  EXPECT_EQ(s.solvers[0].algo, "rsa");
  EXPECT_EQ(s.solvers[0].config.replicas, defaults.replicas);
  EXPECT_EQ(s.solvers[0].config.beta.to_string(), "lin:0.5:4");
  EXPECT_EQ(s.solvers[0].config.gamma.to_string(), "const:0.25");
  EXPECT_EQ(s.solvers[0].config.max_sweeps, 2000u);
  EXPECT_EQ(s.solvers[1].config.replicas, 1);  // plain SA: one replica, no coupling
  EXPECT_EQ(s.solvers[1].config.gamma.max_value(10), 0.0);
  EXPECT_EQ(s.solvers[1].config.beta.to_string(), defaults.beta.to_string());
  EXPECT_EQ(s.solvers[1].config.max_seconds, 30.0);
  EXPECT_EQ(s.run_count(), 4u * 9 * 2 * 12);
}

TEST(SweepSpec, ScalarsListsAndLinearNRanges) {
  const SweepSpec s = parse_sweep(
      std::string("N = {from = 101, to = 501, step = 200}\nalpha = 0.5\ninstances = 1\n") + kSolver,
      "s.toml");
  EXPECT_EQ(s.n_values, (std::vector<int>{101, 301, 501}));
  EXPECT_EQ(s.alpha_values, (std::vector<double>{0.5}));
  EXPECT_EQ(s.seed, 1u);
  EXPECT_EQ(s.backend, BackendKind::automatic);
  const SweepSpec t =
      parse_sweep(std::string("N = 51\nalpha = [1, 0.25]\ninstances = 1\n") + kSolver, "s.toml");
  EXPECT_EQ(t.n_values, (std::vector<int>{51}));
  EXPECT_EQ(t.alpha_values, (std::vector<double>{1.0, 0.25}));
}

// Each mistake is reported with the file, the line and the key.
TEST(SweepSpec, EveryMistakeNamesLineAndKey) {
  const std::string head = "N = [201]\nalpha = [0.5]\ninstances = 4\n";  // lines 1-3
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"N = [201]\nalpha = [0.3, -0.1]\ninstances = 4\n" + std::string(kSolver),
       "s.toml:2: alpha: values must be > 0 (got -0.1)"},
      {"N = [201, 400]\nalpha = [0.5]\ninstances = 4\n" + std::string(kSolver),
       "s.toml:1: N: N must be odd"},
      {"N = [201, 201]\nalpha = [0.5]\ninstances = 4\n" + std::string(kSolver),
       "s.toml:1: N: value 201 appears twice"},
      {"N = {from = 201, to = 801, step = 101}\nalpha = [0.5]\ninstances = 4\n" +
           std::string(kSolver),
       "s.toml:1: N.step: must be even"},
      {"N = {from = 201, to = 801}\nalpha = [0.5]\ninstances = 4\n" + std::string(kSolver),
       "s.toml:1: N: a range needs from, to and one of factor or step"},
      {"N = [201]\nalpha = {from = 0.3, to = 0.7, step = -0.05}\ninstances = 4\n" +
           std::string(kSolver),
       "s.toml:2: alpha.step: must be > 0"},
      {"N = [201]\nalpha = {from = 0.3, to = 0.7, stride = 0.1}\ninstances = 4\n" +
           std::string(kSolver),
       "s.toml:2: alpha.stride: unknown key"},
      {"N = [3]\nalpha = [0.1]\ninstances = 4\n" + std::string(kSolver),
       "s.toml:2: alpha: alpha · N rounds to zero"},
      {head + "alhpa = 0.3\n" + kSolver,
       "s.toml:4: alhpa: unknown key (expected one of: model, K, arch, label_mode"},
      {head + "backend = \"tpu\"\n" + kSolver,
       "s.toml:4: backend: must be one of: auto, cpu, cuda (got \"tpu\")"},
      {head + "label_mode = 3\n" + kSolver, "s.toml:4: label_mode: expected a string"},
      {head + "seed = -1\n" + kSolver, "s.toml:4: seed: must be between 0 and"},
      {"N = [201]\nalpha = [0.5]\ninstances = 0\n" + std::string(kSolver),
       "s.toml:3: instances: must be between 1 and"},
      {"N = [201]\nalpha = [0.5]\n" + std::string(kSolver), "s.toml: instances: missing"},
      {"alpha = [0.5]\ninstances = 4\n" + std::string(kSolver), "s.toml: N: missing"},
      {head, "s.toml: solver: missing"},
      {head + kSolver + "replicaz = 3\n", "s.toml:6: solver[0].replicaz: unknown key"},
      {head + kSolver + "replicas = 0\n",
       "s.toml:6: solver[0].replicas: must be between 1 and 30 (got 0)"},
      {head + kSolver + "beta = \"geom:0:1\"\n",
       "s.toml:6: solver[0].beta: a geometric schedule needs positive"},
      {head + kSolver + "beta = \"lin:1:-1\"\n", "s.toml:6: solver[0].beta: must stay > 0"},
      {head + kSolver + "gamma = true\n", "s.toml:6: solver[0].gamma: expected a schedule"},
      {head + kSolver + "max_sweeps = 0\n",
       "s.toml:6: solver[0].max_sweeps: must be between 1 and"},
      {head + kSolver + "coupling = \"loose\"\n",
       "s.toml:6: solver[0].coupling: must be one of: traced, explicit"},
      {head + kSolver + "algo = \"sa\"\nreplicas = 3\n",
       "s.toml:7: solver[0].replicas: algo \"sa\" is plain"},
      {head + kSolver + "algo = \"sa\"\ngamma = 0.5\n",
       "s.toml:7: solver[0].gamma: algo \"sa\" has no coupling"},
      {head + kSolver + kSolver,
       "s.toml:7: solver[1].name: \"rsa\" is the name of an earlier solver"},
      {head + "[[solver]]\nalgo = \"sa\"\n", "s.toml:4: solver[0].name: missing"},
      {head + "[[solver]]\nname = \"a,b\"\n",
       "s.toml:5: solver[0].name: expected a non-empty name"},
      {head + "solver = 3\n", "s.toml:4: solver: expected one or more [[solver]] tables"},
      {head + "N = 5\n" + kSolver, "s.toml:4:"},  // TOML itself: a key defined twice
      // Committees and fBP.
      {head + "K = 3\n" + kSolver, "s.toml:4: K: applies to model = \"committee\" only"},
      {head + "model = \"committee\"\nK = 4\n" + kSolver,
       "s.toml:5: K: the number of hidden units must be odd"},
      {"model = \"committee\"\nK = 65\nN = [195]\nalpha = [0.5]\ninstances = 4\n"
       "[[solver]]\nname = \"f\"\nalgo = \"fbp\"\n",
       "s.toml:2: K: fBP supports at most K = 63 hidden units (solver \"f\")"},
      {"model = \"committee\"\nK = 3\nN = [101]\nalpha = [0.5]\ninstances = 4\n" +
           std::string(kSolver),
       "s.toml:3: N: a tree committee needs N divisible by K"},
      {head + "model = \"committee\"\n" + kSolver + "energy = \"flips\"\n",
       "s.toml:7: solver[0].energy: the flips energy is defined for the perceptron only"},
      {head + "[[solver]]\nname = \"f\"\nalgo = \"fbp\"\nreplicas = 3\n",
       "s.toml:7: solver[0].replicas: unknown key (expected one of: name, algo, protocol"},
      {head + "[[solver]]\nname = \"f\"\nalgo = \"fbp\"\nprotocol = \"scoping\"\nfbp_y = 4\n",
       "s.toml:4: solver[0].fbp_gamma: scoping needs fbp_gamma = [first, last]"},
      {head + "[[solver]]\nname = \"f\"\nalgo = \"fbp\"\nfbp_y = 4\n",
       "s.toml:7: solver[0].fbp_y: applies to protocol \"scoping\" only"},
      {head + "[[solver]]\nname = \"f\"\nalgo = \"fbp\"\nprotocol = \"list\"\n"
              "steps = [[0.5, 2], [1]]\n",
       "s.toml:8: solver[0].steps: a list protocol needs steps = [[gamma, y], ...]"},
      {head + "[[solver]]\nname = \"f\"\nalgo = \"fbp\"\ndamping = 1\n",
       "s.toml:7: solver[0].damping: must be a number in [0, 1)"},
      {head + "[[solver]]\nname = \"f\"\nalgo = \"fbp\"\nprotocol = \"list\"\n"
              "steps = [[0.5, 0.5]]\n",
       "solver[0]: fBP step 0: y must be ≥ 1"},
  };
  for (const auto& [text, expected] : cases) {
    ExitCode code = ExitCode::ok;
    const std::string message = parse_error(text, &code);
    EXPECT_NE(message.find(expected), std::string::npos)
        << "want: " << expected << "\ngot:  " << message << "\nfor:\n"
        << text;
    EXPECT_EQ(code, ExitCode::bad_input) << text;
  }
}

// Committee models take the committee defaults of the annealing solvers; fBP solvers carry their
// protocol and BP options into the settings (and so into the hash and the run keys).
TEST(SweepSpec, CommitteesAndFbpSolvers) {
  const SweepSpec s = parse_sweep(
      "model = \"committee\"\nK = 5\narch = \"fc\"\n"
      "N = [21, 41]\nalpha = [0.2]\ninstances = 2\n"
      "[[solver]]\nname = \"rsa\"\n"
      "[[solver]]\nname = \"fbp\"\nalgo = \"fbp\"\nprotocol_steps = 50\nmax_iters = 200\n"
      "damping = 0.3\n"
      "[[solver]]\nname = \"scoping\"\nalgo = \"fbp\"\nprotocol = \"scoping\"\n"
      "fbp_gamma = [0.1, 10]\nfbp_y = 7\nprotocol_steps = 11\n"
      "[[solver]]\nname = \"list\"\nalgo = \"fbp\"\nprotocol = \"list\"\n"
      "steps = [[0.5, 2], [2, 5.5], [inf, 10]]\n",
      "s.toml");
  EXPECT_EQ(s.model.architecture, Architecture::committee_fc);
  EXPECT_EQ(s.model.hidden_units, 5);
  EXPECT_EQ(model_name(s.model), "committee-fc-K5");
  ASSERT_EQ(s.solvers.size(), 4u);
  EXPECT_EQ(s.solvers[0].config.energy, EnergyKind::errors);
  EXPECT_EQ(s.solvers[0].config.beta.to_string(), committee_defaults().beta.to_string());
  EXPECT_EQ(s.solvers[1].algo, "fbp");
  EXPECT_EQ(s.solvers[1].fbp.protocol.text, "standard:50");
  EXPECT_EQ(s.solvers[1].fbp.max_iters, 200);
  EXPECT_EQ(s.solvers[1].fbp.damping, 0.3);
  EXPECT_EQ(s.solvers[2].fbp.protocol.steps.size(), 11u);
  EXPECT_DOUBLE_EQ(s.solvers[2].fbp.protocol.steps.back().gamma, 10.0);
  EXPECT_EQ(s.solvers[2].fbp.protocol.steps.back().y, 7.0);
  ASSERT_EQ(s.solvers[3].fbp.protocol.steps.size(), 3u);
  EXPECT_TRUE(std::isinf(s.solvers[3].fbp.protocol.steps[2].gamma));
  const nlohmann::json list = settings_json(s.solvers[3]);
  EXPECT_EQ(list.at("steps").dump(), R"([[0.5,2.0],[2.0,5.5],["inf",10.0]])");
  // The model is part of what the hash covers.
  const std::string perceptron = parse_sweep("N = [21]\nalpha = [0.2]\ninstances = 2\n" +
                                                 std::string(kSolver), "s.toml").hash();
  const std::string tree = parse_sweep("model = \"committee\"\nK = 3\nN = [21]\nalpha = [0.2]\n"
                                       "instances = 2\n" + std::string(kSolver), "s.toml").hash();
  EXPECT_NE(perceptron, tree);
}

TEST(SweepSpec, AllProblemsOfAFileAreListedAtOnce) {
  const std::string message = parse_error(
      "N = [200]\nalpha = [-1]\ninstances = 4\nfoo = 1\n[[solver]]\nname = \"x\"\nbar = 2\n");
  EXPECT_NE(message.find("s.toml:1: N:"), std::string::npos) << message;
  EXPECT_NE(message.find("s.toml:2: alpha:"), std::string::npos) << message;
  EXPECT_NE(message.find("s.toml:4: foo: unknown key"), std::string::npos) << message;
  EXPECT_NE(message.find("s.toml:7: solver[0].bar: unknown key"), std::string::npos) << message;
}

TEST(SweepSpec, HashCoversOutcomesOnly) {
  const std::string base =
      "N = [201]\nalpha = [0.3, 0.5]\ninstances = 4\n[[solver]]\nname = \"rsa\"\n";
  const std::string h = parse_sweep(base, "a.toml").hash();
  EXPECT_EQ(h.size(), 16u);
  // Comments, layout and how to run do not change it...
  EXPECT_EQ(parse_sweep("# a comment\n" + base + "\n\n", "b.toml").hash(), h);
  EXPECT_EQ(parse_sweep("threads = 7\nbatch_size = 3\nbackend = \"cpu\"\n" + base, "a.toml").hash(),
            h);
  EXPECT_EQ(parse_sweep("N = 201\nalpha = {from = 0.3, to = 0.5, step = 0.2}\ninstances = 4\n"
                        "[[solver]]\nname = \"rsa\"\nreplicas = 7\n",
                        "a.toml")
                .hash(),
            h);
  // ...what it computes does.
  EXPECT_NE(parse_sweep(base + "max_sweeps = 100\n", "a.toml").hash(), h);
  EXPECT_NE(parse_sweep("seed = 2\n" + base, "a.toml").hash(), h);
  EXPECT_NE(
      parse_sweep("N = [201]\nalpha = [0.3, 0.5]\ninstances = 5\n[[solver]]\nname = \"rsa\"\n",
                  "a.toml")
          .hash(),
      h);
}

TEST(SweepSeeds, SplitMix64AndPointSeeds) {
  // The first output of the reference splitmix64 generator seeded with 0.
  EXPECT_EQ(splitmix64(0), 0xe220a8397b1dcdafull);
  const std::uint64_t s = point_seed(1, 201, 0.3);
  EXPECT_EQ(point_seed(1, 201, 0.1 + 0.2), s);  // α is rounded to 1e-9 first
  EXPECT_NE(point_seed(1, 201, 0.3 + 2e-9), s);
  EXPECT_NE(point_seed(2, 201, 0.3), s);
  EXPECT_NE(point_seed(1, 203, 0.3), s);
  std::set<std::uint64_t> seen;
  for (int n = 101; n < 1101; n += 100)
    for (int a = 1; a <= 20; ++a) seen.insert(point_seed(5, n, a * 0.05));
  EXPECT_EQ(seen.size(), 200u);
  EXPECT_EQ(round_alpha(0.30000000000000004), 0.3);
}

TEST(SweepRuns, EnumerationOrderAndKeys) {
  const SweepSpec s = parse_sweep(
      "N = [101, 51]\nalpha = [0.5, 0.3]\ninstances = 2\n[[solver]]\nname = \"a\"\n[[solver]]\n"
      "name = \"b\"\nalgo = \"sa\"\n",
      "s.toml");
  const auto runs = enumerate_runs(s);
  ASSERT_EQ(runs.size(), 16u);
  EXPECT_EQ(runs[0].n, 101);
  EXPECT_EQ(runs[0].alpha, 0.5);
  EXPECT_EQ(runs[1].instance, 1u);
  EXPECT_EQ(runs[2].solver, 1u);
  EXPECT_EQ(runs[4].alpha, 0.3);
  EXPECT_EQ(runs[8].n, 51);
  std::set<std::string> keys;
  for (const auto& r : runs) keys.insert(run_key(s, r));
  EXPECT_EQ(keys.size(), runs.size());
}

// --- running ---------------------------------------------------------------------------------

class SweepRunTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = ::testing::TempDir() + "locent-sweep-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override {
    for (const auto& f : files_) std::remove(f.c_str());
    rmdir(dir_.c_str());
  }
  std::string file(const std::string& name) {
    files_.push_back(dir_ + "/" + name);
    return files_.back();
  }
  // A small sweep with solved and unsolved runs, quick on one core.
  static SweepSpec small_sweep() {
    return parse_sweep(
        "N = [101, 151]\nalpha = [0.45, 0.75]\ninstances = 5\nseed = 11\nbackend = \"cpu\"\n"
        "threads = 2\n"
        "[[solver]]\nname = \"rsa\"\nmax_sweeps = 120\n"
        "[[solver]]\nname = \"sa\"\nalgo = \"sa\"\nmax_sweeps = 840\n",
        "small.toml");
  }
  static SweepSummary run(const SweepSpec& spec, const std::string& results, std::size_t batch,
                          std::function<bool()> stop = {}) {
    SweepOptions o;
    o.results_path = results;
    o.batch_size = batch;
    o.stop_requested = std::move(stop);
    SweepComm single;
    return run_sweep(spec, o, single);
  }
  // run key → outcome, failing on a duplicate key.
  static std::map<std::string, std::string> outcomes(const std::string& path) {
    std::map<std::string, std::string> m;
    for (const auto& r : read_results(path).records)
      EXPECT_TRUE(m.emplace(r.key, r.outcome).second) << r.key;
    return m;
  }
  std::string dir_;
  std::vector<std::string> files_;
};

TEST_F(SweepRunTest, OutcomesDoNotDependOnBatchSize) {
  const SweepSpec spec = small_sweep();
  const std::string one = file("one.jsonl"), seven = file("seven.jsonl");
  const SweepSummary a = run(spec, one, 1);
  EXPECT_EQ(a.done_now, spec.run_count());
  EXPECT_EQ(a.batches, spec.run_count());
  EXPECT_EQ(run(spec, seven, 7).batches, 2u * 2 * 2 * 1 /* 5 runs per point fit one batch */);
  const auto x = outcomes(one), y = outcomes(seven);
  EXPECT_EQ(x.size(), spec.run_count());
  EXPECT_EQ(x, y);
  std::size_t solved = 0;
  for (const auto& r : read_results(one).records) solved += r.solved;
  EXPECT_GT(solved, 0u);                // the comparison covers solved...
  EXPECT_LT(solved, spec.run_count());  // ...and unsolved runs
}

TEST_F(SweepRunTest, ResumesAfterAStopAndATornLine) {
  const SweepSpec spec = small_sweep();
  const std::string whole = file("whole.jsonl"), parts = file("parts.jsonl");
  run(spec, whole, 3);
  int batches = 0;
  const SweepSummary first = run(spec, parts, 3, [&] { return ++batches > 2; });
  EXPECT_TRUE(first.interrupted);
  EXPECT_EQ(first.done_now, 5u);  // batches of 3 and 2 at the first point
  {
    std::ofstream f(parts, std::ios::app);
    f << "{\"sweep_hash\": \"torn";  // a writer killed in the middle of a line
  }
  EXPECT_TRUE(read_results(parts).torn_tail);
  const SweepSummary second = run(spec, parts, 4);
  EXPECT_FALSE(second.interrupted);
  EXPECT_EQ(second.already_done, 5u);
  EXPECT_EQ(second.done_now, spec.run_count() - 5);
  EXPECT_FALSE(read_results(parts).torn_tail);
  EXPECT_EQ(outcomes(parts), outcomes(whole));
  // Nothing left: a third run appends nothing.
  EXPECT_EQ(run(spec, parts, 4).done_now, 0u);
  EXPECT_EQ(read_results(parts).records.size(), spec.run_count());
}

// fBP and committee sweeps write the same records as annealing ones: the report reads them and
// a second invocation resumes (nothing left to run).
TEST_F(SweepRunTest, FbpAndCommitteeSweepsRecordAndResume) {
  const SweepSpec spec = parse_sweep(
      "model = \"committee\"\nK = 3\nN = [63]\nalpha = [0.3]\ninstances = 3\nseed = 5\n"
      "backend = \"cpu\"\nthreads = 2\n"
      "[[solver]]\nname = \"rsa\"\nmax_sweeps = 2000\n"
      "[[solver]]\nname = \"fbp\"\nalgo = \"fbp\"\n",
      "c.toml");
  const std::string path = file("c.jsonl");
  const SweepSummary first = run(spec, path, 8);
  EXPECT_EQ(first.done_now, 6u);
  const ResultsContents contents = read_results(path);
  ASSERT_EQ(contents.records.size(), 6u);
  std::size_t fbp_solved = 0;
  for (const RunRecord& r : contents.records) {
    EXPECT_NE(r.key.find("committee-tree-K3"), std::string::npos) << r.key;
    if (r.solver == "fbp") {
      EXPECT_NE(r.settings.find("\"protocol\":\"standard:100\""), std::string::npos) << r.settings;
      fbp_solved += r.solved;
      if (r.solved) EXPECT_GT(r.sweeps, 0);  // BP iterations
    }
  }
  EXPECT_EQ(fbp_solved, 3u);  // tree K = 3, 21 inputs per unit, α = 0.3: easy for fBP
  std::ifstream in(path);
  const std::string first_line = [&] {
    std::string l;
    std::getline(in, l);
    return l;
  }();
  const Report report = summarize(contents.records);
  ASSERT_EQ(report.rows.size(), 2u);
  EXPECT_EQ(run(spec, path, 8).done_now, 0u);  // resumed: nothing left
  EXPECT_NE(first_line.find("\"model\":\"committee-tree-K3\""), std::string::npos) << first_line;
}

TEST_F(SweepRunTest, RefusesAnotherSweepsFileUnlessForced) {
  const SweepSpec spec = parse_sweep(
      "N = [51]\nalpha = [0.3]\ninstances = 2\nbackend = \"cpu\"\n[[solver]]\nname = "
      "\"rsa\"\nmax_sweeps = 50\n",
      "a.toml");
  const SweepSpec more = parse_sweep(
      "N = [51]\nalpha = [0.3]\ninstances = 3\nbackend = \"cpu\"\n[[solver]]\nname = "
      "\"rsa\"\nmax_sweeps = 50\n",
      "b.toml");
  const std::string results = file("r.jsonl");
  run(spec, results, 8);
  try {
    run(more, results, 8);
    FAIL() << "expected a refusal";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::usage);
    EXPECT_NE(std::string(e.what()).find("another sweep"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("--force"), std::string::npos) << e.what();
  }
  SweepOptions o;
  o.results_path = results;
  o.force = true;
  SweepComm single;
  const SweepSummary s = run_sweep(more, o, single);
  EXPECT_EQ(s.already_done, 2u);  // same keys: the two first instances are not repeated
  EXPECT_EQ(s.done_now, 1u);
}

TEST(SweepResults, InvalidLinesAreNamed) {
  try {
    parse_results("{\"not\": \"a record\"}\n", "r.jsonl");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_input);
    EXPECT_NE(std::string(e.what()).find("r.jsonl:1: not a valid run record"), std::string::npos)
        << e.what();
  }
}

// --- report ----------------------------------------------------------------------------------

TEST(SweepReport, WilsonIntervalMatchesHandComputedValues) {
  // 8 of 10: p = 0.8, z² = 3.8415: centre 0.71676, half-width 0.22658.
  Interval i = wilson_interval(8, 10);
  EXPECT_NEAR(i.low, 0.49016, 1e-5);
  EXPECT_NEAR(i.high, 0.94332, 1e-5);
  i = wilson_interval(0, 10);
  EXPECT_EQ(i.low, 0.0);
  EXPECT_NEAR(i.high, 0.27753, 1e-5);
  i = wilson_interval(10, 10);
  EXPECT_NEAR(i.low, 0.72247, 1e-5);
  EXPECT_NEAR(i.high, 1.0, 1e-12);
  i = wilson_interval(3, 7);
  EXPECT_NEAR(i.low, 0.15822, 1e-5);
  EXPECT_NEAR(i.high, 0.74954, 1e-5);
}

TEST(SweepReport, QuartilesInterpolateBetweenOrderStatistics) {
  Quartiles q = quartiles({4, 1, 3, 2});  // positions 0.75, 1.5, 2.25 of 1 2 3 4
  EXPECT_DOUBLE_EQ(q.q1, 1.75);
  EXPECT_DOUBLE_EQ(q.median, 2.5);
  EXPECT_DOUBLE_EQ(q.q3, 3.25);
  q = quartiles({10, 30, 20, 50, 40});
  EXPECT_DOUBLE_EQ(q.q1, 20);
  EXPECT_DOUBLE_EQ(q.median, 30);
  EXPECT_DOUBLE_EQ(q.q3, 40);
  q = quartiles({7});
  EXPECT_DOUBLE_EQ(q.q1, 7);
  EXPECT_DOUBLE_EQ(q.q3, 7);
}

RunRecord record(const std::string& solver, int n, double alpha, std::uint32_t instance,
                 bool solved, double sweeps, double seconds,
                 const std::string& settings = "{\"algo\":\"rsa\"}") {
  RunRecord r;
  r.solver = solver;
  r.settings = settings;
  r.n = n;
  r.alpha = alpha;
  r.patterns = std::size_t(n * alpha + 0.5);
  r.instance = instance;
  r.solved = solved;
  r.sweeps = sweeps;
  if (solved) r.seconds_to_solution = seconds;
  r.key = solver + settings + std::to_string(n) + "/" + std::to_string(alpha) + "/" +
          std::to_string(instance);
  r.sweep_hash = "h";
  r.label_mode = "storage";
  return r;
}

TEST(SweepReport, SummarizesPerSolverSizeAndLoad) {
  std::vector<RunRecord> records;
  // rsa, N = 101, α = 0.5: 4 of 5 solved, sweeps 1 2 3 4.
  for (std::uint32_t i = 0; i < 5; ++i)
    records.push_back(record("rsa", 101, 0.5, i, i < 4, i + 1.0, 0.1 * (i + 1)));
  records.push_back(record("rsa", 101, 0.5, 2, true, 99, 9));  // a duplicate: not counted
  records.push_back(record("rsa", 51, 0.5, 0, false, 0, 0));
  records.push_back(record("sa", 51, 0.3, 0, true, 8, 0.8, "{\"algo\":\"sa\"}"));
  records.push_back(record("sa", 51, 0.3, 1, true, 9, 0.9, "{\"algo\":\"sa\",\"max_sweeps\":5}"));
  records.push_back(record("rsa", 51, 0.5, 0, true, 3, 0.3));
  records.back().label_mode = "teacher";
  records.back().key += "teacher";
  const Report r = summarize(records);
  ASSERT_EQ(r.rows.size(), 5u);
  EXPECT_EQ(r.rows[0].solver, "rsa");
  EXPECT_EQ(r.rows[0].n, 51);  // N ascending within a solver
  EXPECT_EQ(r.rows[0].solved, 0u);
  EXPECT_FALSE(r.rows[0].sweeps.has_value());
  const ReportRow& row = r.rows[1];
  EXPECT_EQ(row.n, 101);
  EXPECT_EQ(row.runs, 5u);
  EXPECT_EQ(row.solved, 4u);
  EXPECT_DOUBLE_EQ(row.success, 0.8);
  EXPECT_NEAR(row.success_ci.low, 0.37553, 1e-5);  // Wilson, 4 of 5
  EXPECT_NEAR(row.success_ci.high, 0.96378, 1e-5);
  ASSERT_TRUE(row.sweeps.has_value());
  EXPECT_DOUBLE_EQ(row.sweeps->median, 2.5);
  EXPECT_DOUBLE_EQ(row.sweeps->q1, 1.75);
  EXPECT_DOUBLE_EQ(row.seconds->q3, 0.325);
  // One name with two settings, or two label modes, is reported as two solvers, with a note.
  EXPECT_EQ(r.rows[2].solver, "sa");
  EXPECT_EQ(r.rows[3].solver, "sa [2]");
  EXPECT_EQ(r.rows[4].solver, "rsa [2]");
  EXPECT_EQ(r.rows[4].label_mode, "teacher");
  EXPECT_EQ(r.rows[4].solved, 1u);
  ASSERT_EQ(r.notes.size(), 3u);
  EXPECT_NE(r.notes[0].find("1 records repeat"), std::string::npos);
  const std::string csv = report_csv(r);
  EXPECT_EQ(csv.substr(0, csv.find('\n')),
            "solver,N,alpha,P,runs,solved,success,ci_low,ci_high,sweeps_q1,sweeps_median,sweeps_q3,"
            "seconds_q1,seconds_median,seconds_q3");
  EXPECT_NE(csv.find("\nrsa,101,0.5,51,5,4,0.8,"), std::string::npos) << csv;
  EXPECT_NE(csv.find("\nrsa,51,0.5,26,1,0,0,0,"), std::string::npos) << csv;
  EXPECT_NE(report_table(r).find("[0.376, 0.964]"), std::string::npos) << report_table(r);
  EXPECT_NE(report_json(r).find("\"success_ci95\""), std::string::npos);
}

}  // namespace
}  // namespace locent
