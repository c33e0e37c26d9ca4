// Array exp, log and erfc (vector_math.hpp): libmvec's AVX-512 (_ZGVeN8v_*) or AVX2
// (_ZGVdN4v_*) variants looked up with dlopen/dlsym, so that a binary still runs, on the scalar
// loops, where the library or the instructions are missing.
#include "host/cpu/vector_math.hpp"

#include <atomic>
#include <cmath>

#if defined(__x86_64__) && defined(__GNUC__)
#include <dlfcn.h>
#include <immintrin.h>
#define LOCENT_LIBMVEC 1
#endif

namespace locent::cpu {
namespace {

void scalar_exp(const double* x, double* y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] = std::exp(x[i]);
}
void scalar_log(const double* x, double* y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] = std::log(x[i]);
}
void scalar_erfc(const double* x, double* y, std::size_t n) {
  for (std::size_t i = 0; i < n; ++i) y[i] = std::erfc(x[i]);
}

const VectorMath kScalar{"scalar", scalar_exp, scalar_log, scalar_erfc};

#ifdef LOCENT_LIBMVEC
using Wide8 = __m512d (*)(__m512d);
using Wide4 = __m256d (*)(__m256d);
Wide8 exp8 = nullptr, log8 = nullptr, erfc8 = nullptr;
Wide4 exp4 = nullptr, log4 = nullptr, erfc4 = nullptr;

// The tail of an array is padded with 1.0, a valid argument of all three functions.
__attribute__((target("avx512f"))) void apply8(Wide8 f, const double* x, double* y,
                                               std::size_t n) {
  std::size_t i = 0;
  for (; i + 8 <= n; i += 8) _mm512_storeu_pd(y + i, f(_mm512_loadu_pd(x + i)));
  if (i < n) {
    const __mmask8 m = static_cast<__mmask8>((1u << (n - i)) - 1);
    _mm512_mask_storeu_pd(y + i, m, f(_mm512_mask_loadu_pd(_mm512_set1_pd(1.0), m, x + i)));
  }
}
__attribute__((target("avx2"))) void apply4(Wide4 f, const double* x, double* y, std::size_t n) {
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) _mm256_storeu_pd(y + i, f(_mm256_loadu_pd(x + i)));
  if (i < n) {
    alignas(32) double in[4] = {1.0, 1.0, 1.0, 1.0}, out[4];
    for (std::size_t k = i; k < n; ++k) in[k - i] = x[k];
    _mm256_store_pd(out, f(_mm256_load_pd(in)));
    for (std::size_t k = i; k < n; ++k) y[k] = out[k - i];
  }
}

void exp_avx512(const double* x, double* y, std::size_t n) { apply8(exp8, x, y, n); }
void log_avx512(const double* x, double* y, std::size_t n) { apply8(log8, x, y, n); }
void erfc_avx512(const double* x, double* y, std::size_t n) { apply8(erfc8, x, y, n); }
void exp_avx2(const double* x, double* y, std::size_t n) { apply4(exp4, x, y, n); }
void log_avx2(const double* x, double* y, std::size_t n) { apply4(log4, x, y, n); }
void erfc_avx2(const double* x, double* y, std::size_t n) { apply4(erfc4, x, y, n); }

const VectorMath kAvx512{"libmvec avx512", exp_avx512, log_avx512, erfc_avx512};
const VectorMath kAvx2{"libmvec avx2", exp_avx2, log_avx2, erfc_avx2};

const VectorMath& detect() {
  void* lib = dlopen("libmvec.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!lib) return kScalar;
  const auto find = [lib](const char* name) { return dlsym(lib, name); };
  if (__builtin_cpu_supports("avx512f")) {
    exp8 = reinterpret_cast<Wide8>(find("_ZGVeN8v_exp"));
    log8 = reinterpret_cast<Wide8>(find("_ZGVeN8v_log"));
    erfc8 = reinterpret_cast<Wide8>(find("_ZGVeN8v_erfc"));  // glibc 2.35 and later
    if (exp8 && log8 && erfc8) return kAvx512;
  }
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) {
    exp4 = reinterpret_cast<Wide4>(find("_ZGVdN4v_exp"));
    log4 = reinterpret_cast<Wide4>(find("_ZGVdN4v_log"));
    erfc4 = reinterpret_cast<Wide4>(find("_ZGVdN4v_erfc"));
    if (exp4 && log4 && erfc4) return kAvx2;
  }
  return kScalar;  // the library stays loaded; nothing of it is used
}
#else
const VectorMath& detect() { return kScalar; }
#endif

std::atomic<bool> forced_scalar{false};

}  // namespace

const VectorMath& vector_math() {
  static const VectorMath& best = detect();
  return forced_scalar.load() ? kScalar : best;
}

void force_scalar_vector_math(bool on) { forced_scalar.store(on); }

}  // namespace locent::cpu
