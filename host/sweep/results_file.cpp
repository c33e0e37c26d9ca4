// The append-only JSON Lines results file of a sweep: locked, durable appends, repair of a line
// torn by a killed writer, and reading the records back.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <limits>
#include <optional>

#include "host/input_text.hpp"
#include "host/sweep/sweep_internal.hpp"
#include "host/text_format.hpp"
#include "locent/error.hpp"

namespace locent {
namespace {

std::string os_error(const std::string& what, const std::string& path) {
  return what + " " + path + ": " + std::strerror(errno);
}

// A whole non-negative number up to `max` (nlohmann would wrap -1 into an unsigned type).
std::uint64_t whole_field(const nlohmann::json& j, const char* name, std::uint64_t max) {
  const nlohmann::json& v = j.at(name);
  if (!v.is_number_unsigned() || v.get<std::uint64_t>() > max)
    throw std::invalid_argument(std::string(name) + " is not a whole number from 0 to " +
                                std::to_string(max));
  return v.get<std::uint64_t>();
}

RunRecord parse_record(const nlohmann::json& j) {
  RunRecord r;
  r.sweep_hash = j.at("sweep_hash").get<std::string>();
  r.solver = j.at("solver").get<std::string>();
  const nlohmann::json& settings = j.at("settings");
  if (!settings.is_object()) throw std::invalid_argument("settings is not an object");
  r.settings = settings.dump();
  r.label_mode = j.at("label_mode").get<std::string>();
  r.model = j.at("model").get<std::string>();
  r.n = int(whole_field(j, "N", 0x7fffffff));
  r.alpha = j.at("alpha").get<double>();
  r.patterns = whole_field(j, "P", std::numeric_limits<std::uint64_t>::max());
  r.instance = std::uint32_t(whole_field(j, "instance", 0xffffffffu));
  r.solved = j.at("solved").get<bool>();
  r.sweeps = j.at("sweeps").get<double>();
  const nlohmann::json& t = j.at("seconds_to_solution");
  if (!t.is_null()) r.seconds_to_solution = t.get<double>();
  r.key = make_run_key(r.model, r.label_mode, r.n, r.alpha, r.solver, settings,
                       whole_field(j, "point_seed", std::numeric_limits<std::uint64_t>::max()),
                       r.instance);
  r.outcome =
      nlohmann::json::array({j.at("solved"), j.at("solved_by"), j.at("sweeps"), j.at("proposals"),
                             j.at("accepted"), j.at("replica_errors"), j.at("centre_errors")})
          .dump();
  return r;
}

// A last line without its newline: a whole record (its writer died between the record and the
// newline), or a torn one: a start of `{"sweep_hash"`, with which every record begins.
bool starts_a_record(const std::string& line) {
  static const std::string head = "{\"sweep_hash\"";
  return line.size() <= head.size() ? !line.empty() && head.compare(0, line.size(), line) == 0
                                    : line.compare(0, head.size(), head) == 0;
}

// A record line is a few hundred bytes, more only with very long settings (a β list of a value
// a sweep); a sweep file is at most 16 MiB.
constexpr std::size_t kMaxRecordBytes = std::size_t{64} << 20;
std::optional<RunRecord> whole_record(const std::string& line) {
  try {
    return parse_record(nlohmann::json::parse(line));
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

}  // namespace

std::string make_run_key(const std::string& model, const std::string& label_mode, int n,
                         double alpha, const std::string& solver, const nlohmann::json& settings,
                         std::uint64_t point_seed, std::uint32_t instance) {
  return nlohmann::json::array(
             {model, label_mode, n, alpha, solver, settings, point_seed, instance})
      .dump();
}

ResultsContents parse_results(const std::string& text, const std::string& path) {
  ResultsContents out;
  std::size_t begin = 0, line = 0;
  while (begin < text.size()) {
    ++line;
    const std::size_t end = text.find('\n', begin);
    if (end == std::string::npos) {
      std::optional<RunRecord> last = whole_record(text.substr(begin));
      if (last) {
        out.records.push_back(std::move(*last));
      } else if (starts_a_record(text.substr(begin))) {
        out.torn_tail = true;
      } else {
        throw Error(path + ":" + std::to_string(line) + ": not a valid run record",
                    ExitCode::bad_input);
      }
      break;
    }
    const std::string s = text.substr(begin, end - begin);
    begin = end + 1;
    if (s.find_first_not_of(" \t\r") == std::string::npos) continue;
    try {
      out.records.push_back(parse_record(nlohmann::json::parse(s)));
    } catch (const std::exception& e) {
      throw Error(path + ":" + std::to_string(line) + ": not a valid run record (" + e.what() + ")",
                  ExitCode::bad_input);
    }
  }
  return out;
}

ResultsContents read_results(const std::string& path) {
  // A shared lock while reading, so that a writer's repair and append (under its exclusive lock)
  // never land between two of the reads. Where the file takes no lock (a pipe), it is read
  // without. The lock ends with the read: closing any descriptor of the file releases a
  // process's locks on it.
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd >= 0) {
    struct flock l {};
    l.l_type = F_RDLCK;
    l.l_whence = SEEK_SET;
    while (fcntl(fd, F_SETLKW, &l) != 0 && errno == EINTR) {
    }
  }
  std::string text;
  try {
    text = read_input_text(path, "results file", std::numeric_limits<std::size_t>::max(),
                           kMaxRecordBytes);
  } catch (...) {
    if (fd >= 0) ::close(fd);
    throw;
  }
  if (fd >= 0) ::close(fd);
  return parse_results(text, path);
}

// An exclusive lock on the whole file for the lifetime of the object; waits for other holders.
class ResultsFile::Lock {
 public:
  explicit Lock(const ResultsFile& f) : f_(f) { set(F_WRLCK); }
  ~Lock() { set(F_UNLCK); }

 private:
  void set(short type) {
    struct flock l {};
    l.l_type = type;
    l.l_whence = SEEK_SET;
    while (fcntl(f_.fd_, F_SETLKW, &l) != 0) {
      if (errno == EINTR) continue;
      if (type == F_UNLCK) return;  // nothing to do about it; closing the file releases it too
      throw Error(os_error("cannot lock", f_.path_), ExitCode::bad_input);
    }
  }
  const ResultsFile& f_;
};

ResultsFile::ResultsFile(const std::string& path) : path_(path) {
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
  if (fd_ >= 0) {
    // A new file: make its directory entry durable too, or a crash could lose the whole file.
    const int dir = ::open(parent_directory(path).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir >= 0) {
      ::fsync(dir);
      ::close(dir);
    }
    return;
  }
  if (errno == EEXIST) fd_ = ::open(path.c_str(), O_RDWR | O_APPEND | O_CLOEXEC);
  if (fd_ < 0) throw Error(os_error("cannot open the results file", path), ExitCode::bad_input);
  struct stat st {};
  if (::fstat(fd_, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd_);
    fd_ = -1;
    throw Error(path + ": a results file must be a regular file (it is read back to resume)",
                ExitCode::bad_input);
  }
}

ResultsFile::~ResultsFile() {
  if (fd_ >= 0) ::close(fd_);
}

std::size_t ResultsFile::repair_tail() {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) throw Error(os_error("cannot stat", path_), ExitCode::bad_input);
  const off_t size = st.st_size;
  if (size == 0) return 0;
  char last = 0;
  if (::pread(fd_, &last, 1, size - 1) != 1)
    throw Error(os_error("cannot read", path_), ExitCode::bad_input);
  if (last == '\n') return 0;
  // Scan back for the end of the last whole line.
  off_t keep = 0;
  std::string block(64 * 1024, '\0');
  for (off_t end = size; end > 0 && keep == 0;) {
    const off_t start = end > off_t(block.size()) ? end - off_t(block.size()) : 0;
    const ssize_t got = ::pread(fd_, block.data(), std::size_t(end - start), start);
    if (got != end - start) throw Error(os_error("cannot read", path_), ExitCode::bad_input);
    for (off_t i = got - 1; i >= 0; --i)
      if (block[std::size_t(i)] == '\n') {
        keep = start + i + 1;
        break;
      }
    end = start;
  }
  std::string tail(std::size_t(size - keep), '\0');
  if (::pread(fd_, tail.data(), tail.size(), keep) != ssize_t(tail.size()))
    throw Error(os_error("cannot read", path_), ExitCode::bad_input);
  if (whole_record(tail)) {  // only its newline is missing
    if (::write(fd_, "\n", 1) != 1 || ::fsync(fd_) != 0)
      throw Error(os_error("cannot repair", path_), ExitCode::bad_input);
    return 0;
  }
  if (!starts_a_record(tail))
    throw Error(path_ + ": its last line is not a run record: not a results file? (left as it is)",
                ExitCode::bad_input);
  if (::ftruncate(fd_, keep) != 0 || ::fsync(fd_) != 0)
    throw Error(os_error("cannot repair", path_), ExitCode::bad_input);
  return tail.size();
}

std::string ResultsFile::repair_and_read(std::size_t* dropped_bytes) {
  Lock lock(*this);
  // Every whole line must be a record before anything is changed: a file that is not a results
  // file is refused as it is.
  std::string text = read_all();
  const std::size_t whole = text.find_last_of('\n');
  parse_results(whole == std::string::npos ? std::string() : text.substr(0, whole + 1), path_);
  const std::size_t dropped = repair_tail();
  if (dropped_bytes) *dropped_bytes = dropped;
  if (dropped > 0 || (!text.empty() && text.back() != '\n')) text = read_all();
  keys_.clear();
  for (const RunRecord& r : parse_results(text, path_).records) keys_.insert(r.key);
  read_to_ = text.size();
  return text;
}

void ResultsFile::catch_up() {
  Lock lock(*this);
  catch_up_locked();
}

void ResultsFile::catch_up_locked() {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) throw Error(os_error("cannot stat", path_), ExitCode::bad_input);
  const std::size_t size = std::size_t(st.st_size);
  if (size < read_to_) {  // cut back by another process: read it all again
    keys_.clear();
    read_to_ = 0;
  }
  if (size == read_to_) return;
  std::string added(size - read_to_, '\0');
  std::size_t done = 0;
  while (done < added.size()) {
    const ssize_t got = ::pread(fd_, added.data() + done, added.size() - done, off_t(read_to_ + done));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) throw Error(os_error("cannot read", path_), ExitCode::bad_input);
    done += std::size_t(got);
  }
  // Whole lines only: a torn tail is left for repair_tail.
  const std::size_t whole = added.find_last_of('\n');
  if (whole == std::string::npos) return;
  std::size_t begin = 0;
  while (begin <= whole) {
    const std::size_t end = added.find('\n', begin);
    if (std::optional<RunRecord> r = whole_record(added.substr(begin, end - begin)))
      keys_.insert(r->key);
    begin = end + 1;
  }
  read_to_ += whole + 1;
}

std::string ResultsFile::read_all() const {
  struct stat st {};
  if (::fstat(fd_, &st) != 0) throw Error(os_error("cannot stat", path_), ExitCode::bad_input);
  std::string text(std::size_t(st.st_size), '\0');
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t got = ::pread(fd_, text.data() + done, text.size() - done, off_t(done));
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) throw Error(os_error("cannot read", path_), ExitCode::bad_input);
    done += std::size_t(got);
  }
  return text;
}

std::vector<bool> ResultsFile::append(
    const std::vector<std::pair<std::string, std::string>>& records) {
  std::vector<bool> written(records.size(), false);
  if (records.empty()) return written;
  Lock lock(*this);
  repair_tail();
  catch_up_locked();
  std::string lines;
  for (std::size_t r = 0; r < records.size(); ++r) {
    // Not a run recorded meanwhile by another writer, nor one twice in this call.
    if (keys_.count(records[r].first)) continue;
    bool repeated = false;
    for (std::size_t q = 0; q < r && !repeated; ++q)
      repeated = written[q] && records[q].first == records[r].first;
    if (repeated) continue;
    lines += records[r].second;
    lines += '\n';
    written[r] = true;
  }
  if (lines.empty()) return written;
  struct stat st {};
  if (::fstat(fd_, &st) != 0) throw Error(os_error("cannot stat", path_), ExitCode::bad_input);
  std::size_t done = 0;
  while (done < lines.size()) {
    const ssize_t put = ::write(fd_, lines.data() + done, lines.size() - done);
    if (put < 0 && errno == EINTR) continue;
    if (put <= 0) {
      const std::string message = os_error("cannot write to", path_);
      // Leave whole lines only, so that the file stays valid for a resume.
      if (::ftruncate(fd_, st.st_size) == 0) ::fsync(fd_);
      throw Error(message, ExitCode::bad_input);
    }
    done += std::size_t(put);
  }
  if (::fsync(fd_) != 0) throw Error(os_error("cannot flush", path_), ExitCode::bad_input);
  if (struct stat now {}; ::fstat(fd_, &now) == 0 && now.st_nlink == 0)
    throw Error(path_ + " was deleted while the sweep ran: its records are lost with it",
                ExitCode::bad_input);
  for (std::size_t r = 0; r < records.size(); ++r)
    if (written[r]) keys_.insert(records[r].first);
  read_to_ = std::size_t(st.st_size) + lines.size();
  return written;
}

}  // namespace locent
