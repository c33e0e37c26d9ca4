// Stabilities in bit planes (include/locent/sliced_stabilities.hpp): moves and boundary sets
// against plain integers and the sets' own definitions (metropolis_rules.hpp), 32- and 64-bit
// words, both energies, odd and even N, stabilities up to the planes' limit.
#include "locent/sliced_stabilities.hpp"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <vector>

#include "locent/metropolis_rules.hpp"

namespace locent {
namespace {

TEST(SlicedStabilities, PlanesHoldEveryStability) {
  EXPECT_EQ(stability_planes(1), 2);
  EXPECT_EQ(stability_planes(3), 3);
  EXPECT_EQ(stability_planes(4), 4);
  EXPECT_EQ(stability_planes(100001), 18);
  EXPECT_EQ(stability_planes(131071), 18);
  EXPECT_EQ(stability_planes(131072), 19);
  for (int n : {1, 2, 7, 100, 1001, 65535, 100001})
    EXPECT_GT(std::int64_t{1} << (stability_planes(n) - 1), n);
}

template <class Word>
void expect_moves_match_integers(int n, bool flips, unsigned seed) {
  constexpr int kBits = int(sizeof(Word) * 8);
  const int planes = stability_planes(n);
  std::mt19937 rng(seed);
  // Stabilities of n's parity within ±(n − 2·moves) so that every move stays in range, many
  // near the sets' edges.
  const int moves = 40;
  const int reach = n - 2 * moves;
  ASSERT_GT(reach, 0);
  std::uniform_int_distribution<int> wide(-reach, reach), narrow(-6, 6);
  std::vector<int> d(kBits);
  for (int q = 0; q < kBits; ++q) {
    int v = q % 2 ? wide(rng) : narrow(rng);
    if ((v - n) % 2 != 0) v += v < reach ? 1 : -1;
    d[q] = v;
  }
  std::vector<Word> plane(planes);
  for (int k = 0; k < planes; ++k)
    for (int q = 0; q < kBits; ++q) plane[k] |= Word(stability_bit(d[q], k)) << q;
  for (int q = 0; q < kBits; ++q) ASSERT_EQ(sliced_stability(plane.data(), 1, planes, q), d[q]);
  std::uniform_int_distribution<std::uint64_t> bits;
  for (int m = 0; m < moves; ++m) {
    const Word drops = static_cast<Word>(bits(rng));
    const SlicedSets<Word> sets = move_sliced_word(plane.data(), 1, planes, drops, flips);
    const SlicedSets<Word> again = sliced_sets(plane.data(), 1, planes, flips);
    EXPECT_EQ(sets.a, again.a);
    EXPECT_EQ(sets.b, again.b);
    for (int q = 0; q < kBits; ++q) {
      d[q] += (drops >> q) & 1u ? -2 : 2;
      ASSERT_EQ(sliced_stability(plane.data(), 1, planes, q), d[q]) << "move " << m << " bit " << q;
      ASSERT_EQ(bool((sets.a >> q) & 1u), in_set_a(d[q], flips)) << "Δ = " << d[q];
      ASSERT_EQ(bool((sets.b >> q) & 1u), in_set_b(d[q], flips)) << "Δ = " << d[q];
    }
  }
}

TEST(SlicedStabilities, MovesAndSetsMatchIntegers) {
  for (const bool flips : {true, false})
    for (const int n : {81, 100, 101, 1000, 1001, 100001, 131071}) {
      SCOPED_TRACE("n = " + std::to_string(n) + (flips ? " flips" : " errors"));
      for (unsigned seed = 1; seed <= 20; ++seed) {
        expect_moves_match_integers<std::uint32_t>(n, flips, seed);
        expect_moves_match_integers<std::uint64_t>(n, flips, seed + 100);
      }
    }
}

// Several words moved at once, plane by plane (the kernel's interleaved move), give each word
// what move_sliced_word gives it alone: planes and sets, fewer words than the batch holds too
// (the words past `words` untouched), strided as in shared memory. Both are the same bit
// operations, so stabilities that leave the planes' range (small n) must still agree.
template <class Word, int kWords>
void expect_batched_moves_match_single(int n, bool flips, int words, unsigned seed) {
  constexpr int kBits = int(sizeof(Word) * 8);
  const int planes = stability_planes(n);
  const std::size_t word_step = 3, stride = word_step * kWords + 1;  // not packed
  std::mt19937 rng(seed);
  const int reach = n > 200 ? n - 100 : n;
  std::uniform_int_distribution<int> wide(-reach, reach), narrow(-6, 6);
  std::vector<Word> batched(stride * planes, Word(0x5a5a5a5a5a5a5a5aULL)), single;
  for (int q = 0; q < kWords; ++q)
    for (int b = 0; b < kBits; ++b) {
      int v = b % 2 ? wide(rng) : narrow(rng);
      if ((v - n) % 2 != 0) v += 1;
      for (int k = 0; k < planes; ++k) {
        Word& w = batched[q * word_step + k * stride];
        w = (w & ~(Word(1) << b)) | (Word(stability_bit(v, k)) << b);
      }
    }
  single = batched;
  std::uniform_int_distribution<std::uint64_t> bits;
  for (int m = 0; m < 30; ++m) {
    Word drops[kWords];
    SlicedSets<Word> sets[kWords];
    for (int q = 0; q < kWords; ++q) drops[q] = static_cast<Word>(bits(rng));
    move_sliced_words<Word, kWords>(batched.data(), word_step, stride, planes, words, drops, flips,
                                    sets);
    for (int q = 0; q < words; ++q) {
      const SlicedSets<Word> alone =
          move_sliced_word(single.data() + q * word_step, stride, planes, drops[q], flips);
      ASSERT_EQ(sets[q].a, alone.a) << "move " << m << " word " << q;
      ASSERT_EQ(sets[q].b, alone.b) << "move " << m << " word " << q;
    }
    ASSERT_EQ(batched, single) << "move " << m;
  }
}

TEST(SlicedStabilities, BatchedMovesMatchSingleWords) {
  for (const bool flips : {true, false})
    for (const int n : {3, 101, 1000, 100001})
      for (int words = 0; words <= 4; ++words) {
        SCOPED_TRACE("n = " + std::to_string(n) + ", " + std::to_string(words) + " words" +
                     (flips ? " flips" : " errors"));
        expect_batched_moves_match_single<std::uint32_t, 4>(n, flips, words, 7 + words);
        expect_batched_moves_match_single<std::uint64_t, 4>(n, flips, words, 70 + words);
      }
  expect_batched_moves_match_single<std::uint32_t, 1>(1001, true, 1, 3);
}

// Pads: P = 601 patterns in 20 32-bit words (counted in 64-bit words): word 18 holds 25, word
// 19 none.
TEST(SlicedStabilities, PatternWordMasksLeaveOutPads) {
  EXPECT_EQ(pattern_word_mask(601, 0), 0xffffffffu);
  EXPECT_EQ(pattern_word_mask(601, 17), 0xffffffffu);
  EXPECT_EQ(pattern_word_mask(601, 18), (1u << 25) - 1u);
  EXPECT_EQ(pattern_word_mask(601, 19), 0u);
  EXPECT_EQ(pattern_word_mask(64, 1), 0xffffffffu);
  EXPECT_EQ(pattern_word_mask(64, 2), 0u);
}

// The planes' limits: ±n and its neighbours within range survive a move both ways.
TEST(SlicedStabilities, ExtremesSurviveMoves) {
  const int n = 100001, planes = stability_planes(n);
  const int values[4] = {n - 2, -(n - 2), n, -n};
  for (int i = 0; i < 4; ++i) {
    std::vector<std::uint32_t> plane(planes);
    for (int k = 0; k < planes; ++k) plane[k] = std::uint32_t(stability_bit(values[i], k));
    const std::uint32_t drops = values[i] > 0 ? 1u : 0u;  // towards zero
    move_sliced_word(plane.data(), 1, planes, drops, true);
    EXPECT_EQ(sliced_stability(plane.data(), 1, planes, 0), values[i] + (drops ? -2 : 2));
  }
}

}  // namespace
}  // namespace locent
