#pragma once
// Private to lib/src/audit: running a Case, and the comparisons several properties share.

#include <cmath>
#include <memory>
#include <string>

#include "zerolr/audit/properties.h"
#include "zerolr/spec_syntax.h"
#include "zerolr/train/trainer.h"

namespace zerolr {

template <class T>
Dataset<T> to_scalar(const Dataset<double>& d) {
  Dataset<T> out;
  out.x = d.x.template cast<T>();
  out.y = d.y.template cast<T>();
  out.feature_names = d.feature_names;
  out.target_name = d.target_name;
  return out;
}

/// The trainer options a case stands for: lr(t) = lrs[min(t, last)] through a base lr of 1
/// and a sequence schedule (1 * x == x exactly).
inline TrainOptions train_options(const Case& c) {
  TrainOptions o;
  o.epochs = c.epochs;
  o.batch_size = c.batch_size;
  o.shuffle = c.shuffle;
  o.seed = c.shuffle_seed;
  o.schedule = Schedule::sequence(c.lrs);
  o.step.non_finite = c.policy;
  return o;
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

/// Runs the whole case: every epoch, with the test loss after each.
template <class T>
CaseRun<T> run_case(const Case& c, const OptimizerFactory<T>& make) {
  c.validate();
  CaseRun<T> r;
  r.model = Sequential<T>(c.arch, c.model_seed);
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

inline std::string entry_name(const std::string& tensor, Index i, const Matrix<double>& shape_of) {
  (void)shape_of;
  return tensor + "[" + std::to_string(i) + "]";
}

/// Compares every trainable parameter of the run with its initial value: a changed value
/// is a finding of class `cls` (one per tensor, naming the first entry and counting the
/// rest); +0 against -0 is a Note.
template <class T>
void compare_parameters(CaseRun<T>& r, Verdict& v, FindingClass cls, const std::string& context) {
  auto before = r.initial.parameters();
  auto after = r.model.parameters();
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

}  // namespace zerolr
