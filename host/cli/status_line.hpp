// A live status line on stderr for long work: rewritten in place on a terminal, one line every
// few seconds otherwise (so that logs stay short), and nothing before `quiet_seconds`.
#pragma once
#include <unistd.h>

#include <iostream>
#include <string>

namespace locent::cli {

class StatusLine {
 public:
  // tty_interval: the least time between two lines on a terminal.
  StatusLine(bool enabled, double quiet_seconds, double tty_interval)
      : enabled_(enabled), tty_(isatty(STDERR_FILENO)), quiet_(quiet_seconds),
        interval_(tty_ ? tty_interval : 5.0) {}

  static bool on_terminal() { return isatty(STDERR_FILENO); }

  // Whether a line is due at `seconds` since the work began; if so, the caller shows one.
  bool due(double seconds) {
    if (!enabled_ || seconds < quiet_ || seconds - last_ < interval_) return false;
    last_ = seconds;
    return true;
  }
  void show(const std::string& line) {
    std::cerr << (tty_ ? "\r" : "") << line << (tty_ ? "\033[K" : "\n") << std::flush;
    shown_ = true;
  }
  // Ends the line on a terminal: keeps it (a newline) or erases it.
  void finish(bool erase = false) {
    if (enabled_ && shown_ && tty_) std::cerr << (erase ? "\r\033[K" : "\n") << std::flush;
  }

 private:
  bool enabled_, tty_;
  double quiet_, interval_;
  bool shown_ = false;
  double last_ = -1e300;
};

}  // namespace locent::cli
