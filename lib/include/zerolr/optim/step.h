#pragma once
/// \file
/// What happens between backward and the optimizer: the non-finite-gradient policy and
/// gradient clipping by global norm. The trainer, the properties and the audit all step
/// through apply_step, so they share one definition of a step.

#include <vector>

#include "zerolr/nn/layer.h"
#include "zerolr/optim/optimizer.h"

namespace zerolr {

/// What to do when a gradient has a NaN or infinite entry.
enum class NonFinitePolicy {
  Raise,  ///< throw NonFiniteGradientError naming the tensor and entry (the default)
  Skip,   ///< skip the whole step: parameters and optimizer state stay as they are
  Apply   ///< step anyway, as most frameworks do; 0 * NaN = NaN then poisons the parameters
};

std::string to_string(NonFinitePolicy policy);
/// "raise", "skip" or "apply"; SpecError otherwise.
NonFinitePolicy parse_non_finite_policy(const std::string& text);

struct StepOptions {
  NonFinitePolicy non_finite = NonFinitePolicy::Raise;
  /// Clip the global gradient norm to this value; 0 disables clipping.
  double clip_norm = 0;
};

/// Result of one step.
struct StepOutcome {
  bool stepped = true;      ///< false when the Skip policy skipped it
  bool non_finite = false;  ///< whether any gradient entry was NaN or infinite
};

/// clip_grad_norm_ as PyTorch defines it: total = sqrt(sum of all squared entries);
/// coef = max_norm / (total + 1e-6); every gradient is multiplied by min(coef, 1).
/// A zero norm leaves the gradients unchanged; a non-finite norm propagates NaN, as in
/// PyTorch (an infinite entry becomes NaN). requires: max_norm > 0. Returns the total norm.
template <class T>
T clip_grad_norm(const std::vector<ParamRef<T>>& params, T max_norm);

/// Whether every gradient entry is finite; if not, `where` names the first bad entry.
template <class T>
bool gradients_finite(const std::vector<ParamRef<T>>& params, std::string* where = nullptr);

/// Applies the policy, then clipping, then the optimizer step with learning rate lr.
template <class T>
StepOutcome apply_step(Optimizer<T>& opt, const std::vector<ParamRef<T>>& params, T lr,
                       const StepOptions& options);

}  // namespace zerolr
