#pragma once
/// \file
/// The oracle's check of one optimizer step: the working-precision step against the same
/// step in the reference type, from exactly the same (lifted) parameters, gradient, lr and
/// optimizer state, with an error budget.
///
/// This is a per-step, re-synchronised check: the reference starts every step from the
/// working run's own state, so errors do not compound and the check says whether *this*
/// step was computed as well as its rule allows. Whole trajectories drift further (the
/// drift report measures that); they are not bounded.
///
/// The budget is a documented first-order one, not a proof. Every built-in rule is a chain
/// of at most about 20 roundings (Adam with weight decay and amsgrad, counting the rounding
/// of its hyperparameters and coefficients to T), and each rounding errs by at most u times
/// the magnitude of the quantity rounded. Magnitudes are taken from an "absolute run": the
/// same reference rule applied to |w|, |g| and the absolute values of the signed state
/// (exp_avg, momentum_buffer, grad_avg), which bounds every linear intermediate without
/// cancellation. So, entrywise,
///
///   |w_T - w_ref| <= budget = K u (|w_prev| + |w_abs - |w_prev||) + K denorm_min(T),   K = 32,
///
/// where w_abs is the absolute run's result. K = 32 leaves a factor of about 1.5 over the
/// longest chain for the second-order terms. Where a rule divides by a quantity that can
/// cancel (centered RMSprop's v - grad_avg^2), the absolute run's smaller denominator makes
/// the budget larger, never smaller. The tests measure the worst ratio error/budget on
/// random steps of every optimizer; a ratio above 1 is a finding.

#include <cstdint>

#include "zerolr/optim/optimizer.h"

namespace zerolr {

/// K in the budget above.
inline constexpr double kStepBudgetRoundings = 32;

struct StepCheck {
  double max_ratio = 0;     ///< max over entries of |w_T - w_ref| / budget (+inf for a NaN/inf mismatch)
  double median_ratio = 0;  ///< lower median over entries
  Index worst = -1;         ///< entry of the max ratio
  Index count = 0;
  Index nonfinite_mismatches = 0;  ///< one side finite, the other not (or NaN against inf)
  /// The exact step leaves T's normal range: an entry of the reference's new state or
  /// weights, or of the absolute run's, is above T's max or a nonzero below its smallest
  /// normal (g*g overflowing or underflowing in float, say). The budget assumes neither, so
  /// such a step is not judged by it: it is a precision hazard of T, not an implementation
  /// error. Callers report it apart and must not count its ratio as a violation.
  bool range_limited = false;
  double worst_computed = 0, worst_reference = 0, worst_budget = 0;
};

/// Checks one step of tensor `tensor`.
/// requires: `before` is the optimizer as it was before the step (it is not modified);
///           w_prev, grad and w_after point to n values; w_after is what the working
///           optimizer produced from w_prev, grad and lr.
/// ensures:  the comparison above, with range_limited set as described. Entries that are NaN on both sides,
/// or equal infinities,
///           count as agreeing (ratio 0).
template <class T>
StepCheck check_step(const Optimizer<T>& before, std::size_t tensor, const T* w_prev, const T* grad, Index n,
                     T lr, const T* w_after);

/// Merges the checks of several tensors (max of max, max of medians).
void merge(StepCheck& into, const StepCheck& other);

}  // namespace zerolr
