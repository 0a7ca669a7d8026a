#pragma once
/// \file
/// The properties: pure functions from a Case to a Verdict, written once and used by every
/// driver (properties/ through RapidCheck, fuzz/ from bytes, tools/audit).

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "zerolr/audit/case.h"
#include "zerolr/optim/optimizer.h"

namespace zerolr {

enum class FindingClass {
  Violation,  ///< the property is false for this case
  Hazard,     ///< non-finite values propagate, or a degenerate setting fails
  Note,       ///< bit-level differences only (signed-zero flips)
  Rule        ///< the rule itself breaks the property by its own definition (Rprop moves at
              ///< lr = 0): what the implementation did is what the rule says
};
std::string to_string(FindingClass c);

struct Finding {
  FindingClass cls = FindingClass::Violation;
  std::string message;
};

/// The outcome of a property on a case.
struct Verdict {
  std::string property;
  /// False when the case does not meet the property's precondition (a non-finite gradient
  /// under a freeze property, say): nothing was judged. Drivers discard such cases.
  bool applicable = true;
  std::vector<Finding> findings;
  /// Labels for coverage statistics (RC_TAG): "batchnorm", "range-limited", ...
  std::vector<std::string> tags;
  /// A measurement the property made, when it makes one: the agreement checks' worst ratio
  /// of error to budget over the judged entries.
  std::optional<double> worst_ratio;

  /// True when applicable and no finding is a violation.
  bool holds() const;
  /// The first violation's message, or "".
  std::string first_violation() const;
};

/// Makes the optimizer under test; the default is the library's make_optimizer. Tests pass
/// deliberately broken optimizers here; the audit passes plug-ins.
template <class T>
using OptimizerFactory = std::function<std::unique_ptr<Optimizer<T>>(const OptimizerSpec&)>;

struct Factories {
  OptimizerFactory<float> f32;
  OptimizerFactory<double> f64;
  static Factories library();
};

/// 1. Freeze: every step whose lr is 0 (with finite gradients) leaves every trainable
///    parameter's value unchanged, whatever steps came before (a schedule that decays to 0,
///    a zero warm-up). Signed-zero flips are Notes. A rule that moves at lr = 0 by its own
///    definition (freezes_at_lr0 is false: Rprop, ASGD) gives a Rule finding instead, when
///    the step agrees with the reference step from the same state (check_step); a violation
///    when it does not. Not applicable when no step the run reaches has lr 0, or when a
///    gradient is non-finite.
Verdict prop_freeze(const Case& c, const Factories& f = Factories::library());

/// 2a. Test loss frozen: if every lr is 0, the architecture has no BatchNorm and every
///     gradient is finite, the Eval-mode test loss after every epoch has the same bits
///     (memcmp) as the initial model's. Dropout is allowed (Eval mode is deterministic).
///     Not applicable with a nonzero lr, BatchNorm, or a non-finite gradient.
Verdict prop_test_loss_frozen(const Case& c, const Factories& f = Factories::library());

/// 2b. Test loss tracks buffers: if every lr is 0, the architecture has BatchNorm and every
///     gradient is finite, every parameter keeps its value, and the trained model with its
///     initial buffers put back has the initial model's Eval-mode test loss bit for bit.
///     Tags "buffers moved"/"buffers unchanged" and "test loss changed"/"test loss unchanged"
///     record what the run did. Not applicable with a nonzero lr, without BatchNorm, or with
///     a non-finite gradient.
Verdict prop_test_loss_tracks_buffers(const Case& c, const Factories& f = Factories::library());

/// 3. Training-loss order: if every lr is 0, shuffling is on, there is no BatchNorm and no
///    Dropout with p > 0, epochs >= 2, and every gradient and training loss is finite, then
///    every epoch's training loss differs from epoch 1's by at most the sum of their rigorous
///    error bounds (per-batch bounded_forward loss bounds weighted by n_b/N, plus
///    gamma_{B+1} sum n_b|L_b|/N and (B+2) denorm_min for the weighted mean over B batches,
///    batches in the trainer's own order), and the reference replay's epoch losses agree with
///    epoch 1's to within max(2^-100 relative, the working bounds scaled by 2^-113/u).
///    Otherwise not applicable.
Verdict prop_train_loss_order(const Case& c, const Factories& f = Factories::library());

/// 4. Drift: for a case of at most 64 steps whose gradients are all finite (any lrs), at
///    every step, in the trainer's batch order and lr, (a) the batch loss is within its
///    bounded_forward bound of the reference loss of the same weights and batch, and (b) every
///    tensor's update is within check_step's budget against the reference step from the
///    same state; range-limited steps are tagged "range-limited" and not judged.
///    Not applicable above 64 steps or with a non-finite gradient.
Verdict prop_drift(const Case& c, const Factories& f = Factories::library());

/// 5. State advances: for a case of at most 64 steps whose lrs start with w >= 1 zeros
///    followed by a positive lr that the run reaches, and whose gradients are all finite:
///    every step passes check_step (as in drift; the reference starts from the state the zero
///    steps advanced), every parameter has its initial value after the w warm-up steps, and
///    after the run every tensor's step_count equals the number of steps taken.
///    Otherwise not applicable.
Verdict prop_state_advances(const Case& c, const Factories& f = Factories::library());

/// 6. Non-finite gradients: for a case whose run meets a NaN or inf gradient entry:
///    under raise, the run throws NonFiniteGradientError and no parameter is NaN or inf
///    afterwards; under skip, no parameter is NaN or inf and, if every lr is 0, every
///    parameter keeps its value (a non-finite parameter with some lr > 0 is a Hazard);
///    under apply (judged only when every lr is 0), some parameter becomes NaN or inf — the
///    0 * NaN = NaN poisoning, reported as a Hazard naming the parameter — and it is a
///    violation if none does. Not applicable if no gradient is non-finite, or under apply
///    with a nonzero lr.
Verdict prop_non_finite(const Case& c, const Factories& f = Factories::library());

/// 7. Continuity in the lr: run with the case's lrs scaled by s = 2^-4j (j = 0..10) and by 0
///    (applicable when the largest lr is > 0 and every run stays finite). With D(s) the sum
///    over all parameter entries of |w_i(s) - w_i(0)|, k the steps and u T's unit roundoff,
///    slack(s) = sum_i (4 k u max(|w_i(0)|, |w_i(s)|) + 4 k denorm_min): at s = 2^-40 either
///    D(s) <= 4 slack(s) (the change has vanished into rounding), or D(s)/s has not grown at
///    least 8-fold at each of the last three scale steps (2^-28 to 2^-40): the change stays
///    proportional to the lr, up to rounding noise in an ill-conditioned direction. Larger
///    scales are not judged: a step m/(|g|+eps) can be huge for small g, so the linear regime
///    may start late. An lr floor, or an update term without lr, grows D(s)/s 16-fold per
///    scale and breaks it. With eps < 1e-12 in a rule that divides by sqrt(v) + eps, the
///    direction is bounded only by |m| / eps and a failure is a Hazard of those settings.
Verdict prop_continuity(const Case& c, const Factories& f = Factories::library());

/// 8. Metamorphic: (a) if a Dense layer of >= 2 units reaches another Dense layer through
///    elementwise activations, BatchNorm1d and LayerNorm only, reversing its hidden units
///    (rows of W1 and b1, the norms' per-feature parameters and buffers, columns of W2) keeps
///    the initial model's Eval-mode test loss within the sum of the two bounded_forward loss
///    bounds; when every lr is 0 and there is no BatchNorm, the same holds between the two
///    models after running the case from each (unless a gradient is non-finite). (b) With
///    >= 2 test samples, reversing their order keeps the test loss within the two bounds.
///    Not applicable when neither (a) nor (b) applies; infinite bounds are tagged "unbounded".
Verdict prop_metamorphic(const Case& c, const Factories& f = Factories::library());

/// 9. Independence: for a case of at most 64 steps whose gradients are all finite, at every
///    step (trainer order and lrs) (a) each tensor stepped on a fresh optimizer of its own,
///    with the same gradients and lrs since the start, has the same bits as when all tensors
///    are stepped together, and (b) stepping from the same state with tensor A's gradient
///    replaced by 0.5 g + 1 leaves every other tensor's new value bit-identical.
///    Not applicable above 64 steps or with a non-finite gradient.
Verdict prop_independence(const Case& c, const Factories& f = Factories::library());

/// The names of all model properties, for the regressions replay and the tools.
std::vector<std::string> property_names();
/// Runs the model property with that name; SpecError on an unknown name.
Verdict run_property(const std::string& name, const Case& c, const Factories& f = Factories::library());

// ---- Vector properties: judging an implementation's run on a vector case -------------------

/// What an implementation did at one step of a vector case.
struct StepRecord {
  enum class Status {
    Stepped,  ///< it stepped; params are the new values
    Refused,  ///< it refused the step (a deliberate refusal); params are as it left them
    Raised    ///< it raised an exception (message); params are as it left them
  };
  Status status = Status::Stepped;
  std::vector<double> params;  ///< all n values after the call (float values exactly, in float cases)
  std::string message;         ///< the refusal's status code or the exception's text
};

/// An implementation's run on a vector case: one record per step it reached. A crash, a hang
/// or a broken reply ends the run early; `failure` then says which, and the case's own check
/// reports it as a violation naming the input.
struct Trajectory {
  std::vector<StepRecord> steps;
  std::string failure;  ///< "" when the run completed
};

/// What the vector properties know of the implementation besides its trajectory.
struct VectorSubject {
  std::optional<OptimizerSpec> claims;  ///< the rule it claims to implement, if any
  bool may_refuse = true;               ///< whether it may refuse a step
};

/// The vector properties, each a function of (case, trajectory, subject) to a Verdict, in the
/// same registry as the model properties (audit.h explains each): freeze, non_finite,
/// signed_zero, refusal, exception, rule_hazard, agreement (for agreement and warmup cases;
/// the verdict's property is the case's check) and failure (crashes and hangs, reported under
/// the case's check). The claimed rule's reference run on the case's inputs (double-double or float128, with
/// the trajectory budget of reference/budget.h) is computed once and shared.
/// requires: vc.validate() passes; tr holds at most one record per step.
std::vector<Verdict> judge_vector_case(const VectorCase& vc, const Trajectory& tr,
                                       const VectorSubject& subject);

/// The names of the vector properties.
std::vector<std::string> vector_property_names();

}  // namespace zerolr
