// Stabilities in bit planes: the Δ^μ of one pattern word's 32 (or 64) patterns as `planes`
// words, plane k holding bit k of each pattern's two's-complement Δ (the last plane its sign).
// A move (Δ by −2 where the flipped column drops it, by +2 elsewhere) is then a ripple of carries
// and borrows through the planes, a few word operations for all the word's patterns at once
// instead of a load, an add and a store each, and the boundary-set words (metropolis_rules.hpp)
// come from the planes in the same pass. Used by the member pipeline kernel
// (kernels/metropolis_pipeline.cu), whose patterns sit one SM a replica; tested on the CPU
// against host/cpu/boundary_sets.hpp's move_stabilities.
#pragma once
#include <cstddef>
#include <cstdint>

#include "locent/hd.hpp"

namespace locent {

// Planes that hold any stability of a network with n weights (|Δ| ≤ n): two's complement with
// 2^(planes − 1) > n.
LOCENT_HD int stability_planes(int n) {
  int planes = 2;
  while (planes < 32 && (std::int64_t{1} << (planes - 1)) <= n) ++planes;
  return planes;
}

template <class Word>
struct SlicedSets {
  Word a, b;  // the boundary-set words after the move
};

// Moves the word's patterns (plane k at planes_at[k · stride]) by −2 where `drops` has a 1 bit
// and by +2 elsewhere, and returns the new boundary-set words: flips energy A = {Δ ≤ 1},
// B = {Δ ≤ −1}; errors energy A = {Δ = 1}, B = {Δ = −1}. Bits beyond the patterns (pads) move
// too, meaninglessly: callers mask them.
//   Δ ± 2 leaves plane 0. From plane 1 on, each plane flips where the carry (a rise) or the
//   borrow (a drop) reaches it, which it does at plane 1 for every pattern; a rise carries on
//   past a plane whose old bit was 1, a drop borrows past one whose old bit was 0.
template <class Word>
LOCENT_HD SlicedSets<Word> move_sliced_word(Word* planes_at, std::size_t stride, int planes,
                                            Word drops, bool flip_energy) {
  Word carry = ~Word(0), any = 0, all = ~Word(0);
  for (int k = 1; k < planes; ++k) {
    Word& plane = planes_at[std::size_t(k) * stride];
    const Word old = plane;
    const Word now = old ^ carry;
    carry &= old ^ drops;
    plane = now;
    if (k < planes - 1) {
      any |= now;
      all &= now;
    }
  }
  const Word sign = planes_at[std::size_t(planes - 1) * stride];
  const Word low = planes_at[0];
  // Δ ∈ {0, 1}: no bit above plane 0 and not negative; Δ = −1: every bit set.
  if (flip_energy) return SlicedSets<Word>{Word(sign | ~any), sign};
  return SlicedSets<Word>{Word(~sign & ~any & low), Word(sign & all & low)};
}

// The same move for up to kWords pattern words at once, plane by plane: word q's plane k at
// first[q · word_step + k · stride], for q < words ≤ kWords; drops[q] and sets[q] as above. All
// the words' reads of a plane come before their writes, so that the reads of the words overlap:
// a compiler cannot tell the planes of one word from those of another, and with
// move_sliced_word a word at a time, each plane's read waits for the previous plane's write
// (bench/NOTES.md). The same planes and sets as move_sliced_word on each word.
template <class Word, int kWords>
LOCENT_HD void move_sliced_words(Word* first, std::size_t word_step, std::size_t stride,
                                 int planes, int words, const Word (&drops)[kWords],
                                 bool flip_energy, SlicedSets<Word> (&sets)[kWords]) {
  Word carry[kWords], any[kWords], all[kWords], old[kWords];
  LOCENT_UNROLL
  for (int q = 0; q < kWords; ++q) {
    carry[q] = ~Word(0);
    any[q] = 0;
    all[q] = ~Word(0);
  }
  // Planes 1 .. planes − 1; the last, the sign plane, stays out of `any` and `all`.
  for (int k = 1; k < planes; ++k) {
    // (Only the reads and writes test q < words: the rest is cheaper done for every q than
    // branched around.)
    LOCENT_UNROLL
    for (int q = 0; q < kWords; ++q)
      old[q] = q < words ? first[q * word_step + std::size_t(k) * stride] : Word(0);
    LOCENT_UNROLL
    for (int q = 0; q < kWords; ++q) {
      const Word now = old[q] ^ carry[q];
      carry[q] &= old[q] ^ drops[q];
      if (q < words) first[q * word_step + std::size_t(k) * stride] = now;
      old[q] = now;  // the last plane's is the sign
      if (k < planes - 1) {
        any[q] |= now;
        all[q] &= now;
      }
    }
  }
  LOCENT_UNROLL
  for (int q = 0; q < kWords; ++q) {
    if (q >= words) continue;
    const Word sign = old[q], low = first[q * word_step];
    sets[q] = flip_energy ? SlicedSets<Word>{Word(sign | ~any[q]), sign}
                          : SlicedSets<Word>{Word(~sign & ~any[q] & low), Word(sign & all[q] & low)};
  }
}

// The boundary-set words of a pattern word from its planes (no move).
template <class Word>
LOCENT_HD SlicedSets<Word> sliced_sets(const Word* planes_at, std::size_t stride, int planes,
                                       bool flip_energy) {
  Word any = 0, all = ~Word(0);
  for (int k = 1; k < planes - 1; ++k) {
    any |= planes_at[std::size_t(k) * stride];
    all &= planes_at[std::size_t(k) * stride];
  }
  const Word sign = planes_at[std::size_t(planes - 1) * stride];
  const Word low = planes_at[0];
  if (flip_energy) return SlicedSets<Word>{Word(sign | ~any), sign};
  return SlicedSets<Word>{Word(~sign & ~any & low), Word(sign & all & low)};
}

// Pattern q's stability from a word's planes (sign-extended).
template <class Word>
LOCENT_HD int sliced_stability(const Word* planes_at, std::size_t stride, int planes, int q) {
  std::uint32_t v = 0;
  for (int k = 0; k < planes; ++k)
    v |= std::uint32_t((planes_at[std::size_t(k) * stride] >> q) & 1u) << k;
  const int shift = 32 - planes;
  return shift > 0 ? static_cast<int>(v << shift) >> shift : static_cast<int>(v);
}

// The patterns of 32-bit pattern word w among P, as a mask: pads left out, none in a word of
// pads only (the pattern words are counted in 64-bit words, so the last 32-bit one may hold
// none).
LOCENT_HD std::uint32_t pattern_word_mask(int patterns, int w) {
  const int live = patterns - 32 * w;
  return live <= 0 ? 0u : live >= 32 ? 0xffffffffu : (1u << live) - 1u;
}

// Bit q of stability d in plane k (planes that hold d: stability_planes).
LOCENT_HD bool stability_bit(int d, int k) { return (d >> k) & 1; }

}  // namespace locent
