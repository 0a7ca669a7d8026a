#pragma once
// Private to lib/src/audit: running a Case, and the comparisons several properties share.

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "zerolr/audit/properties.h"
#include "zerolr/reference/lift.h"
#include "zerolr/reference/step_check.h"
#include "zerolr/spec_syntax.h"
#include "zerolr/train/trainer.h"

namespace zerolr {

/// The case's data (kept in double) as the run's scalar: float rounds, double is exact.
template <class T>
Dataset<T> to_scalar(const Dataset<double>& d) {
  return lift<T>(d);  // a cast entry by entry, whichever way it goes
}

template <class T>
struct CaseRun {
  Sequential<T> initial;
  Sequential<T> model;
  std::unique_ptr<Optimizer<T>> optimizer;
  Dataset<T> train, test;
  History<T> history;
  bool non_finite = false;  ///< some gradient had a NaN or inf (raised, skipped or applied)
  bool raised = false;      ///< the Raise policy stopped the run
  std::string error;
  std::int64_t steps = 0;
};

/// Runs the whole case: every epoch, with the test loss after each. `start`, if given,
/// replaces the model built from the seed (same architecture).
template <class T>
CaseRun<T> run_case(const Case& c, const OptimizerFactory<T>& make, const Sequential<T>* start = nullptr) {
  c.validate();
  CaseRun<T> r;
  r.model = start ? *start : Sequential<T>(c.arch, c.model_seed);
  r.initial = r.model;
  r.train = to_scalar<T>(c.train);
  r.test = to_scalar<T>(c.test);
  r.optimizer = make(with_lr(c.optimizer, 1.0));
  Trainer<T> trainer(r.model, c.loss, *r.optimizer, train_options(c));
  try {
    for (int e = 0; e < c.epochs; ++e) trainer.epoch(r.train, &r.test, r.history);
  } catch (const NonFiniteGradientError& e) {
    r.raised = true;
    r.error = e.what();
  }
  r.steps = trainer.steps_taken();
  for (auto n : r.history.non_finite_steps) r.non_finite = r.non_finite || n > 0;
  r.non_finite = r.non_finite || r.raised;
  return r;
}

/// Coverage labels shared by the properties.
template <class T>
void tag_run(Verdict& v, const Case& c, const CaseRun<T>& r) {
  v.tags.push_back(optimizer_name(c.optimizer));
  v.tags.push_back(to_string(c.scalar));
  v.tags.push_back("regime:" + to_string(c.regime));
  if (c.arch.has_buffers()) v.tags.push_back("batchnorm");
  if (c.arch.has_dropout()) v.tags.push_back("dropout");
  if (r.non_finite) v.tags.push_back("non-finite gradient");
}

/// Compares every trainable parameter of the run with its initial value: a changed value
/// is a finding of class `cls` (one per tensor, naming the first entry and counting the
/// rest); +0 against -0 is a Note.
template <class T>
void compare_parameters(Sequential<T>& initial, Sequential<T>& model, Verdict& v, FindingClass cls,
                        const std::string& context) {
  auto before = initial.parameters();
  auto after = model.parameters();
  for (std::size_t t = 0; t < before.size(); ++t) {
    const Matrix<T>& a = *before[t].value;
    const Matrix<T>& b = *after[t].value;
    Index changed = 0, flips = 0, first = -1, first_flip = -1;
    for (Index i = 0; i < a.size(); ++i) {
      const T x = a.data()[i], y = b.data()[i];
      if (!(x == y)) {
        if (first < 0) first = i;
        ++changed;
      } else if (std::signbit(static_cast<double>(x)) != std::signbit(static_cast<double>(y))) {
        if (first_flip < 0) first_flip = i;
        ++flips;
      }
    }
    if (changed > 0)
      v.findings.push_back(
          {cls, before[t].name + "[" + std::to_string(first) + "] changed from " +
                    format_real(static_cast<double>(a.data()[first])) + " to " +
                    format_real(static_cast<double>(b.data()[first])) + " " + context +
                    (changed > 1 ? " (" + std::to_string(changed) + " entries changed)" : "")});
    if (flips > 0)
      v.findings.push_back(
          {FindingClass::Note, before[t].name + "[" + std::to_string(first_flip) +
                                   "] flipped the sign of zero " + context +
                                   (flips > 1 ? " (" + std::to_string(flips) + " entries)" : "")});
  }
}

template <class T>
void compare_parameters(CaseRun<T>& r, Verdict& v, FindingClass cls, const std::string& context) {
  compare_parameters(r.initial, r.model, v, cls, context);
}

template <class T>
const OptimizerFactory<T>& factory_of(const Factories& f) {
  if constexpr (std::is_same_v<T, float>)
    return f.f32;
  else
    return f.f64;
}

/// Whether two values have the same bits (memcmp): +0 and -0 differ, equal NaNs agree.
template <class T>
bool same_bits(T a, T b) {
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}

template <class T>
std::string text(T v) {
  return format_real(static_cast<double>(v));
}

template <class T>
double unit_roundoff() {
  return std::numeric_limits<T>::epsilon() / 2;
}

/// Higham's gamma_m = m u / (1 - m u) for T, in double (+inf when m u >= 1).
template <class T>
double gamma_of(double m) {
  const double mu = m * unit_roundoff<T>();
  return mu < 1 ? mu / (1 - mu) * (1 + 0x1p-40) : std::numeric_limits<double>::infinity();
}

inline bool has_active_dropout(const Architecture& a) {
  for (const auto& l : a.layers)
    if (l.kind == LayerKind::Dropout && l.p > 0) return true;
  return false;
}

/// "; first moved parameter 0.weight[3]: X -> Y", or "" if every parameter kept its value.
template <class T>
std::string first_moved(Sequential<T>& initial, Sequential<T>& model) {
  auto a = initial.parameters(), b = model.parameters();
  for (std::size_t t = 0; t < a.size(); ++t)
    for (Index i = 0; i < a[t].value->size(); ++i) {
      const T x = a[t].value->data()[i], y = b[t].value->data()[i];
      if (!(x == y))
        return "; first moved parameter " + a[t].name + "[" + std::to_string(i) + "]: " + text(x) + " -> " +
               text(y);
    }
  return "";
}

/// The first parameter entry that is NaN or inf ("0.weight[2] = nan"), or "".
template <class T>
std::string first_non_finite(Sequential<T>& model, Index* count = nullptr) {
  std::string first;
  Index n = 0;
  for (const auto& p : model.parameters())
    for (Index i = 0; i < p.value->size(); ++i)
      if (!std::isfinite(static_cast<double>(p.value->data()[i]))) {
        if (first.empty()) first = p.name + "[" + std::to_string(i) + "] = " + text(p.value->data()[i]);
        ++n;
      }
  if (count) *count = n;
  return first;
}

/// The sample order of every epoch as the case's trainer draws it (zerolr's epoch_orders,
/// the function Trainer::epoch itself calls; tests/train/trainer_test.cpp checks the two
/// against a recording optimizer). order[e] cut into chunks of batch_size are the case's
/// batches of epoch e.
std::vector<std::vector<Index>> trainer_order(const Case& c);

/// The rows `order[start .. start+count)` of `m`.
template <class T>
Matrix<T> gather_rows(const Matrix<T>& m, const std::vector<Index>& order, Index start, Index count) {
  Matrix<T> out(count, m.cols());
  for (Index r = 0; r < count; ++r) out.row(r) = m.row(order[static_cast<std::size_t>(start + r)]);
  return out;
}

/// What one step of a lockstep walk exposes: the batch, the lr, the model, optimizer and
/// parameter values before the step, and the trainer's model and optimizer after it (the
/// gradients of the step are in trainer-model parameters' grad).
template <class T>
struct StepView {
  std::int64_t k = 0;  ///< 0-based step
  int epoch = 0;
  T lr = T(0);
  T loss = T(0);  ///< the batch loss Trainer::step returned
  const Matrix<T>* x = nullptr;
  const Matrix<T>* y = nullptr;
  Sequential<T>* before = nullptr;
  const Optimizer<T>* before_opt = nullptr;
  const std::vector<Matrix<T>>* w_prev = nullptr;
  Sequential<T>* model = nullptr;
  Optimizer<T>* opt = nullptr;
};

template <class T>
struct WalkResult {
  Sequential<T> initial, model;
  std::unique_ptr<Optimizer<T>> opt;
  std::int64_t steps = 0;
  bool non_finite = false;  ///< a step met a non-finite gradient; the walk stopped there
};

/// Steps the case through Trainer::step, batch by batch in the trainer's own order
/// (trainer_order) with the trainer's lr (TrainOptions schedule at the trainer's step t),
/// calling on_step(StepView&) after each step; on_step returns false to stop. Stops at the
/// first non-finite gradient, except under the skip policy, where the skipped step is not
/// shown to on_step and the walk goes on (non_finite is set either way). With
/// `show_applied_non_finite`, a non-finite step that the apply policy applied is shown to
/// on_step before the walk stops there.
template <class T, class F>
WalkResult<T> walk_case(const Case& c, const OptimizerFactory<T>& make, F&& on_step,
                        bool show_applied_non_finite = false) {
  c.validate();
  WalkResult<T> w;
  w.model = Sequential<T>(c.arch, c.model_seed);
  w.initial = w.model;
  const Dataset<T> train = to_scalar<T>(c.train);
  w.opt = make(with_lr(c.optimizer, 1.0));
  const TrainOptions options = train_options(c);
  Trainer<T> trainer(w.model, c.loss, *w.opt, options);
  const auto order = trainer_order(c);
  const Index n = train.size(), bs = c.batch_size;
  for (int e = 0; e < c.epochs; ++e)
    for (Index start = 0; start < n; start += bs) {
      const Index rows = std::min(bs, n - start);
      const Matrix<T> xb = gather_rows(train.x, order[static_cast<std::size_t>(e)], start, rows);
      const Matrix<T> yb = gather_rows(train.y, order[static_cast<std::size_t>(e)], start, rows);
      const T lr = static_cast<T>(options.schedule.lr(base_lr(w.opt->spec()), trainer.steps_taken()));
      Sequential<T> before = w.model;
      const auto before_opt = w.opt->clone();
      std::vector<Matrix<T>> w_prev;
      for (const auto& p : w.model.parameters()) w_prev.push_back(*p.value);
      StepView<T> view;
      view.k = trainer.steps_taken();
      view.epoch = e;
      view.lr = lr;
      try {
        view.loss = trainer.step(xb, yb, lr);
      } catch (const NonFiniteGradientError&) {
        w.non_finite = true;
        return w;
      }
      w.steps = trainer.steps_taken();
      const bool applied_non_finite =
          trainer.last_outcome().non_finite && c.policy == NonFinitePolicy::Apply && show_applied_non_finite;
      if (trainer.last_outcome().non_finite && !applied_non_finite) {
        w.non_finite = true;
        // Under skip the trainer left everything as it was and goes on: so does the walk
        // (a later finite step can still turn a parameter NaN, e.g. 0/0 with eps = 0).
        if (c.policy == NonFinitePolicy::Skip) continue;
        return w;
      }
      view.x = &xb;
      view.y = &yb;
      view.before = &before;
      view.before_opt = before_opt.get();
      view.w_prev = &w_prev;
      view.model = &w.model;
      view.opt = w.opt.get();
      if (applied_non_finite) {
        w.non_finite = true;
        on_step(view);
        return w;
      }
      if (!on_step(view)) return w;
    }
  return w;
}

/// Whether this step turned a finite parameter NaN or inf (with finite gradients: walk_case
/// stops before a non-finite gradient), judged against the exact rule from the same state:
/// a Hazard of the rule when the exact rule fails too (a 0/0 of its settings, such as Adagrad
/// with eps = 0 on a zero gradient) or when the working precision's range gives out (g*g
/// overflowing in float); a Violation of the implementation otherwise.
template <class T>
std::optional<Finding> non_finite_turn(const StepView<T>& s) {
  const auto params = s.model->parameters();
  for (std::size_t t = 0; t < params.size(); ++t) {
    const Matrix<T>& prev = (*s.w_prev)[t];
    const Matrix<T>& now = *params[t].value;
    for (Index i = 0; i < now.size(); ++i) {
      if (!std::isfinite(prev.data()[i]) || std::isfinite(now.data()[i])) continue;
      const StepCheck cs =
          check_step(*s.before_opt, t, prev.data(), params[t].grad->data(), now.size(), s.lr, now.data());
      const bool hazard = cs.nonfinite_mismatches == 0 || cs.range_limited;
      return Finding{
          hazard ? FindingClass::Hazard : FindingClass::Violation,
          params[t].name + "[" + std::to_string(i) + "] became " +
              format_real(static_cast<double>(now.data()[i])) + " with finite gradients at step " +
              std::to_string(s.k + 1) + " (lr " + format_real(static_cast<double>(s.lr)) + ")" +
              (hazard ? (cs.range_limited ? ": the optimizer's arithmetic left the working precision's range"
                                          : ": the exact rule fails there too (a 0/0 of its settings)")
                      : ": the exact rule from the same state stays finite")};
    }
  }
  return std::nullopt;
}

/// Walks the case and returns the first non_finite_turn, if any.
template <class T>
std::optional<Finding> rule_failure(const Case& c, const OptimizerFactory<T>& make);

/// Checks this step of every tensor with check_step against the reference from the same
/// state. A range-limited tensor step adds the tag "range-limited" and is not judged; a
/// ratio above 1 is a violation naming the step, tensor and entry.
template <class T>
void judge_step(Verdict& v, const StepView<T>& s) {
  const auto params = s.model->parameters();
  for (std::size_t t = 0; t < params.size(); ++t) {
    const StepCheck sc = check_step(*s.before_opt, t, (*s.w_prev)[t].data(), params[t].grad->data(),
                                    params[t].value->size(), s.lr, params[t].value->data());
    if (sc.range_limited) {
      if (std::find(v.tags.begin(), v.tags.end(), "range-limited") == v.tags.end())
        v.tags.push_back("range-limited");
      continue;
    }
    if (sc.max_ratio > 1 || sc.nonfinite_mismatches > 0)
      v.findings.push_back(
          {FindingClass::Violation,
           "step " + std::to_string(s.k + 1) + " (lr " + text(s.lr) + "): " + params[t].name + "[" +
               std::to_string(sc.worst) + "] became " + format_real(sc.worst_computed) +
               " but the reference step gives " + format_real(sc.worst_reference) + ": error " +
               format_real(std::abs(sc.worst_computed - sc.worst_reference)) + " over a budget of " +
               format_real(sc.worst_budget) + " (ratio " + format_real(sc.max_ratio) + ")"});
  }
}

/// The properties built on "lr = 0 freezes the weights" apply only to rules whose documented
/// algorithm freezes (freezes_at_lr0): for the others (Rprop, ASGD) the precondition fails
/// by the rule's own definition. Tags the verdict and returns false for those.
inline bool rule_freezes(Verdict& v, const Case& c) {
  if (freezes_at_lr0(c.optimizer)) return true;
  v.applicable = false;
  v.tags.push_back("rule moves at lr = 0");
  return false;
}

/// Counts violations (drivers need only the first few; the walk stops early past a cap).
inline std::size_t violation_count(const Verdict& v) {
  std::size_t n = 0;
  for (const auto& f : v.findings) n += f.cls == FindingClass::Violation;
  return n;
}

template <class T>
std::optional<Finding> rule_failure(const Case& c, const OptimizerFactory<T>& make) {
  std::optional<Finding> found;
  walk_case<T>(c, make, [&](StepView<T>& s) {
    found = non_finite_turn(s);
    return !found.has_value();
  });
  return found;
}

/// For the properties that judge a whole run: when the run turns a parameter non-finite, a
/// hazard of the rule makes the property not applicable (the finding is kept, tagged "rule
/// hazard"); a violation is reported. Returns true when the caller should stop.
template <class T>
bool stop_at_rule_failure(Verdict& v, const Case& c, const OptimizerFactory<T>& make) {
  const auto f = rule_failure<T>(c, make);
  if (!f) return false;
  v.findings.push_back(*f);
  if (f->cls == FindingClass::Hazard) {
    v.tags.push_back("rule hazard");
    v.applicable = false;
  }
  return true;
}

}  // namespace zerolr
