// The array exp, log and erfc of the CPU fBP engine (host/cpu/vector_math.cpp) against the scalar
// C library functions, on whatever path this machine selects (libmvec AVX-512 or AVX2, or the
// scalar loops), over the argument ranges the engine uses, odd lengths included.
#include "host/cpu/vector_math.hpp"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <vector>

namespace locent::cpu {
namespace {

double worst_relative_error(void (*f)(const double*, double*, std::size_t), double (*ref)(double),
                            double lo, double hi, std::size_t n) {
  std::mt19937_64 rng(n);
  std::uniform_real_distribution<double> u(lo, hi);
  std::vector<double> x(n), y(n, -7.0);
  for (auto& v : x) v = u(rng);
  f(x.data(), y.data(), n);
  double worst = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double r = ref(x[i]);
    worst = std::max(worst, std::fabs(y[i] - r) / std::max(std::fabs(r), 1e-300));
  }
  return worst;
}

TEST(VectorMath, AgreesWithTheScalarFunctions) {
  const VectorMath& vm = vector_math();
  SCOPED_TRACE(vm.name);
  for (const std::size_t n : {std::size_t(1), std::size_t(7), std::size_t(13), std::size_t(1001)}) {
    SCOPED_TRACE("n = " + std::to_string(n));
    // exp(−2|h|) of the cavities and of update_message: arguments in [−80, 0].
    EXPECT_LT(worst_relative_error(vm.exp, [](double x) { return std::exp(x); }, -80, 0, n), 1e-14);
    EXPECT_LT(worst_relative_error(vm.log, [](double x) { return std::log(x); }, 1e-12, 1e12, n), 1e-14);
    // erfc of the factor messages: the engine sends it arguments below 26.
    EXPECT_LT(worst_relative_error(vm.erfc, [](double x) { return std::erfc(x); }, -6, 26, n), 1e-13);
  }
}

TEST(VectorMath, ForcedScalarIsTheCLibrary) {
  force_scalar_vector_math(true);
  const VectorMath& vm = vector_math();
  EXPECT_STREQ(vm.name, "scalar");
  std::vector<double> x = {-3.0, 0.5, 2.0}, y(3);
  vm.erfc(x.data(), y.data(), 3);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(y[i], std::erfc(x[i]));
  force_scalar_vector_math(false);
}

}  // namespace
}  // namespace locent::cpu
