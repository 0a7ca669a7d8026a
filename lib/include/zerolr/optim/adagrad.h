#pragma once
/// \file
/// Adagrad as torch.optim.Adagrad documents it. With t the step after incrementing:
///
///   g <- g + weight_decay * p                      (if weight_decay != 0)
///   clr <- lr / (1 + (t - 1) * lr_decay)
///   sum <- sum + g * g                             (sum starts at initial_accumulator_value)
///   p <- p - clr * g / (sqrt(sum) + eps)

#include "zerolr/optim/rule_support.h"

namespace zerolr {

struct AdagradRule {
  using Settings = AdagradSettings;

  template <class T>
  struct State {
    std::int64_t step = 0;
    Vector<T> sum;
    Vector<T> g;    ///< scratch
    Vector<T> std;  ///< scratch
  };

  template <class T>
  static State<T> init(const Settings& s, Index n) {
    State<T> st;
    st.sum = Vector<T>::Constant(n, rule::cast<T>(s.initial_accumulator_value));
    st.g.resize(n);
    st.std.resize(n);
    return st;
  }

  template <class T>
  static std::vector<StateRef<T>> refs(State<T>& st) {
    return {{"sum", &st.sum}};
  }

  template <class T>
  static void update(const Settings& s, State<T>& st, T* param, const T* grad, Index n, T lr) {
    using W = rule::Wide<T>;
    rule::VecMap<T> p(param, n);
    st.g = rule::ConstVecMap<T>(grad, n);
    ++st.step;
    if (s.weight_decay != 0) st.g.array() = st.g.array() + rule::cast<T>(s.weight_decay) * p.array();
    const T clr = static_cast<T>(W(lr) / (W(1) + W(st.step - 1) * W(s.lr_decay)));
    st.sum.array() = st.sum.array() + st.g.array() * st.g.array();
    st.std = st.sum.unaryExpr([](const T& x) {
      using std::sqrt;
      return sqrt(x);
    });
    st.std.array() += rule::cast<T>(s.eps);
    p.array() = p.array() - clr * (st.g.array() / st.std.array());
  }
};

}  // namespace zerolr
