// Option checks shared by the subcommands: numbers as written, with their range in the message,
// and no wrap-around, saturation, NaN or infinity slipping through.
#pragma once
#include <CLI/CLI.hpp>

#include <cerrno>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>

#include "host/text_format.hpp"

namespace locent::cli {

// A whole number in [min, max], written in decimal: no sign, no exponent.
inline CLI::Validator whole_number_in(std::uint64_t min, std::uint64_t max) {
  const std::string range = std::to_string(min) + " to " + std::to_string(max);
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        const bool digits =
            !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
        errno = 0;
        const unsigned long long v = digits ? std::strtoull(text.c_str(), nullptr, 10) : 0;
        if (!digits || errno == ERANGE || v < min || v > max)
          return "'" + text + "' is not a whole number from " + range;
        return "";
      },
      std::to_string(min) + ".." + std::to_string(max));
}
inline CLI::Validator whole_number_up_to(std::uint64_t max) { return whole_number_in(0, max); }

// A finite number in [low, high] (or (low, high] with `open_low`).
inline CLI::Validator finite_number_in(double low, double high, bool open_low = false) {
  const std::string range =
      (open_low ? "(" : "[") + format_number(low) + ", " + format_number(high) + "]";
  return CLI::Validator(
      [=](std::string& text) -> std::string {
        char* end = nullptr;
        errno = 0;
        const double v = std::strtod(text.c_str(), &end);
        const bool number = !text.empty() && *end == '\0' && std::isfinite(v) && errno != ERANGE;
        if (!number || v > high || (open_low ? v <= low : v < low))
          return "'" + text + "' is not a number in " + range;
        return "";
      },
      range);
}

// CPU threads: 0 (every core) up to what a sweep file allows too.
inline constexpr std::uint64_t kMaxThreads = 4096;

}  // namespace locent::cli
