// Bounded reading of text inputs (input_text.hpp).
#include "host/input_text.hpp"

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "locent/error.hpp"

namespace locent {

std::string read_input_text(const std::string& path, const std::string& what,
                            std::size_t max_bytes, std::size_t max_line) {
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode))
    throw Error(path + " is a directory, not a " + what, ExitCode::bad_input);
  std::ifstream in(path, std::ios::binary);
  if (!in)
    throw Error("cannot open the " + what + " " + path + ": " + std::strerror(errno),
                ExitCode::bad_input);
  std::string text;
  std::size_t line = 0;  // bytes of the line under way
  char buffer[1 << 16];
  while (in) {
    in.read(buffer, sizeof buffer);
    const std::size_t got = std::size_t(in.gcount());
    if (got == 0) break;
    if (std::memchr(buffer, '\0', got) != nullptr)
      throw Error(path + " holds NUL bytes: not a text " + what, ExitCode::bad_input);
    if (text.size() + got > max_bytes)
      throw Error(path + " is larger than " + std::to_string(max_bytes >> 20) + " MiB: not a " +
                      what,
                  ExitCode::bad_input);
    // The length of the line under way, segment by segment between newlines.
    for (const char *at = buffer, *end = buffer + got; at < end;) {
      const char* newline = static_cast<const char*>(std::memchr(at, '\n', std::size_t(end - at)));
      line += std::size_t((newline ? newline : end) - at);
      if (line > max_line)
        throw Error(path + " has a line longer than " + std::to_string(max_line) +
                        " bytes: not a " + what,
                    ExitCode::bad_input);
      if (newline) line = 0;
      at = newline ? newline + 1 : end;
    }
    text.append(buffer, got);
  }
  if (in.bad()) throw Error("cannot read the " + what + " " + path, ExitCode::bad_input);
  if (text.compare(0, 3, "\xEF\xBB\xBF") == 0) text.erase(0, 3);  // a UTF-8 byte-order mark
  return text;
}

}  // namespace locent
