// CUDA backend equals the CPU backend bit for bit: trajectory (proposal and acceptance counts,
// trace), final weights, stabilities (hidden fields), boundary sets and energies, for several
// seeds, sizes and couplings, on perceptrons and committee machines. Skips when no GPU is usable.
#include <gtest/gtest.h>

#include "locent/backend.hpp"
#include "locent/error.hpp"
#include "tests/backend_compare.hpp"
#include "tests/test_util.hpp"

namespace locent {
namespace {

struct CudaCase {
  int n;
  double alpha;
  int replicas;
  Coupling coupling;
  EnergyKind energy;
  std::uint64_t seed;
  int instances;
};

void PrintTo(const CudaCase& c, std::ostream* os) {
  *os << "N=" << c.n << " alpha=" << c.alpha << " y=" << c.replicas << " seed=" << c.seed;
}

std::string cuda_case_name(const testing::TestParamInfo<CudaCase>& info) {
  const CudaCase& c = info.param;
  return "N" + std::to_string(c.n) + "_y" + std::to_string(c.replicas) +
         (c.coupling == Coupling::traced ? "_traced" : "_explicit") +
         (c.energy == EnergyKind::flips ? "_flips" : "_errors") + "_seed" + std::to_string(c.seed) +
         "_B" + std::to_string(c.instances);
}

class CudaEqualsCpu : public testing::TestWithParam<CudaCase> {
 protected:
  void SetUp() override {
    if (!cuda_available()) GTEST_SKIP() << "no usable CUDA device";
  }
};

TEST_P(CudaEqualsCpu, IdenticalTrajectoryAndState) {
  const CudaCase& p = GetParam();
  std::vector<Dataset> data;
  for (int b = 0; b < p.instances; ++b) data.push_back(test::storage_instance(p.n, p.alpha, p.seed, b));
  AnnealConfig config = test::hot_config(p.replicas, p.coupling, p.energy);
  config.seed = p.seed;
  config.beta = Schedule::geometric(0.3, 3);
  config.gamma = Schedule::linear(0.1, 1.0);
  config.max_sweeps = 40;
  config.trace_every = 3;
  test::expect_identical_runs(data, config);
}

INSTANTIATE_TEST_SUITE_P(
    Backends, CudaEqualsCpu,
    testing::Values(CudaCase{67, 0.9, 1, Coupling::traced, EnergyKind::flips, 1, 3},
                    CudaCase{129, 0.7, 5, Coupling::traced, EnergyKind::errors, 2, 4},
                    CudaCase{201, 0.6, 7, Coupling::traced, EnergyKind::flips, 3, 5},
                    CudaCase{301, 0.5, 9, Coupling::traced, EnergyKind::flips, 4, 2},
                    CudaCase{63, 1.3, 3, Coupling::explicit_, EnergyKind::flips, 5, 3},
                    CudaCase{99, 0.8, 4, Coupling::explicit_, EnergyKind::errors, 6, 2},
                    CudaCase{1001, 0.55, 7, Coupling::traced, EnergyKind::flips, 7, 3},
                    // More instances than SMs: the one-warp-per-replica block shape.
                    CudaCase{67, 0.9, 3, Coupling::traced, EnergyKind::flips, 8, 300},
                    CudaCase{65, 1.1, 5, Coupling::explicit_, EnergyKind::errors, 9, 300}),
    cuda_case_name);

// Committee machines: the same comparison, tree and fully connected, both couplings, with the
// committee's own state (votes and the sets they are rebuilt from) compared too. Few instances
// (below the SM count) take the one-block-per-instance shape, whose pattern words are split over
// several warps per replica once P > 1024; many instances the one-warp-per-replica shape.
struct CudaCommitteeCase {
  Architecture arch;
  int k, fan_in;
  double alpha;
  int replicas;
  Coupling coupling;
  std::uint64_t seed;
  int instances;
};

void PrintTo(const CudaCommitteeCase& c, std::ostream* os) {
  *os << (c.arch == Architecture::committee_tree ? "tree" : "fc") << " K=" << c.k
      << " fan_in=" << c.fan_in << " alpha=" << c.alpha << " y=" << c.replicas
      << " seed=" << c.seed << " B=" << c.instances;
}

std::string cuda_committee_case_name(const testing::TestParamInfo<CudaCommitteeCase>& info) {
  const CudaCommitteeCase& c = info.param;
  return std::string(c.arch == Architecture::committee_tree ? "Tree" : "Fc") + "_K" +
         std::to_string(c.k) + "_fanin" + std::to_string(c.fan_in) + "_y" +
         std::to_string(c.replicas) + (c.coupling == Coupling::traced ? "_traced" : "_explicit") +
         "_seed" + std::to_string(c.seed) + "_B" + std::to_string(c.instances);
}

class CudaEqualsCpuCommittee : public testing::TestWithParam<CudaCommitteeCase> {
 protected:
  void SetUp() override {
    if (!cuda_available()) GTEST_SKIP() << "no usable CUDA device";
  }
};

TEST_P(CudaEqualsCpuCommittee, IdenticalTrajectoryAndState) {
  const CudaCommitteeCase& p = GetParam();
  std::vector<Dataset> data;
  for (int b = 0; b < p.instances; ++b)
    data.push_back(test::committee_instance(p.arch, p.k, p.fan_in, p.alpha, p.seed, b));
  AnnealConfig config = test::hot_config(p.replicas, p.coupling, EnergyKind::errors);
  config.seed = p.seed;
  config.beta = Schedule::geometric(0.3, 3);
  config.gamma = p.replicas == 1 ? Schedule::constant(0) : Schedule::linear(0.1, 1.0);
  config.max_sweeps = 40;
  config.trace_every = 3;
  test::expect_identical_runs(data, config);
}

INSTANTIATE_TEST_SUITE_P(
    Backends, CudaEqualsCpuCommittee,
    testing::Values(
        CudaCommitteeCase{Architecture::committee_tree, 3, 21, 1.0, 1, Coupling::traced, 1, 3},
        CudaCommitteeCase{Architecture::committee_tree, 3, 101, 0.5, 7, Coupling::traced, 2, 4},
        CudaCommitteeCase{Architecture::committee_tree, 5, 13, 1.2, 3, Coupling::explicit_, 3, 3},
        CudaCommitteeCase{Architecture::committee_fc, 3, 31, 1.0, 5, Coupling::traced, 4, 3},
        CudaCommitteeCase{Architecture::committee_fc, 3, 67, 0.7, 4, Coupling::explicit_, 5, 2},
        // P > 1024: each replica's pattern words split over two warps (atomics on the sizes).
        CudaCommitteeCase{Architecture::committee_tree, 3, 401, 0.9, 5, Coupling::traced, 6, 2},
        CudaCommitteeCase{Architecture::committee_fc, 3, 201, 2.0, 3, Coupling::explicit_, 7, 2},
        // More instances than SMs: the one-warp-per-replica block shape.
        CudaCommitteeCase{Architecture::committee_tree, 3, 21, 1.0, 3, Coupling::traced, 8, 300},
        CudaCommitteeCase{Architecture::committee_fc, 5, 15, 1.0, 5, Coupling::explicit_, 9, 300},
        CudaCommitteeCase{Architecture::committee_tree, 7, 9, 1.5, 7, Coupling::traced, 10, 200}),
    cuda_committee_case_name);

// Committees solved through solve_batch stop at the same proposal on both backends, with the same
// weights (committee defaults, an easy tree instance).
TEST(CudaSolve, CommitteeSameProposalsToSolutionAsCpu) {
  if (!cuda_available()) GTEST_SKIP() << "no usable CUDA device";
  for (Architecture arch : {Architecture::committee_tree, Architecture::committee_fc}) {
    std::vector<Dataset> data;
    for (int b = 0; b < 6; ++b) data.push_back(test::committee_instance(arch, 3, 51, 0.3, 9, b));
    AnnealConfig config = committee_defaults();
    config.max_sweeps = 3000;
    config.seed = 9;
    test::expect_same_solutions(data, config);
  }
}

// Solved instances stop at the same proposal on both backends (easy instance, cold schedule).
TEST(CudaSolve, SameProposalsToSolutionAsCpu) {
  if (!cuda_available()) GTEST_SKIP() << "no usable CUDA device";
  std::vector<Dataset> data;
  for (int b = 0; b < 8; ++b) data.push_back(test::storage_instance(201, 0.4, 9, b));
  AnnealConfig config;
  config.max_sweeps = 2000;
  config.seed = 9;
  test::expect_same_solutions(data, config);
}

TEST(CudaBackend, RefusesWhatDoesNotFitWithAClearError) {
  if (!cuda_available()) GTEST_SKIP() << "no usable CUDA device";
  // 2^22 instances of N = 10001 would need terabytes: the engine must refuse before allocating.
  const Dataset d = test::storage_instance(10001, 0.6, 1);
  AnnealConfig config;
  EngineSetup setup;
  setup.config = config;
  for (int b = 0; b < (1 << 22); ++b) setup.datasets.push_back(&d);
  try {
    make_cuda_backend(0)->create_metropolis(setup);
    FAIL() << "expected an out-of-memory error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::out_of_memory);
    EXPECT_NE(std::string(e.what()).find("out of GPU memory"), std::string::npos) << e.what();
  }
}

TEST(CudaBackend, ReportsNoDeviceClearly) {
  if (cuda_available()) GTEST_SKIP() << "a device is present";
  try {
    make_cuda_backend(0);
    FAIL() << "expected Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::no_device);
  }
}

}  // namespace
}  // namespace locent
