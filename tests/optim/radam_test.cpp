// RAdam against torch.optim.RAdam's algorithm box, written out below in scalar long double,
// over enough steps to cross from the un-rectified branch (rho_t <= 5) into the rectified one.

#include "zerolr/optim/rules/radam.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "optim/test_util.h"

namespace zerolr {
namespace {

using test::LVec;

/// torch.optim.RAdam's algorithm box, one scalar at a time (t counts from 1):
///   m <- beta1 m + (1 - beta1) g;  v <- beta2 v + (1 - beta2) g^2;  m_hat <- m / (1 - beta1^t)
///   rho_inf <- 2 / (1 - beta2) - 1;  rho_t <- rho_inf - 2 t beta2^t / (1 - beta2^t)
///   rho_t > 5:  l <- sqrt(1 - beta2^t) / (sqrt(v) + eps)
///               r <- sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
///               p <- p - lr m_hat r l
///   otherwise:  p <- p - lr m_hat
struct RadamReference {
  long double lr, beta1, beta2, eps, weight_decay;
  LVec m, v;
  int t = 0;
  int rectified_steps = 0;

  explicit RadamReference(const RadamSettings& s)
      : lr(s.lr), beta1(s.beta1), beta2(s.beta2), eps(s.eps), weight_decay(s.weight_decay) {}

  void step(LVec& p, const LVec& grad) {
    ++t;
    m.resize(p.size(), 0);
    v.resize(p.size(), 0);
    const long double tt = t, b2t = std::pow(beta2, tt);
    const long double rho_inf = 2 / (1 - beta2) - 1;
    const long double rho_t = rho_inf - 2 * tt * b2t / (1 - b2t);
    rectified_steps += rho_t > 5;
    for (std::size_t i = 0; i < p.size(); ++i) {
      long double g = grad[i];
      if (weight_decay != 0) g += weight_decay * p[i];
      m[i] = beta1 * m[i] + (1 - beta1) * g;
      v[i] = beta2 * v[i] + (1 - beta2) * g * g;
      const long double m_hat = m[i] / (1 - std::pow(beta1, tt));
      if (rho_t > 5) {
        const long double l = std::sqrt(1 - b2t) / (std::sqrt(v[i]) + eps);
        const long double r =
            std::sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t));
        p[i] -= lr * m_hat * r * l;
      } else {
        p[i] -= lr * m_hat;
      }
    }
  }
};

RadamSettings radam(double lr, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double wd = 0) {
  RadamSettings s;
  s.lr = lr;
  s.beta1 = beta1;
  s.beta2 = beta2;
  s.eps = eps;
  s.weight_decay = wd;
  return s;
}

/// Ten gradients (exact in float) that keep each entry's sign where the parameter is small.
std::vector<LVec> ten_gradients() {
  std::vector<LVec> out;
  for (int k = 0; k < 10; ++k) {
    const long double s = 1 + 0.125L * k;
    out.push_back({0.5L * s, -2.0L / s, 0.25L + 0.0625L * k, (k % 2 ? 3.0L : -1.5L), -0.0625L * s});
  }
  return out;
}

TEST(Radam, DefaultFirstThreeStepsMatchTheAlgorithmBox) {
  const RadamSettings s = radam(1e-3);
  test::expect_matches_reference(s, RadamReference(s));
}

// beta2 = 0.9: rho_inf = 19 and rho_t passes 5 at t = 6, so ten steps run both branches.
TEST(Radam, BothBranchesOverTenStepsMatchTheAlgorithmBox) {
  const RadamSettings s = radam(0.01, 0.8, 0.9, 1e-6, 0.05);
  RadamReference ref(s);
  test::expect_matches_reference(s, ref, test::start_params(), ten_gradients());
  RadamReference count(s);
  test::reference_trajectory(count, test::start_params(), ten_gradients());
  EXPECT_GT(count.rectified_steps, 0);
  EXPECT_LT(count.rectified_steps, 10);
}

TEST(Radam, BetaTwoZeroNeverRectifies) {
  const RadamSettings s = radam(0.01, 0.5, 0.0, 1e-8);
  RadamReference ref(s);
  test::expect_matches_reference(s, ref, test::start_params(), ten_gradients());
  RadamReference count(s);
  test::reference_trajectory(count, test::start_params(), ten_gradients());
  EXPECT_EQ(count.rectified_steps, 0);
}

TEST(Radam, ZeroLearningRateLeavesParametersInBothBranches) {
  const RadamSettings s = radam(0, 0.8, 0.9, 1e-6, 0.05);
  std::unique_ptr<Optimizer<double>> opt;
  const auto traj = test::run_optimizer<double>(s, test::start_params(), ten_gradients(), &opt);
  for (const auto& p : traj)
    for (std::size_t i = 0; i < p.size(); ++i) EXPECT_EQ(p[i], static_cast<double>(test::start_params()[i]));
  EXPECT_EQ(opt->step_count(0), 10);
}

TEST(Radam, CloneIsDeepAndIndependent) {
  test::expect_clone_is_deep_and_independent(radam(0.01, 0.8, 0.9, 1e-6, 0.05));
}

// PyTorch's defaults (torch.optim, 1.13), every key printed in the documented order.
TEST(Radam, DefaultsArePyTorchsInTheDocumentedOrder) {
  EXPECT_EQ(to_string(OptimizerSpec(RadamSettings{})), "radam(lr=0.001,beta1=0.9,beta2=0.999,eps=1e-08,weight_decay=0)");
  EXPECT_EQ(parse_optimizer_spec("radam"), OptimizerSpec(RadamSettings{}));
}

}  // namespace
}  // namespace zerolr
