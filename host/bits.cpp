// Bit packing of ±1 data (bits.hpp).
#include "locent/bits.hpp"

#include <algorithm>

namespace locent {

namespace {

// Transposes a 64 × 64 bit block in place: bit j of a[i] becomes bit i of a[j]. Six rounds swap
// the off-diagonal j × j sub-blocks for j = 32, 16, …, 1 (bit 0 is the least significant).
void transpose_block(std::uint64_t a[64]) {
  std::uint64_t mask = 0x00000000FFFFFFFFull;
  for (int j = 32; j != 0; j >>= 1, mask ^= mask << j)
    for (int k = 0; k < 64; k = ((k | j) + 1) & ~j) {
      const std::uint64_t t = ((a[k] >> j) ^ a[k | j]) & mask;
      a[k | j] ^= t;
      a[k] ^= t << j;
    }
}

}  // namespace

BitMatrix BitMatrix::transposed() const {
  BitMatrix t(cols_, rows_);
  std::uint64_t block[64];
  for (std::size_t r0 = 0; r0 < rows_; r0 += kWordBits) {
    const std::size_t rn = std::min<std::size_t>(kWordBits, rows_ - r0);
    for (std::size_t w = 0; w < words_per_row_; ++w) {
      for (std::size_t i = 0; i < kWordBits; ++i) block[i] = i < rn ? row(r0 + i)[w] : 0;
      transpose_block(block);
      const std::size_t c0 = w * kWordBits;
      const std::size_t cn = std::min<std::size_t>(kWordBits, cols_ - c0);
      for (std::size_t j = 0; j < cn; ++j) t.row(c0 + j)[r0 / kWordBits] = block[j];
    }
  }
  return t;
}

std::vector<std::uint64_t> pack_signs(const std::vector<std::int8_t>& values) {
  std::vector<std::uint64_t> words(words_for_bits(values.size()), 0);
  for (std::size_t i = 0; i < values.size(); ++i)
    if (values[i] > 0) words[i / kWordBits] |= std::uint64_t{1} << (i % kWordBits);
  return words;
}

std::vector<std::int8_t> unpack_signs(const std::uint64_t* words, std::size_t n) {
  std::vector<std::int8_t> values(n);
  for (std::size_t i = 0; i < n; ++i)
    values[i] = (words[i / kWordBits] >> (i % kWordBits)) & 1u ? 1 : -1;
  return values;
}

int dot_signs(const std::uint64_t* a, const std::uint64_t* b, std::size_t n) {
  // Padding bits are zero in both, so they never differ: a·b = n − 2·Hamming(a, b).
  int differ = 0;
  for (std::size_t w = 0; w < words_for_bits(n); ++w) differ += __builtin_popcountll(a[w] ^ b[w]);
  return static_cast<int>(n) - 2 * differ;
}

}  // namespace locent
