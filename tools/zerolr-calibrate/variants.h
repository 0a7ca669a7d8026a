#pragma once
// Implementations that zerolr-calibrate audits: correct ones that round differently (the
// budget must not call them wrong) and deliberately perturbed ones (the audit must catch
// them). Each is an Optimizer<T> the audit drives as it drives a plug-in.

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "zerolr/optim/optimizer.h"

namespace zerolr::calibrate {

/// Forwards everything to an inner optimizer, multiplying every lr by `factor` (an lr that is
/// off by a relative delta).
template <class T>
class LrScaled final : public Optimizer<T> {
 public:
  LrScaled(std::unique_ptr<Optimizer<T>> inner, double factor) : inner_(std::move(inner)), factor_(factor) {}
  void step_tensor(std::size_t t, T* p, const T* g, Index n, T lr) override {
    inner_->step_tensor(t, p, g, n, static_cast<T>(static_cast<double>(lr) * factor_));
  }
  OptimizerSpec spec() const override { return inner_->spec(); }
  std::int64_t step_count(std::size_t t) const override { return inner_->step_count(t); }
  std::vector<StateRef<T>> state(std::size_t t) override { return inner_->state(t); }
  void set_step_count(std::size_t t, std::int64_t s) override { inner_->set_step_count(t, s); }
  std::size_t tensor_count() const override { return inner_->tensor_count(); }
  Index state_size(std::size_t t) const override { return inner_->state_size(t); }
  bool state_visible() const override { return false; }
  std::unique_ptr<Optimizer<T>> clone() const override {
    return std::make_unique<LrScaled>(inner_->clone(), factor_);
  }

 private:
  std::unique_ptr<Optimizer<T>> inner_;
  double factor_;
};

/// A float optimizer that computes in double and rounds the weights to float after every
/// step ("float computed through double"): a correct implementation that rounds less.
class ThroughDouble final : public Optimizer<float> {
 public:
  explicit ThroughDouble(std::unique_ptr<Optimizer<double>> inner) : inner_(std::move(inner)) {}
  void step_tensor(std::size_t t, float* p, const float* g, Index n, float lr) override {
    std::vector<double> pd(p, p + n), gd(g, g + n);
    inner_->step_tensor(t, pd.data(), gd.data(), n, static_cast<double>(lr));
    for (Index i = 0; i < n; ++i) p[i] = static_cast<float>(pd[static_cast<std::size_t>(i)]);
  }
  OptimizerSpec spec() const override { return inner_->spec(); }
  std::int64_t step_count(std::size_t t) const override { return inner_->step_count(t); }
  std::vector<StateRef<float>> state(std::size_t) override { return {}; }
  void set_step_count(std::size_t t, std::int64_t s) override { inner_->set_step_count(t, s); }
  std::size_t tensor_count() const override { return inner_->tensor_count(); }
  Index state_size(std::size_t t) const override { return inner_->state_size(t); }
  bool state_visible() const override { return false; }
  std::unique_ptr<Optimizer<float>> clone() const override {
    return std::make_unique<ThroughDouble>(inner_->clone());
  }

 private:
  std::unique_ptr<Optimizer<double>> inner_;
};

/// What the hand-written variants below share: their settings, per-tensor step counters and
/// up to two buffers, opaque to the audit (as a plug-in's state is), and a deep clone.
template <class T, class Derived, class Settings>
class OpaqueOptimizer : public Optimizer<T> {
 public:
  explicit OpaqueOptimizer(const Settings& s) : s_(s) {}
  OptimizerSpec spec() const override { return s_; }
  std::int64_t step_count(std::size_t t) const override { return t < tensors_.size() ? tensors_[t].step : 0; }
  std::vector<StateRef<T>> state(std::size_t) override { return {}; }
  void set_step_count(std::size_t t, std::int64_t s) override { tensors_.at(t).step = s; }
  std::size_t tensor_count() const override { return tensors_.size(); }
  Index state_size(std::size_t t) const override {
    return t < tensors_.size() ? static_cast<Index>(tensors_[t].a.size()) : 0;
  }
  bool state_visible() const override { return false; }
  std::unique_ptr<Optimizer<T>> clone() const override {
    return std::make_unique<Derived>(static_cast<const Derived&>(*this));
  }

 protected:
  Settings s_;
  struct Tensor {
    std::int64_t step = 0;
    std::vector<T> a, b;  ///< the rule's buffers (m and v; the momentum buffer; v and b)
  };
  /// Tensor t's state, its buffers zero-filled to n entries on first use.
  Tensor& tensor(std::size_t t, Index n) {
    if (t >= tensors_.size()) tensors_.resize(t + 1);
    Tensor& st = tensors_[t];
    if (st.a.empty())
      st.a.assign(static_cast<std::size_t>(n), T(0)), st.b.assign(static_cast<std::size_t>(n), T(0));
    return st;
  }

 private:
  std::vector<Tensor> tensors_;
};

/// How a hand-written variant of Adam/AdamW rounds.
struct AdamRounding {
  bool reciprocal = false;   ///< m * (1 / denom) instead of m / denom
  bool fma = false;          ///< fused multiply-adds in the moments and the update
  bool pow = false;          ///< 1 - pow(beta, t) instead of -expm1(t log beta)
  bool fused_decay = false;  ///< AdamW: p - (lr wd) p instead of p (1 - lr wd)
};

/// Adam or AdamW (decoupled), written plainly with the chosen roundings: a correct
/// implementation of the rule that rounds differently from zerolr's.
template <class T, class Settings>
class AdamVariant final : public OpaqueOptimizer<T, AdamVariant<T, Settings>, Settings> {
  using OpaqueOptimizer<T, AdamVariant<T, Settings>, Settings>::s_;

 public:
  AdamVariant(const Settings& s, AdamRounding r, bool decoupled)
      : OpaqueOptimizer<T, AdamVariant<T, Settings>, Settings>(s), r_(r), decoupled_(decoupled) {}
  void step_tensor(std::size_t t, T* p, const T* g_in, Index n, T lr) override {
    auto& st = this->tensor(t, n);
    auto &m = st.a, &v = st.b;
    const double k = static_cast<double>(++st.step);
    const auto one_minus_pow = [&](double beta) {
      return r_.pow ? 1 - std::pow(beta, k) : (beta == 0 ? 1.0 : -std::expm1(k * std::log(beta)));
    };
    const double bc1 = one_minus_pow(s_.beta1), bc2 = one_minus_pow(s_.beta2);
    const T step_size = static_cast<T>(static_cast<double>(lr) / bc1),
            bc2_sqrt = static_cast<T>(std::sqrt(bc2));
    const T b1 = static_cast<T>(s_.beta1), b2 = static_cast<T>(s_.beta2), eps = static_cast<T>(s_.eps);
    const T ob1 = static_cast<T>(1 - s_.beta1), ob2 = static_cast<T>(1 - s_.beta2);
    const T wd = static_cast<T>(s_.weight_decay);
    for (Index i = 0; i < n; ++i) {
      const auto u = static_cast<std::size_t>(i);
      T g = g_in[i];
      if (decoupled_) {
        if (r_.fused_decay)
          p[i] = p[i] - static_cast<T>(static_cast<double>(lr) * s_.weight_decay) * p[i];
        else
          p[i] = p[i] * static_cast<T>(1 - static_cast<double>(lr) * s_.weight_decay);
      } else if (s_.weight_decay != 0) {
        g = r_.fma ? std::fma(wd, p[i], g) : g + wd * p[i];
      }
      m[u] = r_.fma ? std::fma(ob1, g, b1 * m[u]) : b1 * m[u] + ob1 * g;
      v[u] = r_.fma ? std::fma(ob2 * g, g, b2 * v[u]) : b2 * v[u] + ob2 * (g * g);
      const T denom = std::sqrt(v[u]) / bc2_sqrt + eps;
      const T ratio = r_.reciprocal ? m[u] * (T(1) / denom) : m[u] / denom;
      p[i] = r_.fma ? std::fma(-step_size, ratio, p[i]) : p[i] - step_size * ratio;
    }
  }

 private:
  AdamRounding r_;
  bool decoupled_;
};

/// SGD with momentum, dampening, Nesterov and weight decay, every multiply-add fused.
template <class T>
class SgdFma final : public OpaqueOptimizer<T, SgdFma<T>, SgdSettings> {
  using OpaqueOptimizer<T, SgdFma<T>, SgdSettings>::s_;

 public:
  using OpaqueOptimizer<T, SgdFma<T>, SgdSettings>::OpaqueOptimizer;
  void step_tensor(std::size_t t, T* p, const T* g_in, Index n, T lr) override {
    auto& st = this->tensor(t, n);
    auto& b = st.a;
    const T wd = static_cast<T>(s_.weight_decay), mom = static_cast<T>(s_.momentum);
    const T keep = static_cast<T>(1 - s_.dampening);
    for (Index i = 0; i < n; ++i) {
      const auto u = static_cast<std::size_t>(i);
      T d = s_.weight_decay != 0 ? std::fma(wd, p[i], g_in[i]) : g_in[i];
      if (s_.momentum != 0) {
        b[u] = st.step == 0 ? d : std::fma(mom, b[u], keep * d);
        d = s_.nesterov ? std::fma(mom, b[u], d) : b[u];
      }
      p[i] = std::fma(-lr, d, p[i]);
    }
    ++st.step;
  }
};

/// RMSprop (not centered) with g * (1 / avg) instead of g / avg and a fused v update.
template <class T>
class RmspropReciprocal final : public OpaqueOptimizer<T, RmspropReciprocal<T>, RmspropSettings> {
  using OpaqueOptimizer<T, RmspropReciprocal<T>, RmspropSettings>::s_;

 public:
  using OpaqueOptimizer<T, RmspropReciprocal<T>, RmspropSettings>::OpaqueOptimizer;
  void step_tensor(std::size_t t, T* p, const T* g_in, Index n, T lr) override {
    auto& st = this->tensor(t, n);
    auto &v = st.a, &b = st.b;
    ++st.step;
    const T a = static_cast<T>(s_.alpha), oa = static_cast<T>(1 - s_.alpha), eps = static_cast<T>(s_.eps);
    const T wd = static_cast<T>(s_.weight_decay), mom = static_cast<T>(s_.momentum);
    for (Index i = 0; i < n; ++i) {
      const auto u = static_cast<std::size_t>(i);
      const T g = s_.weight_decay != 0 ? g_in[i] + wd * p[i] : g_in[i];
      v[u] = std::fma(oa * g, g, a * v[u]);
      const T scaled = g * (T(1) / (std::sqrt(v[u]) + eps));
      if (s_.momentum > 0) {
        b[u] = mom * b[u] + scaled;
        p[i] = p[i] - lr * b[u];
      } else {
        p[i] = p[i] - lr * scaled;
      }
    }
  }
};

/// RAdam with its bias corrections as 1 - pow(beta, t) (PyTorch 1.13's single-tensor
/// RAdam does this): at small t, 1 - beta2^t loses about 10 bits, and rho_t = rho_inf -
/// 2 t beta2^t / (1 - beta2^t), near 5 when the rectification starts, amplifies that.
template <class T>
class RadamPow final : public OpaqueOptimizer<T, RadamPow<T>, RadamSettings> {
  using OpaqueOptimizer<T, RadamPow<T>, RadamSettings>::s_;

 public:
  using OpaqueOptimizer<T, RadamPow<T>, RadamSettings>::OpaqueOptimizer;
  void step_tensor(std::size_t t, T* p, const T* g_in, Index n, T lr) override {
    auto& st = this->tensor(t, n);
    auto &m = st.a, &v = st.b;
    const double k = static_cast<double>(++st.step);
    const double bc1 = 1 - std::pow(s_.beta1, k), bc2 = 1 - std::pow(s_.beta2, k);
    const double rho_inf = 2 / (1 - s_.beta2) - 1;
    const double rho_t = rho_inf - 2 * k * std::pow(s_.beta2, k) / bc2;
    const T b1 = static_cast<T>(s_.beta1), b2 = static_cast<T>(s_.beta2), eps = static_cast<T>(s_.eps);
    const T ob1 = static_cast<T>(1 - s_.beta1), ob2 = static_cast<T>(1 - s_.beta2);
    const T wd = static_cast<T>(s_.weight_decay), c1 = static_cast<T>(bc1);
    const T sqrt_bc2 = static_cast<T>(std::sqrt(bc2));
    const bool rectified = rho_t > 5;
    const T rect = rectified ? static_cast<T>(std::sqrt((rho_t - 4) * (rho_t - 2) * rho_inf /
                                                        ((rho_inf - 4) * (rho_inf - 2) * rho_t)))
                             : T(0);
    for (Index i = 0; i < n; ++i) {
      const auto u = static_cast<std::size_t>(i);
      const T g = s_.weight_decay != 0 ? g_in[i] + wd * p[i] : g_in[i];
      m[u] = b1 * m[u] + ob1 * g;
      v[u] = b2 * v[u] + ob2 * (g * g);
      const T corrected = m[u] / c1;
      p[i] = rectified ? p[i] - corrected * lr * (sqrt_bc2 / (std::sqrt(v[u]) + eps)) * rect
                       : p[i] - corrected * lr;
    }
  }
};

}  // namespace zerolr::calibrate
