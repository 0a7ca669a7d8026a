#pragma once
// Private to lib/src/audit: exact number lists for reproduce tokens (hexadecimal floats,
// nan, inf and -inf spelt out).

#include <cmath>
#include <cstdio>
#include <limits>
#include <string>
#include <vector>

#include "zerolr/core.h"
#include "zerolr/spec_syntax.h"

namespace zerolr {

inline std::string hex(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%a", v);
  return buf;
}

inline double parse_hex(const std::string& s, const std::string& field) {
  if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
  if (s == "inf") return std::numeric_limits<double>::infinity();
  if (s == "-inf") return -std::numeric_limits<double>::infinity();
  SpecArg a{field, s, 0};
  // parse_real rejects non-finite values, which are handled above.
  return parse_real(a, "case token");
}

inline std::string join(const std::vector<double>& v) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + hex(v[i]);
  return s;
}

inline std::vector<double> split_numbers(const std::string& s, const std::string& field) {
  std::vector<double> out;
  if (s.empty()) return out;
  std::size_t start = 0;
  for (;;) {
    const std::size_t comma = s.find(',', start);
    out.push_back(parse_hex(s.substr(start, comma - start), field));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

}  // namespace zerolr
