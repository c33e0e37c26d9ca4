// Tests for the .npy reader and writer (npy.hpp): every accepted dtype and layout, and the
// bad_input error for each kind of malformed file. The test files are written byte by byte here.
#include "locent/npy.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <functional>
#include <iterator>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "locent/error.hpp"

namespace {

using locent::Error;
using locent::ExitCode;
using locent::SignArray;

std::string temp_path(const std::string& name) {
  std::string dir = ::testing::TempDir();
  if (!dir.empty() && dir.back() != '/') dir += '/';
  // ctest runs the tests as parallel processes: the process id keeps their files apart.
  return dir + "locent_npy_test_" + std::to_string(::getpid()) + "_" + name;
}

void write_file(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  ASSERT_TRUE(out) << "cannot create " << path;
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good());
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// A complete .npy file: magic, version, header length, `dict` padded with spaces and a newline
// to a multiple of 64 bytes, then `data`.
std::string npy_file(const std::string& dict, const std::string& data, int major = 1) {
  const std::size_t len_bytes = major == 1 ? 2 : 4;
  std::string header = dict;
  const std::size_t unpadded = 8 + len_bytes + header.size() + 1;
  header.append((64 - unpadded % 64) % 64, ' ');
  header += '\n';
  std::string out("\x93NUMPY", 6);
  out += static_cast<char>(major);
  out += '\0';
  for (std::size_t i = 0; i < len_bytes; ++i)
    out += static_cast<char>((header.size() >> (8 * i)) & 0xff);
  return out + header + data;
}

std::string dict(const std::string& descr, const std::string& shape, bool fortran = false) {
  return "{'descr': '" + descr + "', 'fortran_order': " + (fortran ? "True" : "False") +
         ", 'shape': " + shape + ", }";
}

// Raw bytes of `values` as type T, little-endian unless `big`.
template <typename T>
std::string bytes_of(const std::vector<T>& values, bool big = false) {
  std::string out;
  for (const T& v : values) {
    char b[sizeof(T)];
    std::memcpy(b, &v, sizeof(T));
    const std::uint16_t one = 1;
    char first;
    std::memcpy(&first, &one, 1);
    const bool host_little = first == 1;
    if (big == host_little)
      for (std::size_t i = 0; i < sizeof(T) / 2; ++i) std::swap(b[i], b[sizeof(T) - 1 - i]);
    out.append(b, sizeof(T));
  }
  return out;
}

// Writes `bytes` to a temp file called `name` and returns its path.
std::string make(const std::string& name, const std::string& bytes) {
  const std::string path = temp_path(name);
  write_file(path, bytes);
  return path;
}

// Runs f and checks that it throws locent::Error(bad_input) whose message contains `needle`.
void expect_bad_input(const std::function<void()>& f, const std::string& needle) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ExitCode::bad_input) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos)
        << "message \"" << e.what() << "\" lacks \"" << needle << "\"";
    return;
  }
  ADD_FAILURE() << "no locent::Error thrown; expected one mentioning \"" << needle << "\"";
}

void expect_read_fails(const std::string& path, const std::string& needle) {
  expect_bad_input([&] { locent::read_sign_array(path); }, needle);
}

const std::vector<std::int8_t> kSigns = {1, -1, -1, 1, 1, 1};  // a 2 × 3 pattern in C order

// ---------------------------------------------------------------------------------------------
// Writing and round trips

TEST(Npy, WriteThenReadRoundTrip) {
  const std::string path = temp_path("roundtrip.npy");
  std::vector<std::int8_t> values;
  for (int i = 0; i < 12; ++i) values.push_back((i * 7) % 3 == 0 ? 1 : -1);
  locent::write_int8_array(path, {3, 4}, values);
  const SignArray a = locent::read_sign_array(path);
  EXPECT_EQ(a.shape, (std::vector<std::size_t>{3, 4}));
  EXPECT_EQ(a.values, values);
}

TEST(Npy, WrittenHeaderIsNumpyFormat10AlignedTo64) {
  for (const std::vector<std::size_t>& shape :
       std::vector<std::vector<std::size_t>>{{}, {5}, {3, 4}, {2, 1, 3}, {123456789, 0}}) {
    std::size_t count = 1;
    for (std::size_t d : shape) count *= d;
    const std::vector<std::int8_t> values(count, -1);
    const std::string path = temp_path("header.npy");
    locent::write_int8_array(path, shape, values);
    const std::string bytes = read_file(path);
    ASSERT_GE(bytes.size(), 10u);
    EXPECT_EQ(bytes.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
    const std::size_t hlen = static_cast<unsigned char>(bytes[8]) |
                             (static_cast<std::size_t>(static_cast<unsigned char>(bytes[9])) << 8);
    EXPECT_EQ((10 + hlen) % 64, 0u);
    ASSERT_EQ(bytes.size(), 10 + hlen + count);
    const std::string header = bytes.substr(10, hlen);
    EXPECT_EQ(header.back(), '\n');
    std::string tuple = "(";
    for (std::size_t i = 0; i < shape.size(); ++i)
      tuple += (i ? ", " : "") + std::to_string(shape[i]);
    tuple += shape.size() == 1 ? ",)" : ")";
    EXPECT_EQ(header.rfind("{'descr': '|i1', 'fortran_order': False, 'shape': " + tuple + ", }", 0),
              0u)
        << header;
    EXPECT_EQ(header.find_first_not_of(' ', header.find('}') + 1), hlen - 1) << header;
    const SignArray a = locent::read_sign_array(path);
    EXPECT_EQ(a.shape, shape);
    EXPECT_EQ(a.values, values);
  }
}

TEST(Npy, WriteKeepsArbitraryInt8Values) {
  const std::string path = temp_path("weights.npy");
  const std::vector<std::int8_t> values = {-128, -3, 0, 5, 127};
  locent::write_int8_array(path, {5}, values);
  const std::string bytes = read_file(path);
  ASSERT_GE(bytes.size(), 5u);
  EXPECT_EQ(bytes.substr(bytes.size() - 5), std::string(values.begin(), values.end()));
  expect_read_fails(path, "value -128 at index 0 is not ±1");
}

TEST(Npy, WriteToMissingDirectoryFails) {
  expect_bad_input(
      [] { locent::write_int8_array(temp_path("no_such_dir/w.npy"), {1}, {1}); },
      "cannot write");
}

// ---------------------------------------------------------------------------------------------
// Accepted dtypes and layouts

template <typename T>
void check_dtype(const std::string& descr, bool big = false) {
  std::vector<T> raw;
  for (std::int8_t s : kSigns) raw.push_back(static_cast<T>(s));
  const std::string path = make("dtype.npy", npy_file(dict(descr, "(2, 3)"), bytes_of(raw, big)));
  const SignArray a = locent::read_sign_array(path);
  EXPECT_EQ(a.shape, (std::vector<std::size_t>{2, 3})) << descr;
  EXPECT_EQ(a.values, kSigns) << descr;
}

TEST(Npy, ReadsSignedIntegerDtypes) {
  check_dtype<std::int8_t>("|i1");
  check_dtype<std::int8_t>("<i1");
  check_dtype<std::int16_t>("<i2");
  check_dtype<std::int32_t>("<i4");
  check_dtype<std::int64_t>("<i8");
  check_dtype<std::int16_t>("=i2");
}

TEST(Npy, ReadsBigEndianDtypes) {
  check_dtype<std::int32_t>(">i4", true);
  check_dtype<std::int16_t>(">i2", true);
  check_dtype<std::int64_t>(">i8", true);
  check_dtype<double>(">f8", true);
  check_dtype<float>(">f4", true);
}

TEST(Npy, ReadsFloatDtypes) {
  check_dtype<float>("<f4");
  check_dtype<double>("<f8");
}

TEST(Npy, ReadsZeroOneAsSigns) {
  const std::string zero_one("\x01\x00\x00\x01\x01\x01", 6);
  for (const std::string descr : {"|b1", "|u1", "<u1", ">u1"}) {
    const std::string path = make("bool.npy", npy_file(dict(descr, "(2, 3)"), zero_one));
    const SignArray a = locent::read_sign_array(path);
    EXPECT_EQ(a.shape, (std::vector<std::size_t>{2, 3})) << descr;
    EXPECT_EQ(a.values, kSigns) << descr;
  }
}

TEST(Npy, ReadsWiderUnsignedOnes) {
  const std::vector<std::int8_t> ones(4, 1);
  std::string path = make("u2.npy", npy_file(dict("<u2", "(4,)"), bytes_of<std::uint16_t>({1, 1, 1, 1})));
  EXPECT_EQ(locent::read_sign_array(path).values, ones);
  path = make("u4.npy", npy_file(dict(">u4", "(4,)"), bytes_of<std::uint32_t>({1, 1, 1, 1}, true)));
  EXPECT_EQ(locent::read_sign_array(path).values, ones);
  path = make("u8.npy", npy_file(dict("<u8", "(4,)"), bytes_of<std::uint64_t>({1, 1, 1, 1})));
  EXPECT_EQ(locent::read_sign_array(path).values, ones);
}

TEST(Npy, FortranOrderIsReturnedInCOrder) {
  // C order [[1, -1, -1], [1, 1, 1]] is, column by column: 1, 1, -1, 1, -1, 1.
  const std::string path = make(
      "fortran.npy",
      npy_file(dict("<i2", "(2, 3)", true), bytes_of<std::int16_t>({1, 1, -1, 1, -1, 1})));
  const SignArray a = locent::read_sign_array(path);
  EXPECT_EQ(a.shape, (std::vector<std::size_t>{2, 3}));
  EXPECT_EQ(a.values, kSigns);
}

TEST(Npy, FortranOrderThreeDimensions) {
  // Shape (2, 3, 4): element (i, j, k) is +1 iff (i + 2j + 5k) % 3 == 0.
  const std::size_t d0 = 2, d1 = 3, d2 = 4;
  std::vector<std::int8_t> c_order, f_order(d0 * d1 * d2);
  for (std::size_t i = 0; i < d0; ++i)
    for (std::size_t j = 0; j < d1; ++j)
      for (std::size_t k = 0; k < d2; ++k) {
        const std::int8_t v = (i + 2 * j + 5 * k) % 3 == 0 ? 1 : -1;
        c_order.push_back(v);
        f_order[i + d0 * (j + d1 * k)] = v;
      }
  const std::string path =
      make("fortran3.npy", npy_file(dict("|i1", "(2, 3, 4)", true), bytes_of(f_order)));
  const SignArray a = locent::read_sign_array(path);
  EXPECT_EQ(a.shape, (std::vector<std::size_t>{2, 3, 4}));
  EXPECT_EQ(a.values, c_order);
}

TEST(Npy, FortranOrderBadValueIndexIsLogical) {
  // In file (column) order the 0 is the 2nd element, which is (1, 0) of the 2 × 3 array.
  const std::string path = make(
      "fortran_bad.npy", npy_file(dict("|i1", "(2, 3)", true), std::string("\x01\x00\x01\x01\x01\x01", 6)));
  expect_read_fails(path, "value 0 at index (1, 0) is not ±1");
}

TEST(Npy, ReadsVersions2And3) {
  for (int major : {2, 3}) {
    const std::string path =
        make("v23.npy", npy_file(dict("|i1", "(2, 3)"), bytes_of(kSigns), major));
    const SignArray a = locent::read_sign_array(path);
    EXPECT_EQ(a.shape, (std::vector<std::size_t>{2, 3})) << major;
    EXPECT_EQ(a.values, kSigns) << major;
  }
}

TEST(Npy, HeaderParsingIsTolerant) {
  const std::string data = bytes_of(kSigns);
  const std::vector<std::string> headers = {
      "{'shape': (2, 3), 'fortran_order': False, 'descr': '|i1'}",
      "{ 'fortran_order' : False ,'descr':'|i1',  'shape':(2,3,) }",
      "{\"descr\": \"|i1\", \"fortran_order\": False, \"shape\": ( 2 ,\t3 )}",
      "{'descr': '|i1',\n 'fortran_order': False,\n 'shape': (2L, 3L),\n}",
  };
  for (const std::string& h : headers) {
    const std::string path = make("tolerant.npy", npy_file(h, data));
    const SignArray a = locent::read_sign_array(path);
    EXPECT_EQ(a.shape, (std::vector<std::size_t>{2, 3})) << h;
    EXPECT_EQ(a.values, kSigns) << h;
  }
}

TEST(Npy, ScalarOneDimensionalAndEmptyShapes) {
  std::string path = make("scalar.npy", npy_file(dict("<f8", "()"), bytes_of<double>({-1.0})));
  SignArray a = locent::read_sign_array(path);
  EXPECT_TRUE(a.shape.empty());
  EXPECT_EQ(a.values, (std::vector<std::int8_t>{-1}));

  path = make("vector.npy", npy_file(dict("<i4", "(5,)"), bytes_of<std::int32_t>({1, -1, 1, 1, -1})));
  a = locent::read_sign_array(path);
  EXPECT_EQ(a.shape, (std::vector<std::size_t>{5}));
  EXPECT_EQ(a.values, (std::vector<std::int8_t>{1, -1, 1, 1, -1}));

  path = make("empty.npy", npy_file(dict("<f8", "(0, 7)"), ""));
  a = locent::read_sign_array(path);
  EXPECT_EQ(a.shape, (std::vector<std::size_t>{0, 7}));
  EXPECT_TRUE(a.values.empty());
}

TEST(Npy, ReadsDataLargerThanOneChunk) {
  // 600000 float32 values = 2.4 MB, more than the reader's 1 MiB chunk.
  const std::size_t n = 600000;
  std::vector<float> raw(n);
  std::vector<std::int8_t> expected(n);
  for (std::size_t i = 0; i < n; ++i) {
    expected[i] = (i * 2654435761u) % 5 < 2 ? 1 : -1;
    raw[i] = expected[i];
  }
  const std::string path = make("big.npy", npy_file(dict("<f4", "(1000, 600)"), bytes_of(raw)));
  const SignArray a = locent::read_sign_array(path);
  EXPECT_EQ(a.values, expected);

  raw[n - 1] = 0.25f;  // the last value, in the last chunk
  write_file(path, npy_file(dict("<f4", "(1000, 600)"), bytes_of(raw)));
  expect_read_fails(path, "value 0.25 at index (999, 599) is not ±1");
}

// ---------------------------------------------------------------------------------------------
// Rejected files

TEST(Npy, MissingFile) {
  const std::string path = temp_path("does_not_exist.npy");
  std::remove(path.c_str());
  expect_read_fails(path, path + ": cannot open: No such file or directory");
}

TEST(Npy, DirectoryIsRejected) {
  expect_bad_input([] { locent::read_sign_array(::testing::TempDir()); }, "");
}

TEST(Npy, BadMagic) {
  std::string bytes = npy_file(dict("|i1", "(2, 3)"), bytes_of(kSigns));
  bytes[1] = 'P';
  const std::string path = make("badmagic.npy", bytes);
  expect_read_fails(path, path + ": not a .npy file (bad magic)");
  write_file(path, "x,y\n1,2\n");
  expect_read_fails(path, "not a .npy file (bad magic)");
  write_file(path, "\x93NUM");
  expect_read_fails(path, "not a .npy file");
  write_file(path, "");
  expect_read_fails(path, "empty");
}

TEST(Npy, UnsupportedVersion) {
  std::string bytes = npy_file(dict("|i1", "(2, 3)"), bytes_of(kSigns));
  bytes[6] = 4;
  expect_read_fails(make("version.npy", bytes), "unsupported .npy format version 4.0");
}

TEST(Npy, TruncatedHeader) {
  const std::string bytes = npy_file(dict("|i1", "(2, 3)"), bytes_of(kSigns));
  expect_read_fails(make("trunc_header.npy", bytes.substr(0, 40)), "truncated header");
  expect_read_fails(make("trunc_header.npy", bytes.substr(0, 9)), "truncated header");
  expect_read_fails(make("trunc_header.npy", bytes.substr(0, 7)), "truncated header");
}

TEST(Npy, HugeHeaderLengthDoesNotAllocate) {
  // Version 2.0 with a header length of 0xffffffff and a 20-byte header.
  std::string bytes("\x93NUMPY\x02\x00\xff\xff\xff\xff", 12);
  bytes += "{'descr': '|i1', ";
  expect_read_fails(make("huge_header.npy", bytes), "of 4294967295 header bytes");
}

TEST(Npy, TruncatedData) {
  const std::string path = make(
      "trunc_data.npy", npy_file(dict("<i4", "(25,)"), bytes_of(std::vector<std::int32_t>(10, 1))));
  expect_read_fails(path, path + ": file ends after 40 of 100 data bytes");
}

TEST(Npy, TrailingBytes) {
  const std::string path = make(
      "trailing.npy", npy_file(dict("|i1", "(2, 3)"), bytes_of(kSigns) + std::string(8, '\x01')));
  expect_read_fails(path, path + ": 8 trailing bytes after the data");
}

TEST(Npy, ZeroInInt8) {
  const std::string path =
      make("zero.npy", npy_file(dict("|i1", "(2, 3)"), std::string("\x01\xff\x01\x01\x01\x00", 6)));
  expect_read_fails(path, path + ": value 0 at index (1, 2) is not ±1");
}

TEST(Npy, TwoInUint8) {
  const std::string path =
      make("two.npy", npy_file(dict("|u1", "(6,)"), std::string("\x01\x00\x02\x01\x01\x00", 6)));
  expect_read_fails(path, "value 2 at index 2 is not 0 or 1");
}

TEST(Npy, TwoInBool) {
  const std::string path =
      make("bool2.npy", npy_file(dict("|b1", "(2, 3)"), std::string("\x01\x00\x01\x01\x02\x00", 6)));
  expect_read_fails(path, "value 2 at index (1, 1) is not 0 or 1");
}

TEST(Npy, HalfInFloat64) {
  const std::string path =
      make("half.npy", npy_file(dict("<f8", "(2, 2)"), bytes_of<double>({1.0, -1.0, 0.5, 1.0})));
  expect_read_fails(path, "value 0.5 at index (1, 0) is not ±1");
}

TEST(Npy, NanInFloat32) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  const std::string path =
      make("nan.npy", npy_file(dict("<f4", "(3,)"), bytes_of<float>({1.0f, nan, -1.0f})));
  expect_read_fails(path, "value nan at index 1 is not ±1");
}

TEST(Npy, OtherBadNumbers) {
  expect_read_fails(make("i4.npy", npy_file(dict("<i4", "(2,)"), bytes_of<std::int32_t>({1, 3}))),
                    "value 3 at index 1 is not ±1");
  // A big-endian +1 read as little-endian is 16777216.
  expect_read_fails(make("endian.npy", npy_file(dict("<i4", "(1,)"), bytes_of<std::int32_t>({1}, true))),
                    "value 16777216 at index 0");
  // uint16 65535 is not -1.
  expect_read_fails(make("u2bad.npy", npy_file(dict("<u2", "(2,)"), bytes_of<std::uint16_t>({1, 65535}))),
                    "value 65535 at index 1 is not ±1");
  expect_read_fails(make("negzero.npy", npy_file(dict("<f8", "(1,)"), bytes_of<double>({-0.0}))),
                    "is not ±1");
  expect_read_fails(make("inf.npy", npy_file(dict("<f8", "(1,)"), bytes_of<double>({INFINITY}))),
                    "value inf at index 0");
  expect_read_fails(make("near.npy", npy_file(dict("<f8", "(1,)"), bytes_of<double>({1.0000001}))),
                    "value 1.0000001 at index 0");
}

TEST(Npy, UnsupportedDtypes) {
  const std::string data(16, '\0');
  for (const std::string descr : {"<c8", "<f2", "<U1", "|S2", "O", "<i3", "<f16", "", "<", "<M8[ns]"}) {
    const std::string path = make("dtype_bad.npy", npy_file(dict(descr, "(2,)"), data));
    expect_read_fails(path, "unsupported dtype '" + descr + "'");
  }
}

TEST(Npy, StructuredDtype) {
  const std::string path = make(
      "structured.npy",
      npy_file("{'descr': [('a', '<i4'), ('b', '<f8')], 'fortran_order': False, 'shape': (1,), }",
               std::string(12, '\0')));
  expect_read_fails(path, "structured dtypes are not supported");
}

TEST(Npy, AbsurdShapes) {
  expect_read_fails(
      make("absurd.npy", npy_file(dict("|i1", "(1000000000000, 1000000000000)"), "\x01")),
      "shape (1000000000000, 1000000000000) is too large");
  expect_read_fails(make("absurd2.npy", npy_file(dict("|i1", "(99999999999999999999999,)"), "")),
                    "is too large");
  expect_read_fails(
      make("absurd3.npy", npy_file(dict("<f8", "(4611686018427387904,)"), "")), "is too large");
  // Fits in 64 bits but is far larger than the file.
  expect_read_fails(make("absurd4.npy", npy_file(dict("<f8", "(1000000000, 1000000000)"), "\x01")),
                    "file ends after 1 of 8000000000000000000 data bytes");
}

TEST(Npy, MalformedHeaders) {
  const std::string data = bytes_of(kSigns);
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"{'descr': '|i1', 'fortran_order': False}", "no 'shape'"},
      {"{'descr': '|i1', 'shape': (6,)}", "no 'fortran_order'"},
      {"{'fortran_order': False, 'shape': (6,)}", "no 'descr'"},
      {"{'descr': '|i1', 'fortran_order': False, 'shape': (6,), 'extra': 1}", "unexpected key 'extra'"},
      {"{'descr': '|i1', 'fortran_order': 0, 'shape': (6,)}", "'fortran_order' is not True or False"},
      {"{'descr': '|i1', 'fortran_order': False, 'shape': [6]}", "'shape' is not a tuple"},
      {"{'descr': '|i1', 'fortran_order': False, 'shape': (6)}", "'shape' is not a tuple"},
      {"{'descr': '|i1', 'fortran_order': False, 'shape': (-6,)}", "negative dimension -6"},
      {"{'descr': '|i1', 'fortran_order': False, 'shape': (6.0,)}", "malformed header"},
      {"{'descr': '|i1', 'fortran_order': False, 'shape': ('6',)}", "malformed header"},
      {"{'descr': 1, 'fortran_order': False, 'shape': (6,)}", "'descr' is not a string"},
      {"{'descr': '|i1' 'fortran_order': False, 'shape': (6,)}", "malformed header"},
      {"{'descr': '|i1', 'fortran_order': False, 'shape': (6,)", "malformed header"},
      {"{'descr': '|i1', 'fortran_order': False, 'shape': (6,)} x", "malformed header"},
      {"{'descr: '|i1', 'fortran_order': False, 'shape': (6,)}", "malformed header"},
      {"['descr', '|i1']", "not a dictionary"},
      {"", "malformed header"},
      {"{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{{",
       "malformed header"},
      {std::string(100000, '('), "malformed header"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.first.substr(0, 80));
    const std::string path = make("malformed.npy", npy_file(c.first, data, 2));
    expect_read_fails(path, c.second);
  }
}

TEST(Npy, GarbageNeverCrashes) {
  const std::string good = npy_file(dict("<i2", "(3, 4)"), bytes_of(std::vector<std::int16_t>(12, -1)));
  const std::string path = temp_path("garbage.npy");
  // Every truncation of a good file is an error.
  for (std::size_t n = 0; n < good.size(); ++n) {
    write_file(path, good.substr(0, n));
    expect_read_fails(path, path + ": ");
  }
  // Random byte flips: either a clean read or a bad_input error, never anything else.
  std::mt19937 rng(12345);
  for (int trial = 0; trial < 800; ++trial) {
    std::string bytes = good;
    const int flips = 1 + static_cast<int>(rng() % 4);
    for (int f = 0; f < flips; ++f)
      bytes[rng() % bytes.size()] = static_cast<char>(rng() & 0xff);
    if (rng() % 4 == 0) bytes.resize(rng() % bytes.size());
    write_file(path, bytes);
    try {
      const SignArray a = locent::read_sign_array(path);
      std::size_t count = 1;
      for (std::size_t d : a.shape) count *= d;
      EXPECT_EQ(a.values.size(), count);
      for (std::int8_t v : a.values) EXPECT_TRUE(v == 1 || v == -1);
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ExitCode::bad_input) << e.what();
    }
  }
}

// ---------------------------------------------------------------------------------------------
// read_training_data

TEST(NpyTraining, ReadsPatternsAndLabels) {
  const std::size_t p = 3, n = 70;  // rows longer than one 64-bit word
  std::vector<double> x(p * n);
  for (std::size_t i = 0; i < x.size(); ++i) x[i] = (i % 3 == 0 || i % 7 == 0) ? 1.0 : -1.0;
  const std::string xp = make("train_x.npy", npy_file(dict("<f8", "(3, 70)"), bytes_of(x)));
  const std::string yp = make("train_y.npy", npy_file(dict("|b1", "(3,)"), std::string("\x01\x00\x01", 3)));
  const std::string yp2 = make("train_y2.npy", npy_file(dict("<i8", "(3, 1)"), bytes_of<std::int64_t>({1, -1, 1})));
  for (const std::string& labels_path : {yp, yp2}) {
    locent::BitMatrix patterns;
    std::vector<std::int8_t> labels;
    locent::read_training_data(xp, labels_path, patterns, labels);
    ASSERT_EQ(patterns.rows(), p);
    ASSERT_EQ(patterns.cols(), n);
    for (std::size_t r = 0; r < p; ++r)
      for (std::size_t c = 0; c < n; ++c)
        EXPECT_EQ(patterns.get(r, c), x[r * n + c] > 0 ? 1 : -1) << r << ", " << c;
    EXPECT_EQ(labels, (std::vector<std::int8_t>{1, -1, 1}));
    // Padding bits past the row length stay 0.
    for (std::size_t r = 0; r < p; ++r) EXPECT_EQ(patterns.row(r)[1] >> (n - 64), 0u);
  }
}

TEST(NpyTraining, FortranPatterns) {
  // C order [[1, -1, -1], [1, 1, 1]] stored column by column.
  const std::string xp = make("trainf_x.npy", npy_file(dict("|i1", "(2, 3)", true),
                                                       std::string("\x01\x01\xff\x01\xff\x01", 6)));
  const std::string yp = make("trainf_y.npy", npy_file(dict("|i1", "(2,)"), std::string("\xff\x01", 2)));
  locent::BitMatrix patterns;
  std::vector<std::int8_t> labels;
  locent::read_training_data(xp, yp, patterns, labels);
  for (std::size_t r = 0; r < 2; ++r)
    for (std::size_t c = 0; c < 3; ++c) EXPECT_EQ(patterns.get(r, c), kSigns[r * 3 + c]);
  EXPECT_EQ(labels, (std::vector<std::int8_t>{-1, 1}));
}

TEST(NpyTraining, LabelCountMismatch) {
  const std::string dir = temp_path("mismatch_");
  const std::string xp = dir + "patterns.npy", yp = dir + "labels.npy";
  write_file(xp, npy_file(dict("|i1", "(100, 201)"), std::string(100 * 201, '\x01')));
  write_file(yp, npy_file(dict("|i1", "(99,)"), std::string(99, '\xff')));
  locent::BitMatrix patterns;
  std::vector<std::int8_t> labels;
  expect_bad_input([&] { locent::read_training_data(xp, yp, patterns, labels); },
                   yp + " has 99 labels but " + xp + " has 100 patterns (shape 100 × 201)");
  write_file(yp, npy_file(dict("|i1", "(99, 1)"), std::string(99, '\xff')));
  expect_bad_input([&] { locent::read_training_data(xp, yp, patterns, labels); },
                   "has 99 labels but");
}

TEST(NpyTraining, BadShapes) {
  locent::BitMatrix patterns;
  std::vector<std::int8_t> labels;
  const std::string y2 = make("shape_y.npy", npy_file(dict("|i1", "(2,)"), std::string("\x01\x01", 2)));

  const std::string x3 =
      make("shape_x3.npy", npy_file(dict("|i1", "(2, 3, 4)"), std::string(24, '\x01')));
  expect_bad_input([&] { locent::read_training_data(x3, y2, patterns, labels); },
                   x3 + ": patterns must be a 2-D array (patterns × features) but the shape is 2 × 3 × 4");

  const std::string x1 = make("shape_x1.npy", npy_file(dict("|i1", "(2,)"), std::string(2, '\x01')));
  expect_bad_input([&] { locent::read_training_data(x1, y2, patterns, labels); }, "2-D");

  const std::string x0 = make("shape_x0.npy", npy_file(dict("|i1", "(0, 5)"), ""));
  expect_bad_input([&] { locent::read_training_data(x0, y2, patterns, labels); }, "no patterns");

  const std::string xn0 = make("shape_xn0.npy", npy_file(dict("|i1", "(2, 0)"), ""));
  expect_bad_input([&] { locent::read_training_data(xn0, y2, patterns, labels); }, "no features");

  const std::string x = make("shape_x.npy", npy_file(dict("|i1", "(2, 3)"), bytes_of(kSigns)));
  const std::string ywide =
      make("shape_ywide.npy", npy_file(dict("|i1", "(2, 2)"), std::string(4, '\x01')));
  expect_bad_input([&] { locent::read_training_data(x, ywide, patterns, labels); },
                   ywide + ": labels must be a 1-D array (P) or a P × 1 array but the shape is 2 × 2");

  const std::string yscalar = make("shape_ys.npy", npy_file(dict("|i1", "()"), "\x01"));
  expect_bad_input([&] { locent::read_training_data(x, yscalar, patterns, labels); }, "labels must be");

  // A bad value in the labels surfaces with the labels file's name.
  const std::string ybad = make("shape_ybad.npy", npy_file(dict("|i1", "(2,)"), std::string("\x01\x05", 2)));
  expect_bad_input([&] { locent::read_training_data(x, ybad, patterns, labels); },
                   ybad + ": value 5 at index 1 is not ±1");

  // The outputs are left alone on failure; the ok case still works afterwards.
  EXPECT_EQ(patterns.rows(), 0u);
  locent::read_training_data(x, y2, patterns, labels);
  EXPECT_EQ(patterns.rows(), 2u);
  EXPECT_EQ(labels, (std::vector<std::int8_t>{1, 1}));
}

}  // namespace
