// Boundary-set inner loops of the CPU Metropolis (boundary_sets.hpp).
#include "host/cpu/boundary_sets.hpp"

#include <algorithm>
#include <atomic>

#include "locent/metropolis_rules.hpp"

#if defined(__x86_64__) && defined(__GNUC__)
// GCC 12's _mm512_reduce_add_epi64 trips a false -Wmaybe-uninitialized inside its own header.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#define LOCENT_X86_DISPATCH 1
#endif

namespace locent::cpu {
namespace {

void count_portable(const std::uint64_t* col, const std::uint64_t* set_a,
                    const std::uint64_t* set_b, std::size_t words, int replicas, int* a, int* b) {
  for (int r = 0; r < replicas; ++r) {
    const std::uint64_t* sa = set_a + r * words;
    const std::uint64_t* sb = set_b + r * words;
    int pa = 0, pb = 0;
    for (std::size_t w = 0; w < words; ++w) {
      pa += __builtin_popcountll(sa[w] & col[w]);
      pb += __builtin_popcountll(sb[w] & col[w]);
    }
    a[r] = pa;
    b[r] = pb;
  }
}

FlipCounts move_portable(std::int32_t* stab, int patterns, const std::uint64_t* drops, bool invert,
                         bool flips, std::uint64_t* set_a, std::uint64_t* set_b) {
  FlipCounts n{0, 0, 0};
  const std::uint64_t flip_mask = invert ? ~std::uint64_t{0} : 0;
  for (int base = 0, w = 0; base < patterns; base += 64, ++w) {
    const std::uint64_t down = drops[w] ^ flip_mask;
    const int len = std::min(64, patterns - base);
    std::uint64_t wa = 0, wb = 0;
    for (int k = 0; k < len; ++k) {
      const int d = stab[base + k] + (((down >> k) & 1u) ? -2 : 2);
      stab[base + k] = d;
      wa |= std::uint64_t{in_set_a(d, flips)} << k;
      wb |= std::uint64_t{in_set_b(d, flips)} << k;
      n.errors += d < 0;
    }
    set_a[w] = wa;
    set_b[w] = wb;
    n.size_a += __builtin_popcountll(wa);
    n.size_b += __builtin_popcountll(wb);
  }
  return n;
}

// The votes of one word's 64 patterns where a unit's sign flipped (`changed`): −2 where the field
// dropped, +2 where it rose; returns the change of #{M < 0}.
int move_votes(std::int32_t* votes, std::uint64_t changed, std::uint64_t down,
               std::uint64_t& votes_plus, std::uint64_t& votes_minus) {
  int error_change = 0;
  for (; changed; changed &= changed - 1) {
    const int k = __builtin_ctzll(changed);
    const std::uint64_t bit = std::uint64_t{1} << k;
    const int before = votes[k];
    const int m = before + ((down & bit) ? -2 : 2);
    votes[k] = m;
    error_change += (m < 0) - (before < 0);
    votes_plus = (votes_plus & ~bit) | (m == 1 ? bit : 0);
    votes_minus = (votes_minus & ~bit) | (m == -1 ? bit : 0);
  }
  return error_change;
}

int move_committee_portable(std::int32_t* h, std::int32_t* votes, int patterns,
                            const std::uint64_t* drops, bool invert, std::uint64_t* plus_one,
                            std::uint64_t* minus_one, std::uint64_t* votes_plus,
                            std::uint64_t* votes_minus) {
  const std::uint64_t flip_mask = invert ? ~std::uint64_t{0} : 0;
  int error_change = 0;
  for (int base = 0, w = 0; base < patterns; base += 64, ++w) {
    const std::uint64_t down = drops[w] ^ flip_mask;
    std::uint64_t changed = (plus_one[w] & down) | (minus_one[w] & ~down);
    const int len = std::min(64, patterns - base);
    std::uint64_t wa = 0, wb = 0;
    for (int k = 0; k < len; ++k) {
      const int d = h[base + k] + (((down >> k) & 1u) ? -2 : 2);
      h[base + k] = d;
      wa |= std::uint64_t{d == 1} << k;
      wb |= std::uint64_t{d == -1} << k;
    }
    plus_one[w] = wa;
    minus_one[w] = wb;
    error_change += move_votes(votes + base, changed, down, votes_plus[w], votes_minus[w]);
  }
  return error_change;
}

int xor_popcount_portable(const std::uint64_t* a, const std::uint64_t* b, std::size_t words) {
  int n = 0;
  for (std::size_t w = 0; w < words; ++w) n += __builtin_popcountll(a[w] ^ b[w]);
  return n;
}

#ifdef LOCENT_X86_DISPATCH
__attribute__((target("avx512f,avx512vpopcntdq"))) int xor_popcount_avx512(
    const std::uint64_t* a, const std::uint64_t* b, std::size_t words) {
  __m512i acc = _mm512_setzero_si512();
  for (std::size_t w = 0; w < words; w += 8) {
    const __mmask8 m = words - w >= 8 ? 0xff : static_cast<__mmask8>((1u << (words - w)) - 1);
    acc = _mm512_add_epi64(acc, _mm512_popcnt_epi64(_mm512_xor_si512(
                                    _mm512_maskz_loadu_epi64(m, a + w), _mm512_maskz_loadu_epi64(m, b + w))));
  }
  return static_cast<int>(_mm512_reduce_add_epi64(acc));
}

__attribute__((target("avx512f,avx512vpopcntdq"))) void count_avx512(
    const std::uint64_t* col, const std::uint64_t* set_a, const std::uint64_t* set_b,
    std::size_t words, int replicas, int* a, int* b) {
  for (int r = 0; r < replicas; ++r) {
    const std::uint64_t* sa = set_a + r * words;
    const std::uint64_t* sb = set_b + r * words;
    __m512i acc_a = _mm512_setzero_si512(), acc_b = _mm512_setzero_si512();
    for (std::size_t w = 0; w < words; w += 8) {
      const __mmask8 m = words - w >= 8 ? 0xff : static_cast<__mmask8>((1u << (words - w)) - 1);
      const __m512i c = _mm512_maskz_loadu_epi64(m, col + w);
      acc_a = _mm512_add_epi64(
          acc_a, _mm512_popcnt_epi64(_mm512_and_si512(_mm512_maskz_loadu_epi64(m, sa + w), c)));
      acc_b = _mm512_add_epi64(
          acc_b, _mm512_popcnt_epi64(_mm512_and_si512(_mm512_maskz_loadu_epi64(m, sb + w), c)));
    }
    a[r] = static_cast<int>(_mm512_reduce_add_epi64(acc_a));
    b[r] = static_cast<int>(_mm512_reduce_add_epi64(acc_b));
  }
}

// 16 stabilities per vector: the 16 drop bits are the lane mask of a masked add, and the set
// bits come straight out of vector compares as 16-bit masks.
__attribute__((target("avx512f,avx512vpopcntdq"))) FlipCounts move_avx512(
    std::int32_t* stab, int patterns, const std::uint64_t* drops, bool invert, bool flips,
    std::uint64_t* set_a, std::uint64_t* set_b) {
  const __m512i plus2 = _mm512_set1_epi32(2), minus4 = _mm512_set1_epi32(-4);
  const __m512i one = _mm512_set1_epi32(1), minus_one = _mm512_set1_epi32(-1);
  const __m512i zero = _mm512_setzero_si512();
  const std::uint64_t flip_mask = invert ? ~std::uint64_t{0} : 0;
  FlipCounts n{0, 0, 0};
  for (int base = 0, w = 0; base < patterns; base += 64, ++w) {
    const std::uint64_t down = drops[w] ^ flip_mask;
    std::uint64_t wa = 0, wb = 0, we = 0;
    for (int q = 0; q < 4 && base + 16 * q < patterns; ++q) {
      const int start = base + 16 * q;
      const int len = std::min(16, patterns - start);
      const __mmask16 valid = len == 16 ? 0xffff : static_cast<__mmask16>((1u << len) - 1);
      const __mmask16 dn = static_cast<__mmask16>(down >> (16 * q));
      __m512i d = _mm512_maskz_loadu_epi32(valid, stab + start);
      d = _mm512_add_epi32(d, plus2);
      d = _mm512_mask_add_epi32(d, dn, d, minus4);  // +2 − 4 = −2 where the stability drops
      _mm512_mask_storeu_epi32(stab + start, valid, d);
      const __mmask16 ma = flips ? _mm512_mask_cmple_epi32_mask(valid, d, one)
                                 : _mm512_mask_cmpeq_epi32_mask(valid, d, one);
      const __mmask16 mb = flips ? _mm512_mask_cmple_epi32_mask(valid, d, minus_one)
                                 : _mm512_mask_cmpeq_epi32_mask(valid, d, minus_one);
      const __mmask16 me = _mm512_mask_cmplt_epi32_mask(valid, d, zero);
      wa |= std::uint64_t{ma} << (16 * q);
      wb |= std::uint64_t{mb} << (16 * q);
      we |= std::uint64_t{me} << (16 * q);
    }
    set_a[w] = wa;
    set_b[w] = wb;
    n.size_a += __builtin_popcountll(wa);
    n.size_b += __builtin_popcountll(wb);
    n.errors += __builtin_popcountll(we);
  }
  return n;
}

// The fields as in move_avx512; the sign flips are known before the move from the {h = ±1} bits,
// so the votes (a few patterns per word) are updated by the scalar tail shared with the portable
// path.
__attribute__((target("avx512f,avx512vpopcntdq"))) int move_committee_avx512(
    std::int32_t* h, std::int32_t* votes, int patterns, const std::uint64_t* drops, bool invert,
    std::uint64_t* plus_one, std::uint64_t* minus_one, std::uint64_t* votes_plus,
    std::uint64_t* votes_minus) {
  const __m512i plus2 = _mm512_set1_epi32(2), minus4 = _mm512_set1_epi32(-4);
  const __m512i one = _mm512_set1_epi32(1), minus_one_v = _mm512_set1_epi32(-1);
  const std::uint64_t flip_mask = invert ? ~std::uint64_t{0} : 0;
  int error_change = 0;
  for (int base = 0, w = 0; base < patterns; base += 64, ++w) {
    const std::uint64_t down = drops[w] ^ flip_mask;
    std::uint64_t changed = (plus_one[w] & down) | (minus_one[w] & ~down);
    std::uint64_t wa = 0, wb = 0;
    for (int q = 0; q < 4 && base + 16 * q < patterns; ++q) {
      const int start = base + 16 * q;
      const int len = std::min(16, patterns - start);
      const __mmask16 valid = len == 16 ? 0xffff : static_cast<__mmask16>((1u << len) - 1);
      const __mmask16 dn = static_cast<__mmask16>(down >> (16 * q));
      __m512i d = _mm512_maskz_loadu_epi32(valid, h + start);
      d = _mm512_add_epi32(d, plus2);
      d = _mm512_mask_add_epi32(d, dn, d, minus4);
      _mm512_mask_storeu_epi32(h + start, valid, d);
      wa |= std::uint64_t{_mm512_mask_cmpeq_epi32_mask(valid, d, one)} << (16 * q);
      wb |= std::uint64_t{_mm512_mask_cmpeq_epi32_mask(valid, d, minus_one_v)} << (16 * q);
    }
    plus_one[w] = wa;
    minus_one[w] = wb;
    error_change += move_votes(votes + base, changed, down, votes_plus[w], votes_minus[w]);
  }
  return error_change;
}

#endif

std::atomic<bool> portable_forced{false};

bool have_avx512() {
#ifdef LOCENT_X86_DISPATCH
  static const bool ok = __builtin_cpu_supports("avx512f") &&
                         __builtin_cpu_supports("avx512vpopcntdq");
  return ok && !portable_forced.load(std::memory_order_relaxed);
#else
  return false;
#endif
}

}  // namespace

void count_boundary_hits(const std::uint64_t* col, const std::uint64_t* set_a,
                         const std::uint64_t* set_b, std::size_t words, int replicas, int* a,
                         int* b) {
#ifdef LOCENT_X86_DISPATCH
  if (have_avx512()) return count_avx512(col, set_a, set_b, words, replicas, a, b);
#endif
  count_portable(col, set_a, set_b, words, replicas, a, b);
}

FlipCounts move_stabilities(std::int32_t* stabilities, int patterns, const std::uint64_t* drops,
                            bool invert, bool flip_energy, std::uint64_t* set_a,
                            std::uint64_t* set_b) {
#ifdef LOCENT_X86_DISPATCH
  if (have_avx512())
    return move_avx512(stabilities, patterns, drops, invert, flip_energy, set_a, set_b);
#endif
  return move_portable(stabilities, patterns, drops, invert, flip_energy, set_a, set_b);
}

int move_committee_unit(std::int32_t* fields, std::int32_t* votes, int patterns,
                        const std::uint64_t* drops, bool invert, std::uint64_t* field_plus_one,
                        std::uint64_t* field_minus_one, std::uint64_t* votes_plus_one,
                        std::uint64_t* votes_minus_one) {
#ifdef LOCENT_X86_DISPATCH
  if (have_avx512())
    return move_committee_avx512(fields, votes, patterns, drops, invert, field_plus_one,
                                 field_minus_one, votes_plus_one, votes_minus_one);
#endif
  return move_committee_portable(fields, votes, patterns, drops, invert, field_plus_one,
                                 field_minus_one, votes_plus_one, votes_minus_one);
}

int xor_popcount(const std::uint64_t* a, const std::uint64_t* b, std::size_t words) {
#ifdef LOCENT_X86_DISPATCH
  if (have_avx512()) return xor_popcount_avx512(a, b, words);
#endif
  return xor_popcount_portable(a, b, words);
}

const char* simd_path() { return have_avx512() ? "avx512" : "portable"; }

void force_portable_simd(bool on) { portable_forced.store(on); }

}  // namespace locent::cpu
