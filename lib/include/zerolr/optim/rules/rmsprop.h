#pragma once
/// \file
/// RMSprop as torch.optim.RMSprop documents it:
///
///   g <- g + weight_decay * p                               (if weight_decay != 0)
///   v <- alpha * v + (1 - alpha) * g * g
///   centered: ga <- alpha * ga + (1 - alpha) * g;  avg <- sqrt(v - ga * ga) + eps
///   else:     avg <- sqrt(v) + eps
///   momentum > 0: b <- momentum * b + g / avg;  p <- p - lr * b
///   else:         p <- p - lr * g / avg
///
/// Centered RMSprop: in exact arithmetic v >= ga*ga always (an average of squares is at least
/// the square of the average), but rounded v - ga*ga can fall below zero, and PyTorch's
/// sqrt then gives NaN, even at lr = 0 (0 * NaN = NaN). zerolr clamps the difference at 0,
/// which is what the exact rule does, and differs from PyTorch only where PyTorch gives NaN.
/// The property suite found this (freeze, float32, gradients of one constant sign).

#include "zerolr/optim/rule.h"

namespace zerolr {

/// RMSprop, optionally centered and with momentum (torch.optim.RMSprop).
struct RmspropSettings {
  static constexpr const char* kName = "rmsprop";
  double lr = 1e-2;
  double alpha = 0.99;
  double eps = 1e-8;
  double weight_decay = 0;
  double momentum = 0;
  bool centered = false;
  // PyTorch only asks alpha >= 0. zerolr asks alpha in [0, 1]: with alpha > 1 the weight
  // 1 - alpha is negative, square_avg can turn negative and sqrt gives NaN.
  static constexpr auto keys() {
    using S = RmspropSettings;
    return std::array{
        real_key("lr", &S::lr, kNonNegative, draws::kLr),
        real_key("alpha", &S::alpha, kUnit, Draw::linear(0, 1, {0.99, 0.0, 1.0, 0.9})),
        real_key("eps", &S::eps, kNonNegative, Draw::log10(-30, 0, {1e-8, 1e-30, 1e-12, 1e-3})),
        real_key("weight_decay", &S::weight_decay, kNonNegative, draws::kWeightDecay),
        real_key("momentum", &S::momentum, kNonNegative, Draw::linear(0, 1, {0.0, 0.9, 0.5})),
        bool_key("centered", &S::centered),
    };
  }
  friend bool operator==(const RmspropSettings&, const RmspropSettings&) = default;
};

struct RmspropRule {
  using Settings = RmspropSettings;

  template <class T>
  struct State {
    std::int64_t step = 0;
    Vector<T> square_avg;
    Vector<T> grad_avg;         ///< empty unless centered
    Vector<T> momentum_buffer;  ///< empty unless momentum > 0
    Vector<T> g;                ///< scratch
    Vector<T> avg;              ///< scratch
  };

  template <class T>
  static State<T> init(const Settings& s, Index n) {
    State<T> st;
    st.square_avg = Vector<T>::Zero(n);
    if (s.centered) st.grad_avg = Vector<T>::Zero(n);
    if (s.momentum > 0) st.momentum_buffer = Vector<T>::Zero(n);
    st.g.resize(n);
    st.avg.resize(n);
    return st;
  }

  template <class T>
  static std::vector<StateRef<T>> refs(State<T>& st) {
    std::vector<StateRef<T>> r{{"square_avg", &st.square_avg, Sign::NonNegative}};
    if (st.grad_avg.size() != 0) r.push_back({"grad_avg", &st.grad_avg, Sign::Signed});
    if (st.momentum_buffer.size() != 0) r.push_back({"momentum_buffer", &st.momentum_buffer, Sign::Signed});
    return r;
  }
  template <class T>
  static std::vector<ScalarRef<T>> scalars(State<T>&) {
    return {};
  }

  static double amplification(const Settings& s) { return rule::persistence(s.momentum); }
  static bool freezes_at_lr0(const Settings&) { return true; }
  /// Below 1e-12 the direction g / (sqrt(v) + eps) is bounded only by |g| / eps.
  static bool eps_below_floor(const Settings& s) { return s.eps < 1e-12; }

  template <class T>
  static void update(const Settings& s, State<T>& st, T* param, const T* grad, Index n, T lr) {
    using W = rule::Wide<T>;
    rule::VecMap<T> p(param, n);
    st.g = rule::ConstVecMap<T>(grad, n);
    ++st.step;
    if (s.weight_decay != 0) st.g.array() = st.g.array() + rule::cast<T>(s.weight_decay) * p.array();

    const T alpha = rule::cast<T>(s.alpha);
    const T one_minus_alpha = static_cast<T>(W(1) - W(s.alpha));
    st.square_avg.array() = alpha * st.square_avg.array() + one_minus_alpha * (st.g.array() * st.g.array());
    if (s.centered) {
      st.grad_avg.array() = alpha * st.grad_avg.array() + one_minus_alpha * st.g.array();
      st.avg.array() = (st.square_avg.array() - st.grad_avg.array() * st.grad_avg.array()).max(T(0));
    } else {
      st.avg = st.square_avg;
    }
    st.avg = st.avg.unaryExpr([](const T& x) {
      using std::sqrt;
      return sqrt(x);
    });
    st.avg.array() += rule::cast<T>(s.eps);
    if (s.momentum > 0) {
      auto& b = st.momentum_buffer;
      b.array() = rule::cast<T>(s.momentum) * b.array() + st.g.array() / st.avg.array();
      p.array() = p.array() - lr * b.array();
    } else {
      p.array() = p.array() - lr * (st.g.array() / st.avg.array());
    }
  }
};

}  // namespace zerolr
