#pragma once
/// \file
/// The one small grammar that every zerolr spec string shares:
///
///     list := call (',' call)*
///     call := NAME | NAME '(' [arg (',' arg)*] ')'
///     arg  := KEY '=' VALUE | VALUE          (a bare VALUE binds to the spec's first key)
///
/// Optimizer specs ("adamw(lr=1e-3,weight_decay=0.01)"), layer lists
/// ("dense(16),relu,dense(1)"), losses ("huber(delta=0.5)") and schedules
/// ("cosine(t_max=100)") are all parsed here, so that they report errors the same way.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace zerolr {

/// One argument of a call, with its byte offset in the original text for error messages.
struct SpecArg {
  std::string key;  ///< empty for a bare (positional) value
  std::string value;
  std::size_t offset = 0;
};

/// NAME(args...) as written.
struct SpecCall {
  std::string name;
  std::vector<SpecArg> args;
  std::size_t offset = 0;
};

/// Parses exactly one call. `what` names the kind of spec in error messages ("optimizer spec").
/// ensures: returns the call, or throws SpecError quoting the text and naming the offending part.
SpecCall parse_call(std::string_view text, std::string_view what);

/// Parses a comma-separated list of calls (commas inside parentheses belong to the call).
/// requires: at least one call.
std::vector<SpecCall> parse_call_list(std::string_view text, std::string_view what);

/// Converts an argument's value. Each throws SpecError naming `what`, the key and the value.
/// parse_real accepts decimal and hexadecimal floating literals and rejects nan and inf.
double parse_real(const SpecArg& arg, std::string_view what);
bool parse_bool(const SpecArg& arg, std::string_view what);  ///< 0, 1, true, false
std::int64_t parse_int(const SpecArg& arg, std::string_view what);

/// The shortest decimal text that reads back as exactly `value` (std::to_chars).
std::string format_real(double value);

/// One entry of a spec's key table: a real-valued key and its closed or open range.
struct RealRange {
  double lo;
  double hi;
  bool lo_open = false;
  bool hi_open = false;
  bool contains(double v) const;
  std::string describe() const;  ///< "[0, 1)", "[0, inf)"
};

}  // namespace zerolr
