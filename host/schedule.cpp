// Per-sweep schedules for β and γ (schedule.hpp).
#include "locent/schedule.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "locent/error.hpp"

namespace locent {
namespace {

double parse_number(const std::string& s, const std::string& what, const std::string& text) {
  try {
    std::size_t used = 0;
    double v = std::stod(s, &used);
    if (used != s.size() || !std::isfinite(v)) throw std::invalid_argument(s);
    return v;
  } catch (const std::exception&) {
    throw Error(what + ": '" + s + "' is not a number in schedule '" + text + "'");
  }
}

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> parts;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, sep)) parts.push_back(item);
  if (!s.empty() && s.back() == sep) parts.push_back("");
  return parts;
}

}  // namespace

Schedule Schedule::constant(double v) { return linear(v, v); }

Schedule Schedule::linear(double from, double to) {
  Schedule s;
  s.kind_ = from == to ? Kind::constant : Kind::linear;
  s.from_ = from;
  s.to_ = to;
  return s;
}

Schedule Schedule::geometric(double from, double to) {
  Schedule s = linear(from, to);
  if (s.kind_ == Kind::linear) s.kind_ = Kind::geometric;
  return s;
}

Schedule Schedule::list(std::vector<double> values) {
  Schedule s;
  s.kind_ = Kind::list;
  s.values_ = std::move(values);
  return s;
}

Schedule Schedule::parse(const std::string& text, const std::string& what) {
  const auto colon = text.find(':');
  const std::string head = colon == std::string::npos ? text : text.substr(0, colon);
  const std::string rest = colon == std::string::npos ? "" : text.substr(colon + 1);
  Schedule s;
  if (colon == std::string::npos) {
    s = constant(parse_number(text, what, text));
  } else if (head == "const") {
    s = constant(parse_number(rest, what, text));
  } else if (head == "lin" || head == "geom") {
    auto ab = split(rest, ':');
    if (ab.size() != 2)
      throw Error(what + ": '" + text + "' needs two values, as in " + head + ":0.2:10");
    double a = parse_number(ab[0], what, text), b = parse_number(ab[1], what, text);
    if (head == "geom" && (a <= 0 || b <= 0))
      throw Error(what + ": a geometric schedule needs positive end points (got '" + text + "')");
    s = head == "lin" ? linear(a, b) : geometric(a, b);
  } else if (head == "list") {
    std::vector<double> values;
    for (const auto& v : split(rest, ',')) values.push_back(parse_number(v, what, text));
    if (values.empty()) throw Error(what + ": empty list in '" + text + "'");
    s = list(std::move(values));
  } else {
    throw Error(what + ": unknown schedule '" + text +
                "' (use V, const:V, lin:A:B, geom:A:B or list:V0,V1,...)");
  }
  return s;
}

double Schedule::at(std::uint64_t sweep, std::uint64_t total_sweeps) const {
  const double t = total_sweeps > 1 ? std::min(1.0, double(sweep) / double(total_sweeps - 1)) : 0;
  switch (kind_) {
    case Kind::constant: return from_;
    case Kind::linear: return from_ + (to_ - from_) * t;
    case Kind::geometric: return from_ * std::pow(to_ / from_, t);
    case Kind::list: return values_[std::min<std::uint64_t>(sweep, values_.size() - 1)];
  }
  return from_;
}

double Schedule::min_value(std::uint64_t total_sweeps) const {
  if (kind_ == Kind::list) {
    const auto n = std::min<std::uint64_t>(values_.size(), std::max<std::uint64_t>(total_sweeps, 1));
    return *std::min_element(values_.begin(), values_.begin() + n);
  }
  return std::min(from_, to_);
}

double Schedule::max_value(std::uint64_t total_sweeps) const {
  if (kind_ == Kind::list) {
    const auto n = std::min<std::uint64_t>(values_.size(), std::max<std::uint64_t>(total_sweeps, 1));
    return *std::max_element(values_.begin(), values_.begin() + n);
  }
  return std::max(from_, to_);
}

std::string Schedule::to_string() const {
  std::ostringstream o;
  o.precision(6);
  switch (kind_) {
    case Kind::constant: o << "const:" << from_; break;
    case Kind::linear: o << "lin:" << from_ << ":" << to_; break;
    case Kind::geometric: o << "geom:" << from_ << ":" << to_; break;
    case Kind::list:
      o << "list:";
      for (std::size_t i = 0; i < values_.size(); ++i) o << (i ? "," : "") << values_[i];
      break;
  }
  return o.str();
}

}  // namespace locent
