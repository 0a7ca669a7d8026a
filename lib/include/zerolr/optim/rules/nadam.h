#pragma once
/// \file
/// NAdam as torch.optim.NAdam documents it (the algorithm box, which PyTorch >= 2.0 computes).
/// With t the step after incrementing and psi = momentum_decay:
///
///   g <- g + weight_decay * p                                   (if weight_decay != 0)
///   mu_t      <- beta1 (1 - 0.5 * 0.96^(t psi))
///   mu_{t+1}  <- beta1 (1 - 0.5 * 0.96^((t + 1) psi))
///   mu_product <- mu_product * mu_t                             (the product of mu_1 .. mu_t)
///   m <- beta1 m + (1 - beta1) g
///   v <- beta2 v + (1 - beta2) g^2
///   denom <- sqrt(v / (1 - beta2^t)) + eps
///   p <- p - lr (1 - mu_t) / (1 - mu_product) * g / denom
///   p <- p - lr mu_{t+1} / (1 - mu_product mu_{t+1}) * m / denom
///
/// mu_product is scalar state, kept in double as every scalar coefficient. PyTorch 1.13
/// differs in two known places: its single-tensor path multiplies mu_t into the next product
/// twice (mu_product * mu_t * mu_{t+1}; pytorch#92699, fixed in its foreach path and later
/// versions), and it keeps mu_product in a float32 tensor even for float64 parameters.

#include <cmath>

#include "zerolr/optim/rule.h"

namespace zerolr {

/// NAdam (torch.optim.NAdam).
struct NadamSettings {
  static constexpr const char* kName = "nadam";
  double lr = 2e-3;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  double weight_decay = 0;
  double momentum_decay = 4e-3;
  static constexpr auto keys() {
    using S = NadamSettings;
    return std::array{
        real_key("lr", &S::lr, kNonNegative, draws::kLr),
        real_key("beta1", &S::beta1, kBeta, draws::kBeta1),
        real_key("beta2", &S::beta2, kBeta, draws::kBeta2),
        real_key("eps", &S::eps, kNonNegative, draws::kEps),
        real_key("weight_decay", &S::weight_decay, kNonNegative, draws::kWeightDecay),
        real_key("momentum_decay", &S::momentum_decay, kNonNegative,
                 Draw::log10(-4, 1, {4e-3, 0.0, 1.0, 10.0})),
    };
  }
  friend bool operator==(const NadamSettings&, const NadamSettings&) = default;
};

struct NadamRule {
  using Settings = NadamSettings;

  template <class T>
  struct State {
    std::int64_t step = 0;
    Vector<T> exp_avg;
    Vector<T> exp_avg_sq;
    rule::Wide<T> mu_product = 1;  ///< mu_1 ... mu_t
    Vector<T> g;                   ///< scratch: the effective gradient
    Vector<T> denom;               ///< scratch
  };

  template <class T>
  static State<T> init(const Settings&, Index n) {
    State<T> st;
    st.exp_avg = Vector<T>::Zero(n);
    st.exp_avg_sq = Vector<T>::Zero(n);
    st.g.resize(n);
    st.denom.resize(n);
    return st;
  }

  template <class T>
  static std::vector<StateRef<T>> refs(State<T>& st) {
    return {{"exp_avg", &st.exp_avg, Sign::Signed}, {"exp_avg_sq", &st.exp_avg_sq, Sign::NonNegative}};
  }
  template <class T>
  static std::vector<ScalarRef<T>> scalars(State<T>& st) {
    return {{"mu_product", &st.mu_product}};
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
    const W bias_correction2 = rule::one_minus_pow<W>(s.beta2, st.step);
    if (s.weight_decay != 0) st.g.array() = st.g.array() + rule::cast<T>(s.weight_decay) * p.array();
    const W mu = W(s.beta1) * (W(1) - W(0.5) * pow(W(0.96), t * W(s.momentum_decay)));
    const W mu_next = W(s.beta1) * (W(1) - W(0.5) * pow(W(0.96), (t + W(1)) * W(s.momentum_decay)));
    st.mu_product = st.mu_product * mu;
    const W mu_product_next = st.mu_product * mu_next;
    const T beta1 = rule::cast<T>(s.beta1), beta2 = rule::cast<T>(s.beta2);
    const T one_minus_beta1 = static_cast<T>(W(1) - W(s.beta1));
    const T one_minus_beta2 = static_cast<T>(W(1) - W(s.beta2));
    st.exp_avg.array() = beta1 * st.exp_avg.array() + one_minus_beta1 * st.g.array();
    st.exp_avg_sq.array() = beta2 * st.exp_avg_sq.array() + one_minus_beta2 * st.g.array() * st.g.array();
    const T bc2 = static_cast<T>(bias_correction2);
    st.denom = (st.exp_avg_sq.array() / bc2).unaryExpr([](const T& x) {
      using std::sqrt;
      return sqrt(x);
    });
    st.denom.array() += rule::cast<T>(s.eps);
    // addcdiv(p, x, denom, value) = p + value * x / denom, twice.
    const T grad_coef = static_cast<T>(-W(lr) * (W(1) - mu) / (W(1) - st.mu_product));
    const T avg_coef = static_cast<T>(-W(lr) * mu_next / (W(1) - mu_product_next));
    p.array() = p.array() + grad_coef * st.g.array() / st.denom.array();
    p.array() = p.array() + avg_coef * st.exp_avg.array() / st.denom.array();
  }

  static double amplification(const Settings& s) { return rule::persistence(s.beta1); }
  static bool freezes_at_lr0(const Settings&) { return true; }
  /// Below 1e-12 the direction (g, m) / (sqrt(v) + eps) is bounded only by |g|, |m| / eps; so
  /// it is for any eps when v forgets at once (beta2 = 0).
  static bool eps_below_floor(const Settings& s) {
    return s.eps < 1e-12 || rule::memoryless_normaliser(s.beta1, s.beta2);
  }
};

}  // namespace zerolr
