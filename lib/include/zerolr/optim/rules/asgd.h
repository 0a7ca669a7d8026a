#pragma once
/// \file
/// ASGD (averaged SGD) as torch.optim.ASGD documents it. eta and mu are scalar state; eta
/// starts at the lr of the step that creates the state, mu at 1. With t the step after
/// incrementing and lr this step's lr:
///
///   g <- g + weight_decay * p                                   (if weight_decay != 0)
///   p <- p (1 - lambd eta)
///   p <- p - eta g
///   ax <- ax + mu (p - ax)  if mu != 1,  else  ax <- p
///   eta <- lr / (1 + lambd lr t)^alpha
///   mu <- 1 / max(1, t - t0)
///
/// The step uses the eta computed at the end of the previous step, from that step's lr. So
/// ASGD moves at lr = 0 by its own definition: after a step at lr = 0.1, a step at lr = 0
/// still moves the weights by about 0.1 g (freezes_at_lr0 is false). PyTorch 1.13 keeps eta
/// and mu in float32 tensors even for float64 parameters; zerolr keeps them in double.

#include <algorithm>
#include <cmath>

#include "zerolr/optim/rule.h"

namespace zerolr {

/// ASGD (torch.optim.ASGD). lambd, alpha and t0 in [0, inf) are zerolr's own ranges (PyTorch
/// checks none of them): a negative lambd would grow the weights, a negative alpha eta.
struct AsgdSettings {
  static constexpr const char* kName = "asgd";
  double lr = 1e-2;
  double lambd = 1e-4;
  double alpha = 0.75;
  double t0 = 1e6;
  double weight_decay = 0;
  static constexpr auto keys() {
    using S = AsgdSettings;
    return std::array{
        real_key("lr", &S::lr, kNonNegative, draws::kLr),
        real_key("lambd", &S::lambd, kNonNegative, Draw::log10(-6, 0, {1e-4, 0.0, 1e-2, 1.0})),
        real_key("alpha", &S::alpha, kNonNegative, Draw::linear(0, 2, {0.75, 0.0, 1.0, 2.0})),
        real_key("t0", &S::t0, kNonNegative, Draw::linear(0, 10, {1e6, 0.0, 1.0, 3.0})),
        real_key("weight_decay", &S::weight_decay, kNonNegative, draws::kWeightDecay),
    };
  }
  friend bool operator==(const AsgdSettings&, const AsgdSettings&) = default;
};

struct AsgdRule {
  using Settings = AsgdSettings;

  template <class T>
  struct State {
    std::int64_t step = 0;
    Vector<T> ax;
    rule::Wide<T> eta = 0;  ///< set from the first step's lr
    rule::Wide<T> mu = 1;
    Vector<T> g;  ///< scratch: the effective gradient
  };

  template <class T>
  static State<T> init(const Settings&, Index n) {
    State<T> st;
    st.ax = Vector<T>::Zero(n);
    st.g.resize(n);
    return st;
  }

  template <class T>
  static std::vector<StateRef<T>> refs(State<T>& st) {
    return {{"ax", &st.ax, Sign::Signed}};
  }
  template <class T>
  static std::vector<ScalarRef<T>> scalars(State<T>& st) {
    return {{"eta", &st.eta}, {"mu", &st.mu}};
  }

  template <class T>
  static void update(const Settings& s, State<T>& st, T* param, const T* grad, Index n, T lr) {
    using W = rule::Wide<T>;
    using std::pow;
    rule::VecMap<T> p(param, n);
    if (st.step == 0) st.eta = W(lr);  // the lr in effect when the state is created
    st.g = rule::ConstVecMap<T>(grad, n);
    ++st.step;
    if (s.weight_decay != 0) st.g.array() = st.g.array() + rule::cast<T>(s.weight_decay) * p.array();
    const T decay = static_cast<T>(W(1) - W(s.lambd) * st.eta);
    p.array() = p.array() * decay;
    const T neg_eta = static_cast<T>(-st.eta);
    p.array() = p.array() + neg_eta * st.g.array();
    if (st.mu != W(1)) {
      const T mu = static_cast<T>(st.mu);
      st.ax.array() = st.ax.array() + (p.array() - st.ax.array()) * mu;
    } else {
      st.ax = p;
    }
    const W t = static_cast<W>(st.step);
    st.eta = W(lr) / pow(W(1) + W(s.lambd) * W(lr) * t, W(s.alpha));
    using std::max;
    st.mu = W(1) / max(W(1), t - W(s.t0));
  }

  static double amplification(const Settings&) { return 1; }
  static bool freezes_at_lr0(const Settings&) { return false; }
  static bool eps_below_floor(const Settings&) { return false; }
};

}  // namespace zerolr
