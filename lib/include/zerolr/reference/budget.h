#pragma once
/// \file
/// The error budgets of the oracle, in one place: the per-step budget (check_step,
/// reference/step_check.h) and the trajectory budget (the audit's agreement check). Both
/// are made of the same terms:
///
///   rounding term  K u (|w_prev| + |absolute-run update| + cond) + K denorm_min(T)
///   formula term   F (u_T / u_W) |w_W - w_ref|
///
/// per step, where u is T's unit roundoff, the absolute run is the reference rule on |w|,
/// |g| and |signed state| (it bounds every intermediate that does not cancel), cond is the
/// step's condition (how far rounding-sized changes of its inputs move the result), and
/// w_W is the same rule evaluated in the next wider type W from the same inputs (it measures
/// how strongly the formula itself amplifies rounding). The trajectory budget sums the
/// rounding term over the steps, times the rule's amplification (optim/rule.h), and adds the
/// formula term of the whole trajectory run in W.
///
/// These budgets are documented estimates, not proofs: see each constant's reason.

#include <limits>
#include <type_traits>

namespace zerolr::budget {

/// K: roundings per step. Every built-in rule is a chain of at most about 20 roundings
/// (Adam with weight decay and amsgrad, counting the rounding of its hyperparameters and
/// coefficients to T), and each errs by at most u times the magnitude the absolute run
/// bounds; 32 leaves a factor of about 1.5 over the longest chain.
inline constexpr double kRoundings = 32;

/// F: how much larger than the wider type's error T's error may be, beyond u_T / u_W. To
/// first order a formula's error is proportional to the unit roundoff, but the two
/// evaluations round differently: hunts measured underestimates of up to 2x with 16 and
/// 1.05x with 64, so 128.
inline constexpr double kFormulaFactor = 128;

/// The wider run's error counts as the formula's own (rather than W's rounding of w) above
/// this many roundings of w in W: used to tell a precision-limited step (step_check.h).
inline constexpr double kWideRoundingFactor = 16;

/// T's unit roundoff u = epsilon / 2.
template <class T>
constexpr double unit_roundoff() {
  return std::numeric_limits<T>::epsilon() / 2;
}

/// The rounding term of one entry of one step.
template <class T>
constexpr double rounding_term(double scale) {
  return kRoundings * unit_roundoff<T>() * scale +
         kRoundings * static_cast<double>(std::numeric_limits<T>::denorm_min());
}

/// The coefficient term of one entry of one step: rules compute their scalar coefficients
/// (1 - beta^t, bias corrections, RAdam's rho_t, ASGD's eta) in double whatever T is
/// (rule::Wide), and an implementation may evaluate them another way (1 - pow(beta, t)
/// where zerolr uses expm1). Each rounding there is a relative error of at most u_double in
/// one intermediate, which equals a relative perturbation of at most u_double of one
/// coefficient (beta^t rounded is beta perturbed by u / t); so K u_double times the step's
/// condition in its coefficients (coefficient_condition) bounds it, over K roundings.
/// Derived, not tuned: it is what made PyTorch 1.13's RAdam (pow, then rho_t's cancellation
/// near 5) pass in float64 (error up to 1.9x the budget without it; session 3).
constexpr double coefficient_term(double coefficient_condition) {
  return kRoundings * unit_roundoff<double>() * coefficient_condition;
}

/// T's error predicted from the wider type W's error on the same formula.
template <class T, class W>
constexpr double formula_term(double wide_error) {
  return kFormulaFactor * (unit_roundoff<T>() / unit_roundoff<W>()) * wide_error;
}

/// The next wider type the formula term runs in: double for float, long double for double.
template <class T>
using Wider = std::conditional_t<std::is_same_v<T, float>, double, long double>;

}  // namespace zerolr::budget
