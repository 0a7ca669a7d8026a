#include "zerolr/reference/step_check.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "zerolr/reference/budget.h"
#include "zerolr/reference/lift.h"
#include "zerolr/reference/oracle.h"
#include "zerolr/scalar/range_probe.h"
#include "zerolr/scalar/reference.h"

namespace zerolr {

template <class R>
Vector<double> step_condition(const Optimizer<R>& before, std::size_t tensor, const Vector<R>& w,
                              const Vector<R>& g, const R& lr) {
  const Index n = w.size();
  const R h = R(0x1p-40);
  // perturb: -1 none; 0 .. vectors-1 a state vector; then the scalar states.
  auto step = [&](const Vector<R>& w_in, const Vector<R>& g_in, int perturb_state) {
    auto opt = before.clone();
    if (perturb_state >= 0) {
      auto refs = opt->state(tensor);
      auto scalars = opt->scalar_state(tensor);
      const auto k = static_cast<std::size_t>(perturb_state);
      if (k < refs.size())
        *refs[k].value *= (R(1) + h);
      else if (k - refs.size() < scalars.size())
        *scalars[k - refs.size()].value *= (R(1) + h);
    }
    Vector<R> out = w_in;
    Vector<R> gg = g_in;
    opt->step_tensor(tensor, out.data(), gg.data(), n, lr);
    return out;
  };
  const Vector<R> base = step(w, g, -1);
  Vector<double> cond = Vector<double>::Zero(n);
  auto accumulate = [&](const Vector<R>& moved) {
    for (Index i = 0; i < n; ++i) {
      const R d = abs(moved(i) - base(i)) / h;
      if (isfinite(d)) cond(i) += static_cast<double>(d);
    }
  };
  accumulate(step(w * (R(1) + h), g, -1));
  accumulate(step(w, g * (R(1) + h), -1));
  auto probe = before.clone();
  const int states = static_cast<int>(probe->state(tensor).size() + probe->scalar_state(tensor).size());
  for (int k = 0; k < states; ++k) accumulate(step(w, g, k));
  return cond;
}

template <class R>
Vector<double> coefficient_condition(const Optimizer<R>& before, std::size_t tensor, const Vector<R>& w,
                                     const Vector<R>& g, const R& lr) {
  const Index n = w.size();
  constexpr double h = 0x1p-40;
  auto step = [&](const OptimizerSpec& spec) {
    auto copy = before.clone();
    auto opt = lift<R>(*copy, spec);
    Vector<R> out = w, gg = g;
    opt->step_tensor(tensor, out.data(), gg.data(), n, lr);
    return out;
  };
  const Vector<R> base = step(before.spec());
  Vector<double> cond = Vector<double>::Zero(n);
  for (const OptimizerSpec& moved : coefficient_perturbations(before.spec(), h)) {
    const Vector<R> w_moved = step(moved);
    for (Index i = 0; i < n; ++i) {
      const R d = abs(w_moved(i) - base(i)) / R(h);
      if (isfinite(d)) cond(i) += static_cast<double>(d);
    }
  }
  return cond;
}

namespace {

// check_step in the reference scalar R (reference/oracle.h picks it).
template <class T, class R>
StepCheck check_step_in(const Optimizer<T>& before, std::size_t tensor, const T* w_prev, const T* grad, Index n,
                        T lr, const T* w_after) {
  auto copy = before.clone();
  auto ref = lift<R>(*copy);
  auto abs_run = lift<R>(*copy);
  for (auto& s : abs_run->state(tensor))
    if (s.sign == Sign::Signed) *s.value = s.value->cwiseAbs();

  Vector<R> w(n), g(n), wa(n), ga(n);
  for (Index i = 0; i < n; ++i) {
    w(i) = R(w_prev[i]);
    g(i) = R(grad[i]);
    wa(i) = abs(w(i));
    ga(i) = abs(g(i));
  }
  const Vector<double> cond = step_condition(*ref, tensor, w, g, R(lr));
  // The direction: the reference step at lr = 1 from the same state.
  Vector<R> w_dir = w;
  {
    auto dir_run = ref->clone();
    Vector<R> gd = g;
    dir_run->step_tensor(tensor, w_dir.data(), gd.data(), n, R(1));
  }
  // The same formula in the next wider type, from the same state.
  using W = budget::Wider<T>;
  auto wide = lift<W>(*copy);
  Vector<W> ww(n), gw(n);
  for (Index i = 0; i < n; ++i) {
    ww(i) = static_cast<W>(w_prev[i]);
    gw(i) = static_cast<W>(grad[i]);
  }
  wide->step_tensor(tensor, ww.data(), gw.data(), n, static_cast<W>(lr));
  // The wider run can be exact by luck: inputs with few significant bits (a saturated
  // sigmoid's gradient of exactly 1, a dyadic beta) give W no rounding to amplify while T
  // still rounds. So the formula also runs in W from inputs perturbed by a relative
  // 2^-(digits of T + 4), far below T's resolution, against the reference from exactly
  // those inputs, and the larger of the two differences counts.
  Vector<W> ww_p(n), gw_p(n);
  Vector<R> w_ref_p(n), g_ref_p(n);
  {
    const W one_plus = W(1) + std::ldexp(W(1), -(std::numeric_limits<T>::digits + 4));
    auto wide_p = lift<W>(*copy);
    for (auto& s : wide_p->state(tensor)) *s.value *= one_plus;
    for (auto& s : wide_p->scalar_state(tensor)) *s.value *= one_plus;
    auto ref_p = lift<R>(*wide_p);
    for (Index i = 0; i < n; ++i) {
      ww_p(i) = static_cast<W>(w_prev[i]);
      gw_p(i) = static_cast<W>(grad[i]) * one_plus;
      w_ref_p(i) = R(ww_p(i));
      g_ref_p(i) = R(gw_p(i));
    }
    wide_p->step_tensor(tensor, ww_p.data(), gw_p.data(), n, static_cast<W>(lr));
    ref_p->step_tensor(tensor, w_ref_p.data(), g_ref_p.data(), n, R(lr));
  }
  const Vector<R> w_start = w;
  ref->step_tensor(tensor, w.data(), g.data(), n, R(lr));
  abs_run->step_tensor(tensor, wa.data(), ga.data(), n, R(lr));

  // Does the exact step leave T's normal range anywhere?
  const R t_max = oracle::constant<R>((std::numeric_limits<T>::max)());
  const R t_min = oracle::constant<R>((std::numeric_limits<T>::min)());
  auto out_of_range = [&](const Vector<R>& v) {
    for (Index i = 0; i < v.size(); ++i) {
      const R a = abs(v(i));
      if (isfinite(a) && (a > t_max || (a != 0 && a < t_min))) return true;
    }
    return false;
  };
  bool range_limited = out_of_range(w) || out_of_range(wa);
  // A state that already holds an infinity (an earlier step overflowed it) has left T's range
  // for good: the exact rule from it says nothing about what T can do.
  for (const auto& s : copy->state(tensor)) range_limited = range_limited || !s.value->allFinite();
  for (Index i = 0; i < n && !range_limited; ++i)
    range_limited = isfinite(w_dir(i)) && abs(w_dir(i) - w_start(i)) > t_max;
  for (const auto& s : ref->state(tensor)) range_limited = range_limited || out_of_range(*s.value);
  for (const auto& s : abs_run->state(tensor)) range_limited = range_limited || out_of_range(*s.value);
  // Any intermediate of the step, stored or not (g*g, g*prev, grad_avg^2), that leaves T's
  // normal range makes T unable to follow the rule with its relative precision: the rule
  // run in the range probe (scalar/range_probe.h) from the same inputs counts them.
  if (!range_limited) {
    using P = RangeProbe<T>;
    auto probe = lift<P>(*copy);
    Vector<P> wp(n), gp(n);
    for (Index i = 0; i < n; ++i) {
      wp(i) = P(w_prev[i]);
      gp(i) = P(grad[i]);
    }
    const std::uint64_t before_exits = probe_counts().total();
    probe->step_tensor(tensor, wp.data(), gp.data(), n, P(lr));
    range_limited = probe_counts().total() != before_exits;
  }
  // The same signature in the state the rule produces in T from the same inputs: an infinity
  // or NaN where the exact state is finite, or a zero where it is not. (This runs the
  // library's rule in T, so it also serves an external implementation whose state cannot be
  // seen.)
  {
    auto t_run = before.clone();
    Vector<T> wt(n), gt(n);
    for (Index i = 0; i < n; ++i) {
      wt(i) = w_prev[i];
      gt(i) = grad[i];
    }
    t_run->step_tensor(tensor, wt.data(), gt.data(), n, lr);
    const auto t_state = t_run->state(tensor);
    const auto r_state = ref->state(tensor);
    for (std::size_t k = 0; k < t_state.size() && k < r_state.size() && !range_limited; ++k)
      for (Index i = 0; i < n; ++i) {
        const T tv = (*t_state[k].value)(i);
        const R& rv = (*r_state[k].value)(i);
        using std::isfinite;
        if ((!isfinite(tv) && isfinite(rv)) || (tv == 0 && rv != 0)) {
          range_limited = true;
          break;
        }
      }
  }

  const double u = budget::unit_roundoff<T>();
  StepCheck out;
  out.count = n;
  out.range_limited = range_limited;
  std::vector<double> ratios(static_cast<std::size_t>(n));
  for (Index i = 0; i < n; ++i) {
    const double computed = static_cast<double>(w_after[i]);
    const R exact = w(i);
    const double exact_d = static_cast<double>(exact);
    double ratio = 0;
    const bool c_fin = std::isfinite(computed);
    const bool r_fin = isfinite(exact);
    double entry_budget = 0;
    if (c_fin && r_fin) {
      const R scale = abs(R(w_prev[i])) + abs(wa(i) - abs(R(w_prev[i]))) + R(cond(i));
      const double u_wide = budget::unit_roundoff<W>();
      double wide_error = isfinite(R(ww(i))) ? static_cast<double>(abs(R(ww(i)) - exact)) : 0;
      if (isfinite(R(ww_p(i))) && isfinite(w_ref_p(i)))
        wide_error = std::max(wide_error, static_cast<double>(abs(R(ww_p(i)) - w_ref_p(i))));
      const double formula = budget::formula_term<T, W>(wide_error);
      entry_budget = budget::rounding_term<T>(static_cast<double>(scale)) + formula;
      const double err = static_cast<double>(abs(R(w_after[i]) - exact));
      ratio = err / entry_budget;
      // When the formula's predicted error in T is as large as the update itself, T keeps no
      // correct digit of the step (centered RMSprop: v - grad_avg^2 below T's resolution), and
      // first-order estimates stop applying: the step is precision-limited, judged like a
      // range-limited one.
      // (Only for an update T can resolve at all, larger than its rounding of w, or where the
      // wider type's error is more than its own rounding of w: then the formula, not w's
      // rounding, makes it. A 50,000-case hunt found float centered RMSprop with a tiny alpha
      // and a large weight decay, whose v - grad_avg^2 cancels completely in float: the step
      // jumped by 4e11 where the exact update, 0.05, was below float's rounding of w.)
      const double update = static_cast<double>(abs(exact - R(w_prev[i])));
      const double w_abs = std::abs(static_cast<double>(w_prev[i]));
      if (formula >= update && (update > budget::kRoundings * u * w_abs ||
                                wide_error > budget::kWideRoundingFactor * u_wide * w_abs))
        out.range_limited = true;
    } else if (std::isnan(computed) && isnan(exact)) {
      ratio = 0;
    } else if (!c_fin && !r_fin && computed == exact_d) {
      ratio = 0;
    } else {
      ratio = std::numeric_limits<double>::infinity();
      ++out.nonfinite_mismatches;
    }
    ratios[static_cast<std::size_t>(i)] = ratio;
    if (ratio > out.max_ratio || out.worst < 0) {
      out.max_ratio = ratio;
      out.worst = i;
      out.worst_computed = computed;
      out.worst_reference = exact_d;
      out.worst_budget = entry_budget;
    }
  }
  std::nth_element(ratios.begin(), ratios.begin() + (n - 1) / 2, ratios.end());
  out.median_ratio = ratios[static_cast<std::size_t>((n - 1) / 2)];
  return out;
}

}  // namespace

template <class T>
StepCheck check_step(const Optimizer<T>& before, std::size_t tensor, const T* w_prev, const T* grad, Index n,
                     T lr, const T* w_after) {
  return oracle::with_reference(
      [&]<class R>() { return check_step_in<T, R>(before, tensor, w_prev, grad, n, lr, w_after); });
}

void merge(StepCheck& into, const StepCheck& other) {
  if (other.max_ratio > into.max_ratio || into.worst < 0) {
    into.max_ratio = other.max_ratio;
    into.worst = other.worst;
    into.worst_computed = other.worst_computed;
    into.worst_reference = other.worst_reference;
    into.worst_budget = other.worst_budget;
  }
  into.median_ratio = std::max(into.median_ratio, other.median_ratio);
  into.count += other.count;
  into.nonfinite_mismatches += other.nonfinite_mismatches;
  into.range_limited = into.range_limited || other.range_limited;
}

#define ZEROLR_INSTANTIATE_CONDITION(R)                                                                       \
  template Vector<double> step_condition<R>(const Optimizer<R>&, std::size_t, const Vector<R>&, const Vector<R>&, \
                                            const R&);                                                          \
  template Vector<double> coefficient_condition<R>(const Optimizer<R>&, std::size_t, const Vector<R>&,          \
                                                   const Vector<R>&, const R&);
ZEROLR_INSTANTIATE_CONDITION(DoubleDouble)
ZEROLR_INSTANTIATE_CONDITION(Float128)
#undef ZEROLR_INSTANTIATE_CONDITION

template StepCheck check_step<float>(const Optimizer<float>&, std::size_t, const float*, const float*, Index,
                                     float, const float*);
template StepCheck check_step<double>(const Optimizer<double>&, std::size_t, const double*, const double*,
                                      Index, double, const double*);

}  // namespace zerolr
