#pragma once
/// \file
/// Rprop as torch.optim.Rprop computes it. The per-entry step sizes start at the lr of the
/// step that creates the state; later lrs are never read. Per entry, with prev the gradient
/// the previous step kept:
///
///   s <- sign(g * prev)                       (in the working precision: a product can underflow)
///   step_size <- clamp(step_size * (etaplus if s > 0, etaminus if s < 0, else 1),
///                      step_size_min, step_size_max)
///   g <- 0 where s < 0
///   p <- p - sign(g) * step_size
///   prev <- g
///
/// sign is torch.sign: 0 for a zero and for NaN, so a NaN gradient moves nothing. PyTorch's
/// algorithm box leaves the step size unclamped where s = 0, but its code (1.13 and every
/// later version) clamps there too; zerolr follows the code. So Rprop moves every weight by
/// step_size_min * sign(g) at lr = 0 (the step sizes start at 0 and are clamped up), and by
/// the step sizes it has at any later step whatever the lr: freezes_at_lr0 is false.
/// step_size_min <= step_size_max is zerolr's own check (PyTorch's clamp would then give
/// step_size_max everywhere).

#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include "zerolr/optim/rule.h"

namespace zerolr {

/// Rprop (torch.optim.Rprop): etaminus and etaplus stand for etas, step_size_min and
/// step_size_max for step_sizes.
struct RpropSettings {
  static constexpr const char* kName = "rprop";
  double lr = 1e-2;
  double etaminus = 0.5;
  double etaplus = 1.2;
  double step_size_min = 1e-6;
  double step_size_max = 50;
  static constexpr auto keys() {
    using S = RpropSettings;
    constexpr RealRange kBelowOne{0, 1, true, true};                                        // (0, 1)
    constexpr RealRange kAboveOne{1, std::numeric_limits<double>::infinity(), true, true};  // (1, inf)
    return std::array{
        real_key("lr", &S::lr, kNonNegative, draws::kLr),
        real_key("etaminus", &S::etaminus, kBelowOne, Draw::linear(0, 1, {0.5, 0.1, 0.9})),
        real_key("etaplus", &S::etaplus, kAboveOne, Draw::linear(1, 3, {1.2, 2.0, 1.01})),
        real_key("step_size_min", &S::step_size_min, kNonNegative, Draw::log10(-12, -1, {1e-6, 0.0, 1e-3})),
        real_key("step_size_max", &S::step_size_max, kNonNegative, Draw::log10(-2, 3, {50.0, 1.0, 1e3})),
    };
  }
  friend bool operator==(const RpropSettings&, const RpropSettings&) = default;
};

struct RpropRule {
  using Settings = RpropSettings;

  template <class T>
  struct State {
    std::int64_t step = 0;
    Vector<T> prev;
    Vector<T> step_size;
  };

  static void check(const Settings& s, const std::string& where) {
    if (s.step_size_min > s.step_size_max)
      throw SpecError(where + ": step_size_min=" + format_real(s.step_size_min) +
                      " must not exceed step_size_max=" + format_real(s.step_size_max));
  }
  static void repair(Settings& s) {
    if (s.step_size_min > s.step_size_max) std::swap(s.step_size_min, s.step_size_max);
  }

  template <class T>
  static State<T> init(const Settings&, Index n) {
    State<T> st;
    st.prev = Vector<T>::Zero(n);
    st.step_size = Vector<T>::Zero(n);  // filled with the lr on the first step
    return st;
  }

  template <class T>
  static std::vector<StateRef<T>> refs(State<T>& st) {
    return {{"prev", &st.prev, Sign::Signed}, {"step_size", &st.step_size, Sign::NonNegative}};
  }
  template <class T>
  static std::vector<ScalarRef<T>> scalars(State<T>&) {
    return {};
  }

  template <class T>
  static void update(const Settings& s, State<T>& st, T* param, const T* grad, Index n, T lr) {
    if (st.step == 0) st.step_size.setConstant(lr);  // the lr in effect when the state is created
    ++st.step;
    const T etaminus = rule::cast<T>(s.etaminus), etaplus = rule::cast<T>(s.etaplus);
    const T lo = rule::cast<T>(s.step_size_min), hi = rule::cast<T>(s.step_size_max);
    for (Index i = 0; i < n; ++i) {
      const T direction = rule::sign(T(grad[i] * st.prev(i)));
      const T factor = direction > T(0) ? etaplus : (direction < T(0) ? etaminus : T(1));
      // torch.clamp(x, lo, hi) = min(max(x, lo), hi), NaN kept.
      T size = st.step_size(i) * factor;
      if (size < lo) size = lo;
      if (size > hi) size = hi;
      st.step_size(i) = size;
      const T g = direction < T(0) ? T(0) : grad[i];
      // addcmul(p, sign(g), step_size, value=-1) = p + (-1 * sign(g)) * step_size.
      param[i] = param[i] + (-rule::sign(g)) * size;
      st.prev(i) = g;
    }
  }

  /// The step sizes carry one rounding per step into every later step (k u after k steps):
  /// twice the per-step budget covers runs of up to 64 steps.
  static double amplification(const Settings&) { return 2; }
  static bool freezes_at_lr0(const Settings&) { return false; }
  static bool eps_below_floor(const Settings&) { return false; }
};

}  // namespace zerolr
