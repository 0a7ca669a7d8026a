#pragma once
/// \file
/// RAdam as torch.optim.RAdam documents it. With t the step after incrementing:
///
///   g <- g + weight_decay * p                                   (if weight_decay != 0)
///   m <- beta1 m + (1 - beta1) g
///   v <- beta2 v + (1 - beta2) g^2
///   rho_inf <- 2 / (1 - beta2) - 1
///   rho_t <- rho_inf - 2 t beta2^t / (1 - beta2^t)
///   if rho_t > 5:
///     r <- sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
///     p <- p - (m / (1 - beta1^t)) lr (sqrt(1 - beta2^t) / (sqrt(v) + eps)) r
///   else:
///     p <- p - (m / (1 - beta1^t)) lr
///
/// The scalar coefficients (and so the branch on rho_t) are computed in double; a step whose
/// rho_t lies within double's rounding of 5 could take the other branch in exact arithmetic.

#include <cmath>

#include "zerolr/optim/rule.h"

namespace zerolr {

/// RAdam (torch.optim.RAdam).
struct RadamSettings {
  static constexpr const char* kName = "radam";
  double lr = 1e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;
  static constexpr auto keys() {
    using S = RadamSettings;
    return std::array{
        real_key("lr", &S::lr, kNonNegative, draws::kLr),
        real_key("beta1", &S::beta1, kBeta, draws::kBeta1),
        real_key("beta2", &S::beta2, kBeta, draws::kBeta2),
        real_key("eps", &S::eps, kNonNegative, draws::kEps),
        real_key("weight_decay", &S::weight_decay, kNonNegative, draws::kWeightDecay),
    };
  }
  friend bool operator==(const RadamSettings&, const RadamSettings&) = default;
};

struct RadamRule {
  using Settings = RadamSettings;

  template <class T>
  struct State {
    std::int64_t step = 0;
    Vector<T> exp_avg;
    Vector<T> exp_avg_sq;
    Vector<T> g;  ///< scratch: the effective gradient
  };

  template <class T>
  static State<T> init(const Settings&, Index n) {
    State<T> st;
    st.exp_avg = Vector<T>::Zero(n);
    st.exp_avg_sq = Vector<T>::Zero(n);
    st.g.resize(n);
    return st;
  }

  template <class T>
  static std::vector<StateRef<T>> refs(State<T>& st) {
    return {{"exp_avg", &st.exp_avg, Sign::Signed}, {"exp_avg_sq", &st.exp_avg_sq, Sign::NonNegative}};
  }
  template <class T>
  static std::vector<ScalarRef<T>> scalars(State<T>&) {
    return {};
  }

  template <class T>
  static void update(const Settings& s, State<T>& st, T* param, const T* grad, Index n, T lr) {
    using W = rule::Wide<T>;
    using std::pow;
    using std::sqrt;
    rule::VecMap<T> p(param, n);
    st.g = rule::ConstVecMap<T>(grad, n);
    ++st.step;
    const W t = static_cast<W>(st.step);
    const W bias_correction1 = rule::one_minus_pow<W>(s.beta1, st.step);
    const W bias_correction2 = rule::one_minus_pow<W>(s.beta2, st.step);
    if (s.weight_decay != 0) st.g.array() = st.g.array() + rule::cast<T>(s.weight_decay) * p.array();
    const T beta1 = rule::cast<T>(s.beta1), beta2 = rule::cast<T>(s.beta2);
    const T one_minus_beta1 = static_cast<T>(W(1) - W(s.beta1));
    const T one_minus_beta2 = static_cast<T>(W(1) - W(s.beta2));
    st.exp_avg.array() = beta1 * st.exp_avg.array() + one_minus_beta1 * st.g.array();
    st.exp_avg_sq.array() = beta2 * st.exp_avg_sq.array() + one_minus_beta2 * st.g.array() * st.g.array();
    const W rho_inf = W(2) / (W(1) - W(s.beta2)) - W(1);
    const W rho_t = rho_inf - W(2) * t * pow(W(s.beta2), t) / bias_correction2;
    const T bc1 = static_cast<T>(bias_correction1);
    if (rho_t > W(5)) {
      const W rect =
          sqrt((rho_t - W(4)) * (rho_t - W(2)) * rho_inf / ((rho_inf - W(4)) * (rho_inf - W(2)) * rho_t));
      const T sqrt_bc2 = static_cast<T>(sqrt(bias_correction2));
      const T r = static_cast<T>(rect);
      const T eps = rule::cast<T>(s.eps);
      // st.g is free now: it holds the adaptive lr sqrt(1 - beta2^t) / (sqrt(v) + eps).
      st.g = st.exp_avg_sq.unaryExpr([](const T& x) {
        using std::sqrt;
        return sqrt(x);
      });
      st.g.array() = sqrt_bc2 / (st.g.array() + eps);
      p.array() = p.array() - (st.exp_avg.array() / bc1) * lr * st.g.array() * r;
    } else {
      p.array() = p.array() - (st.exp_avg.array() / bc1) * lr;
    }
  }

  static double amplification(const Settings& s) { return rule::persistence(s.beta1); }
  static bool freezes_at_lr0(const Settings&) { return true; }
  /// Below 1e-12 the adaptive step m / (sqrt(v) + eps) is bounded only by |m| / eps.
  static bool eps_below_floor(const Settings& s) { return s.eps < 1e-12; }
};

}  // namespace zerolr
