// Small text helpers shared by the CLI, the sweeps and the backends' error messages.
#pragma once
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <string>

namespace locent {

// The current time in UTC, ISO 8601 to the second ("2026-11-27T08:57:58Z"): the date of results.
inline std::string utc_now() {
  const std::time_t t = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

// A number for a message: six significant digits, "inf" and "-inf" spelled out.
inline std::string format_number(double v) {
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// errno's text for a message ("unknown error" for 0).
inline std::string errno_text(int err) { return err != 0 ? std::strerror(err) : "unknown error"; }

// The folder part of a path: "." for a bare name, "/" for a file at the root.
inline std::string parent_directory(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  return slash == 0 ? "/" : path.substr(0, slash);
}

// Bytes as "1.23 GiB", for memory refusals.
inline std::string format_gib(double bytes) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.2f GiB", bytes / (1024.0 * 1024.0 * 1024.0));
  return buf;
}

}  // namespace locent
