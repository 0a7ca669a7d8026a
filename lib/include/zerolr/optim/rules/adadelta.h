#pragma once
/// \file
/// Adadelta as torch.optim.Adadelta documents it:
///
///   g <- g + weight_decay * p                                   (if weight_decay != 0)
///   v <- rho v + (1 - rho) g^2
///   delta <- sqrt(u + eps) / sqrt(v + eps) * g
///   u <- rho u + (1 - rho) delta^2
///   p <- p - lr delta
///
/// v is square_avg and u is acc_delta, PyTorch's state names. The lr scales only the last
/// line, so at lr = 0 the weights stay and both averages advance.

#include <cmath>

#include "zerolr/optim/rule.h"

namespace zerolr {

/// Adadelta (torch.optim.Adadelta).
struct AdadeltaSettings {
  static constexpr const char* kName = "adadelta";
  double lr = 1.0;
  double rho = 0.9;
  double eps = 1e-6;
  double weight_decay = 0;
  static constexpr auto keys() {
    using S = AdadeltaSettings;
    return std::array{
        real_key("lr", &S::lr, kNonNegative, draws::kLr),
        real_key("rho", &S::rho, kUnit, Draw::linear(0, 1, {0.9, 0.0, 1.0, 0.5, 0.99})),
        real_key("eps", &S::eps, kNonNegative, Draw::log10(-30, 0, {1e-6, 1e-30, 1e-12, 1e-3, 0.0})),
        real_key("weight_decay", &S::weight_decay, kNonNegative, draws::kWeightDecay),
    };
  }
  friend bool operator==(const AdadeltaSettings&, const AdadeltaSettings&) = default;
};

struct AdadeltaRule {
  using Settings = AdadeltaSettings;

  template <class T>
  struct State {
    std::int64_t step = 0;
    Vector<T> square_avg;
    Vector<T> acc_delta;
    Vector<T> g;      ///< scratch: the effective gradient
    Vector<T> delta;  ///< scratch
  };

  template <class T>
  static State<T> init(const Settings&, Index n) {
    State<T> st;
    st.square_avg = Vector<T>::Zero(n);
    st.acc_delta = Vector<T>::Zero(n);
    st.g.resize(n);
    st.delta.resize(n);
    return st;
  }

  template <class T>
  static std::vector<StateRef<T>> refs(State<T>& st) {
    return {{"square_avg", &st.square_avg, Sign::NonNegative},
            {"acc_delta", &st.acc_delta, Sign::NonNegative}};
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
    const T rho = rule::cast<T>(s.rho), eps = rule::cast<T>(s.eps);
    const T one_minus_rho = static_cast<T>(W(1) - W(s.rho));
    const auto root = [](const T& x) {
      using std::sqrt;
      return sqrt(x);
    };
    st.square_avg.array() = rho * st.square_avg.array() + one_minus_rho * st.g.array() * st.g.array();
    // delta = sqrt(u + eps) / sqrt(v + eps) * g, in that order.
    st.delta = (st.acc_delta.array() + eps).matrix().unaryExpr(root);
    st.delta.array() = st.delta.array() / (st.square_avg.array() + eps).matrix().unaryExpr(root).array();
    st.delta.array() = st.delta.array() * st.g.array();
    st.acc_delta.array() = rho * st.acc_delta.array() + one_minus_rho * st.delta.array() * st.delta.array();
    p.array() = p.array() + (-lr) * st.delta.array();
  }

  static double amplification(const Settings&) { return 1; }
  static bool freezes_at_lr0(const Settings&) { return true; }
  /// Below 1e-12 the step sqrt(u + eps) / sqrt(v + eps) g grows without bound as v -> 0.
  static bool eps_below_floor(const Settings& s) { return s.eps < 1e-12; }
};

}  // namespace zerolr
