#pragma once
/// \file
/// Adagrad as torch.optim.Adagrad documents it. With t the step after incrementing:
///
///   g <- g + weight_decay * p                      (if weight_decay != 0)
///   clr <- lr / (1 + (t - 1) * lr_decay)
///   sum <- sum + g * g                             (sum starts at initial_accumulator_value)
///   p <- p - clr * g / (sqrt(sum) + eps)

#include "zerolr/optim/rule.h"

namespace zerolr {

/// Adagrad with lr decay and an initial accumulator (torch.optim.Adagrad).
struct AdagradSettings {
  static constexpr const char* kName = "adagrad";
  double lr = 1e-2;
  double lr_decay = 0;
  double weight_decay = 0;
  double initial_accumulator_value = 0;
  double eps = 1e-10;
  static constexpr auto keys() {
    using S = AdagradSettings;
    return std::array{
        real_key("lr", &S::lr, kNonNegative, draws::kLr),
        real_key("lr_decay", &S::lr_decay, kNonNegative, Draw::log10(-6, 0, {0.0, 0.1, 1.0})),
        real_key("weight_decay", &S::weight_decay, kNonNegative, draws::kWeightDecay),
        real_key("initial_accumulator_value", &S::initial_accumulator_value, kNonNegative,
                 Draw::log10(-6, 1, {0.0, 0.1, 1.0})),
        real_key("eps", &S::eps, kNonNegative, Draw::log10(-30, 0, {1e-10, 0.0, 1e-30, 1e-3})),
    };
  }
  friend bool operator==(const AdagradSettings&, const AdagradSettings&) = default;
};

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
    return {{"sum", &st.sum, Sign::NonNegative}};
  }
  template <class T>
  static std::vector<ScalarRef<T>> scalars(State<T>&) {
    return {};
  }

  static double amplification(const Settings&) { return 1; }
  static bool freezes_at_lr0(const Settings&) { return true; }
  /// Below 1e-12 the direction g / (sqrt(sum) + eps) is bounded only by |g| / eps.
  static bool eps_below_floor(const Settings& s) { return s.eps < 1e-12; }

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
