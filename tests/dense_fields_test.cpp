// Dense field and error evaluation: the CPU twin against a naive ±1 loop, and the 1-bit
// tensor-core kernels against the CPU twin (skip without a GPU; the wgmma kernel only on compute
// capability 9.0), on shapes that are not multiples of the tiles (64, 128 or 256 rows/columns,
// 128, 512 or 1024 bits).
#include "locent/dense_fields.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <random>
#include <string>

#include "locent/backend.hpp"
#include "locent/error.hpp"

namespace locent {
namespace {

BitMatrix random_matrix(std::size_t rows, std::size_t cols, std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  BitMatrix m(rows, cols);
  for (std::size_t r = 0; r < rows; ++r)
    for (std::size_t c = 0; c < cols; ++c) m.set(r, c, (rng() & 1) ? 1 : -1);
  return m;
}

// Where two R × P field matrices differ, for a diagnosis in one run: the count and the first.
std::string differences(const DenseFields& gpu, const DenseFields& cpu, std::size_t patterns) {
  std::size_t count = 0, first = 0;
  for (std::size_t i = 0; i < cpu.fields.size() && i < gpu.fields.size(); ++i)
    if (gpu.fields[i] != cpu.fields[i] && count++ == 0) first = i;
  if (count == 0) return "";
  return std::to_string(count) + " fields differ, the first at replica " +
         std::to_string(first / patterns) + ", pattern " + std::to_string(first % patterns) +
         ": " + std::to_string(gpu.fields[first]) + " instead of " + std::to_string(cpu.fields[first]);
}

struct Shape {
  std::size_t replicas, patterns, inputs;
};

class DenseFieldsShapes : public testing::TestWithParam<Shape> {};

TEST_P(DenseFieldsShapes, CpuMatchesNaiveLoop) {
  const Shape s = GetParam();
  const BitMatrix w = random_matrix(s.replicas, s.inputs, 1), x = random_matrix(s.patterns, s.inputs, 2);
  const DenseFields d = dense_fields_cpu(w, x, 2);
  for (std::size_t r = 0; r < s.replicas; ++r) {
    int errors = 0;
    for (std::size_t mu = 0; mu < s.patterns; ++mu) {
      int field = 0;
      for (std::size_t i = 0; i < s.inputs; ++i) field += w.get(r, i) * x.get(mu, i);
      ASSERT_EQ(d.fields[r * s.patterns + mu], field) << r << "," << mu;
      errors += field < 0;
    }
    EXPECT_EQ(d.errors[r], errors);
  }
}

// LOCENT_WGMMA_ROWS=consumers for the lifetime of the object when `on` (the cluster kernel reads
// it at every launch).
struct RowsVariant {
  bool on;
  explicit RowsVariant(bool on_) : on(on_) {
    if (on) setenv("LOCENT_WGMMA_ROWS", "consumers", 1);
  }
  ~RowsVariant() {
    if (on) unsetenv("LOCENT_WGMMA_ROWS");
  }
};

TEST_P(DenseFieldsShapes, TensorCoresMatchCpu) {
  if (!cuda_available()) GTEST_SKIP() << "no usable CUDA device";
  const Shape s = GetParam();
  const BitMatrix w = random_matrix(s.replicas, s.inputs, 3), x = random_matrix(s.patterns, s.inputs, 4);
  const DenseFields c = dense_fields_cpu(w, x, 2);
  for (const DenseKernel kernel :
       {DenseKernel::mma, DenseKernel::mma_256, DenseKernel::mma_staged, DenseKernel::wgmma,
        DenseKernel::wgmma_cluster, DenseKernel::wmma}) {
    if (!dense_kernel_available(kernel)) continue;  // wgmma: compute capability 9.0 only
    for (const bool variant : {false, true}) {  // the cluster kernel's LOCENT_WGMMA_ROWS variant
      if (variant && kernel != DenseKernel::wgmma_cluster) continue;
      const RowsVariant scope(variant);
      auto gpu = make_dense_fields_gpu(w, x, kernel);
      SCOPED_TRACE(gpu->kernel_name() + (variant ? " (rows in consumers)" : ""));
      gpu->evaluate();
      gpu->evaluate();  // twice: errors are reset per evaluation
      const DenseFields g = gpu->download();
      ASSERT_EQ(g.fields.size(), c.fields.size());
      EXPECT_EQ(differences(g, c, s.patterns), "");
      EXPECT_EQ(g.errors, c.errors);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, DenseFieldsShapes,
                         testing::Values(Shape{1, 1, 1}, Shape{3, 5, 0}, Shape{7, 33, 65}, Shape{64, 64, 128},
                                         Shape{65, 129, 127}, Shape{100, 300, 1001},
                                         Shape{13, 70, 257},
                                         // several 128-tiles and more K stages than the ring
                                         Shape{300, 1100, 1500}, Shape{129, 257, 4100},
                                         // whole 16-byte vectors per row (P a multiple of 8)
                                         // and partial tiles; int32 fields (N ≥ 2^15)
                                         Shape{200, 1024, 777}, Shape{5, 136, 32801},
                                         // the largest N with int16 fields: 4·popc wraps mod 2^16
                                         Shape{20, 40, 32767}));

// More output tiles than a GPU has multiprocessors (132 on an H100): the persistent wgmma kernels
// then take several tiles a block, staging one tile's fields while the next one's start.
// Columns a multiple of 8 (16-byte row vectors) and not.
TEST(DenseFields, ManyTilesMatchCpu) {
  if (!cuda_available()) GTEST_SKIP() << "no usable CUDA device";
  for (const Shape s : {Shape{1000, 10240, 2100}, Shape{700, 9001, 1100}}) {
    const BitMatrix w = random_matrix(s.replicas, s.inputs, 5), x = random_matrix(s.patterns, s.inputs, 6);
    const DenseFields c = dense_fields_cpu(w, x, 0);
    for (const DenseKernel kernel :
         {DenseKernel::mma, DenseKernel::wgmma, DenseKernel::wgmma_cluster}) {
      if (!dense_kernel_available(kernel)) continue;
      for (const bool variant : {false, true}) {
        if (variant && kernel != DenseKernel::wgmma_cluster) continue;
        const RowsVariant scope(variant);
        auto gpu = make_dense_fields_gpu(w, x, kernel);
        SCOPED_TRACE(gpu->kernel_name() + (variant ? " (rows in consumers), " : ", ") +
                     std::to_string(s.replicas) + " x " + std::to_string(s.patterns));
        gpu->evaluate();
        const DenseFields g = gpu->download();
        ASSERT_EQ(g.fields.size(), c.fields.size());
        EXPECT_EQ(differences(g, c, s.patterns), "");
        EXPECT_EQ(g.errors, c.errors);
      }
    }
  }
}

TEST(DenseFields, RejectsMismatchedShapes) {
  EXPECT_THROW(dense_fields_cpu(random_matrix(2, 10, 1), random_matrix(3, 11, 2)), Error);
}

}  // namespace
}  // namespace locent
