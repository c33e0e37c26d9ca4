// The two inner loops of the CPU Metropolis, on 64-bit words, with a portable path and an
// AVX-512 path (VPOPCNTQ, masked int32 arithmetic) chosen once at run time. Both compute the
// same integers, so the trajectory does not depend on the path.
#pragma once
#include <cstddef>
#include <cstdint>

namespace locent::cpu {

// For each of `replicas` replicas r: a[r] = |A_r ∩ col|, b[r] = |B_r ∩ col|, where A_r, B_r are
// the replica's boundary sets (`words` 64-bit words each, replica r at offset r·words).
void count_boundary_hits(const std::uint64_t* col, const std::uint64_t* set_a,
                         const std::uint64_t* set_b, std::size_t words, int replicas, int* a,
                         int* b);

struct FlipCounts {
  int size_a, size_b, errors;
};

// Moves `patterns` stabilities by −2 where `drops` has a 1 bit and by +2 elsewhere, and rebuilds
// the boundary sets (flips energy: A = {Δ ≤ 1}, B = {Δ ≤ −1}; errors energy: A = {Δ = 1},
// B = {Δ = −1}); returns their sizes and the errors #{Δ < 0}. `drops` is a column, or its
// complement when `invert` is set.
FlipCounts move_stabilities(std::int32_t* stabilities, int patterns, const std::uint64_t* drops,
                            bool invert, bool flip_energy, std::uint64_t* set_a,
                            std::uint64_t* set_b);

// Committee machines: moves one hidden unit's fields h (P of them) by −2 where `drops` (or its
// complement, with `invert`) has a 1 bit and by +2 elsewhere; where sign(h) flips, moves the
// votes M by ±2 and updates {M = ±1}. Rebuilds the unit's {h = ±1} from the new fields. Returns
// the change of the errors #{M < 0}. Only patterns with h = ±1 before the move change sign, so
// the votes are touched there only.
int move_committee_unit(std::int32_t* fields, std::int32_t* votes, int patterns,
                        const std::uint64_t* drops, bool invert, std::uint64_t* field_plus_one,
                        std::uint64_t* field_minus_one, std::uint64_t* votes_plus_one,
                        std::uint64_t* votes_minus_one);

// popc(a XOR b) over `words` words: the Hamming distance of two packed ±1 vectors.
int xor_popcount(const std::uint64_t* a, const std::uint64_t* b, std::size_t words);

// "avx512" or "portable": the path in use.
const char* simd_path();
// Forces the portable path (tests compare the two; benchmarks measure both).
void force_portable_simd(bool on);

}  // namespace locent::cpu
