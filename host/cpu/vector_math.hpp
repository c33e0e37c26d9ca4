// exp, log and erfc over arrays of doubles for the CPU fBP engine. Where the C library has its
// vector math library (glibc's libmvec, found at run time) and the processor has AVX-512 or AVX2,
// they go 8 or 4 lanes at a time, 4–10× faster than the scalar functions and within a few ulp of
// them; otherwise they are loops over the scalar functions.
#pragma once
#include <cstddef>

namespace locent::cpu {

struct VectorMath {
  const char* name;  // "libmvec avx512", "libmvec avx2" or "scalar"
  void (*exp)(const double* x, double* y, std::size_t n);
  void (*log)(const double* x, double* y, std::size_t n);
  void (*erfc)(const double* x, double* y, std::size_t n);
};

// The fastest available implementation, chosen once (or the scalar one while forced).
const VectorMath& vector_math();

// Tests: the scalar loops, whatever the machine offers.
void force_scalar_vector_math(bool on);

}  // namespace locent::cpu
