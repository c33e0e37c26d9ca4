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
  std::size_t line_start = 0;
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
    text.append(buffer, got);
    const std::size_t last_newline = text.find_last_of('\n');
    if (last_newline != std::string::npos && last_newline + 1 > line_start)
      line_start = last_newline + 1;
    if (text.size() - line_start > max_line)
      throw Error(path + " has a line longer than " + std::to_string(max_line >> 20) +
                      " MiB: not a " + what,
                  ExitCode::bad_input);
  }
  if (in.bad()) throw Error("cannot read the " + what + " " + path, ExitCode::bad_input);
  return text;
}

}  // namespace locent
