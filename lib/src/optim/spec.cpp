#include "zerolr/optim/spec.h"

#include <array>
#include <cmath>
#include <limits>
#include <optional>
#include <string_view>
#include <type_traits>
#include <utility>

#include "zerolr/core.h"
#include "zerolr/spec_syntax.h"

namespace zerolr {

namespace {

template <class S, std::size_t N>
std::string key_list(const std::array<Key<S>, N>& keys) {
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

// Combinations that each key's range cannot express are the rule's to check (optional).
template <class S>
void check_combination(const S& s, const std::string& where) {
  using R = RuleFor<S>;
  if constexpr (requires { R::check(s, where); }) R::check(s, where);
}

template <class S>
void check_ranges(const S& s, const std::string& where) {
  for (const auto& k : S::keys()) {
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
  constexpr auto keys = S::keys();
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
  for (const auto& k : S::keys()) {
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

std::vector<std::string> optimizer_names() {
  std::vector<std::string> names;
  Rules::for_each([&]<class R>() { names.emplace_back(R::Settings::kName); });
  return names;
}

std::vector<RuleInfo> rule_catalog() {
  std::vector<RuleInfo> out;
  Rules::for_each([&]<class R>() {
    using S = typename R::Settings;
    static const S defaults{};
    RuleInfo info;
    info.name = S::kName;
    info.freezes_at_lr0 = R::freezes_at_lr0(defaults);
    for (const auto& k : S::keys()) {
      KeyInfo key;
      key.name = k.name;
      key.is_bool = k.kind == Key<S>::Kind::Bool;
      if (key.is_bool) {
        key.range = "{0, 1}";
        key.default_value = (k.flag != nullptr && defaults.*k.flag) ? "1" : "0";
      } else {
        key.range = k.range.describe();
        key.default_value = k.real != nullptr ? format_real(defaults.*k.real) : "";
      }
      info.keys.push_back(key);
    }
    out.push_back(info);
  });
  return out;
}

double amplification(const OptimizerSpec& spec) {
  return std::visit([](const auto& s) { return RuleFor<std::decay_t<decltype(s)>>::amplification(s); }, spec);
}

bool freezes_at_lr0(const OptimizerSpec& spec) {
  return std::visit([](const auto& s) { return RuleFor<std::decay_t<decltype(s)>>::freezes_at_lr0(s); },
                    spec);
}

bool eps_below_floor(const OptimizerSpec& spec) {
  return std::visit([](const auto& s) { return RuleFor<std::decay_t<decltype(s)>>::eps_below_floor(s); },
                    spec);
}

std::vector<OptimizerSpec> coefficient_perturbations(const OptimizerSpec& spec, double h) {
  std::vector<OptimizerSpec> out;
  std::visit(
      [&](const auto& s) {
        using S = std::decay_t<decltype(s)>;
        for (const auto& k : S::keys()) {
          if (k.kind != Key<S>::Kind::Real || std::string_view(k.name) == "lr" || s.*k.real == 0) continue;
          for (const double factor : {1 + h, 1 - h}) {
            S moved = s;
            moved.*k.real = s.*k.real * factor;
            if (k.range.contains(moved.*k.real)) {
              out.emplace_back(moved);
              break;
            }
          }
        }
      },
      spec);
  return out;
}

}  // namespace zerolr
