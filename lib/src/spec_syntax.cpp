#include "zerolr/spec_syntax.h"

#include <charconv>
#include <cmath>
#include <limits>

#include "zerolr/core.h"

namespace zerolr {

namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

bool is_name_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

[[noreturn]] void fail(std::string_view what, std::string_view text, std::size_t at,
                       const std::string& message) {
  std::string m = std::string(what) + " \"" + std::string(text) + "\": " + message;
  if (at != std::string_view::npos) m += " (at offset " + std::to_string(at) + ")";
  throw SpecError(m);
}

class Parser {
 public:
  Parser(std::string_view text, std::string_view what) : text_(text), what_(what) {}

  SpecCall call() {
    skip_space();
    SpecCall c;
    c.offset = pos_;
    c.name = name("a name");
    skip_space();
    if (peek() == '(') {
      ++pos_;
      skip_space();
      if (peek() == ')') {
        ++pos_;
      } else {
        for (;;) {
          if (at_end()) fail(what_, text_, pos_, "missing ')' after the arguments of '" + c.name + "'");
          c.args.push_back(arg());
          skip_space();
          if (peek() == ',') {
            ++pos_;
            skip_space();  // so that the next argument's offset points at its text
            continue;
          }
          if (peek() == ')') {
            ++pos_;
            break;
          }
          fail(what_, text_, pos_,
               at_end() ? "missing ')' after the arguments of '" + c.name + "'"
                        : "expected ',' or ')' but found '" + std::string(1, peek()) + "'");
        }
      }
    }
    skip_space();
    return c;
  }

  bool at_end() const { return pos_ >= text_.size(); }
  char peek() const { return at_end() ? '\0' : text_[pos_]; }
  std::size_t pos() const { return pos_; }
  void advance() { ++pos_; }
  void skip_space() {
    while (!at_end() && is_space(text_[pos_])) ++pos_;
  }

 private:
  std::string name(const char* expected) {
    const std::size_t start = pos_;
    while (!at_end() && is_name_char(text_[pos_])) ++pos_;
    if (pos_ == start) {
      fail(what_, text_, start,
           at_end()
               ? std::string("expected ") + expected + " but the text ended"
               : std::string("expected ") + expected + " but found '" + std::string(1, text_[start]) + "'");
    }
    return std::string(text_.substr(start, pos_ - start));
  }

  SpecArg arg() {
    SpecArg a;
    a.offset = pos_;
    // VALUE is any run of characters up to ',' or ')' (numbers like -1e-8, names like true).
    const std::size_t start = pos_;
    while (!at_end() && text_[pos_] != ',' && text_[pos_] != ')' && text_[pos_] != '=' && text_[pos_] != '(')
      ++pos_;
    std::string first = trim(text_.substr(start, pos_ - start));
    if (peek() == '(') fail(what_, text_, pos_, "unexpected '(' inside an argument list");
    if (peek() == '=') {
      if (first.empty()) fail(what_, text_, start, "missing key before '='");
      for (char ch : first)
        if (!is_name_char(ch)) fail(what_, text_, start, "'" + first + "' is not a valid key");
      ++pos_;
      const std::size_t vstart = pos_;
      while (!at_end() && text_[pos_] != ',' && text_[pos_] != ')' && text_[pos_] != '=' &&
             text_[pos_] != '(')
        ++pos_;
      if (peek() == '=' || peek() == '(')
        fail(what_, text_, pos_,
             "unexpected '" + std::string(1, peek()) + "' in the value of '" + first + "'");
      a.key = first;
      a.value = trim(text_.substr(vstart, pos_ - vstart));
      if (a.value.empty()) fail(what_, text_, vstart, "missing value for '" + a.key + "'");
    } else {
      if (first.empty()) fail(what_, text_, start, "empty argument");
      a.value = first;
    }
    return a;
  }

  static std::string trim(std::string_view s) {
    std::size_t b = 0, e = s.size();
    while (b < e && is_space(s[b])) ++b;
    while (e > b && is_space(s[e - 1])) --e;
    return std::string(s.substr(b, e - b));
  }

  std::string_view text_;
  std::string_view what_;
  std::size_t pos_ = 0;
};

}  // namespace

SpecCall parse_call(std::string_view text, std::string_view what) {
  Parser p(text, what);
  SpecCall c = p.call();
  if (!p.at_end()) fail(what, text, p.pos(), "unexpected '" + std::string(1, p.peek()) + "' after the spec");
  return c;
}

std::vector<SpecCall> parse_call_list(std::string_view text, std::string_view what) {
  Parser p(text, what);
  std::vector<SpecCall> calls;
  for (;;) {
    calls.push_back(p.call());
    if (p.at_end()) break;
    if (p.peek() != ',')
      fail(what, text, p.pos(), "expected ',' between entries but found '" + std::string(1, p.peek()) + "'");
    p.advance();
  }
  return calls;
}

double parse_real(const SpecArg& arg, std::string_view what) {
  const std::string& s = arg.value;
  double v = 0;
  const char* first = s.data();
  const char* last = s.data() + s.size();
  // The sign and the 0x prefix are taken here (from_chars rejects '+' and a hex prefix), and
  // from_chars must then see the digits: a second sign, as in "+-1" or "0x-1", is junk.
  bool negative = false;
  if (first != last && (*first == '+' || *first == '-')) negative = *first++ == '-';
  const bool hex = last - first > 2 && first[0] == '0' && (first[1] == 'x' || first[1] == 'X');
  if (hex) first += 2;
  std::from_chars_result r{first, std::errc::invalid_argument};
  if (first != last && *first != '+' && *first != '-')
    r = std::from_chars(first, last, v, hex ? std::chars_format::hex : std::chars_format::general);
  if (negative) v = -v;
  const std::string key = arg.key.empty() ? std::string("value") : arg.key;
  if (r.ec == std::errc::result_out_of_range && r.ptr == last)
    throw SpecError(std::string(what) + ": " + key + "=" + s + " is out of the range of a double");
  if (r.ec != std::errc() || r.ptr != last)
    throw SpecError(std::string(what) + ": " + key + "=" + s + " is not a number");
  if (!std::isfinite(v)) throw SpecError(std::string(what) + ": " + key + "=" + s + " must be finite");
  return v;
}

bool parse_bool(const SpecArg& arg, std::string_view what) {
  const std::string& s = arg.value;
  if (s == "1" || s == "true") return true;
  if (s == "0" || s == "false") return false;
  throw SpecError(std::string(what) + ": " + (arg.key.empty() ? "value" : arg.key) + "=" + s +
                  " is not a boolean (use 0, 1, true or false)");
}

std::int64_t parse_int(const SpecArg& arg, std::string_view what) {
  const std::string& s = arg.value;
  std::int64_t v = 0;
  const char* first = s.data();
  const char* last = s.data() + s.size();
  if (first != last && *first == '+') {
    ++first;
    if (first != last && *first == '-') first = last;  // "+-1": an empty rest is rejected below
  }
  const auto r = std::from_chars(first, last, v);
  const std::string key = arg.key.empty() ? std::string("value") : arg.key;
  if (r.ec == std::errc::result_out_of_range && r.ptr == last)
    throw SpecError(std::string(what) + ": " + key + "=" + s + " is out of the range of a 64-bit integer");
  if (r.ec != std::errc() || r.ptr != last || first == last)
    throw SpecError(std::string(what) + ": " + key + "=" + s + " is not an integer");
  return v;
}

std::string format_real(double value) {
  char buf[64];
  const auto r = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, r.ptr);
}

bool RealRange::contains(double v) const {
  if (std::isnan(v)) return false;
  const bool lo_ok = lo_open ? v > lo : v >= lo;
  const bool hi_ok = hi_open ? v < hi : v <= hi;
  return lo_ok && hi_ok;
}

std::string RealRange::describe() const {
  auto num = [](double x) {
    if (std::isinf(x)) return std::string(x > 0 ? "inf" : "-inf");
    return format_real(x);
  };
  return std::string(lo_open ? "(" : "[") + num(lo) + ", " + num(hi) + (hi_open ? ")" : "]");
}

}  // namespace zerolr
