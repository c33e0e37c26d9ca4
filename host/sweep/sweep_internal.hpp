// Pieces shared by the sweep sources: the JSON of solver settings and run records, and the
// append-only results file with its locking protocol.
#pragma once
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

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
  // Appends whole lines with one write and makes them durable before returning. A tail left by
  // a writer that died holding the lock is repaired first; a failed write is rolled back.
  void append(const std::string& lines);
  const std::string& path() const { return path_; }

 private:
  class Lock;
  // With the lock held: a last line without its newline gets its newline if it is a whole
  // record, is dropped if it starts one (torn by a killed writer), and is refused otherwise,
  // nothing changed. Returns the bytes dropped.
  std::size_t repair_tail();
  std::string read_all() const;
  int fd_ = -1;
  std::string path_;
};

}  // namespace locent
