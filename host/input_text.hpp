// Text inputs of the command-line tool (sweep files, fBP protocol files, results files), read
// with limits, so that a directory, a binary file or an endless device is refused with a clear
// message instead of an empty parse or a read that fills the memory.
#pragma once
#include <cstddef>
#include <string>

namespace locent {

// The whole text of `path`. Refuses (Error(bad_input), naming `what`, e.g. "sweep file") a path
// that cannot be opened or is a directory, a NUL byte, a line longer than `max_line` bytes and a
// text longer than `max_bytes`, each as soon as it is read.
std::string read_input_text(const std::string& path, const std::string& what,
                            std::size_t max_bytes, std::size_t max_line = std::size_t{1} << 20);

}  // namespace locent
