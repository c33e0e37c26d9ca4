// Bit-packed ±1 data: bit 1 stands for +1, bit 0 for -1; padding bits past the length are 0.
#pragma once
#include <cstddef>
#include <cstdint>
#include <vector>

namespace locent {

inline constexpr int kWordBits = 64;

inline std::size_t words_for_bits(std::size_t n) { return (n + kWordBits - 1) / kWordBits; }

// A rows × cols matrix of ±1 values, each row packed into words_per_row 64-bit words.
class BitMatrix {
 public:
  BitMatrix() = default;
  BitMatrix(std::size_t rows, std::size_t cols)
      : rows_(rows), cols_(cols), words_per_row_(words_for_bits(cols)),
        words_(rows * words_per_row_, 0) {}

  std::size_t rows() const { return rows_; }
  std::size_t cols() const { return cols_; }
  std::size_t words_per_row() const { return words_per_row_; }

  const std::uint64_t* row(std::size_t r) const { return words_.data() + r * words_per_row_; }
  std::uint64_t* row(std::size_t r) { return words_.data() + r * words_per_row_; }
  const std::vector<std::uint64_t>& words() const { return words_; }

  int get(std::size_t r, std::size_t c) const {
    return (row(r)[c / kWordBits] >> (c % kWordBits)) & 1u ? 1 : -1;
  }
  void set(std::size_t r, std::size_t c, int value) {
    std::uint64_t bit = std::uint64_t{1} << (c % kWordBits);
    if (value > 0)
      row(r)[c / kWordBits] |= bit;
    else
      row(r)[c / kWordBits] &= ~bit;
  }

  BitMatrix transposed() const;

  bool operator==(const BitMatrix& o) const {
    return rows_ == o.rows_ && cols_ == o.cols_ && words_ == o.words_;
  }

 private:
  std::size_t rows_ = 0, cols_ = 0, words_per_row_ = 0;
  std::vector<std::uint64_t> words_;
};

// Packs a ±1 vector (any nonzero sign convention: v > 0 is +1) into words.
std::vector<std::uint64_t> pack_signs(const std::vector<std::int8_t>& values);
std::vector<std::int8_t> unpack_signs(const std::uint64_t* words, std::size_t n);

// Σ_i a_i b_i for two packed ±1 vectors of length n.
int dot_signs(const std::uint64_t* a, const std::uint64_t* b, std::size_t n);

}  // namespace locent
