// Dense field and error evaluation: the CPU twin against a naive ±1 loop, and the 1-bit
// tensor-core kernels against the CPU twin (skip without a GPU), on shapes that are not multiples
// of the tiles (64 or 128 rows/columns, 128 or 512 bits).
#include "locent/dense_fields.hpp"

#include <gtest/gtest.h>

#include <random>

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

TEST_P(DenseFieldsShapes, TensorCoresMatchCpu) {
  if (!cuda_available()) GTEST_SKIP() << "no usable CUDA device";
  const Shape s = GetParam();
  const BitMatrix w = random_matrix(s.replicas, s.inputs, 3), x = random_matrix(s.patterns, s.inputs, 4);
  const DenseFields c = dense_fields_cpu(w, x, 2);
  for (const DenseKernel kernel :
       {DenseKernel::mma, DenseKernel::mma_256, DenseKernel::mma_staged, DenseKernel::wmma}) {
    auto gpu = make_dense_fields_gpu(w, x, kernel);
    SCOPED_TRACE(gpu->kernel_name());
    gpu->evaluate();
    gpu->evaluate();  // twice: errors are reset per evaluation
    const DenseFields g = gpu->download();
    EXPECT_EQ(g.fields, c.fields);
    EXPECT_EQ(g.errors, c.errors);
  }
}

INSTANTIATE_TEST_SUITE_P(Shapes, DenseFieldsShapes,
                         testing::Values(Shape{1, 1, 1}, Shape{7, 33, 65}, Shape{64, 64, 128},
                                         Shape{65, 129, 127}, Shape{100, 300, 1001},
                                         Shape{13, 70, 257},
                                         // several 128-tiles and more K stages than the ring
                                         Shape{300, 1100, 1500}, Shape{129, 257, 4100},
                                         // whole 16-byte vectors per row (P a multiple of 8)
                                         // and partial tiles; int32 fields (N ≥ 2^15)
                                         Shape{200, 1024, 777}, Shape{5, 136, 32801}));

TEST(DenseFields, RejectsMismatchedShapes) {
  EXPECT_THROW(dense_fields_cpu(random_matrix(2, 10, 1), random_matrix(3, 11, 2)), Error);
}

}  // namespace
}  // namespace locent
