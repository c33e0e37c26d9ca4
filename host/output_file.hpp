// Output files of the command-line tool: checked before the work that fills them, written so that
// a failed write leaves what was there, and standard output checked like any file.
#pragma once
#include <cstdio>
#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace locent {

// Refuses (Error(usage)) an output path that cannot be written, before the work that fills it:
// an empty path, a directory, a parent that is missing, not a directory or not writable.
// `option` names it in the message.
void check_output_path(const std::string& path, const std::string& option);

// Refuses (Error(usage)) two outputs that are one file, and an output that is one of the inputs
// (`allowed`: an (output option, input option) pair that may name one file, e.g. messages saved
// over the ones a run started from). Items are (option, path); empty paths and streams
// (/dev/..., /proc/...) are left out.
using NamedPath = std::pair<std::string, std::string>;
void check_distinct_files(const std::vector<NamedPath>& outputs,
                          const std::vector<NamedPath>& inputs,
                          const std::vector<std::pair<std::string, std::string>>& allowed = {});

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
