#pragma once
/// \file
/// Adam and AdamW as torch.optim documents them. With t the step after incrementing:
///
///   AdamW only:  p <- p * (1 - lr * weight_decay)
///   Adam only:   g <- g + weight_decay * p                (if weight_decay != 0)
///   m <- beta1 * m + (1 - beta1) * g
///   v <- beta2 * v + (1 - beta2) * g * g
///   vmax <- maximum(vmax, v), NaN if either is, and v_used = vmax   (if amsgrad; else v_used = v)
///   denom <- sqrt(v_used) / sqrt(1 - beta2^t) + eps
///   p <- p - (lr / (1 - beta1^t)) * m / denom
///
/// The two share one update; they differ only in the decay policy (a type, not a flag).

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <type_traits>

#include "zerolr/kernels.h"
#include "zerolr/optim/rule.h"

namespace zerolr {

/// The keys Adam and AdamW share (their defaults differ in weight_decay only).
template <class S>
constexpr auto adam_family_keys() {
  return std::array{
      real_key("lr", &S::lr, kNonNegative, draws::kLr),
      real_key("beta1", &S::beta1, kBeta, draws::kBeta1),
      real_key("beta2", &S::beta2, kBeta, draws::kBeta2),
      real_key("eps", &S::eps, kNonNegative, draws::kEps),
      real_key("weight_decay", &S::weight_decay, kNonNegative, draws::kWeightDecay),
      bool_key("amsgrad", &S::amsgrad),
  };
}

/// Adam with L2 weight decay added to the gradient (torch.optim.Adam).
struct AdamSettings {
  static constexpr const char* kName = "adam";
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;
  bool amsgrad = false;
  static constexpr auto keys() { return adam_family_keys<AdamSettings>(); }
  friend bool operator==(const AdamSettings&, const AdamSettings&) = default;
};

/// Adam with decoupled weight decay, param *= 1 - lr * weight_decay (torch.optim.AdamW).
struct AdamWSettings {
  static constexpr const char* kName = "adamw";
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 1e-2;
  bool amsgrad = false;
  static constexpr auto keys() { return adam_family_keys<AdamWSettings>(); }
  friend bool operator==(const AdamWSettings&, const AdamWSettings&) = default;
};

/// A decay policy has apply(wd, lr, p, g). One may say when apply leaves g alone with
/// `static bool changes_gradient(double wd)`, which spares a copy of the gradient; without
/// it, g is assumed to change whatever wd is.
template <class Decay, class = void>
struct has_changes_gradient : std::false_type {};
template <class Decay>
struct has_changes_gradient<Decay, std::void_t<decltype(Decay::changes_gradient(0.0))>> : std::true_type {};
template <class Decay>
bool decay_changes_gradient(double wd) {
  if constexpr (has_changes_gradient<Decay>::value)
    return Decay::changes_gradient(wd);
  else
    return true;
}

/// Weight decay added to the gradient (L2 regularisation), as torch.optim.Adam.
struct CoupledDecay {
  static bool changes_gradient(double wd) { return wd != 0; }
  template <class T>
  static void apply(double wd, T /*lr*/, rule::VecMap<T> p, Vector<T>& g) {
    if (wd != 0) g.array() = g.array() + rule::cast<T>(wd) * p.array();
  }
};

/// Weight decay applied to the parameter and scaled by lr, as torch.optim.AdamW:
/// at lr = 0 the factor is exactly 1 and the parameter is untouched.
struct DecoupledDecay {
  static bool changes_gradient(double) { return false; }
  template <class T>
  static void apply(double wd, T lr, rule::VecMap<T> p, Vector<T>& /*g*/) {
    if (wd != 0) {
      using W = rule::Wide<T>;
      const T factor = static_cast<T>(W(1) - W(lr) * W(wd));
      p.array() = p.array() * factor;
    }
  }
};

template <class SettingsT, class Decay>
struct AdamFamilyRule {
  using Settings = SettingsT;

  template <class T>
  struct State {
    std::int64_t step = 0;
    Vector<T> exp_avg;
    Vector<T> exp_avg_sq;
    Vector<T> max_exp_avg_sq;  ///< empty unless amsgrad
    Vector<T> g;               ///< scratch: the effective gradient
  };

  template <class T>
  static State<T> init(const Settings& s, Index n) {
    State<T> st;
    st.exp_avg = Vector<T>::Zero(n);
    st.exp_avg_sq = Vector<T>::Zero(n);
    if (s.amsgrad) st.max_exp_avg_sq = Vector<T>::Zero(n);
    st.g.resize(n);
    return st;
  }

  template <class T>
  static std::vector<StateRef<T>> refs(State<T>& st) {
    std::vector<StateRef<T>> r{{"exp_avg", &st.exp_avg, Sign::Signed},
                               {"exp_avg_sq", &st.exp_avg_sq, Sign::NonNegative}};
    if (st.max_exp_avg_sq.size() != 0) r.push_back({"max_exp_avg_sq", &st.max_exp_avg_sq, Sign::NonNegative});
    return r;
  }
  template <class T>
  static std::vector<ScalarRef<T>> scalars(State<T>&) {
    return {};
  }

  static double amplification(const Settings& s) { return rule::persistence(s.beta1); }
  static bool freezes_at_lr0(const Settings&) { return true; }
  /// Below 1e-12 the direction m / (sqrt(v) + eps) is bounded only by |m| / eps; so it is
  /// for any eps when v forgets at once (beta2 = 0) and amsgrad does not keep its maximum.
  static bool eps_below_floor(const Settings& s) {
    return s.eps < 1e-12 || (!s.amsgrad && rule::memoryless_normaliser(s.beta1, s.beta2));
  }

  template <class T>
  static void update(const Settings& s, State<T>& st, T* param, const T* grad, Index n, T lr) {
    using W = rule::Wide<T>;
    using std::sqrt;
    rule::VecMap<T> p(param, n);
    constexpr bool kernel_type = std::is_same_v<T, float> || std::is_same_v<T, double>;
    // The effective gradient: a copy only where the decay changes it (or for Eigen's path).
    const T* g_eff = grad;
    if (!kernel_type || decay_changes_gradient<Decay>(s.weight_decay)) {
      st.g = rule::ConstVecMap<T>(grad, n);
      g_eff = st.g.data();
    }
    ++st.step;
    Decay::apply(s.weight_decay, lr, p, st.g);

    const T beta1 = rule::cast<T>(s.beta1);
    const T beta2 = rule::cast<T>(s.beta2);
    const T one_minus_beta1 = static_cast<T>(W(1) - W(s.beta1));
    const T one_minus_beta2 = static_cast<T>(W(1) - W(s.beta2));
    const W bias_correction1 = rule::one_minus_pow<W>(s.beta1, st.step);
    const W bias_correction2 = rule::one_minus_pow<W>(s.beta2, st.step);
    const T step_size = static_cast<T>(W(lr) / bias_correction1);
    const T bias_correction2_sqrt = static_cast<T>(sqrt(bias_correction2));
    const T eps = rule::cast<T>(s.eps);

    if (s.amsgrad && st.max_exp_avg_sq.size() != n)
      throw ShapeError("adam: amsgrad is on but max_exp_avg_sq holds " +
                       std::to_string(st.max_exp_avg_sq.size()) + " entries for a tensor of " +
                       std::to_string(n));
    if constexpr (kernel_type) {
      // The same formula, entry by entry, vectorized for this CPU (zerolr/kernels.h).
      kernels::adam_update<T>(
          n, param, g_eff, st.exp_avg.data(), st.exp_avg_sq.data(),
          s.amsgrad ? st.max_exp_avg_sq.data() : nullptr,
          {beta1, one_minus_beta1, beta2, one_minus_beta2, bias_correction2_sqrt, eps, step_size});
      return;
    }
    st.exp_avg.array() = beta1 * st.exp_avg.array() + one_minus_beta1 * st.g.array();
    st.exp_avg_sq.array() = beta2 * st.exp_avg_sq.array() + one_minus_beta2 * (st.g.array() * st.g.array());

    const Vector<T>* v = &st.exp_avg_sq;
    if (s.amsgrad) {
      // torch.maximum, which propagates a NaN from either side (cwiseMax would keep the old
      // value against a NaN v; libtorch 1.13 gives NaN, checked in session 2).
      st.max_exp_avg_sq = st.max_exp_avg_sq.binaryExpr(
          st.exp_avg_sq, [](const T& old, const T& v) { return (old < v || v != v) ? v : old; });
      v = &st.max_exp_avg_sq;
    }
    // st.g is free now: it holds the denominator.
    st.g = v->unaryExpr([](const T& x) {
      using std::sqrt;
      return sqrt(x);
    });
    st.g.array() = st.g.array() / bias_correction2_sqrt + eps;
    p.array() = p.array() - step_size * (st.exp_avg.array() / st.g.array());
  }
};

using AdamRule = AdamFamilyRule<AdamSettings, CoupledDecay>;
using AdamWRule = AdamFamilyRule<AdamWSettings, DecoupledDecay>;

}  // namespace zerolr
