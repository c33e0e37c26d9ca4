// Output files: checked up front, replaced whole or not at all (output_file.hpp).
#include "host/output_file.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "host/text_format.hpp"
#include "locent/error.hpp"

namespace locent {
namespace {

namespace fs = std::filesystem;

[[noreturn]] void cannot_write(const std::string& path, int err) {
  throw Error(path + ": cannot write: " + errno_text(err), ExitCode::bad_input);
}

// Writes an open stream and closes it; the errno of the first failure, or 0.
int finish(std::FILE* f, const std::function<bool(std::FILE*)>& write) {
  errno = 0;
  const bool wrote = write(f) && std::fflush(f) == 0;
  int err = wrote ? 0 : (errno != 0 ? errno : EIO);
  if (err == 0 && ::fsync(fileno(f)) != 0 && errno != EINVAL && errno != EROFS) err = errno;
  if (std::fclose(f) != 0 && err == 0) err = errno != 0 ? errno : EIO;
  return err;
}

// A stream the process already has open (/dev/stdout, /dev/fd/3, /proc/self/fd/1): written in
// place, whatever it leads to, so that a shell's redirection (`> log`, `>> log`) is kept.
bool names_an_open_stream(const std::string& path) {
  return path.rfind("/dev/", 0) == 0 || path.rfind("/proc/", 0) == 0;
}

// The descriptor that /dev/stdout, /dev/stderr, /dev/fd/N or /proc/self/fd/N names, or -1.
int open_descriptor(const std::string& path) {
  if (path == "/dev/stdout") return 1;
  if (path == "/dev/stderr") return 2;
  for (const char* prefix : {"/dev/fd/", "/proc/self/fd/"}) {
    const std::string p(prefix);
    if (path.size() > p.size() && path.compare(0, p.size(), p) == 0 &&
        path.find_first_not_of("0123456789", p.size()) == std::string::npos)
      return std::atoi(path.c_str() + p.size());
  }
  return -1;
}

// Whether two paths name one file: the same inode where both exist, else the same path once made
// absolute and normal (links resolved as far as they exist).
bool same_file(const std::string& a, const std::string& b) {
  std::error_code e1, e2;
  if (fs::exists(a, e1) && fs::exists(b, e2)) return fs::equivalent(a, b, e1);
  return fs::weakly_canonical(fs::absolute(a, e1), e1) ==
         fs::weakly_canonical(fs::absolute(b, e2), e2);
}

}  // namespace

void check_output_path(const std::string& path, const std::string& option) {
  if (path.empty()) throw Error(option + " needs a file name (got an empty one)");
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) throw Error(option + " " + path + " is a directory, not a file");
    if (S_ISREG(st.st_mode) && ::access(path.c_str(), W_OK) != 0)
      throw Error(option + " " + path + " is not writable: " + errno_text(errno));
    if (S_ISREG(st.st_mode) && ::access(parent_directory(path).c_str(), W_OK | X_OK) != 0)
      throw Error(option + " " + path + ": its directory is not writable: " + errno_text(errno));
    return;
  }
  const std::string parent = parent_directory(path);
  struct stat dir {};
  if (::stat(parent.c_str(), &dir) != 0)
    throw Error(option + " " + path + ": no directory " + parent + " (" + errno_text(errno) + ")");
  if (!S_ISDIR(dir.st_mode)) throw Error(option + " " + path + ": " + parent + " is not a directory");
  if (::access(parent.c_str(), W_OK | X_OK) != 0)
    throw Error(option + " " + path + ": cannot create files in " + parent + ": " +
                errno_text(errno));
}

void check_distinct_files(const std::vector<NamedPath>& outputs,
                          const std::vector<NamedPath>& inputs,
                          const std::vector<std::pair<std::string, std::string>>& allowed) {
  const auto counts = [](const NamedPath& p) {
    return !p.second.empty() && !names_an_open_stream(p.second);
  };
  for (std::size_t i = 0; i < outputs.size(); ++i) {
    if (!counts(outputs[i])) continue;
    for (std::size_t j = i + 1; j < outputs.size(); ++j)
      if (counts(outputs[j]) && same_file(outputs[i].second, outputs[j].second))
        throw Error(outputs[i].first + " and " + outputs[j].first + " name one file (" +
                    outputs[j].second + "): one would overwrite the other");
    for (const NamedPath& in : inputs) {
      if (!counts(in)) continue;
      bool fine = false;
      for (const auto& [out_option, in_option] : allowed)
        fine |= out_option == outputs[i].first && in_option == in.first;
      if (!fine && same_file(outputs[i].second, in.second))
        throw Error(outputs[i].first + " " + outputs[i].second + " is the input of " + in.first +
                    ": it would be overwritten");
    }
  }
}

void write_output_file(const std::string& path, const std::function<bool(std::FILE*)>& write) {
  struct stat st {};
  const bool exists = ::stat(path.c_str(), &st) == 0;
  if ((exists && !S_ISREG(st.st_mode)) || names_an_open_stream(path)) {
    // A device, a pipe, a stream: in place, never removed; a descriptor this process has open
    // (/dev/stdout, /dev/fd/N) is written through a copy of it, not opened again, which would
    // truncate the file a shell's `>>` appends to.
    errno = 0;
    const int open_fd = open_descriptor(path);
    std::FILE* f = open_fd >= 0 ? ::fdopen(::dup(open_fd), "wb") : std::fopen(path.c_str(), "wb");
    if (f == nullptr) cannot_write(path, errno);
    if (const int err = finish(f, write)) cannot_write(path, err);
    return;
  }
  // The file itself, not a link to it, is what gets replaced (or created, for a link to a file
  // that does not exist yet).
  std::string target = path;
  if (exists) {
    char resolved[PATH_MAX];
    if (::realpath(path.c_str(), resolved) != nullptr) target = resolved;
  } else if (struct stat link {}; ::lstat(path.c_str(), &link) == 0 && S_ISLNK(link.st_mode)) {
    char to[PATH_MAX];
    const ssize_t n = ::readlink(path.c_str(), to, sizeof to - 1);
    if (n > 0) {
      target.assign(to, std::size_t(n));
      if (target[0] != '/') target = parent_directory(path) + "/" + target;
    }
  }
  std::string temporary = parent_directory(target) + "/.locent-XXXXXX";
  const int fd = ::mkstemp(temporary.data());
  if (fd < 0) cannot_write(path, errno);
  // The mode a new file would get (mkstemp makes 0600), or the replaced file's.
  mode_t mode = 0666;
  if (exists) {
    mode = st.st_mode & 07777;
  } else {
    const mode_t mask = ::umask(0);
    ::umask(mask);
    mode &= ~mask;
  }
  ::fchmod(fd, mode);
  std::FILE* f = ::fdopen(fd, "wb");
  if (f == nullptr) {
    const int err = errno;
    ::close(fd);
    std::remove(temporary.c_str());
    cannot_write(path, err);
  }
  int err = finish(f, write);
  if (err == 0 && std::rename(temporary.c_str(), target.c_str()) != 0) err = errno;
  if (err != 0) {
    std::remove(temporary.c_str());
    cannot_write(path, err);
  }
}

void write_output_text(const std::string& path, const std::string& text) {
  write_output_file(path, [&text](std::FILE* f) {
    return std::fwrite(text.data(), 1, text.size(), f) == text.size();
  });
}

void write_stdout(const std::string& text) {
  std::cout << text << std::flush;
  if (!std::cout)
    throw Error(std::string("cannot write the result to standard output: ") +
                    errno_text(errno != 0 ? errno : EIO),
                ExitCode::bad_input);
}

}  // namespace locent
