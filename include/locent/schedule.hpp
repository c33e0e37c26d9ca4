// Per-sweep schedules for β (inverse temperature) and γ (replica coupling).
//
// Text form, as given on the command line:
//   const:V             V at every sweep
//   lin:A:B             linear from A (first sweep) to B (last sweep of the budget)
//   geom:A:B            geometric from A to B (A, B > 0)
//   list:V0,V1,...      explicit per-sweep values; the last one holds after the list ends
//   a bare number V     same as const:V
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace locent {

class Schedule {
 public:
  enum class Kind { constant, linear, geometric, list };

  Schedule() = default;
  static Schedule constant(double v);
  static Schedule linear(double from, double to);
  static Schedule geometric(double from, double to);
  static Schedule list(std::vector<double> values);
  // Throws Error naming `what` (e.g. "--beta") on a malformed spec.
  static Schedule parse(const std::string& text, const std::string& what);

  // Value at sweep s (0-based) of a run whose budget is `total_sweeps` sweeps.
  double at(std::uint64_t sweep, std::uint64_t total_sweeps) const;
  double min_value(std::uint64_t total_sweeps) const;
  double max_value(std::uint64_t total_sweeps) const;

  Kind kind() const { return kind_; }
  std::string to_string() const;

 private:
  Kind kind_ = Kind::constant;
  double from_ = 0, to_ = 0;
  std::vector<double> values_;
};

}  // namespace locent
