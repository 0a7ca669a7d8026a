// Properties about optimizer steps: each step against the reference, state at lr = 0,
// non-finite gradients, continuity in the lr, and independence between tensors.
#include <algorithm>
#include <cmath>
#include <limits>

#include "audit/run.h"
#include "zerolr/audit/properties.h"
#include "zerolr/reference/bounds.h"
#include "zerolr/reference/lift.h"
#include "zerolr/reference/oracle.h"
#include "zerolr/scalar/reference.h"

namespace zerolr {

namespace {

constexpr std::int64_t kMaxWalkSteps = 64;
constexpr std::size_t kMaxViolations = 16;

// ---- drift -------------------------------------------------------------------------------

template <class T>
Verdict drift(const Case& c, const OptimizerFactory<T>& make) {
  Verdict v;
  v.property = "drift";
  if (c.total_steps() > kMaxWalkSteps) {
    v.applicable = false;
    return v;
  }
  v.tags.push_back(optimizer_name(c.optimizer));
  v.tags.push_back(to_string(c.scalar));
  if (c.arch.has_buffers()) v.tags.push_back("batchnorm");
  if (c.arch.has_dropout()) v.tags.push_back("dropout");
  if (c.shuffle) v.tags.push_back("shuffled");
  auto w = walk_case<T>(c, make, [&](StepView<T>& s) {
    Sequential<T> m = *s.before;
    const BoundedForward<T> bf = bounded_forward(m, *s.x, Mode::Train, &c.loss, s.y);
    if (!same_bits(bf.loss, s.loss))
      v.findings.push_back({FindingClass::Violation, "step " + std::to_string(s.k + 1) +
                                                         ": the trainer's batch loss " + text(s.loss) +
                                                         " is not bounded_forward's " + text(bf.loss)});
    if (std::isfinite(bf.loss_bound) && std::isfinite(static_cast<double>(s.loss))) {
      const Reference exact = oracle::with_reference([&]<class R>() {
        Sequential<T> before = *s.before;
        Sequential<R> ref = lift<R>(before);
        return to_float128(loss_value(c.loss, ref.forward(lift<R>(*s.x), Mode::Train), lift<R>(*s.y)));
      });
      const Reference err = abs(Reference(s.loss) - exact);
      // The reference's own error is the same bound with its unit roundoff (oracle::kUnit,
      // 2^-101) in place of T's: at most 2^-48 of the bound in double, far below the slack.
      if (err > Reference(bf.loss_bound) * Reference(1 + 0x1p-40) + Reference(0x1p-100) * abs(exact))
        v.findings.push_back({FindingClass::Violation,
                              "step " + std::to_string(s.k + 1) + ": the batch loss " + text(s.loss) +
                                  " is " + format_real(static_cast<double>(err)) + " from the exact loss " +
                                  format_real(static_cast<double>(exact)) +
                                  " of the same weights, above its bound " + format_real(bf.loss_bound)});
    } else {
      v.tags.push_back("unbounded loss");
    }
    judge_step(v, s);
    return violation_count(v) < kMaxViolations;
  });
  if (w.non_finite) {
    v.applicable = false;
    v.tags.push_back("non-finite gradient");
  }
  return v;
}

// ---- state_advances ----------------------------------------------------------------------

template <class T>
void compare_values(Verdict& v, Sequential<T>& initial, Sequential<T>& model, const std::string& context) {
  auto a = initial.parameters(), b = model.parameters();
  for (std::size_t t = 0; t < a.size(); ++t) {
    Index changed = 0, first = -1;
    for (Index i = 0; i < a[t].value->size(); ++i)
      if (!(a[t].value->data()[i] == b[t].value->data()[i])) {
        if (first < 0) first = i;
        ++changed;
      }
    if (changed > 0)
      v.findings.push_back({FindingClass::Violation,
                            a[t].name + "[" + std::to_string(first) + "] changed from " +
                                text(a[t].value->data()[first]) + " to " + text(b[t].value->data()[first]) +
                                " " + context +
                                (changed > 1 ? " (" + std::to_string(changed) + " entries changed)" : "")});
  }
}

template <class T>
Verdict state_advances(const Case& c, const OptimizerFactory<T>& make) {
  Verdict v;
  v.property = "state_advances";
  std::int64_t warmup = 0;
  while (warmup < static_cast<std::int64_t>(c.lrs.size()) && c.lrs[static_cast<std::size_t>(warmup)] == 0)
    ++warmup;
  if (warmup < 1 || warmup >= static_cast<std::int64_t>(c.lrs.size()) || c.total_steps() <= warmup ||
      c.total_steps() > kMaxWalkSteps) {
    v.applicable = false;
    return v;
  }
  v.tags.push_back(optimizer_name(c.optimizer));
  v.tags.push_back(to_string(c.scalar));
  v.tags.push_back("warm-up " + std::to_string(warmup));
  bool rule_hazard = false;
  auto w = walk_case<T>(c, make, [&](StepView<T>& s) {
    if (auto f = non_finite_turn(s)) {
      v.findings.push_back(*f);
      if (f->cls == FindingClass::Hazard) {
        v.tags.push_back("rule hazard");
        v.applicable = false;
        rule_hazard = true;
      }
      return false;
    }
    judge_step(v, s);
    // A rule that moves at lr = 0 by its own definition is judged by check_step alone.
    if (s.k + 1 == warmup && freezes_at_lr0(c.optimizer)) {
      Sequential<T> initial(c.arch, c.model_seed);
      compare_values(v, initial, *s.model, "over the zero warm-up of " + std::to_string(warmup) + " steps");
    }
    return violation_count(v) < kMaxViolations;
  });
  if (w.non_finite) {
    v.applicable = false;
    v.tags.push_back("non-finite gradient");
    return v;
  }
  if (rule_hazard || w.steps != c.total_steps()) return v;  // stopped at a hazard or the violation cap
  const auto params = w.model.parameters();
  for (std::size_t t = 0; t < params.size(); ++t)
    if (w.opt->step_count(t) != w.steps)
      v.findings.push_back({FindingClass::Violation, params[t].name + ": the optimizer's step count is " +
                                                         std::to_string(w.opt->step_count(t)) + " after " +
                                                         std::to_string(w.steps) + " steps (" +
                                                         std::to_string(warmup) + " of them at lr = 0)"});
  return v;
}

// ---- non_finite --------------------------------------------------------------------------

template <class T>
Verdict non_finite(const Case& c, const OptimizerFactory<T>& make) {
  Verdict v;
  v.property = "non_finite";
  if (c.policy == NonFinitePolicy::Apply && !c.all_lr_zero()) {
    v.applicable = false;
    return v;
  }
  // A NaN that a finite step makes (Adagrad with eps = 0 on a zero gradient) is the rule's
  // hazard or freeze's violation, not this property's business.
  if (stop_at_rule_failure<T>(v, c, make)) return v;
  CaseRun<T> r = run_case<T>(c, make);
  tag_run(v, c, r);
  v.tags.push_back("policy:" + to_string(c.policy));
  if (!r.non_finite) {
    v.applicable = false;
    return v;
  }
  Index bad = 0;
  const std::string where = first_non_finite(r.model, &bad);
  const std::string count = bad > 1 ? " (" + std::to_string(bad) + " entries)" : "";
  switch (c.policy) {
    case NonFinitePolicy::Raise: {
      if (!r.raised)
        v.findings.push_back(
            {FindingClass::Violation, "a gradient was non-finite but the run did not raise"});
      // The raising step must change nothing: the parameters stay as the last completed step
      // left them (a divergence at lr > 0 before it is not the policy's business).
      std::vector<Matrix<T>> last;
      auto w = walk_case<T>(c, make, [&](StepView<T>& s) {
        last.clear();
        for (const auto& p : s.model->parameters()) last.push_back(*p.value);
        return true;
      });
      if (last.empty())
        for (const auto& p : w.initial.parameters()) last.push_back(*p.value);
      const auto now = w.model.parameters();
      for (std::size_t t = 0; t < now.size(); ++t)
        for (Index i = 0; i < now[t].value->size(); ++i)
          if (!same_bits(last[t].data()[i], now[t].value->data()[i])) {
            v.findings.push_back({FindingClass::Violation,
                                  "the step that raised NonFiniteGradientError (" + r.error + ") changed " +
                                      now[t].name + "[" + std::to_string(i) + "] from " +
                                      text(last[t].data()[i]) + " to " + text(now[t].value->data()[i])});
            t = now.size();
            break;
          }
      (void)where;
      (void)count;
      break;
    }
    case NonFinitePolicy::Skip:
      // (A rule that moves at lr = 0 by its own definition moves on the finite steps.)
      if (c.all_lr_zero() && freezes_at_lr0(c.optimizer))
        compare_parameters(r, v, FindingClass::Violation, "at lr = 0 under the skip policy");
      if (!where.empty())
        v.findings.push_back({c.all_lr_zero() ? FindingClass::Violation : FindingClass::Hazard,
                              "under the skip policy parameter " + where + count});
      break;
    case NonFinitePolicy::Apply:
      if (where.empty()) {
        // Every parameter stayed finite. Right when the exact rule, from the same state, keeps
        // them finite too (Rprop: torch.sign(NaN) = 0 moves nothing); otherwise the step was
        // not applied.
        bool rule_poisons = false;
        walk_case<T>(
            c, make,
            [&](StepView<T>& s) {
              if (!s.model) return true;
              const auto params = s.model->parameters();
              for (std::size_t t = 0; t < params.size(); ++t) {
                std::string unused;
                if (gradients_finite<T>({params[t]}, &unused)) continue;
                const StepCheck cs =
                    check_step(*s.before_opt, t, (*s.w_prev)[t].data(), params[t].grad->data(),
                               params[t].value->size(), s.lr, params[t].value->data());
                rule_poisons = rule_poisons || cs.nonfinite_mismatches > 0;
              }
              return true;
            },
            /*show_applied_non_finite=*/true);
        if (rule_poisons)
          v.findings.push_back(
              {FindingClass::Violation,
               "under the apply policy at lr = 0 a gradient was non-finite and the exact rule makes a "
               "parameter "
               "NaN or inf, yet every parameter stayed finite: the non-finite step was not applied" +
                   first_moved(r.initial, r.model)});
        else
          v.tags.push_back("rule keeps parameters finite");
      } else {
        v.tags.push_back("nan poisoning");
        v.findings.push_back(
            {FindingClass::Hazard,
             "under the apply policy at lr = 0, 0 * NaN = NaN poisoned parameter " + where + count});
      }
      break;
  }
  return v;
}

// ---- continuity --------------------------------------------------------------------------

template <class T>
Verdict continuity(const Case& c, const OptimizerFactory<T>& make) {
  Verdict v;
  v.property = "continuity";
  const double top = *std::max_element(c.lrs.begin(), c.lrs.end());
  if (!(top > 0)) {
    v.applicable = false;
    return v;
  }
  // The lrs scaled by s = 2^-4j, j = 0..10, and by 0 (powers of two scale every lr exactly).
  // D(s) is the total movement of all parameters away from the s = 0 run. Where the linear
  // regime starts depends on the case (Adam with beta2 = 0 divides by |g| + eps and can take
  // huge steps from a tiny gradient, and larger scales can be chaotic), so the judgement is
  // made where O(eta) speaks: at the smallest scales.
  constexpr int kScales = 11;
  std::vector<double> scale(kScales + 1);
  for (int j = 0; j < kScales; ++j) scale[static_cast<std::size_t>(j)] = std::ldexp(1.0, -4 * j);
  scale[kScales] = 0.0;
  std::vector<CaseRun<T>> runs;
  for (double sc : scale) {
    Case scaled = c;
    for (double& lr : scaled.lrs) lr *= sc;
    runs.push_back(run_case<T>(scaled, make));
    if (runs.back().non_finite || !first_non_finite(runs.back().model).empty()) {
      v.applicable = false;
      v.tags.push_back("non-finite");
      return v;
    }
  }
  tag_run(v, c, runs[0]);
  const double k = static_cast<double>(runs[0].steps);
  const double u = unit_roundoff<T>();
  const double tiny = static_cast<double>(std::numeric_limits<T>::denorm_min());
  auto p0 = runs[kScales].model.parameters();
  const auto last = static_cast<std::size_t>(kScales - 1), prev = last - 1;
  // Rounding happens at the magnitudes a weight passes through, not only where it starts and
  // ends: a float weight that goes out to 1e13 and comes back keeps no digit below about 1e6.
  // (CI's random seed found it: float SGD with weight decay 1 on huber data with a 1.8e28
  // feature; at 2^-40 of the lr the first step moves a weight by 1.6e13 and the second step
  // brings it back to exactly 0, a movement of 0.27 at every small scale.) So the slack at
  // the judged scale uses each entry's largest magnitude along that run.
  std::vector<std::vector<double>> peak(p0.size());
  {
    Case scaled = c;
    for (double& lr : scaled.lrs) lr *= scale[last];
    Sequential<T> start(c.arch, c.model_seed);
    auto ps = start.parameters();
    for (std::size_t t = 0; t < ps.size() && t < peak.size(); ++t)
      for (Index i = 0; i < ps[t].value->size(); ++i)
        peak[t].push_back(std::abs(static_cast<double>(ps[t].value->data()[i])));
    walk_case<T>(scaled, make, [&](StepView<T>& s) {
      auto pw = s.model->parameters();
      for (std::size_t t = 0; t < pw.size() && t < peak.size(); ++t)
        for (Index i = 0; i < pw[t].value->size() && static_cast<std::size_t>(i) < peak[t].size(); ++i)
          peak[t][static_cast<std::size_t>(i)] =
              std::max(peak[t][static_cast<std::size_t>(i)], std::abs(static_cast<double>(pw[t].value->data()[i])));
      return true;
    });
  }
  std::vector<double> moved(kScales, 0.0), slack(kScales, 0.0);
  std::string worst;  // the entry that moves most at the smallest scale
  double worst_move = -1;
  for (int j = 0; j < kScales; ++j) {
    auto pj = runs[static_cast<std::size_t>(j)].model.parameters();
    for (std::size_t t = 0; t < p0.size(); ++t)
      for (Index i = 0; i < p0[t].value->size(); ++i) {
        const double w0 = static_cast<double>(p0[t].value->data()[i]);
        const double wj = static_cast<double>(pj[t].value->data()[i]);
        moved[static_cast<std::size_t>(j)] += std::abs(wj - w0);
        if (j == kScales - 1 && std::abs(wj - w0) > worst_move) {
          worst_move = std::abs(wj - w0);
          worst = p0[t].name + "[" + std::to_string(i) + "] (" + format_real(w0) + " at lr 0, " +
                  format_real(wj) + ")";
        }
        double magnitude = std::max(std::abs(w0), std::abs(wj));
        if (static_cast<std::size_t>(j) == last && static_cast<std::size_t>(i) < peak[t].size())
          magnitude = std::max(magnitude, peak[t][static_cast<std::size_t>(i)]);
        slack[static_cast<std::size_t>(j)] += 4 * k * u * magnitude + 4 * k * tiny;
      }
  }
  auto text_scale = [](int j) { return "2^-" + std::to_string(4 * j); };
  // Judged at the small end, where O(eta) is a statement: at the smallest scale either the
  // movement has vanished into rounding, or the movement per unit of lr stays bounded. A
  // rule that does not vanish with the lr (an lr floor, a term without lr) grows that ratio
  // 16-fold at every scale; rounding noise in an ill-conditioned direction (centered RMSprop
  // on 1e28-scale data) makes it jump irregularly but not grow steadily. So the violation is
  // a steady growth: at least 8-fold at each of the last three scale steps.
  const bool vanished = moved[last] <= 4 * slack[last];
  auto ratio = [&](std::size_t j) { return moved[j] / scale[j]; };
  bool steady_growth = !vanished;
  for (std::size_t j = last - 3; j < last && steady_growth; ++j)
    steady_growth = moved[j] > 0 && ratio(j + 1) > 8 * ratio(j);
  const double r_prev = ratio(prev), r_last = ratio(last);
  v.tags.push_back(vanished ? "vanishes into rounding" : "linear at " + text_scale(kScales - 1));
  // Rules that divide by sqrt(v) + eps: with eps below 1e-12 the direction is bounded only by
  // |m| / eps, which for a gradient at rounding-noise level is astronomically large; O(eta)
  // then holds with a constant no finite scale can confirm. Such settings make a failure a
  // hazard of degenerate hyperparameters, not a violation.
  const bool tiny_eps = eps_below_floor(c.optimizer);
  // A rule that moves at lr = 0 by its own definition (Rprop's minimum step size) does not
  // vanish with the lr either: that is the rule's, not the implementation's.
  const FindingClass cls = !freezes_at_lr0(c.optimizer)
                               ? FindingClass::Rule
                               : (tiny_eps ? FindingClass::Hazard : FindingClass::Violation);
  if (steady_growth)
    v.findings.push_back(
        {cls, "with the lrs scaled by " + text_scale(kScales - 1) +
                  " the parameters still move in total by " + format_real(moved[last]) +
                  " from their lr = 0 values (rounding slack " + format_real(slack[last]) +
                  "), and the movement per unit of lr grew at least 8-fold per scale, from " +
                  format_real(r_prev) + " at " + text_scale(kScales - 2) + " to " + format_real(r_last) +
                  ": the update does not vanish with the lr (movement at scale 1: " + format_real(moved[0]) +
                  "); the entry that moves most is " + worst});
  return v;
}

// ---- independence ------------------------------------------------------------------------

template <class T>
Verdict independence(const Case& c, const OptimizerFactory<T>& make) {
  Verdict v;
  v.property = "independence";
  if (c.total_steps() > kMaxWalkSteps) {
    v.applicable = false;
    return v;
  }
  v.tags.push_back(optimizer_name(c.optimizer));
  v.tags.push_back(to_string(c.scalar));
  std::vector<std::unique_ptr<Optimizer<T>>> fresh;
  std::vector<Matrix<T>> own;
  std::vector<bool> diverged;
  auto w = walk_case<T>(c, make, [&](StepView<T>& s) {
    const auto params = s.model->parameters();
    const std::size_t nt = params.size();
    if (fresh.empty()) {
      for (std::size_t t = 0; t < nt; ++t) {
        fresh.push_back(make(with_lr(c.optimizer, 1.0)));
        own.push_back((*s.w_prev)[t]);
      }
      diverged.assign(nt, false);
    }
    // Each tensor on an optimizer of its own, with the same gradients and lrs.
    for (std::size_t t = 0; t < nt; ++t) {
      if (diverged[t]) continue;
      fresh[t]->step_tensor(t, own[t].data(), params[t].grad->data(), own[t].size(), s.lr);
      for (Index i = 0; i < own[t].size(); ++i)
        if (!same_bits(own[t].data()[i], params[t].value->data()[i])) {
          v.findings.push_back(
              {FindingClass::Violation, "step " + std::to_string(s.k + 1) + ": " + params[t].name + "[" +
                                            std::to_string(i) + "] is " + text(params[t].value->data()[i]) +
                                            " when every tensor is stepped together, but " +
                                            text(own[t].data()[i]) + " on an optimizer of its own"});
          diverged[t] = true;
          break;
        }
    }
    // Perturbing tensor a's gradient must not change any other tensor's new value.
    for (std::size_t a = 0; a < nt; ++a) {
      auto opt = s.before_opt->clone();
      for (std::size_t b = 0; b < nt; ++b) {
        Matrix<T> p = (*s.w_prev)[b];
        Matrix<T> g = *params[b].grad;
        if (b == a) g = (g.array() * T(0.5) + T(1)).matrix();
        opt->step_tensor(b, p.data(), g.data(), p.size(), s.lr);
        if (b == a) continue;
        for (Index i = 0; i < p.size(); ++i)
          if (!same_bits(p.data()[i], params[b].value->data()[i])) {
            v.findings.push_back(
                {FindingClass::Violation, "step " + std::to_string(s.k + 1) +
                                              ": perturbing the gradient of " + params[a].name + " changed " +
                                              params[b].name + "[" + std::to_string(i) + "] from " +
                                              text(params[b].value->data()[i]) + " to " + text(p.data()[i])});
            break;
          }
      }
    }
    return violation_count(v) < kMaxViolations;
  });
  if (w.non_finite) {
    v.applicable = false;
    v.tags.push_back("non-finite gradient");
  }
  return v;
}

}  // namespace

Verdict prop_drift(const Case& c, const Factories& f) {
  return c.scalar == Scalar::Float ? drift<float>(c, f.f32) : drift<double>(c, f.f64);
}
Verdict prop_state_advances(const Case& c, const Factories& f) {
  return c.scalar == Scalar::Float ? state_advances<float>(c, f.f32) : state_advances<double>(c, f.f64);
}
Verdict prop_non_finite(const Case& c, const Factories& f) {
  return c.scalar == Scalar::Float ? non_finite<float>(c, f.f32) : non_finite<double>(c, f.f64);
}
Verdict prop_continuity(const Case& c, const Factories& f) {
  return c.scalar == Scalar::Float ? continuity<float>(c, f.f32) : continuity<double>(c, f.f64);
}
Verdict prop_independence(const Case& c, const Factories& f) {
  return c.scalar == Scalar::Float ? independence<float>(c, f.f32) : independence<double>(c, f.f64);
}

}  // namespace zerolr
