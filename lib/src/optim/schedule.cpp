#include "zerolr/optim/schedule.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numbers>
#include <span>
#include <string_view>

#include "zerolr/core.h"
#include "zerolr/spec_syntax.h"

namespace zerolr {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr RealRange kNonNegative{0, kInf, false, true};  // [0, inf)
constexpr RealRange kUnit{0, 1};                         // [0, 1]

void check_real(const char* who, const char* key, double v, const RealRange& range) {
  if (!std::isfinite(v) || !range.contains(v))
    throw SpecError(std::string(who) + ": " + key + "=" + format_real(v) + " is out of range " +
                    range.describe() + (std::isfinite(v) ? "" : " (it must be finite)"));
}

void check_count(const char* who, const char* key, std::int64_t v) {
  if (v < 1) throw SpecError(std::string(who) + ": " + key + "=" + std::to_string(v) + " must be >= 1");
}

/// A + (B - A) * min(t, N) / N, as LinearLR's closed form, with both ends exact.
double linear_between(double a, double b, std::int64_t t, std::int64_t n) {
  if (t <= 0) return a;
  if (t >= n) return b;
  const double f = a + (b - a) * static_cast<double>(t) / static_cast<double>(n);
  return std::max(f, 0.0);  // a rounding below zero is impossible for a, b >= 0; keep it so
}

/// One key of a schedule call. Exactly one of real and integer is set.
struct Field {
  const char* name;
  double* real = nullptr;
  std::int64_t* integer = nullptr;
  bool required = false;
};

/// Binds a call's arguments to fields; a bare value binds to the first field.
void bind_args(const SpecCall& call, std::span<Field> fields, const std::string& where) {
  std::string valid;
  for (const Field& f : fields) valid += (valid.empty() ? "" : ", ") + std::string(f.name);
  std::vector<bool> seen(fields.size(), false);
  for (const SpecArg& given : call.args) {
    SpecArg arg = given;
    if (arg.key.empty()) {
      if (fields.empty())
        throw SpecError(where + ": '" + call.name + "' takes no arguments, got '" + arg.value + "'");
      arg.key = fields.front().name;
    }
    std::size_t i = 0;
    while (i < fields.size() && arg.key != fields[i].name) ++i;
    if (i == fields.size())
      throw SpecError(
          where + ": unknown key '" + arg.key + "' for " + call.name +
          (fields.empty() ? std::string(" (it takes no arguments)") : " (valid keys: " + valid + ")"));
    if (seen[i]) throw SpecError(where + ": key '" + arg.key + "' is given twice");
    seen[i] = true;
    if (fields[i].real != nullptr)
      *fields[i].real = parse_real(arg, where);
    else
      *fields[i].integer = parse_int(arg, where);
  }
  for (std::size_t i = 0; i < fields.size(); ++i)
    if (fields[i].required && !seen[i])
      throw SpecError(where + ": '" + call.name + "' needs " + fields[i].name);
}

/// Splits on '+' outside parentheses ("1e+5" inside a call stays whole).
std::vector<std::string_view> split_plus(std::string_view text) {
  std::vector<std::string_view> parts;
  int depth = 0;
  std::size_t start = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '(') ++depth;
    if (text[i] == ')') --depth;
    if (text[i] == '+' && depth == 0) {
      parts.push_back(text.substr(start, i - start));
      start = i + 1;
    }
  }
  parts.push_back(text.substr(start));
  return parts;
}

}  // namespace

Schedule Schedule::constant() {
  return Schedule();
}

Schedule Schedule::step(std::int64_t step_size, double gamma) {
  check_count("step schedule", "step_size", step_size);
  check_real("step schedule", "gamma", gamma, kNonNegative);
  Schedule s;
  s.kind_ = Kind::Step;
  s.n_ = step_size;
  s.a_ = gamma;
  return s;
}

Schedule Schedule::cosine(std::int64_t t_max, double min_factor) {
  check_count("cosine schedule", "t_max", t_max);
  check_real("cosine schedule", "min_factor", min_factor, kUnit);
  Schedule s;
  s.kind_ = Kind::Cosine;
  s.n_ = t_max;
  s.a_ = min_factor;
  return s;
}

Schedule Schedule::linear(double start_factor, double end_factor, std::int64_t steps) {
  check_real("linear schedule", "start_factor", start_factor, kUnit);
  check_real("linear schedule", "end_factor", end_factor, kUnit);
  check_count("linear schedule", "steps", steps);
  Schedule s;
  s.kind_ = Kind::Linear;
  s.n_ = steps;
  s.a_ = start_factor;
  s.b_ = end_factor;
  return s;
}

Schedule Schedule::sequence(std::vector<double> factors) {
  if (factors.empty()) throw SpecError("sequence schedule: needs at least one factor");
  for (std::size_t i = 0; i < factors.size(); ++i) {
    const std::string key = "factor " + std::to_string(i);
    check_real("sequence schedule", key.c_str(), factors[i], kNonNegative);
  }
  Schedule s;
  s.kind_ = Kind::Sequence;
  s.factors_ = std::move(factors);
  return s;
}

Schedule Schedule::warmup(std::int64_t steps, double start_factor, const Schedule& after) {
  check_count("warmup", "steps", steps);
  check_real("warmup", "start_factor", start_factor, kUnit);
  if (after.warmup_steps_ != 0)
    throw SpecError("warmup: the schedule after a warm-up cannot have a warm-up of its own");
  Schedule s = after;
  s.warmup_steps_ = steps;
  s.warmup_start_ = start_factor;
  return s;
}

double Schedule::factor(std::int64_t t) const {
  if (t < 0) throw Error("schedule: the step index must be >= 0, got " + std::to_string(t));
  if (warmup_steps_ > 0) {
    if (t < warmup_steps_) return linear_between(warmup_start_, 1, t, warmup_steps_);
    t -= warmup_steps_;
  }
  switch (kind_) {
    case Kind::Constant:
      return 1;
    case Kind::Step: {
      const double f = std::pow(a_, static_cast<double>(t / n_));
      // gamma > 1 overflows for large t; the contract is a finite factor, so saturate.
      return std::isfinite(f) ? f : std::numeric_limits<double>::max();
    }
    case Kind::Cosine:
      // CosineAnnealingLR's closed form; like PyTorch's, it rises again after t_max.
      return a_ + (1 - a_) *
                      (1 + std::cos(std::numbers::pi * static_cast<double>(t) / static_cast<double>(n_))) / 2;
    case Kind::Linear:
      return linear_between(a_, b_, t, n_);
    case Kind::Sequence:
      return factors_[static_cast<std::size_t>(
          std::min<std::int64_t>(t, static_cast<std::int64_t>(factors_.size()) - 1))];
  }
  return 1;
}

std::string Schedule::to_string() const {
  std::string out;
  if (warmup_steps_ > 0)
    out = "warmup(steps=" + std::to_string(warmup_steps_) + ",start_factor=" + format_real(warmup_start_) +
          ")+";
  switch (kind_) {
    case Kind::Constant:
      return out + "constant";
    case Kind::Step:
      return out + "step(step_size=" + std::to_string(n_) + ",gamma=" + format_real(a_) + ")";
    case Kind::Cosine:
      return out + "cosine(t_max=" + std::to_string(n_) + ",min_factor=" + format_real(a_) + ")";
    case Kind::Linear:
      return out + "linear(start_factor=" + format_real(a_) + ",end_factor=" + format_real(b_) +
             ",steps=" + std::to_string(n_) + ")";
    case Kind::Sequence: {
      out += "sequence(";
      for (std::size_t i = 0; i < factors_.size(); ++i) out += (i == 0 ? "" : ",") + format_real(factors_[i]);
      return out + ")";
    }
  }
  return out;
}

Schedule Schedule::parse(const std::string& text) {
  const std::string where = "schedule spec \"" + text + "\"";
  const auto parts = split_plus(text);
  if (parts.size() > 2) throw SpecError(where + ": at most one '+' (a warm-up followed by a schedule)");

  // Defaults follow PyTorch where it has them: StepLR gamma=0.1, LinearLR 1/3 -> 1 over 5.
  const auto base = [&where](const SpecCall& call) -> Schedule {
    if (call.name == "constant") {
      bind_args(call, {}, where);
      return constant();
    }
    if (call.name == "step") {
      std::int64_t step_size = 0;
      double gamma = 0.1;
      Field fields[] = {{"step_size", nullptr, &step_size, true}, {"gamma", &gamma}};
      bind_args(call, fields, where);
      return Schedule::step(step_size, gamma);
    }
    if (call.name == "cosine") {
      std::int64_t t_max = 0;
      double min_factor = 0;
      Field fields[] = {{"t_max", nullptr, &t_max, true}, {"min_factor", &min_factor}};
      bind_args(call, fields, where);
      return cosine(t_max, min_factor);
    }
    if (call.name == "linear") {
      double start = 1.0 / 3, end = 1;
      std::int64_t steps = 5;
      Field fields[] = {{"start_factor", &start}, {"end_factor", &end}, {"steps", nullptr, &steps}};
      bind_args(call, fields, where);
      return linear(start, end, steps);
    }
    if (call.name == "sequence") {
      std::vector<double> factors;
      for (const SpecArg& arg : call.args) {
        if (!arg.key.empty())
          throw SpecError(where + ": sequence takes bare factors, not '" + arg.key + "=...'");
        factors.push_back(parse_real(arg, where));
      }
      return sequence(std::move(factors));
    }
    if (call.name == "warmup")
      throw SpecError(where + ": a warm-up must come first and only once, as warmup(...)+SCHEDULE");
    throw SpecError(where + ": unknown schedule '" + call.name +
                    "' (known: constant, step, cosine, linear, sequence, warmup)");
  };

  try {
    for (const auto part : parts)
      if (part.find_first_not_of(" \t\r\n") == std::string_view::npos)
        throw SpecError(where + ": empty schedule " +
                        (parts.size() == 1 ? std::string("text") : std::string("around '+'")));
    const SpecCall first = parse_call(parts[0], "schedule spec");
    if (first.name != "warmup") {
      if (parts.size() == 2)
        throw SpecError(where + ": only a warm-up can come before '+', not '" + first.name + "'");
      return base(first);
    }
    std::int64_t steps = 0;
    double start = 0;
    Field fields[] = {{"steps", nullptr, &steps, true}, {"start_factor", &start}};
    bind_args(first, fields, where);
    const Schedule after = parts.size() == 2 ? base(parse_call(parts[1], "schedule spec")) : constant();
    return warmup(steps, start, after);
  } catch (const SpecError& e) {
    // The factories do not know the text; add it unless the message already quotes it.
    const std::string m = e.what();
    if (m.rfind("schedule spec", 0) == 0) throw;
    throw SpecError(where + ": " + m);
  }
}

}  // namespace zerolr
