// NumPy .npy reading and writing (npy.hpp): ±1 training data in, int8 weights out, float32 fBP
// messages both ways. Every malformed input becomes a locent::Error(bad_input) that names the file
// and what is wrong with it.
#include "locent/npy.hpp"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iomanip>
#include <limits>
#include <memory>
#include <sstream>
#include <type_traits>
#include <utility>

#include "host/output_file.hpp"
#include "host/text_format.hpp"
#include "locent/error.hpp"

namespace locent {
namespace {

constexpr char kMagic[] = "\x93NUMPY";
constexpr std::size_t kMagicLen = 6;
constexpr std::size_t kChunkBytes = std::size_t{1} << 20;  // data is read and checked in chunks
constexpr int kMaxLiteralDepth = 64;                       // nesting limit for the header parser

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw Error(path + ": " + what, ExitCode::bad_input);
}

struct FileCloser {
  void operator()(std::FILE* f) const {
    if (f) std::fclose(f);
  }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

bool host_is_little_endian() {
  const std::uint16_t one = 1;
  unsigned char first = 0;
  std::memcpy(&first, &one, 1);
  return first == 1;
}

// Header text for an error message: non-printable bytes escaped, long text cut short.
std::string printable(const std::string& s, std::size_t max_len = 160) {
  std::string out;
  for (std::size_t i = 0; i < s.size() && i < max_len; ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == '\n') {
      out += "\\n";
    } else if (c < 0x20 || c >= 0x7f) {
      static const char hex[] = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  if (s.size() > max_len) out += "...";
  return out;
}

// "(3, 4)" / "(5,)" / "()" like Python's repr of a tuple.
std::string python_tuple(const std::vector<std::size_t>& shape) {
  std::string s = "(";
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(shape[i]);
  }
  if (shape.size() == 1) s += ",";
  return s + ")";
}

// "100 × 201" for messages about training data.
std::string shape_text(const std::vector<std::size_t>& shape) {
  if (shape.empty()) return "() (a scalar)";
  std::string s;
  for (std::size_t i = 0; i < shape.size(); ++i) {
    if (i) s += " × ";
    s += std::to_string(shape[i]);
  }
  return s;
}

// Shortest decimal text that reads back as the same value.
template <typename F>
std::string float_text(F v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  std::string text;
  for (int digits = 1; digits <= std::numeric_limits<F>::max_digits10; ++digits) {
    std::ostringstream os;
    os << std::setprecision(digits) << static_cast<double>(v);
    text = os.str();
    if (static_cast<F>(std::strtod(text.c_str(), nullptr)) == v) break;
  }
  return text;
}

// ---------------------------------------------------------------------------------------------
// A Python literal (the .npy header is the repr of a dict).

struct Literal {
  enum class Kind { string, integer, boolean, none, tuple, list, dict };
  Kind kind = Kind::none;
  std::string text;              // string; for integer, the digits as written (for messages)
  std::uint64_t magnitude = 0;   // integer
  bool negative = false;         // integer
  bool overflow = false;         // integer does not fit in 64 bits
  bool truth = false;            // boolean
  std::vector<Literal> items;    // tuple / list; dict: key, value, key, value, ...
};

struct LiteralError {
  std::string what;
  std::size_t offset;
};

class LiteralParser {
 public:
  explicit LiteralParser(const std::string& text) : s_(text) {}

  Literal parse_document() {
    skip_space();
    Literal v = value(0);
    skip_space();
    if (pos_ != s_.size())
      error(v.kind == Literal::Kind::dict ? "unexpected text after the closing '}'"
                                          : "unexpected text after the value");
    return v;
  }

 private:
  [[noreturn]] void error(const std::string& what) const { throw LiteralError{what, pos_}; }

  bool at_end() const { return pos_ >= s_.size(); }
  char peek() const { return at_end() ? '\0' : s_[pos_]; }

  void skip_space() {
    while (!at_end()) {
      const char c = s_[pos_];
      if (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v')
        ++pos_;
      else
        break;
    }
  }

  Literal value(int depth) {
    if (depth > kMaxLiteralDepth) error("nested too deeply");
    if (at_end()) error("unexpected end of header");
    const char c = peek();
    if (c == '\'' || c == '"') return string_literal();
    if (c == '(') return sequence(depth, Literal::Kind::tuple, ')');
    if (c == '[') return sequence(depth, Literal::Kind::list, ']');
    if (c == '{') return sequence(depth, Literal::Kind::dict, '}');
    if (c == '-' || c == '+' || (c >= '0' && c <= '9')) return integer();
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_') return name();
    error(std::string("unexpected character '") + printable(std::string(1, c)) + "'");
  }

  Literal string_literal() {
    const char quote = s_[pos_++];
    Literal v;
    v.kind = Literal::Kind::string;
    while (true) {
      if (at_end()) error("unterminated string");
      char c = s_[pos_++];
      if (c == quote) break;
      if (c == '\n') error("unterminated string");
      if (c == '\\') {
        if (at_end()) error("unterminated string");
        c = s_[pos_++];
      }
      v.text += c;
    }
    return v;
  }

  Literal integer() {
    Literal v;
    v.kind = Literal::Kind::integer;
    const std::size_t start = pos_;
    if (peek() == '-' || peek() == '+') v.negative = s_[pos_++] == '-';
    if (!(peek() >= '0' && peek() <= '9')) error("expected a number");
    while (peek() >= '0' && peek() <= '9') {
      const std::uint64_t digit = static_cast<std::uint64_t>(s_[pos_++] - '0');
      if (v.magnitude > (std::numeric_limits<std::uint64_t>::max() - digit) / 10)
        v.overflow = true;
      else
        v.magnitude = v.magnitude * 10 + digit;
    }
    if (peek() == 'L' || peek() == 'l') ++pos_;  // Python 2 long literal
    if (peek() == '.' || peek() == 'e' || peek() == 'E' || peek() == 'j' || peek() == 'x')
      error("expected an integer");
    v.text = s_.substr(start, pos_ - start);
    if (v.negative && v.magnitude == 0) v.negative = false;
    return v;
  }

  Literal name() {
    const std::size_t start = pos_;
    while (!at_end()) {
      const char c = s_[pos_];
      if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_')
        ++pos_;
      else
        break;
    }
    const std::string word = s_.substr(start, pos_ - start);
    Literal v;
    if (word == "True" || word == "False") {
      v.kind = Literal::Kind::boolean;
      v.truth = word == "True";
    } else if (word == "None") {
      v.kind = Literal::Kind::none;
    } else {
      pos_ = start;
      error("unexpected name '" + printable(word, 40) + "'");
    }
    return v;
  }

  // Tuple, list or dict; "(x)" without a comma is just x, as in Python.
  Literal sequence(int depth, Literal::Kind kind, char close) {
    ++pos_;  // the opening bracket
    Literal v;
    v.kind = kind;
    bool comma = false;
    skip_space();
    while (peek() != close) {
      v.items.push_back(value(depth + 1));
      skip_space();
      if (kind == Literal::Kind::dict) {
        if (peek() != ':') error("expected ':'");
        ++pos_;
        skip_space();
        v.items.push_back(value(depth + 1));
        skip_space();
      }
      if (peek() == ',') {
        comma = true;
        ++pos_;
        skip_space();
      } else if (peek() != close) {
        if (at_end()) error("unexpected end of header");
        error(std::string("expected ',' or '") + close + "'");
      }
    }
    ++pos_;  // the closing bracket
    if (kind == Literal::Kind::tuple && v.items.size() == 1 && !comma) {
      Literal inner = std::move(v.items[0]);
      return inner;
    }
    return v;
  }

  const std::string& s_;
  std::size_t pos_ = 0;
};

// ---------------------------------------------------------------------------------------------
// dtype and header

enum class ValueKind { zero_one, signed_int, unsigned_int, floating };

struct DType {
  ValueKind kind = ValueKind::signed_int;
  std::size_t size = 1;
  bool swap = false;  // stored in the other byte order than the host's
};

struct Header {
  DType dtype;
  bool fortran_order = false;
  std::vector<std::size_t> shape;
  std::size_t count = 0;   // product of shape
  std::uint64_t nbytes = 0;  // count * item size
};

DType parse_descr(const std::string& path, const std::string& descr) {
  const std::string quoted = "'" + printable(descr, 40) + "'";
  std::size_t i = 0;
  char order = '|';
  if (!descr.empty() && std::strchr("<>|=", descr[0]) != nullptr) order = descr[i++];
  if (i >= descr.size()) fail(path, "unsupported dtype " + quoted);
  const char kind = descr[i++];
  const std::string digits = descr.substr(i);
  std::size_t size = 0;
  if (digits == "1") size = 1;
  else if (digits == "2") size = 2;
  else if (digits == "4") size = 4;
  else if (digits == "8") size = 8;

  DType t;
  t.size = size;
  if (kind == 'b' && size == 1) {
    t.kind = ValueKind::zero_one;
  } else if (kind == 'u' && size == 1) {
    t.kind = ValueKind::zero_one;
  } else if (kind == 'u' && size != 0) {
    t.kind = ValueKind::unsigned_int;
  } else if (kind == 'i' && size != 0) {
    t.kind = ValueKind::signed_int;
  } else if (kind == 'f' && (size == 4 || size == 8)) {
    t.kind = ValueKind::floating;
  } else {
    fail(path, "unsupported dtype " + quoted +
                   " (expected a bool, integer, float32 or float64 dtype such as '|i1' or '<f8')");
  }
  const bool little = host_is_little_endian();
  t.swap = size > 1 && ((order == '<' && !little) || (order == '>' && little));
  return t;
}

Header parse_header(const std::string& path, const std::string& text) {
  Literal dict;
  try {
    dict = LiteralParser(text).parse_document();
  } catch (const LiteralError& e) {
    fail(path, "malformed header: " + e.what + " at offset " + std::to_string(e.offset) +
                   " in \"" + printable(text) + "\"");
  }
  if (dict.kind != Literal::Kind::dict)
    fail(path, "malformed header: not a dictionary: \"" + printable(text) + "\"");

  const Literal* descr = nullptr;
  const Literal* fortran = nullptr;
  const Literal* shape = nullptr;
  for (std::size_t i = 0; i + 1 < dict.items.size(); i += 2) {
    const Literal& key = dict.items[i];
    const Literal& value = dict.items[i + 1];
    if (key.kind != Literal::Kind::string)
      fail(path, "malformed header: a key is not a string: \"" + printable(text) + "\"");
    if (key.text == "descr")
      descr = &value;
    else if (key.text == "fortran_order")
      fortran = &value;
    else if (key.text == "shape")
      shape = &value;
    else
      fail(path, "malformed header: unexpected key '" + printable(key.text, 40) +
                     "' (expected 'descr', 'fortran_order' and 'shape')");
  }
  if (descr == nullptr) fail(path, "malformed header: no 'descr' key");
  if (fortran == nullptr) fail(path, "malformed header: no 'fortran_order' key");
  if (shape == nullptr) fail(path, "malformed header: no 'shape' key");

  Header h;
  if (descr->kind == Literal::Kind::list)
    fail(path, "structured dtypes are not supported (descr is a list of fields)");
  if (descr->kind != Literal::Kind::string)
    fail(path, "malformed header: 'descr' is not a string");
  h.dtype = parse_descr(path, descr->text);

  if (fortran->kind != Literal::Kind::boolean)
    fail(path, "malformed header: 'fortran_order' is not True or False");
  h.fortran_order = fortran->truth;

  if (shape->kind != Literal::Kind::tuple)
    fail(path, "malformed header: 'shape' is not a tuple");
  std::string written = "(";  // the shape as written, for the "too large" message
  bool too_large = false;
  for (std::size_t i = 0; i < shape->items.size(); ++i) {
    const Literal& d = shape->items[i];
    if (d.kind != Literal::Kind::integer)
      fail(path, "malformed header: 'shape' holds something other than integers");
    if (d.negative) fail(path, "malformed header: 'shape' has a negative dimension " + d.text);
    if (d.overflow || d.magnitude > std::numeric_limits<std::size_t>::max()) too_large = true;
    h.shape.push_back(static_cast<std::size_t>(d.magnitude));
    written += (i ? ", " : "") + d.text;
  }
  written += shape->items.size() == 1 ? ",)" : ")";

  // Product of the dimensions and the byte count, refusing anything that overflows.
  const std::size_t max = std::numeric_limits<std::size_t>::max();
  std::size_t count = 1;
  bool zero = false;
  for (std::size_t d : h.shape) zero = zero || d == 0;
  if (!zero) {
    for (std::size_t d : h.shape) {
      if (count > max / d) too_large = true;
      if (too_large) break;
      count *= d;
    }
  } else {
    count = 0;
  }
  if (too_large || count > max / h.dtype.size) fail(path, "shape " + written + " is too large");
  h.count = count;
  h.nbytes = static_cast<std::uint64_t>(count) * h.dtype.size;
  return h;
}

// ---------------------------------------------------------------------------------------------
// Reading

class Reader {
 public:
  Reader(std::FILE* f, const std::string& path) : f_(f), path_(path) {}

  // Reads up to n bytes; fewer only at the end of the file.
  std::size_t read_some(void* dst, std::size_t n) {
    std::size_t got = 0;
    while (got < n) {
      errno = 0;
      const std::size_t r = std::fread(static_cast<char*>(dst) + got, 1, n - got, f_);
      got += r;
      if (r == 0) {
        if (std::ferror(f_)) fail(path_, "cannot read: " + errno_text(errno));
        break;
      }
    }
    return got;
  }

  // Bytes left from the current position, or -1 when the file cannot be sized (a pipe).
  long long remaining() {
    const long here = std::ftell(f_);
    if (here < 0) return -1;
    if (std::fseek(f_, 0, SEEK_END) != 0) {
      std::clearerr(f_);
      return -1;
    }
    const long end = std::ftell(f_);
    if (std::fseek(f_, here, SEEK_SET) != 0) fail(path_, "cannot seek: " + errno_text(errno));
    if (end < here) return -1;
    return static_cast<long long>(end) - here;
  }

  // Counts the bytes from here to the end of the file.
  std::uint64_t count_rest() {
    std::uint64_t n = 0;
    char buf[4096];
    while (true) {
      const std::size_t got = read_some(buf, sizeof buf);
      n += got;
      if (got < sizeof buf) return n;
    }
  }

 private:
  std::FILE* f_;
  const std::string& path_;
};

template <typename T>
T load(const unsigned char* p, bool swap) {
  unsigned char b[sizeof(T)];
  if (swap) {
    for (std::size_t i = 0; i < sizeof(T); ++i) b[i] = p[sizeof(T) - 1 - i];
  } else {
    std::memcpy(b, p, sizeof(T));
  }
  T v;
  std::memcpy(&v, b, sizeof(T));
  return v;
}

template <typename T>
std::string value_text(T v) {
  if constexpr (std::is_floating_point_v<T>)
    return float_text(v);
  else
    return std::to_string(+v);
}

// Converts n values; returns the position of the first value that is not allowed (and its text
// in `bad`), or n when all are fine.
template <typename T>
std::size_t convert(const unsigned char* p, std::size_t n, const DType& t, std::int8_t* out,
                    std::string& bad) {
  for (std::size_t i = 0; i < n; ++i) {
    const T v = load<T>(p + i * sizeof(T), t.swap);
    std::int8_t s = 0;
    if (t.kind == ValueKind::zero_one) {
      if (v == T(0)) s = -1;
      else if (v == T(1)) s = 1;
    } else if constexpr (std::is_unsigned_v<T>) {
      if (v == T(1)) s = 1;
    } else {
      if (v == T(1)) s = 1;
      else if (v == T(-1)) s = -1;
    }
    if (s == 0) {
      bad = value_text(v);
      return i;
    }
    out[i] = s;
  }
  return n;
}

std::size_t convert_any(const unsigned char* p, std::size_t n, const DType& t, std::int8_t* out,
                        std::string& bad) {
  switch (t.kind) {
    case ValueKind::zero_one:
      return convert<std::uint8_t>(p, n, t, out, bad);
    case ValueKind::signed_int:
      switch (t.size) {
        case 1: return convert<std::int8_t>(p, n, t, out, bad);
        case 2: return convert<std::int16_t>(p, n, t, out, bad);
        case 4: return convert<std::int32_t>(p, n, t, out, bad);
        default: return convert<std::int64_t>(p, n, t, out, bad);
      }
    case ValueKind::unsigned_int:
      switch (t.size) {
        case 2: return convert<std::uint16_t>(p, n, t, out, bad);
        case 4: return convert<std::uint32_t>(p, n, t, out, bad);
        default: return convert<std::uint64_t>(p, n, t, out, bad);
      }
    case ValueKind::floating:
      if (t.size == 4) return convert<float>(p, n, t, out, bad);
      return convert<double>(p, n, t, out, bad);
  }
  return 0;
}

// "index (3, 7)" for the element at position `linear` in file order.
std::string index_text(const Header& h, std::size_t linear) {
  const std::size_t nd = h.shape.size();
  std::vector<std::size_t> idx(nd, 0);
  if (h.fortran_order) {
    for (std::size_t k = 0; k < nd; ++k) {
      idx[k] = linear % h.shape[k];
      linear /= h.shape[k];
    }
  } else {
    for (std::size_t k = nd; k-- > 0;) {
      idx[k] = linear % h.shape[k];
      linear /= h.shape[k];
    }
  }
  if (nd == 1) return "index " + std::to_string(idx[0]);
  std::string s = "index (";
  for (std::size_t k = 0; k < nd; ++k) s += (k ? ", " : "") + std::to_string(idx[k]);
  return s + ")";
}

// Fortran-order values → C order.
std::vector<std::int8_t> fortran_to_c(const std::vector<std::int8_t>& f,
                                      const std::vector<std::size_t>& shape) {
  const std::size_t nd = shape.size();
  std::vector<std::int8_t> c(f.size());
  if (f.empty()) return c;
  std::vector<std::size_t> stride(nd, 1);  // Fortran strides, in elements
  for (std::size_t k = 1; k < nd; ++k) stride[k] = stride[k - 1] * shape[k - 1];
  std::vector<std::size_t> idx(nd, 0);
  std::size_t off = 0;
  for (std::size_t i = 0; i < c.size(); ++i) {
    c[i] = f[off];
    for (std::size_t k = nd; k-- > 0;) {  // advance the C-order index, last axis fastest
      off += stride[k];
      if (++idx[k] < shape[k]) break;
      off -= stride[k] * shape[k];
      idx[k] = 0;
    }
  }
  return c;
}

std::uint64_t read_le(const unsigned char* p, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = n; i-- > 0;) v = (v << 8) | p[i];
  return v;
}

// Reads and parses everything before the data: magic string, version, header length, header.
Header read_npy_header(Reader& in, const std::string& path) {
  // Magic string, version, header length.
  unsigned char pre[12];
  std::size_t got = in.read_some(pre, 8);
  if (got == 0) fail(path, "not a .npy file (the file is empty)");
  if (got < kMagicLen || std::memcmp(pre, kMagic, kMagicLen) != 0)
    fail(path, "not a .npy file (bad magic)");
  if (got < 8) fail(path, "truncated header (the file ends inside the format version)");
  const unsigned major = pre[6], minor = pre[7];
  if (!((major == 1 || major == 2 || major == 3) && minor == 0))
    fail(path, "unsupported .npy format version " + std::to_string(major) + "." +
                   std::to_string(minor) + " (expected 1.0, 2.0 or 3.0)");
  const std::size_t len_bytes = major == 1 ? 2 : 4;
  if (in.read_some(pre + 8, len_bytes) < len_bytes)
    fail(path, "truncated header (the file ends inside the header length)");
  const std::uint64_t header_len = read_le(pre + 8, len_bytes);

  // Header text, read in pieces so a bogus length cannot make us allocate a huge buffer.
  std::string text;
  while (text.size() < header_len) {
    const std::size_t want =
        static_cast<std::size_t>(std::min<std::uint64_t>(header_len - text.size(), 65536));
    const std::size_t old = text.size();
    text.resize(old + want);
    const std::size_t n = in.read_some(&text[old], want);
    text.resize(old + n);
    if (n < want)
      fail(path, "truncated header (the file ends after " + std::to_string(text.size()) + " of " +
                     std::to_string(header_len) + " header bytes)");
  }
  return parse_header(path, text);
}

}  // namespace

SignArray read_sign_array(const std::string& path) {
  errno = 0;
  FilePtr file(std::fopen(path.c_str(), "rb"));
  if (!file) fail(path, "cannot open: " + errno_text(errno));
  Reader in(file.get(), path);
  const Header h = read_npy_header(in, path);

  // Compare the data size with the file size before allocating anything for it.
  const auto data_bytes_text = [&](std::uint64_t have) {
    return "file ends after " + std::to_string(have) + " of " + std::to_string(h.nbytes) +
           " data bytes";
  };
  const long long left = in.remaining();
  if (left >= 0) {
    const auto have = static_cast<std::uint64_t>(left);
    if (have < h.nbytes) fail(path, data_bytes_text(have));
    if (have > h.nbytes) fail(path, std::to_string(have - h.nbytes) + " trailing bytes after the data");
  }

  SignArray out;
  out.shape = h.shape;
  if (left >= 0) out.values.resize(h.count);
  const std::size_t item = h.dtype.size;
  const std::size_t chunk_items = kChunkBytes / item;
  std::vector<unsigned char> buf(static_cast<std::size_t>(
      std::min<std::uint64_t>(h.nbytes, static_cast<std::uint64_t>(chunk_items) * item)));
  std::size_t done = 0;
  while (done < h.count) {
    const std::size_t n = std::min(h.count - done, chunk_items);
    const std::size_t bytes = in.read_some(buf.data(), n * item);
    if (bytes < n * item)
      fail(path, data_bytes_text(static_cast<std::uint64_t>(done) * item + bytes));
    if (out.values.size() < done + n) out.values.resize(done + n);  // a file of unknown size
    std::string bad;
    const std::size_t ok = convert_any(buf.data(), n, h.dtype, out.values.data() + done, bad);
    if (ok < n) {
      const bool zero_one = h.dtype.kind == ValueKind::zero_one;
      fail(path, "value " + bad + " at " + index_text(h, done + ok) +
                     (zero_one ? " is not 0 or 1 (bool and uint8 arrays must hold 0/1)"
                               : " is not ±1"));
    }
    done += n;
  }
  const std::uint64_t trailing = in.count_rest();
  if (trailing > 0) fail(path, std::to_string(trailing) + " trailing bytes after the data");

  if (h.fortran_order && h.shape.size() >= 2) out.values = fortran_to_c(out.values, h.shape);
  return out;
}

void read_training_data(const std::string& patterns_path, const std::string& labels_path,
                        BitMatrix& patterns, std::vector<std::int8_t>& labels) {
  SignArray x = read_sign_array(patterns_path);
  if (x.shape.size() != 2)
    fail(patterns_path, "patterns must be a 2-D array (patterns × features) but the shape is " +
                            shape_text(x.shape));
  const std::size_t p = x.shape[0], n = x.shape[1];
  if (p == 0) fail(patterns_path, "there are no patterns (shape " + shape_text(x.shape) + ")");
  if (n == 0)
    fail(patterns_path, "the patterns have no features (shape " + shape_text(x.shape) + ")");

  SignArray y = read_sign_array(labels_path);
  const bool column = y.shape.size() == 2 && y.shape[1] == 1;
  if (y.shape.size() != 1 && !column)
    fail(labels_path, "labels must be a 1-D array (P) or a P × 1 array but the shape is " +
                          shape_text(y.shape));
  if (y.shape[0] != p)
    throw Error(labels_path + " has " + std::to_string(y.shape[0]) + " labels but " +
                    patterns_path + " has " + std::to_string(p) + " patterns (shape " +
                    shape_text(x.shape) + ")",
                ExitCode::bad_input);

  BitMatrix m(p, n);
  for (std::size_t r = 0; r < p; ++r) {
    std::uint64_t* words = m.row(r);
    const std::int8_t* v = x.values.data() + r * n;
    for (std::size_t c = 0; c < n; ++c)
      if (v[c] > 0) words[c / kWordBits] |= std::uint64_t{1} << (c % kWordBits);
  }
  patterns = std::move(m);
  labels = std::move(y.values);
}

namespace {

// Writes a C-order array of `values_count` items of `item_size` bytes with dtype `descr`.
void write_npy(const std::string& path, const std::string& descr,
               const std::vector<std::size_t>& shape, const void* data, std::size_t values_count,
               std::size_t item_size) {
  std::size_t count = 1;
  bool overflow = false;
  for (std::size_t d : shape) {
    if (d != 0 && count > std::numeric_limits<std::size_t>::max() / d) overflow = true;
    count *= d;
  }
  if (overflow || count != values_count)
    throw Error("internal error: writing " + path + ": shape " + python_tuple(shape) +
                    " does not match " + std::to_string(values_count) + " values",
                ExitCode::failure);

  // The header as numpy writes it: the dict, spare room for growing the first axis, then spaces
  // and a newline so that the data starts at a multiple of 64 bytes.
  std::string header = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " +
                       python_tuple(shape) + ", }";
  if (!shape.empty()) {
    const std::size_t digits = std::to_string(shape[0]).size();
    if (digits < 21) header.append(21 - digits, ' ');
  }
  unsigned char major = 1;
  std::size_t len_bytes = 2;
  std::size_t hlen = header.size() + 1;
  std::size_t pad = 64 - (kMagicLen + 2 + len_bytes + hlen) % 64;
  if (hlen + pad > 0xffff) {
    major = 2;
    len_bytes = 4;
    pad = 64 - (kMagicLen + 2 + len_bytes + hlen) % 64;
  }
  header.append(pad, ' ');
  header += '\n';

  std::string prefix(kMagic, kMagicLen);
  prefix += static_cast<char>(major);
  prefix += '\0';
  for (std::size_t i = 0; i < len_bytes; ++i)
    prefix += static_cast<char>((header.size() >> (8 * i)) & 0xff);

  write_output_file(path, [&](std::FILE* f) {
    return std::fwrite(prefix.data(), 1, prefix.size(), f) == prefix.size() &&
           std::fwrite(header.data(), 1, header.size(), f) == header.size() &&
           (values_count == 0 || std::fwrite(data, item_size, values_count, f) == values_count);
  });
}

}  // namespace

void write_int8_array(const std::string& path, const std::vector<std::size_t>& shape,
                      const std::vector<std::int8_t>& values) {
  write_npy(path, "|i1", shape, values.data(), values.size(), 1);
}

void write_float32_array(const std::string& path, const std::vector<std::size_t>& shape,
                         const std::vector<float>& values) {
  static_assert(sizeof(float) == 4, "float32");
  if (!host_is_little_endian()) {
    std::vector<float> le(values);
    for (float& v : le) {
      unsigned char b[4];
      std::memcpy(b, &v, 4);
      std::swap(b[0], b[3]);
      std::swap(b[1], b[2]);
      std::memcpy(&v, b, 4);
    }
    write_npy(path, "<f4", shape, le.data(), le.size(), 4);
    return;
  }
  write_npy(path, "<f4", shape, values.data(), values.size(), 4);
}

FloatArray read_float32_array(const std::string& path) {
  errno = 0;
  FilePtr file(std::fopen(path.c_str(), "rb"));
  if (!file) fail(path, "cannot open: " + errno_text(errno));
  Reader in(file.get(), path);
  const Header h = read_npy_header(in, path);
  if (h.dtype.kind != ValueKind::floating)
    fail(path, "expected a float32 or float64 array");
  if (h.fortran_order && h.shape.size() >= 2)
    fail(path, "Fortran-order float arrays are not supported; save it in C order");
  const long long left = in.remaining();
  if (left >= 0 && static_cast<std::uint64_t>(left) != h.nbytes)
    fail(path, static_cast<std::uint64_t>(left) < h.nbytes
                   ? "file ends after " + std::to_string(left) + " of " + std::to_string(h.nbytes) +
                         " data bytes"
                   : std::to_string(static_cast<std::uint64_t>(left) - h.nbytes) +
                         " trailing bytes after the data");
  FloatArray out;
  out.shape = h.shape;
  // A file of known size holds all the data (checked above); a stream of unknown size grows the
  // array as its data arrives, so that a header with a huge shape ends as "file ends inside the
  // data", not as an allocation of the header's size.
  if (left >= 0) out.values.resize(h.count);
  std::vector<unsigned char> buf(std::min<std::size_t>(kChunkBytes, h.count * h.dtype.size));
  const std::size_t chunk_items = buf.empty() ? 1 : buf.size() / h.dtype.size;
  for (std::size_t done = 0; done < h.count;) {
    const std::size_t n = std::min(h.count - done, chunk_items);
    if (in.read_some(buf.data(), n * h.dtype.size) < n * h.dtype.size)
      fail(path, "file ends inside the data");
    if (out.values.size() < done + n) out.values.resize(done + n);
    for (std::size_t i = 0; i < n; ++i) {
      const unsigned char* p = buf.data() + i * h.dtype.size;
      out.values[done + i] = h.dtype.size == 4 ? load<float>(p, h.dtype.swap)
                                               : static_cast<float>(load<double>(p, h.dtype.swap));
    }
    done += n;
  }
  return out;
}

}  // namespace locent
