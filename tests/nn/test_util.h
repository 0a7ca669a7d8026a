#pragma once
// Shared helpers for the nn unit tests: random matrices from zerolr's own generator, and one
// central finite-difference gradient checker in double that every layer, loss and model
// test uses, so that a gradient is always judged the same way.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "zerolr/core.h"
#include "zerolr/nn/layer.h"
#include "zerolr/nn/sequential.h"
#include "zerolr/random.h"

namespace zerolr::test {

using MatD = Matrix<double>;
using MatF = Matrix<float>;

/// An n x d matrix with entries uniform in [lo, hi).
inline MatD random_matrix(Rng& rng, Index n, Index d, double lo = -1.0, double hi = 1.0) {
  MatD m(n, d);
  for (Index j = 0; j < d; ++j)
    for (Index i = 0; i < n; ++i) m(i, j) = rng.uniform(lo, hi);
  return m;
}

/// An n x d matrix whose entries have magnitude in [lo, hi) and a random sign: inputs kept
/// away from the kink at zero of relu, leaky_relu and huber.
inline MatD random_away_from_zero(Rng& rng, Index n, Index d, double lo, double hi) {
  MatD m(n, d);
  for (Index j = 0; j < d; ++j)
    for (Index i = 0; i < n; ++i) {
      const double mag = rng.uniform(lo, hi);
      m(i, j) = rng.uniform() < 0.5 ? -mag : mag;
    }
  return m;
}

/// The scalar objective L = sum(c .* y) whose gradient with respect to y is c.
inline double objective(const MatD& y, const MatD& c) {
  EXPECT_EQ(y.rows(), c.rows());
  EXPECT_EQ(y.cols(), c.cols());
  double s = 0;
  for (Index k = 0; k < y.size(); ++k) s += c.data()[k] * y.data()[k];
  return s;
}

/// The finite-difference formula: the two-point central difference, or the five-point one
/// (error O(h^4)) that tolerates a larger step and so less rounding noise.
enum class Stencil { Central2, Central4 };

/// Central difference of f with respect to every entry of v, in place: v is perturbed and
/// restored exactly. The step is h scaled by max(1, |v_k|). For Central2 the divisor is the
/// difference of the two perturbed values as actually represented, so the step's rounding does
/// not count; for Central4 the step is rounded to a power of two, so every x + m h is exact.
inline MatD numeric_gradient(MatD& v, const std::function<double()>& f, double h = 1e-6,
                             Stencil stencil = Stencil::Central2) {
  MatD g(v.rows(), v.cols());
  for (Index k = 0; k < v.size(); ++k) {
    const double orig = v.data()[k];
    const double scaled = h * std::max(1.0, std::abs(orig));
    auto at = [&](double value) {
      v.data()[k] = value;
      return f();
    };
    if (stencil == Stencil::Central2) {
      const double up = orig + scaled;
      const double down = orig - scaled;
      g.data()[k] = (at(up) - at(down)) / (up - down);
    } else {
      const double step = std::exp2(std::round(std::log2(scaled)));
      const double near_diff = at(orig + step) - at(orig - step);
      const double far_diff = at(orig + 2 * step) - at(orig - 2 * step);
      g.data()[k] = (8 * near_diff - far_diff) / (12 * step);
    }
    v.data()[k] = orig;
  }
  return g;
}

/// Compares an analytic gradient with a numeric one entry by entry:
/// |a - n| <= rtol * max(|a|, |n|) + atol. Reports the worst entry when it fails.
inline ::testing::AssertionResult gradients_match(const MatD& analytic, const MatD& numeric,
                                                  double rtol = 1e-6, double atol = 1e-9) {
  if (analytic.rows() != numeric.rows() || analytic.cols() != numeric.cols())
    return ::testing::AssertionFailure() << "shape " << analytic.rows() << "x" << analytic.cols()
                                         << " vs numeric " << numeric.rows() << "x" << numeric.cols();
  double worst = 0;
  Index worst_k = -1;
  for (Index k = 0; k < analytic.size(); ++k) {
    const double a = analytic.data()[k], n = numeric.data()[k];
    if (!std::isfinite(a) || !std::isfinite(n))
      return ::testing::AssertionFailure()
             << "non-finite gradient at entry " << k << ": analytic " << a << ", numeric " << n;
    const double ratio = std::abs(a - n) / (rtol * std::max(std::abs(a), std::abs(n)) + atol);
    if (ratio > worst) {
      worst = ratio;
      worst_k = k;
    }
  }
  if (worst <= 1.0) return ::testing::AssertionSuccess();
  std::ostringstream os;
  os.precision(17);
  os << "entry " << worst_k << " (column-major): analytic " << analytic.data()[worst_k] << " vs numeric "
     << numeric.data()[worst_k] << ", error " << std::abs(analytic.data()[worst_k] - numeric.data()[worst_k])
     << " exceeds rtol " << rtol << " atol " << atol;
  return ::testing::AssertionFailure() << os.str();
}

/// A readable trace line for a random run, so that every failure names its seed.
inline std::string seed_trace(std::uint64_t seed) {
  return "seed=" + std::to_string(seed);
}

/// Checks a double layer's backward against central differences of L = sum(c .* y) with
/// random c drawn from `rng`: the input gradient and every parameter gradient.
///
/// `proto` is never run: each evaluation works on a fresh clone, so a dropout layer replays
/// the same mask (its call counter is part of the clone) and a batchnorm layer starts from the
/// same running statistics.
inline void expect_layer_gradients(const Layer<double>& proto, const MatD& x, Mode mode, Rng& rng) {
  auto analytic_layer = proto.clone();
  const MatD y = analytic_layer->forward(x, mode);
  const MatD c = random_matrix(rng, y.rows(), y.cols());
  const MatD dx = analytic_layer->backward(c);
  std::vector<ParamRef<double>> params;
  analytic_layer->collect_parameters(params, "");

  MatD xv = x;
  const MatD num_dx = numeric_gradient(xv, [&] {
    auto l = proto.clone();
    return objective(l->forward(xv, mode), c);
  });
  EXPECT_TRUE(gradients_match(dx, num_dx)) << "input gradient of " << to_string(proto.spec());

  for (std::size_t p = 0; p < params.size(); ++p) {
    MatD value = *params[p].value;
    const MatD num = numeric_gradient(value, [&] {
      auto l = proto.clone();
      std::vector<ParamRef<double>> lp;
      l->collect_parameters(lp, "");
      *lp[p].value = value;
      return objective(l->forward(x, mode), c);
    });
    EXPECT_TRUE(gradients_match(*params[p].grad, num))
        << "gradient of parameter '" << params[p].name << "' of " << to_string(proto.spec());
  }
}

/// Checks a double model's backward against central differences of L = sum(c .* y): the
/// input gradient and every named parameter gradient. Each evaluation uses a deep copy.
/// A deep model's forward amplifies rounding (normalisation of small variances, saturated
/// activations), which swamps a two-point difference at h = 1e-6; the five-point stencil at
/// h = 1e-4 keeps both the truncation and the rounding error far below rtol.
inline void expect_model_gradients(const Sequential<double>& proto, const MatD& x, Mode mode, Rng& rng,
                                   double rtol = 1e-6, double atol = 1e-9) {
  Sequential<double> analytic = proto;
  const MatD y = analytic.forward(x, mode);
  const MatD c = random_matrix(rng, y.rows(), y.cols());
  const MatD dx = analytic.backward(c);
  auto params = analytic.parameters();

  MatD xv = x;
  const MatD num_dx = numeric_gradient(
      xv,
      [&] {
        Sequential<double> m = proto;
        return objective(m.forward(xv, mode), c);
      },
      1e-4, Stencil::Central4);
  EXPECT_TRUE(gradients_match(dx, num_dx, rtol, atol)) << "model input gradient";

  for (std::size_t p = 0; p < params.size(); ++p) {
    MatD value = *params[p].value;
    const MatD num = numeric_gradient(
        value,
        [&] {
          Sequential<double> m = proto;
          *m.parameters()[p].value = value;
          return objective(m.forward(x, mode), c);
        },
        1e-4, Stencil::Central4);
    EXPECT_TRUE(gradients_match(*params[p].grad, num, rtol, atol))
        << "gradient of model parameter '" << params[p].name << "'";
  }
}

/// Whether a float result agrees with the double result to float precision:
/// |f - d| <= ulps * eps_float * max(1, |d|) entry by entry.
inline ::testing::AssertionResult agrees_to_float(const MatF& f, const MatD& d, double ulps = 64) {
  if (f.rows() != d.rows() || f.cols() != d.cols()) return ::testing::AssertionFailure() << "shapes differ";
  const double eps = std::numeric_limits<float>::epsilon();
  for (Index k = 0; k < f.size(); ++k) {
    const double a = f.data()[k], b = d.data()[k];
    if (!(std::abs(a - b) <= ulps * eps * std::max(1.0, std::abs(b))))
      return ::testing::AssertionFailure() << "entry " << k << ": float " << a << " vs double " << b
                                           << " (tolerance " << ulps << " float epsilons)";
  }
  return ::testing::AssertionSuccess();
}

/// Copies a model's parameters and buffers, in order, so a test can compare before and after.
template <class T>
std::vector<Matrix<T>> snapshot(Sequential<T>& model) {
  std::vector<Matrix<T>> out;
  for (const auto& p : model.parameters()) out.push_back(*p.value);
  for (const auto& b : model.buffers()) out.push_back(*b.value);
  return out;
}

}  // namespace zerolr::test
