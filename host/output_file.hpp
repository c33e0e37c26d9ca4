// Output files of the command-line tool: checked before the work that fills them, written so that
// a failed write leaves what was there, and standard output checked like any file.
#pragma once
#include <cstdio>
#include <functional>
#include <string>

namespace locent {

// Refuses (Error(usage)) an output path that cannot be written, before the work that fills it:
// an empty path, a directory, a parent that is missing, not a directory or not writable.
// `option` names it in the message.
void check_output_path(const std::string& path, const std::string& option);

// Writes `path` by `write` (which returns true when every byte went out). A regular file, or a
// new one, is written beside it and renamed over it, so that a failed write leaves what was
// there; a symbolic link to one keeps the link and replaces its target. Anything else (a device,
// a pipe) is written in place and never removed. Throws Error(bad_input) naming the path.
void write_output_file(const std::string& path, const std::function<bool(std::FILE*)>& write);
void write_output_text(const std::string& path, const std::string& text);

// Standard output, flushed and checked: a full disk or a closed stream is an error
// (Error(bad_input), as for any output file), not a result silently lost.
void write_stdout(const std::string& text);

}  // namespace locent
