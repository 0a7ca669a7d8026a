// The claimed rule's run on a vector case (claim.h).
#include "audit/claim.h"

#include <cmath>
#include <limits>
#include <type_traits>

#include "zerolr/optim/optimizer.h"
#include "zerolr/reference/budget.h"
#include "zerolr/reference/oracle.h"
#include "zerolr/reference/step_check.h"
#include "zerolr/scalar/range_probe.h"

namespace zerolr {

namespace {

// An exact value outside T's normal range: above its max, or a nonzero below its min.
template <class T, class R>
bool out_of_range(const Vector<R>& v) {
  const R hi = oracle::constant<R>((std::numeric_limits<T>::max)()),
          lo = oracle::constant<R>((std::numeric_limits<T>::min)());
  for (Index i = 0; i < v.size(); ++i) {
    const R a = abs(v(i));
    if (isfinite(a) && (a > hi || (a != 0 && a < lo))) return true;
  }
  return false;
}

// T's state shows an overflow or underflow the exact state does not have.
template <class T, class R>
bool diverged_range(const Vector<T>& t, const Vector<R>& r) {
  for (Index i = 0; i < t.size() && i < r.size(); ++i)
    if ((!std::isfinite(t(i)) && isfinite(r(i))) || (t(i) == 0 && r(i) != 0)) return true;
  return false;
}

// The run in the reference scalar R (reference/oracle.h picks it).
template <class T, class R>
ClaimRun run(const VectorCase& vc, const OptimizerSpec& claims) {
  using W = budget::Wider<T>;
  ClaimRun cr;
  for (const auto& g : vc.grads)
    for (double v : g)
      if (!std::isfinite(static_cast<T>(v))) return cr;
  cr.available = true;
  const OptimizerSpec spec = with_lr(claims, 1.0);
  const Index n = static_cast<Index>(vc.params.size());
  const auto at = [](Index i) { return static_cast<std::size_t>(i); };
  auto ref = make_optimizer<R>(spec);
  auto abs_run = make_optimizer<R>(spec);
  auto lib = make_optimizer<T>(spec);
  // The same formula in the next wider type measures how strongly it amplifies rounding.
  auto wide = make_optimizer<W>(spec);
  // The same rule in the range probe: counts every intermediate outside T's normal range.
  using P = RangeProbe<T>;
  auto probe = make_optimizer<P>(spec);
  Vector<P> wp(n);
  Vector<W> ww(n);
  Vector<R> w(n), wa(n);
  std::vector<T> wl(vc.params.size());
  for (Index i = 0; i < n; ++i) {
    wl[at(i)] = static_cast<T>(vc.params[at(i)]);
    ww(i) = static_cast<W>(wl[at(i)]);
    w(i) = R(wl[at(i)]);
    wa(i) = abs(w(i));
    wp(i) = P(wl[at(i)]);
  }
  const double amp = amplification(spec);
  std::vector<double> rounding(vc.params.size(), 0.0);
  bool range_limited = false;
  for (std::size_t k = 0; k < vc.lrs.size(); ++k) {
    Vector<R> g(n), ga(n);
    Vector<W> gw(n);
    Vector<P> gp(n);
    std::vector<T> gt(vc.params.size());
    for (Index i = 0; i < n; ++i) {
      gt[at(i)] = static_cast<T>(vc.grads[k][at(i)]);
      g(i) = R(gt[at(i)]);
      ga(i) = abs(g(i));
      gw(i) = static_cast<W>(gt[at(i)]);
      gp(i) = P(gt[at(i)]);
    }
    const T lr = static_cast<T>(vc.lrs[k]);
    const Vector<R> w_prev = w, wa_prev = wa;
    const Vector<double> cond = step_condition(*ref, 0, w, g, R(lr));
    const Vector<double> coeff_cond = coefficient_condition(*ref, 0, w, g, R(lr));
    ref->step_tensor(0, w.data(), g.data(), n, R(lr));
    abs_run->step_tensor(0, wa.data(), ga.data(), n, R(lr));
    lib->step_tensor(0, wl.data(), gt.data(), n, lr);
    wide->step_tensor(0, ww.data(), gw.data(), n, static_cast<W>(lr));
    const std::uint64_t exits = probe_counts().total();
    probe->step_tensor(0, wp.data(), gp.data(), n, P(lr));
    // Once an exact intermediate leaves T's normal range (g*g overflowing in float, a
    // subnormal weight, g*prev underflowing), the budget no longer applies: T itself cannot
    // follow the rule there. The range probe and zerolr's own run in T show where.
    range_limited = range_limited || out_of_range<T, R>(w) || probe_counts().total() != exits;
    const auto ls = lib->state(0);
    const auto rs = ref->state(0);
    for (std::size_t q = 0; q < ls.size() && q < rs.size() && !range_limited; ++q)
      range_limited = diverged_range<T, R>(*ls[q].value, *rs[q].value) || out_of_range<T, R>(*rs[q].value);
    std::vector<double> total(vc.params.size());
    std::vector<double> lib_now(vc.params.size());
    for (Index i = 0; i < n; ++i) {
      const double scale = static_cast<double>(abs(w_prev(i)) + abs(wa(i) - wa_prev(i))) + cond(i);
      rounding[at(i)] += budget::rounding_term<T>(scale * amp) + budget::coefficient_term(coeff_cond(i) * amp);
      total[at(i)] = rounding[at(i)];
      if (isfinite(R(ww(i))))
        total[at(i)] += budget::formula_term<T, W>(static_cast<double>(abs(R(ww(i)) - w(i))));
      lib_now[at(i)] = static_cast<double>(wl[at(i)]);
    }
    cr.ref.push_back(to_float128(w));
    cr.lib.push_back(lib_now);
    cr.budget.push_back(total);
    cr.range_limited.push_back(range_limited);
  }
  return cr;
}

}  // namespace

bool ClaimRun::moved(std::size_t k, Index i, const std::vector<double>& initial) const {
  const Reference& now = ref[k](i);
  const Reference before = k == 0 ? Reference(initial[static_cast<std::size_t>(i)]) : ref[k - 1](i);
  if (isnan(now) && isnan(before)) return false;
  return !(now == before);
}

ClaimRun claim_run(const VectorCase& vc, const std::optional<OptimizerSpec>& claims) {
  if (!claims) return {};
  return oracle::with_reference([&]<class R>() {
    return vc.scalar == Scalar::Float ? run<float, R>(vc, *claims) : run<double, R>(vc, *claims);
  });
}

}  // namespace zerolr
