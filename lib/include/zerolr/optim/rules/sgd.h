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

#include <string>

#include "zerolr/optim/rule.h"

namespace zerolr {

/// SGD with momentum, dampening, Nesterov and L2 weight decay (torch.optim.SGD).
/// SGD's lr takes 1e-3 when missing, as in PyTorch 2 (1.13 requires it).
struct SgdSettings {
  static constexpr const char* kName = "sgd";
  double lr = 1e-3;
  double momentum = 0;
  double dampening = 0;
  double weight_decay = 0;
  bool nesterov = false;
  // Ranges follow torch.optim's checks; dampening in [0, 1] is zerolr's own (PyTorch does
  // not check it).
  static constexpr auto keys() {
    using S = SgdSettings;
    return std::array{
        real_key("lr", &S::lr, kNonNegative, draws::kLr),
        real_key("momentum", &S::momentum, kNonNegative, Draw::linear(0, 1, {0.0, 0.9, 0.5, 0.99})),
        real_key("dampening", &S::dampening, kUnit, Draw::linear(0, 1, {0.0, 0.1, 0.5, 1.0})),
        real_key("weight_decay", &S::weight_decay, kNonNegative, draws::kWeightDecay),
        bool_key("nesterov", &S::nesterov),
    };
  }
  friend bool operator==(const SgdSettings&, const SgdSettings&) = default;
};

struct SgdRule {
  using Settings = SgdSettings;

  template <class T>
  struct State {
    std::int64_t step = 0;
    Vector<T> momentum_buffer;  ///< empty when momentum == 0
    Vector<T> d_p;              ///< scratch: the effective gradient of this step
  };

  /// Nesterov momentum needs momentum > 0 and no dampening (torch.optim.SGD checks it).
  static void check(const Settings& s, const std::string& where) {
    if (s.nesterov && !(s.momentum > 0))
      throw SpecError(where + ": nesterov=1 requires momentum > 0 (momentum=" + format_real(s.momentum) + ")");
    if (s.nesterov && s.dampening != 0)
      throw SpecError(where + ": nesterov=1 requires dampening=0 (dampening=" + format_real(s.dampening) + ")");
  }
  /// The generators' nearest valid combination: Nesterov only where it is allowed.
  static void repair(Settings& s) {
    if (s.nesterov && (!(s.momentum > 0) || s.dampening != 0)) s.nesterov = false;
  }

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
    return {{"momentum_buffer", &st.momentum_buffer, Sign::Signed}};
  }
  template <class T>
  static std::vector<ScalarRef<T>> scalars(State<T>&) {
    return {};
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

  static double amplification(const Settings& s) { return rule::persistence(s.momentum); }
  static bool freezes_at_lr0(const Settings&) { return true; }
  static bool eps_below_floor(const Settings&) { return false; }
};

}  // namespace zerolr
