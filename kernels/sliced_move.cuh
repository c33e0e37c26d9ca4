// A thread's share of a replica's move (the member pipeline's phase 4,
// kernels/metropolis_pipeline.cu), its stabilities in bit planes in shared memory
// (include/locent/sliced_stabilities.hpp): the pattern words first, first + step, ... below pw,
// each moved by −2 where the flipped column drops it (by +2 elsewhere), their set words written
// and counted. The thread's column words are loaded 4 at a time before any is used (one L2
// latency, not one a word). kInterleaved: the 4 words moved together plane by plane
// (move_sliced_words, each plane's reads before its writes), else one after another
// (move_sliced_word: the compiler cannot tell the planes apart, so each plane's read waits for
// the previous plane's write). bench/probe_pipeline.cu times both.
#pragma once
#include <cstddef>
#include <cstdint>

#include "locent/sliced_stabilities.hpp"

namespace locent::cuda {

// plane[k · pw + w]: plane k of word w; sa, sb: the set words; col: the flipped site's column
// words (the block's share); live_mask(w): word w's patterns (pads left out).
template <bool kInterleaved, class LiveMask>
__device__ __forceinline__ void move_thread_words(std::uint32_t* plane, std::uint32_t* sa,
                                                  std::uint32_t* sb, int pw, int planes,
                                                  const std::uint32_t* col, bool was_plus,
                                                  bool flips, int first, int step,
                                                  const LiveMask& live_mask, int& count_a,
                                                  int& count_b) {
  constexpr int kWordsInFlight = 4;
  if constexpr (kInterleaved) {
    for (int w0 = first; w0 < pw; w0 += kWordsInFlight * step) {
      std::uint32_t drops[kWordsInFlight];
      int words = 0;
#pragma unroll
      for (int q = 0; q < kWordsInFlight; ++q) {
        const int w = w0 + q * step;
        const std::uint32_t x = w < pw ? __ldg(col + w) : 0u;
        drops[q] = was_plus ? x : ~x;
        words += w < pw;
      }
      SlicedSets<std::uint32_t> sets[kWordsInFlight];
      move_sliced_words<std::uint32_t, kWordsInFlight>(plane + w0, std::size_t(step),
                                                       std::size_t(pw), planes, words, drops,
                                                       flips, sets);
#pragma unroll
      for (int q = 0; q < kWordsInFlight; ++q) {
        const int w = w0 + q * step;
        if (w >= pw) break;
        const std::uint32_t mask = live_mask(w);
        const std::uint32_t word_a = sets[q].a & mask, word_b = sets[q].b & mask;
        sa[w] = word_a;
        sb[w] = word_b;
        count_a += __popc(word_a);
        count_b += __popc(word_b);
      }
    }
  } else {
    for (int w0 = first; w0 < pw; w0 += kWordsInFlight * step) {
      std::uint32_t xs[kWordsInFlight];
#pragma unroll
      for (int q = 0; q < kWordsInFlight; ++q) {
        const int w = w0 + q * step;
        xs[q] = w < pw ? __ldg(col + w) : 0u;
      }
#pragma unroll
      for (int q = 0; q < kWordsInFlight; ++q) {
        const int w = w0 + q * step;
        if (w >= pw) break;
        const SlicedSets<std::uint32_t> sets = move_sliced_word(
            plane + w, std::size_t(pw), planes, was_plus ? xs[q] : ~xs[q], flips);
        const std::uint32_t mask = live_mask(w);
        const std::uint32_t word_a = sets.a & mask, word_b = sets.b & mask;
        sa[w] = word_a;
        sb[w] = word_b;
        count_a += __popc(word_a);
        count_b += __popc(word_b);
      }
    }
  }
}

}  // namespace locent::cuda
