#pragma once
/// \file
/// Optimizer specs: NAME(KEY=VALUE,...) with PyTorch's argument names, parsed into the rule's
/// settings type and printed back. The rules and their keys come from the registry
/// (optim/registry.h); `zerolr-audit --list` prints them all, for example
///
///   adam(lr=0.001,beta1=0.9,beta2=0.999,eps=1e-08,weight_decay=0,amsgrad=0)
///
/// Missing keys take PyTorch's defaults. Tuples are spelled as separate keys (betas as
/// beta1 and beta2). Booleans are 0, 1, true or false.

#include <string>
#include <vector>

#include "zerolr/optim/registry.h"

namespace zerolr {

/// Parses "NAME(KEY=VALUE,...)".
/// ensures: a validated spec, or SpecError naming the offending part: an unknown optimizer
/// (listing the known ones), an unknown or repeated key (listing the valid keys), a value
/// that is not a number or boolean, an out-of-range value with its range, or an
/// inconsistent combination the rule rejects (nesterov without momentum, say).
OptimizerSpec parse_optimizer_spec(const std::string& text);

/// Every key with its value, in a fixed order; parse_optimizer_spec(to_string(s)) == s.
std::string to_string(const OptimizerSpec& spec);

/// The optimizer's name ("adamw").
std::string optimizer_name(const OptimizerSpec& spec);
/// The base learning rate.
double base_lr(const OptimizerSpec& spec);
/// The same spec with another base learning rate. requires: lr >= 0 and finite.
OptimizerSpec with_lr(const OptimizerSpec& spec, double lr);

/// One line per optimizer: its spec with every default filled in.
std::vector<std::string> optimizer_defaults();
/// The registered optimizers' names, in the registry's order.
std::vector<std::string> optimizer_names();

/// One key of a rule, for listings and dictionaries.
struct KeyInfo {
  std::string name;
  bool is_bool = false;
  std::string range;          ///< "[0, 1)"; "0 or 1" for booleans
  std::string default_value;  ///< as printed in specs
};
/// One rule: its name, its keys in the printed order, and its traits at the defaults.
struct RuleInfo {
  std::string name;
  std::vector<KeyInfo> keys;
  bool freezes_at_lr0 = true;
};
/// Every registered rule.
std::vector<RuleInfo> rule_catalog();

/// Throws SpecError if any value is out of range or the combination is invalid (what
/// parse_optimizer_spec checks).
void validate(const OptimizerSpec& spec);

/// The rule's traits (optim/rule.h, UpdateRule) for these settings.
double amplification(const OptimizerSpec& spec);
bool freezes_at_lr0(const OptimizerSpec& spec);
bool eps_below_floor(const OptimizerSpec& spec);

/// For each real coefficient other than lr whose value is not 0, the spec with that
/// coefficient multiplied by 1 + h (or by 1 - h where 1 + h leaves its range, as a beta near
/// 1 does). The budget's coefficient term (reference/budget.h) steps the reference with each.
std::vector<OptimizerSpec> coefficient_perturbations(const OptimizerSpec& spec, double h);

}  // namespace zerolr
