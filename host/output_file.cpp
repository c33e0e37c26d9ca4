// Output files: checked up front, replaced whole or not at all (output_file.hpp).
#include "host/output_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "locent/error.hpp"

namespace locent {
namespace {

std::string parent_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

std::string errno_text(int err) { return err != 0 ? std::strerror(err) : "unknown error"; }

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

}  // namespace

void check_output_path(const std::string& path, const std::string& option) {
  if (path.empty()) throw Error(option + " needs a file name (got an empty one)");
  struct stat st {};
  if (::stat(path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) throw Error(option + " " + path + " is a directory, not a file");
    if (S_ISREG(st.st_mode) && ::access(path.c_str(), W_OK) != 0)
      throw Error(option + " " + path + " is not writable: " + errno_text(errno));
    if (S_ISREG(st.st_mode) && ::access(parent_of(path).c_str(), W_OK | X_OK) != 0)
      throw Error(option + " " + path + ": its directory is not writable: " + errno_text(errno));
    return;
  }
  const std::string parent = parent_of(path);
  struct stat dir {};
  if (::stat(parent.c_str(), &dir) != 0)
    throw Error(option + " " + path + ": no directory " + parent + " (" + errno_text(errno) + ")");
  if (!S_ISDIR(dir.st_mode)) throw Error(option + " " + path + ": " + parent + " is not a directory");
  if (::access(parent.c_str(), W_OK | X_OK) != 0)
    throw Error(option + " " + path + ": cannot create files in " + parent + ": " +
                errno_text(errno));
}

void write_output_file(const std::string& path, const std::function<bool(std::FILE*)>& write) {
  struct stat st {};
  const bool exists = ::stat(path.c_str(), &st) == 0;
  if (exists && !S_ISREG(st.st_mode)) {  // a device, a pipe: in place, never removed
    errno = 0;
    std::FILE* f = std::fopen(path.c_str(), "wb");
    if (f == nullptr) cannot_write(path, errno);
    if (const int err = finish(f, write)) cannot_write(path, err);
    return;
  }
  // The file itself, not a link to it, is what gets replaced.
  std::string target = path;
  if (exists) {
    char resolved[PATH_MAX];
    if (::realpath(path.c_str(), resolved) != nullptr) target = resolved;
  }
  std::string temporary = parent_of(target) + "/.locent-XXXXXX";
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
