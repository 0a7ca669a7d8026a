#pragma once
/// \file
/// Lion, the algorithm of Chen et al. 2023 ("Symbolic Discovery of Optimization Algorithms"),
/// as the widely used lion-pytorch implements it, with decoupled weight decay scaled by lr:
///
///   p <- p (1 - lr weight_decay)
///   c <- beta1 m + (1 - beta1) g
///   p <- p - lr sign(c)                        (sign as torch.sign: 0 for 0 and NaN)
///   m <- beta2 m + (1 - beta2) g
///
/// At lr = 0 the decay factor is exactly 1 and the step is +-0: the weights freeze, and the
/// momentum advances.

#include "zerolr/optim/rule.h"

namespace zerolr {

/// Lion (lion-pytorch's Lion): beta1 and beta2 stand for betas, in [0, 1] as it asserts.
struct LionSettings {
  static constexpr const char* kName = "lion";
  double lr = 1e-4;
  double beta1 = 0.9;
  double beta2 = 0.99;
  double weight_decay = 0;
  static constexpr auto keys() {
    using S = LionSettings;
    return std::array{
        real_key("lr", &S::lr, kNonNegative, draws::kLr),
        real_key("beta1", &S::beta1, kUnit, Draw::linear(0, 1, {0.9, 0.0, 1.0, 0.5})),
        real_key("beta2", &S::beta2, kUnit, Draw::linear(0, 1, {0.99, 0.0, 1.0, 0.9})),
        real_key("weight_decay", &S::weight_decay, kNonNegative, draws::kWeightDecay),
    };
  }
  friend bool operator==(const LionSettings&, const LionSettings&) = default;
};

struct LionRule {
  using Settings = LionSettings;

  template <class T>
  struct State {
    std::int64_t step = 0;
    Vector<T> exp_avg;
  };

  template <class T>
  static State<T> init(const Settings&, Index n) {
    State<T> st;
    st.exp_avg = Vector<T>::Zero(n);
    return st;
  }

  template <class T>
  static std::vector<StateRef<T>> refs(State<T>& st) {
    return {{"exp_avg", &st.exp_avg, Sign::Signed}};
  }
  template <class T>
  static std::vector<ScalarRef<T>> scalars(State<T>&) {
    return {};
  }

  template <class T>
  static void update(const Settings& s, State<T>& st, T* param, const T* grad, Index n, T lr) {
    using W = rule::Wide<T>;
    ++st.step;
    const T decay = static_cast<T>(W(1) - W(lr) * W(s.weight_decay));
    const T beta1 = rule::cast<T>(s.beta1), beta2 = rule::cast<T>(s.beta2);
    const T one_minus_beta1 = static_cast<T>(W(1) - W(s.beta1));
    const T one_minus_beta2 = static_cast<T>(W(1) - W(s.beta2));
    for (Index i = 0; i < n; ++i) {
      param[i] = param[i] * decay;
      const T c = st.exp_avg(i) * beta1 + one_minus_beta1 * grad[i];
      param[i] = param[i] + (-lr) * rule::sign(c);
      st.exp_avg(i) = st.exp_avg(i) * beta2 + one_minus_beta2 * grad[i];
    }
  }

  /// The update is a sign: no linear state carries a rounding into later steps' sizes.
  static double amplification(const Settings&) { return 1; }
  static bool freezes_at_lr0(const Settings&) { return true; }
  static bool eps_below_floor(const Settings&) { return false; }
};

}  // namespace zerolr
