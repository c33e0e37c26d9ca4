// Counter-based random numbers (Random123 Philox4x32-10) shared by host and device.
//
// Every random word locent uses is a pure function of (seed, purpose, a, b, c, slot): no state is
// carried between calls, so a trajectory does not depend on the backend, the batch it runs in,
// the number of threads or how the host splits the run into launches.
#pragma once
#include <Random123/philox.h>

#include <cstddef>
#include <cstdint>

#include "locent/hd.hpp"

namespace locent {

// What a random word is for. Kept in the top byte of the fourth counter word, so that streams
// of different purposes never overlap.
enum class Purpose : std::uint32_t {
  patterns = 1,       // a = instance, b = pattern index, slot = 32-bit word of the row
  labels = 2,         // a = instance, slot = 32-bit word of the label vector
  teacher = 3,        // a = instance, slot = 32-bit word of the teacher weights
  test_patterns = 4,  // a = instance, b = test pattern index, slot = word of the row
  initial_weights = 5,// a = instance, b = replica (y = explicit centre), slot = word
  metropolis = 6,     // a = instance, b = sweep, c = step within the sweep, slot (see metropolis)
  committee_teacher = 7,  // a = instance, b = hidden unit k, slot = word of unit k's weights
  fbp_messages = 8,   // a = instance, b = pattern, or 2^32 − 1 for the symmetry-breaking fields;
                      // slot = message (or weight) index
};

// The 32-bit word number `slot` of the stream (seed, purpose, a, b, c). Slots 4g..4g+3 come from
// one Philox call, so consecutive slots are cheap to draw together with philox_block().
struct PhiloxBlock {
  std::uint32_t v[4];
};

LOCENT_HD PhiloxBlock philox_block(std::uint64_t seed, Purpose purpose, std::uint32_t a,
                                   std::uint32_t b, std::uint32_t c, std::uint32_t group) {
  r123::Philox4x32 gen;
  r123::Philox4x32::ctr_type ctr = {{a, b, c, (static_cast<std::uint32_t>(purpose) << 24) |
                                                  (group & 0x00ffffffu)}};
  r123::Philox4x32::key_type key = {
      {static_cast<std::uint32_t>(seed), static_cast<std::uint32_t>(seed >> 32)}};
  auto r = gen(ctr, key);
  return PhiloxBlock{{r[0], r[1], r[2], r[3]}};
}

LOCENT_HD std::uint32_t philox_word(std::uint64_t seed, Purpose purpose, std::uint32_t a,
                                    std::uint32_t b, std::uint32_t c, std::uint32_t slot) {
  return philox_block(seed, purpose, a, b, c, slot >> 2).v[slot & 3u];
}

// Uniform integer in [0, n) from one 32-bit word, by the multiply-shift map (bias below n/2^32,
// identical on every backend).
LOCENT_HD std::uint32_t uniform_below(std::uint32_t word, std::uint32_t n) {
  return static_cast<std::uint32_t>((static_cast<std::uint64_t>(word) * n) >> 32);
}

// Fills `bits` ±1 values packed in 64-bit words (padding cleared) from the stream
// (seed, purpose, a, b): 64-bit word w holds slots 2w (low half) and 2w + 1 (high half).
inline void fill_random_bits(std::uint64_t* words, std::size_t bits, std::uint64_t seed,
                             Purpose purpose, std::uint32_t a, std::uint32_t b) {
  const std::size_t n_words = (bits + 63) / 64;
  for (std::size_t w = 0; w < n_words; ++w) {
    PhiloxBlock blk = philox_block(seed, purpose, a, b, 0, static_cast<std::uint32_t>(w / 2));
    words[w] = (std::uint64_t{blk.v[(w % 2) * 2 + 1]} << 32) | blk.v[(w % 2) * 2];
  }
  if (bits % 64) words[n_words - 1] &= (std::uint64_t{1} << (bits % 64)) - 1;
}

}  // namespace locent
