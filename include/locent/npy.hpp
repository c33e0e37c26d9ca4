// NumPy .npy files (format versions 1.0, 2.0 and 3.0): reading ±1 training data, writing int8
// weights, and float32 arrays (fBP messages) both ways. Every malformed input raises locent::Error
// with ExitCode::bad_input and a message that names the file and what is wrong with it.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "locent/bits.hpp"

namespace locent {

// A ±1 array read from a .npy file, C order, values mapped to int8 ±1.
struct SignArray {
  std::vector<std::size_t> shape;
  std::vector<std::int8_t> values;  // product(shape) entries, each +1 or -1
};

// Reads a .npy array of ±1 values: any integer (i1 i2 i4 i8 u1 u2 u4 u8) or float (f4 f8) dtype,
// either byte order, C or Fortran order (returned in C order). bool and uint8 arrays are read as
// 0/1 (0 → −1, 1 → +1); every other dtype must hold exactly ±1. Throws Error(bad_input) for a
// missing/unreadable file, a bad magic string or header, an unsupported dtype, a file shorter
// than its header says, trailing bytes, or any other value (the message names the first bad index).
SignArray read_sign_array(const std::string& path);

// Training patterns (P × N matrix) and labels (P, or P × 1) → P and N checked against each other.
// Throws Error(bad_input) on a shape mismatch, naming both files and shapes.
void read_training_data(const std::string& patterns_path, const std::string& labels_path,
                        BitMatrix& patterns, std::vector<std::int8_t>& labels);

// Writes an int8 array (format 1.0, '|i1', C order). Throws Error(bad_input) if the file cannot
// be written.
void write_int8_array(const std::string& path, const std::vector<std::size_t>& shape,
                      const std::vector<std::int8_t>& values);

// A float array read from a .npy file (float32, or float64 narrowed), C order.
struct FloatArray {
  std::vector<std::size_t> shape;
  std::vector<float> values;
};

// Writes a float32 array ('<f4', C order), e.g. fBP messages. Throws Error(bad_input) if the file
// cannot be written.
void write_float32_array(const std::string& path, const std::vector<std::size_t>& shape,
                         const std::vector<float>& values);
// Reads a float32 or float64 array in C order; anything else (or a truncated file) throws
// Error(bad_input).
FloatArray read_float32_array(const std::string& path);

}  // namespace locent
