// Bit packing of ±1 data (bits.hpp).
#include "locent/bits.hpp"

namespace locent {

BitMatrix BitMatrix::transposed() const {
  BitMatrix t(cols_, rows_);
  for (std::size_t r = 0; r < rows_; ++r) {
    const std::uint64_t* src = row(r);
    for (std::size_t c = 0; c < cols_; ++c)
      if ((src[c / kWordBits] >> (c % kWordBits)) & 1u)
        t.row(c)[r / kWordBits] |= std::uint64_t{1} << (r % kWordBits);
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
