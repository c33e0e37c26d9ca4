// The second-order terms of a replica's move, on the CPU as the kernels take them (bit sets C and
// D beside A and B, popcounts; metropolis_rules.hpp): what the longer rounds of both twins
// (host/cpu/metropolis_rounds.cpp, host/cpu/metropolis_frontier.cpp) decide a moved replica's
// later proposals from.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

#include "locent/metropolis_rules.hpp"

namespace locent::cpu {

// One replica's state at the round's start: stabilities, boundary sets (`words` 64-bit words),
// set sizes.
struct ReplicaSets {
  const std::int32_t* stabilities;
  int patterns;
  const std::uint64_t* set_a;
  const std::uint64_t* set_b;
  std::size_t words;
  int size_a, size_b;
  bool flip_energy;
};

// The replica flipped the weight at a step with column `col_j` (was +1: `was_plus`), whose
// first-order counts were a_j = |A ∩ col_j|, b_j = |B ∩ col_j|. Returns |A'| and |B'| after that
// flip and, for each later step t < later (column cols_l[t], counts a_l[t], b_l[t]), the sum
// s in sums[t] (second_order_sum). `c`, `d` are scratch for the outer sets.
SizesAfterFlip second_order_terms(const ReplicaSets& r, const std::uint64_t* col_j, bool was_plus,
                                  int a_j, int b_j, int later,
                                  const std::uint64_t* const* cols_l, const int* a_l,
                                  const int* b_l, int* sums, std::vector<std::uint64_t>& c,
                                  std::vector<std::uint64_t>& d);

}  // namespace locent::cpu
