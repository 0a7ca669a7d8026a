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
///   |w_T - w_ref| <= budget = K u (|w_prev| + |w_abs - |w_prev|| + cond) + K denorm_min(T),
///
/// with K = budget::kRoundings (reference/budget.h, where every constant has its reason), w_abs the absolute
/// run's result, and cond the step's condition: the sum over its inputs x (w, g and every state entry) of |d
/// w_new / d x| |x|, measured in the reference by relative perturbations of 2^-40. The absolute run bounds
/// the rounding of every intermediate that does not cancel; cond covers those that do: a denominator built
/// from a cancelling sum (Adam's sqrt(v) with v = (g + wd p)^2 when g ~ -wd p, centered
/// RMSprop's v - grad_avg^2) makes a rounding of the inputs' size matter at the output.
/// K = 32 leaves a factor of about 1.5 over the longest chain of roundings.
///
/// Neither term sees a cancellation between two *intermediates* of the formula (centered
/// RMSprop with a tiny alpha computes v - grad_avg^2 from two nearly equal rounded values).
/// So the budget adds the formula's own amplification, measured by running the same rule in
/// the next wider type W (double for float, long double for double) from the same state:
/// to first order a formula's error is proportional to the unit roundoff, so
///
///   + 128 (u_T / u_W) |w_W - w_ref|
///
/// estimates what T's error may be (128 absorbs that the two evaluations round differently:
/// hunts found underestimates of up to 2x with 16 and 1.05x with 64). W can be exact by luck
/// where T is not (inputs with few significant bits: a saturated sigmoid's gradient of 1 and
/// a dyadic alpha made centered RMSprop's v - grad_avg^2 exact in long double and 24 bits
/// short in double; a 20,000-case hunt found it), so |w_W - w_ref| is also measured from
/// inputs (g and the state) perturbed by a relative 2^-(digits of T + 4), with the reference
/// run from exactly those inputs, and the larger difference counts.
/// A step whose direction (the reference step at lr = 1) exceeds T's range, that starts
/// from a state holding an infinity, or whose formula term is as large as the update itself
/// (T keeps no correct digit of the step) while either the update exceeds T's rounding of w
/// or the wider run's error exceeds 16 of W's roundings of w (the formula, not w's rounding,
/// makes the error), is range_limited.
/// The tests measure the worst ratio error/budget on random steps of every optimizer; above 1
/// is a finding.

#include <cstdint>

#include "zerolr/optim/optimizer.h"
#include "zerolr/scalar/reference.h"

namespace zerolr {

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

/// The condition of one reference step: for each entry, sum over the step's inputs x (w, g
/// and every state entry of the tensor) of |d w_new / d x| |x|, by forward differences with
/// relative perturbations of 2^-40 in the reference scalar R (DoubleDouble or Float128).
/// `before` is not modified.
template <class R>
Vector<double> step_condition(const Optimizer<R>& before, std::size_t tensor, const Vector<R>& w,
                              const Vector<R>& g, const R& lr);

/// The condition of one reference step in its coefficients: for each entry, sum over the
/// spec's real coefficients c other than lr of |d w_new / d c| |c|, by forward differences
/// with relative perturbations of 2^-40 in R (coefficient_perturbations). The
/// coefficients that rules compute from them (1 - beta^t, RAdam's rho_t, ...) are computed
/// in double, and each rounding there is a relative error of at most u_double in one of
/// them; budget::coefficient_term turns this condition into that error's bound.
template <class R>
Vector<double> coefficient_condition(const Optimizer<R>& before, std::size_t tensor, const Vector<R>& w,
                                     const Vector<R>& g, const R& lr);

/// Merges the checks of several tensors (max of max, max of medians).
void merge(StepCheck& into, const StepCheck& other);

}  // namespace zerolr
