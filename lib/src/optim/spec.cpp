#include "zerolr/optim/spec.h"

#include <array>
#include <cmath>
#include <limits>
#include <optional>
#include <span>
#include <string_view>
#include <type_traits>
#include <utility>

#include "zerolr/core.h"
#include "zerolr/spec_syntax.h"

namespace zerolr {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr RealRange kNonNegative{0, kInf, false, true};  // [0, inf)
constexpr RealRange kUnit{0, 1};                         // [0, 1]
constexpr RealRange kBeta{0, 1, false, true};            // [0, 1)

/// One key of a settings type: its name, where it lives, and (for reals) its range.
template <class S>
struct Key {
  enum class Kind { Real, Bool };
  const char* name;
  Kind kind;
  double S::*real = nullptr;
  bool S::*flag = nullptr;
  RealRange range{};
};

template <class S>
constexpr Key<S> real_key(const char* name, double S::*member, RealRange range) {
  return {name, Key<S>::Kind::Real, member, nullptr, range};
}

template <class S>
constexpr Key<S> bool_key(const char* name, bool S::*member) {
  return {name, Key<S>::Kind::Bool, nullptr, member, {}};
}

// The key tables. Their order is the printed order (spec.h) and the first key takes a
// bare positional value. Ranges follow torch.optim's checks; dampening in [0, 1] is
// zerolr's own (PyTorch does not check it), and alpha is explained below.
constexpr std::array kSgdKeys{
    real_key("lr", &SgdSettings::lr, kNonNegative),
    real_key("momentum", &SgdSettings::momentum, kNonNegative),
    real_key("dampening", &SgdSettings::dampening, kUnit),
    real_key("weight_decay", &SgdSettings::weight_decay, kNonNegative),
    bool_key("nesterov", &SgdSettings::nesterov),
};

constexpr std::array kAdamKeys{
    real_key("lr", &AdamSettings::lr, kNonNegative),
    real_key("beta1", &AdamSettings::beta1, kBeta),
    real_key("beta2", &AdamSettings::beta2, kBeta),
    real_key("eps", &AdamSettings::eps, kNonNegative),
    real_key("weight_decay", &AdamSettings::weight_decay, kNonNegative),
    bool_key("amsgrad", &AdamSettings::amsgrad),
};

constexpr std::array kAdamWKeys{
    real_key("lr", &AdamWSettings::lr, kNonNegative),
    real_key("beta1", &AdamWSettings::beta1, kBeta),
    real_key("beta2", &AdamWSettings::beta2, kBeta),
    real_key("eps", &AdamWSettings::eps, kNonNegative),
    real_key("weight_decay", &AdamWSettings::weight_decay, kNonNegative),
    bool_key("amsgrad", &AdamWSettings::amsgrad),
};

// PyTorch only asks alpha >= 0. zerolr asks alpha in [0, 1]: with alpha > 1 the weight
// 1 - alpha is negative, square_avg can turn negative and sqrt gives NaN.
constexpr std::array kRmspropKeys{
    real_key("lr", &RmspropSettings::lr, kNonNegative),
    real_key("alpha", &RmspropSettings::alpha, kUnit),
    real_key("eps", &RmspropSettings::eps, kNonNegative),
    real_key("weight_decay", &RmspropSettings::weight_decay, kNonNegative),
    real_key("momentum", &RmspropSettings::momentum, kNonNegative),
    bool_key("centered", &RmspropSettings::centered),
};

constexpr std::array kAdagradKeys{
    real_key("lr", &AdagradSettings::lr, kNonNegative),
    real_key("lr_decay", &AdagradSettings::lr_decay, kNonNegative),
    real_key("weight_decay", &AdagradSettings::weight_decay, kNonNegative),
    real_key("initial_accumulator_value", &AdagradSettings::initial_accumulator_value, kNonNegative),
    real_key("eps", &AdagradSettings::eps, kNonNegative),
};

std::span<const Key<SgdSettings>> keys_of(const SgdSettings&) {
  return kSgdKeys;
}
std::span<const Key<AdamSettings>> keys_of(const AdamSettings&) {
  return kAdamKeys;
}
std::span<const Key<AdamWSettings>> keys_of(const AdamWSettings&) {
  return kAdamWKeys;
}
std::span<const Key<RmspropSettings>> keys_of(const RmspropSettings&) {
  return kRmspropKeys;
}
std::span<const Key<AdagradSettings>> keys_of(const AdagradSettings&) {
  return kAdagradKeys;
}

template <class S>
std::string key_list(std::span<const Key<S>> keys) {
  std::string out;
  for (const auto& k : keys) {
    if (!out.empty()) out += ", ";
    out += k.name;
  }
  return out;
}

/// Calls f with each optimizer's default settings, in the variant's order.
template <class F, std::size_t... I>
void for_each_default(F&& f, std::index_sequence<I...>) {
  (f(OptimizerSpec(std::in_place_index<I>)), ...);
}
template <class F>
void for_each_default(F&& f) {
  for_each_default(f, std::make_index_sequence<std::variant_size_v<OptimizerSpec>>());
}

std::string known_optimizers() {
  std::string out;
  for_each_default([&out](const OptimizerSpec& s) {
    if (!out.empty()) out += ", ";
    out += optimizer_name(s);
  });
  return out;
}

/// The default settings of the optimizer called `name`, or nothing.
std::optional<OptimizerSpec> default_spec(const std::string& name) {
  std::optional<OptimizerSpec> found;
  for_each_default([&](const OptimizerSpec& s) {
    if (optimizer_name(s) == name) found = s;
  });
  return found;
}

// Combinations that each key's range cannot express. `where` prefixes the message.
void check_combination(const SgdSettings& s, const std::string& where) {
  if (s.nesterov && !(s.momentum > 0))
    throw SpecError(where + ": nesterov=1 requires momentum > 0 (momentum=" + format_real(s.momentum) + ")");
  if (s.nesterov && s.dampening != 0)
    throw SpecError(where + ": nesterov=1 requires dampening=0 (dampening=" + format_real(s.dampening) + ")");
}
template <class S>
void check_combination(const S&, const std::string&) {}

template <class S>
void check_ranges(const S& s, const std::string& where) {
  for (const auto& k : keys_of(s)) {
    if (k.kind != Key<S>::Kind::Real) continue;
    const double v = s.*k.real;
    if (!std::isfinite(v)) throw SpecError(where + ": " + k.name + "=" + format_real(v) + " must be finite");
    if (!k.range.contains(v))
      throw SpecError(where + ": " + k.name + "=" + format_real(v) + " is out of range " +
                      k.range.describe());
  }
  check_combination(s, where);
}

template <class S>
void assign_args(S& s, const SpecCall& call, const std::string& where) {
  const auto keys = keys_of(s);
  std::vector<bool> seen(keys.size(), false);
  std::vector<bool> bare(keys.size(), false);
  for (const SpecArg& given : call.args) {
    SpecArg arg = given;
    const bool positional = arg.key.empty();
    if (positional) arg.key = keys.front().name;  // a bare value binds to the first key
    std::size_t i = 0;
    while (i < keys.size() && arg.key != keys[i].name) ++i;
    if (i == keys.size())
      throw SpecError(where + ": unknown key '" + arg.key + "' for " + S::kName +
                      " (valid keys: " + key_list(keys) + ")");
    if (seen[i])
      throw SpecError(where + ": key '" + arg.key + "' is given twice" +
                      (positional || bare[i] ? " (a bare value binds to '" + arg.key + "')" : std::string()) +
                      " (valid keys: " + key_list(keys) + ")");
    seen[i] = true;
    bare[i] = positional;
    const Key<S>& k = keys[i];
    if (k.kind == Key<S>::Kind::Bool) {
      s.*k.flag = parse_bool(arg, where);
    } else {
      const double v = parse_real(arg, where);
      if (!k.range.contains(v))
        throw SpecError(where + ": " + arg.key + "=" + arg.value + " is out of range " + k.range.describe());
      s.*k.real = v;
    }
  }
}

template <class S>
std::string print(const S& s) {
  std::string out = std::string(S::kName) + "(";
  bool first = true;
  for (const auto& k : keys_of(s)) {
    if (!first) out += ",";
    first = false;
    out += k.name;
    out += "=";
    if (k.kind == Key<S>::Kind::Bool)
      out += (s.*k.flag) ? "1" : "0";
    else
      out += format_real(s.*k.real);
  }
  return out + ")";
}

}  // namespace

OptimizerSpec parse_optimizer_spec(const std::string& text) {
  const std::string where = "optimizer spec \"" + text + "\"";
  const SpecCall call = parse_call(text, "optimizer spec");
  std::optional<OptimizerSpec> spec = default_spec(call.name);
  if (!spec)
    throw SpecError(where + ": unknown optimizer '" + call.name + "' (known: " + known_optimizers() + ")");
  std::visit(
      [&](auto& s) {
        assign_args(s, call, where);
        check_combination(s, where);
      },
      *spec);
  return *spec;
}

std::string to_string(const OptimizerSpec& spec) {
  return std::visit([](const auto& s) { return print(s); }, spec);
}

std::string optimizer_name(const OptimizerSpec& spec) {
  return std::visit([](const auto& s) { return std::string(std::decay_t<decltype(s)>::kName); }, spec);
}

double base_lr(const OptimizerSpec& spec) {
  return std::visit([](const auto& s) { return s.lr; }, spec);
}

OptimizerSpec with_lr(const OptimizerSpec& spec, double lr) {
  if (!std::isfinite(lr) || !kNonNegative.contains(lr))
    throw SpecError("with_lr: lr=" + format_real(lr) + " is out of range " + kNonNegative.describe());
  OptimizerSpec out = spec;
  std::visit([lr](auto& s) { s.lr = lr; }, out);
  return out;
}

std::vector<std::string> optimizer_defaults() {
  std::vector<std::string> lines;
  for_each_default([&lines](const OptimizerSpec& s) { lines.push_back(to_string(s)); });
  return lines;
}

void validate(const OptimizerSpec& spec) {
  std::visit([](const auto& s) { check_ranges(s, "optimizer spec " + print(s)); }, spec);
}

}  // namespace zerolr
