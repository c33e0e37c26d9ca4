// Pieces shared by the sweep sources: the JSON of solver settings and run records, and the
// append-only results file with its locking protocol.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <unordered_set>
#include <utility>
#include <vector>

#include "locent/sweep.hpp"

namespace locent {

std::uint64_t fnv1a64(const std::string& bytes);

// The solver settings as they appear in records and in the sweep hash.
nlohmann::json settings_json(const SolverSpec& solver);

std::string make_run_key(const std::string& model, const std::string& label_mode, int n,
                         double alpha, const std::string& solver, const nlohmann::json& settings,
                         std::uint64_t point_seed, std::uint32_t instance);

// Parses the lines of a results file. A last line without its newline is a record if it is a
// whole one, else a torn write (ignored, torn_tail) if it starts a JSON object. Throws
// Error(bad_input) naming `path` and the line of anything else.
ResultsContents parse_results(const std::string& text, const std::string& path);

// The results file of a running sweep. Every change happens under an exclusive POSIX record lock
// on the whole file, so processes of an MPI job (and separate invocations) never interleave.
// POSIX locks belong to the process: while this object lives, the process must not open and close
// the same file elsewhere, or the lock is lost.
class ResultsFile {
 public:
  explicit ResultsFile(const std::string& path);  // opens or creates; throws Error(bad_input)
  ~ResultsFile();
  ResultsFile(const ResultsFile&) = delete;
  ResultsFile& operator=(const ResultsFile&) = delete;

  // Checks that every whole line is a record, repairs the last line (repair_tail), then returns
  // the whole file. `dropped_bytes` receives the size of what was dropped. A file that is not a
  // results file is refused (Error(bad_input)) before anything in it changes.
  std::string repair_and_read(std::size_t* dropped_bytes);
  // Reads in, under the lock, the records other writers (another invocation on the same file, a
  // rank left running by a killed job) appended since this object last read the file, so that
  // recorded() knows them.
  void catch_up();
  // Whether a run with this key is in the file as last read.
  bool recorded(const std::string& key) const { return keys_.count(key) > 0; }
  // Appends the lines (each one record, with its run key) whose runs are not yet recorded, with
  // one write, and makes them durable before returning; returns which it wrote. Under the
  // lock: a tail left by a writer that died holding it is repaired, and what other writers
  // appended is read in first, so that no run is ever recorded twice. A failed write is rolled
  // back.
  std::vector<bool> append(const std::vector<std::pair<std::string, std::string>>& records);
  const std::string& path() const { return path_; }

 private:
  class Lock;
  void catch_up_locked();
  std::unordered_set<std::string> keys_;  // run keys of the records read so far
  std::size_t read_to_ = 0;               // bytes of the file read so far (whole lines)
  // With the lock held: a last line without its newline gets its newline if it is a whole
  // record, is dropped if it starts one (torn by a killed writer), and is refused otherwise,
  // nothing changed. Returns the bytes dropped.
  std::size_t repair_tail();
  std::string read_all() const;
  int fd_ = -1;
  std::string path_;
};

}  // namespace locent
