#pragma once
/// \file
/// Adamax as torch.optim.Adamax documents it. With t the step after incrementing:
///
///   g <- g + weight_decay * p                                   (if weight_decay != 0)
///   m <- beta1 m + (1 - beta1) g
///   u <- max(beta2 u, |g| + eps)              (NaN if either is NaN, as torch.amax)
///   p <- p - (lr / (1 - beta1^t)) m / u
///
/// The last line is addcdiv, p + (-clr m) / u, in that order.

#include <cmath>

#include "zerolr/optim/rule.h"

namespace zerolr {

/// Adamax (torch.optim.Adamax).
struct AdamaxSettings {
  static constexpr const char* kName = "adamax";
  double lr = 2e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;
  static constexpr auto keys() {
    using S = AdamaxSettings;
    return std::array{
        real_key("lr", &S::lr, kNonNegative, draws::kLr),
        real_key("beta1", &S::beta1, kBeta, draws::kBeta1),
        real_key("beta2", &S::beta2, kBeta, draws::kBeta2),
        real_key("eps", &S::eps, kNonNegative, draws::kEps),
        real_key("weight_decay", &S::weight_decay, kNonNegative, draws::kWeightDecay),
    };
  }
  friend bool operator==(const AdamaxSettings&, const AdamaxSettings&) = default;
};

struct AdamaxRule {
  using Settings = AdamaxSettings;

  template <class T>
  struct State {
    std::int64_t step = 0;
    Vector<T> exp_avg;
    Vector<T> exp_inf;
    Vector<T> g;  ///< scratch: the effective gradient
  };

  template <class T>
  static State<T> init(const Settings&, Index n) {
    State<T> st;
    st.exp_avg = Vector<T>::Zero(n);
    st.exp_inf = Vector<T>::Zero(n);
    st.g.resize(n);
    return st;
  }

  template <class T>
  static std::vector<StateRef<T>> refs(State<T>& st) {
    return {{"exp_avg", &st.exp_avg, Sign::Signed}, {"exp_inf", &st.exp_inf, Sign::NonNegative}};
  }
  template <class T>
  static std::vector<ScalarRef<T>> scalars(State<T>&) {
    return {};
  }

  template <class T>
  static void update(const Settings& s, State<T>& st, T* param, const T* grad, Index n, T lr) {
    using W = rule::Wide<T>;
    rule::VecMap<T> p(param, n);
    st.g = rule::ConstVecMap<T>(grad, n);
    ++st.step;
    if (s.weight_decay != 0) st.g.array() = st.g.array() + rule::cast<T>(s.weight_decay) * p.array();
    const T beta1 = rule::cast<T>(s.beta1), beta2 = rule::cast<T>(s.beta2), eps = rule::cast<T>(s.eps);
    const T one_minus_beta1 = static_cast<T>(W(1) - W(s.beta1));
    st.exp_avg.array() = beta1 * st.exp_avg.array() + one_minus_beta1 * st.g.array();
    for (Index i = 0; i < n; ++i) {
      using std::abs;
      const T decayed = st.exp_inf(i) * beta2;
      const T fresh = abs(st.g(i)) + eps;
      // torch.amax: the larger, and NaN if either is NaN.
      st.exp_inf(i) =
          (decayed != decayed || fresh != fresh) ? decayed + fresh : (decayed < fresh ? fresh : decayed);
    }
    const T neg_clr = static_cast<T>(-W(lr) / rule::one_minus_pow<W>(s.beta1, st.step));
    p.array() = p.array() + neg_clr * st.exp_avg.array() / st.exp_inf.array();
  }

  static double amplification(const Settings& s) { return rule::persistence(s.beta1); }
  static bool freezes_at_lr0(const Settings&) { return true; }
  /// Below 1e-12 the direction m / u, u >= |g| + eps, is bounded only by |m| / eps; so it is
  /// for any eps when u forgets at once (beta2 = 0).
  static bool eps_below_floor(const Settings& s) {
    return s.eps < 1e-12 || rule::memoryless_normaliser(s.beta1, s.beta2);
  }
};

}  // namespace zerolr
