// locent::Error: the one exception type that carries a user-facing message to the CLI boundary.
#pragma once
#include <stdexcept>
#include <string>

namespace locent {

// Exit codes of the command-line tool; tests assert them.
enum class ExitCode : int {
  ok = 0,
  failure = 1,      // internal or unexpected failure
  usage = 2,        // bad option or bad parameter value
  bad_input = 3,    // unreadable or malformed input file
  no_device = 4,    // --backend cuda without a usable GPU
  out_of_memory = 5 // an allocation on the device or host failed
};

class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message, ExitCode code = ExitCode::usage)
      : std::runtime_error(message), code_(code) {}
  ExitCode code() const noexcept { return code_; }

 private:
  ExitCode code_;
};

}  // namespace locent
