#pragma once
/// \file
/// SGD as torch.optim.SGD documents it:
///
///   g <- g + weight_decay * p                          (if weight_decay != 0)
///   if momentum != 0:
///     b <- g                              on the first step
///     b <- momentum * b + (1 - dampening) * g          afterwards
///     g <- g + momentum * b   if nesterov, else   g <- b
///   p <- p - lr * g
///
/// The state is the momentum buffer and an integer step counter.

#include "zerolr/optim/rule_support.h"

namespace zerolr {

struct SgdRule {
  using Settings = SgdSettings;

  template <class T>
  struct State {
    std::int64_t step = 0;
    Vector<T> momentum_buffer;  ///< empty when momentum == 0
    Vector<T> d_p;              ///< scratch: the effective gradient of this step
  };

  template <class T>
  static State<T> init(const Settings& s, Index n) {
    State<T> st;
    if (s.momentum != 0) st.momentum_buffer = Vector<T>::Zero(n);
    st.d_p.resize(n);
    return st;
  }

  template <class T>
  static std::vector<StateRef<T>> refs(State<T>& st) {
    if (st.momentum_buffer.size() == 0) return {};
    return {{"momentum_buffer", &st.momentum_buffer}};
  }

  template <class T>
  static void update(const Settings& s, State<T>& st, T* param, const T* grad, Index n, T lr) {
    rule::VecMap<T> p(param, n);
    rule::ConstVecMap<T> g(grad, n);
    auto& d_p = st.d_p;
    if (s.weight_decay != 0)
      d_p.array() = g.array() + rule::cast<T>(s.weight_decay) * p.array();
    else
      d_p = g;
    if (s.momentum != 0) {
      const T momentum = rule::cast<T>(s.momentum);
      auto& b = st.momentum_buffer;
      if (st.step == 0) {
        b = d_p;
      } else {
        const T keep = static_cast<T>(rule::Wide<T>(1) - rule::Wide<T>(s.dampening));
        b.array() = momentum * b.array() + keep * d_p.array();
      }
      if (s.nesterov)
        d_p.array() = d_p.array() + momentum * b.array();
      else
        d_p = b;
    }
    p.array() = p.array() - lr * d_p.array();
    ++st.step;
  }
};

}  // namespace zerolr
