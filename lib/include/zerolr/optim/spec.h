#pragma once
/// \file
/// Optimizer specs: NAME(KEY=VALUE,...) with PyTorch's argument names, parsed into one
/// small settings type per optimizer and printed back.
///
///   sgd(lr=0.001,momentum=0,dampening=0,weight_decay=0,nesterov=0)
///   adam(lr=0.001,beta1=0.9,beta2=0.999,eps=1e-08,weight_decay=0,amsgrad=0)
///   adamw(lr=0.001,beta1=0.9,beta2=0.999,eps=1e-08,weight_decay=0.01,amsgrad=0)
///   rmsprop(lr=0.01,alpha=0.99,eps=1e-08,weight_decay=0,momentum=0,centered=0)
///   adagrad(lr=0.01,lr_decay=0,weight_decay=0,initial_accumulator_value=0,eps=1e-10)
///
/// Missing keys take PyTorch's defaults (SGD's lr takes 1e-3, as in PyTorch 2).
/// beta1 and beta2 stand for betas. Booleans are 0, 1, true or false.

#include <string>
#include <variant>
#include <vector>

namespace zerolr {

/// SGD with momentum, dampening, Nesterov and L2 weight decay (torch.optim.SGD).
struct SgdSettings {
  static constexpr const char* kName = "sgd";
  double lr = 1e-3;
  double momentum = 0;
  double dampening = 0;
  double weight_decay = 0;
  bool nesterov = false;
  friend bool operator==(const SgdSettings&, const SgdSettings&) = default;
};

/// Adam with L2 weight decay added to the gradient (torch.optim.Adam).
struct AdamSettings {
  static constexpr const char* kName = "adam";
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;
  bool amsgrad = false;
  friend bool operator==(const AdamSettings&, const AdamSettings&) = default;
};

/// Adam with decoupled weight decay, param *= 1 - lr * weight_decay (torch.optim.AdamW).
struct AdamWSettings {
  static constexpr const char* kName = "adamw";
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 1e-2;
  bool amsgrad = false;
  friend bool operator==(const AdamWSettings&, const AdamWSettings&) = default;
};

/// RMSprop, optionally centered and with momentum (torch.optim.RMSprop).
struct RmspropSettings {
  static constexpr const char* kName = "rmsprop";
  double lr = 1e-2;
  double alpha = 0.99;
  double eps = 1e-8;
  double weight_decay = 0;
  double momentum = 0;
  bool centered = false;
  friend bool operator==(const RmspropSettings&, const RmspropSettings&) = default;
};

/// Adagrad with lr decay and an initial accumulator (torch.optim.Adagrad).
struct AdagradSettings {
  static constexpr const char* kName = "adagrad";
  double lr = 1e-2;
  double lr_decay = 0;
  double weight_decay = 0;
  double initial_accumulator_value = 0;
  double eps = 1e-10;
  friend bool operator==(const AdagradSettings&, const AdagradSettings&) = default;
};

/// Any optimizer's settings. The alternative says which optimizer it is.
using OptimizerSpec =
    std::variant<SgdSettings, AdamSettings, AdamWSettings, RmspropSettings, AdagradSettings>;

/// Parses "NAME(KEY=VALUE,...)".
/// ensures: a validated spec, or SpecError naming the offending part: an unknown optimizer
/// (listing the known ones), an unknown or repeated key (listing the valid keys), a value
/// that is not a number or boolean, an out-of-range value with its range, or an
/// inconsistent combination (nesterov without momentum, or with dampening).
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

/// Throws SpecError if any value is out of range (what parse_optimizer_spec checks).
void validate(const OptimizerSpec& spec);

}  // namespace zerolr
