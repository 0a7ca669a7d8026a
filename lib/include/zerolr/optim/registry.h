#pragma once
/// \file
/// The registry: every update rule zerolr knows, listed once. Spec parsing and printing,
/// make_optimizer, `zerolr-audit --list`, the property and fuzz generators, the fuzz
/// dictionary, the claims tool, the benchmarks and the tests' parameter lists all iterate
/// `Rules`; nothing else names the rules. Adding a rule is its header in optim/rules/ and
/// its line here (the include and the list entry).

#include <cstddef>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>
#include <variant>

#include "zerolr/optim/rules/adadelta.h"
#include "zerolr/optim/rules/adagrad.h"
#include "zerolr/optim/rules/adam.h"
#include "zerolr/optim/rules/adamax.h"
#include "zerolr/optim/rules/asgd.h"
#include "zerolr/optim/rules/lion.h"
#include "zerolr/optim/rules/nadam.h"
#include "zerolr/optim/rules/radam.h"
#include "zerolr/optim/rules/rmsprop.h"
#include "zerolr/optim/rules/rprop.h"
#include "zerolr/optim/rules/sgd.h"

namespace zerolr {

/// A list of rules. Each must satisfy UpdateRule (optim/rule.h): the compiler names the rule
/// and the requirement it misses.
template <UpdateRule... Rs>
struct RuleList {
  /// Any rule's settings; the alternative says which rule it is.
  using Spec = std::variant<typename Rs::Settings...>;
  static constexpr std::size_t size = sizeof...(Rs);
  /// Calls f.template operator()<R>() for each rule R, in the list's order.
  template <class F>
  static void for_each(F&& f) {
    (f.template operator()<Rs>(), ...);
  }
  /// The position of the rule whose settings type is S.
  template <class S>
  static constexpr std::size_t index_of() {
    std::size_t i = 0;
    (void)((std::is_same_v<S, typename Rs::Settings> ? false : (++i, true)) && ...);
    return i;
  }
  /// The rule whose settings type is S.
  template <class S>
  using RuleFor = std::tuple_element_t<index_of<S>(), std::tuple<Rs...>>;
};

/// THE list. The order is the order of `--list`, of generators' choices and of the variant.
/// One rule a line (a new rule is one more line, and one more include above).
// clang-format off
using Rules = RuleList<SgdRule
                       , AdamRule
                       , AdamWRule
                       , RmspropRule
                       , AdagradRule
                       , NadamRule
                       , RadamRule
                       , AdamaxRule
                       , AdadeltaRule
                       , AsgdRule
                       , RpropRule
                       , LionRule
                       >;
// clang-format on

/// Any optimizer's settings. The alternative says which optimizer it is.
using OptimizerSpec = Rules::Spec;

/// The rule that implements settings type S.
template <class S>
using RuleFor = typename Rules::template RuleFor<S>;

}  // namespace zerolr
