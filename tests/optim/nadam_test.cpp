// NAdam against torch.optim.NAdam's algorithm box, written out below in scalar long double.

#include "zerolr/optim/rules/nadam.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "optim/test_util.h"

namespace zerolr {
namespace {

using test::LVec;

/// torch.optim.NAdam's algorithm box, one scalar at a time (t counts from 1, psi is
/// momentum_decay):
///   g <- g + wd p
///   mu_t <- beta1 (1 - 0.5 * 0.96^(t psi)),  mu_{t+1} <- beta1 (1 - 0.5 * 0.96^((t+1) psi))
///   m <- beta1 m + (1 - beta1) g,  v <- beta2 v + (1 - beta2) g^2
///   m_hat <- mu_{t+1} m / (1 - prod_{i<=t+1} mu_i) + (1 - mu_t) g / (1 - prod_{i<=t} mu_i)
///   p <- p - lr m_hat / (sqrt(v / (1 - beta2^t)) + eps)
struct NadamReference {
  long double lr, beta1, beta2, eps, weight_decay, psi;
  LVec m, v;
  long double product = 1;  // prod_{i<=t} mu_i
  int t = 0;

  explicit NadamReference(const NadamSettings& s)
      : lr(s.lr),
        beta1(s.beta1),
        beta2(s.beta2),
        eps(s.eps),
        weight_decay(s.weight_decay),
        psi(s.momentum_decay) {}

  long double mu(int k) const { return beta1 * (1 - 0.5L * std::pow(0.96L, k * psi)); }

  void step(LVec& p, const LVec& grad) {
    ++t;
    m.resize(p.size(), 0);
    v.resize(p.size(), 0);
    product *= mu(t);
    const long double product_next = product * mu(t + 1);
    for (std::size_t i = 0; i < p.size(); ++i) {
      long double g = grad[i];
      if (weight_decay != 0) g += weight_decay * p[i];
      m[i] = beta1 * m[i] + (1 - beta1) * g;
      v[i] = beta2 * v[i] + (1 - beta2) * g * g;
      const long double m_hat = mu(t + 1) * m[i] / (1 - product_next) + (1 - mu(t)) * g / (1 - product);
      p[i] -= lr * m_hat / (std::sqrt(v[i] / (1 - std::pow(beta2, static_cast<long double>(t)))) + eps);
    }
  }
};

NadamSettings nadam(double lr, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double wd = 0,
                    double momentum_decay = 4e-3) {
  NadamSettings s;
  s.lr = lr;
  s.beta1 = beta1;
  s.beta2 = beta2;
  s.eps = eps;
  s.weight_decay = wd;
  s.momentum_decay = momentum_decay;
  return s;
}

TEST(Nadam, DefaultFirstThreeStepsMatchTheAlgorithmBox) {
  const NadamSettings s = nadam(2e-3);
  test::expect_matches_reference(s, NadamReference(s));
}

TEST(Nadam, WeightDecayAndStrongMomentumDecayMatchTheAlgorithmBox) {
  const NadamSettings s = nadam(0.01, 0.8, 0.99, 1e-6, 0.1, 0.5);
  test::expect_matches_reference(s, NadamReference(s));
}

TEST(Nadam, LargeEpsAndNoMomentumDecayMatchTheAlgorithmBox) {
  const NadamSettings s = nadam(0.05, 0.5, 0.9, 0.25, 0, 0);
  test::expect_matches_reference(s, NadamReference(s));
}

// mu_product is scalar state: the product of mu_1 .. mu_t, each mu multiplied in once (the
// algorithm box; PyTorch 1.13's single-tensor path multiplies mu_t in twice, pytorch#92699).
TEST(Nadam, MuProductIsScalarStateHoldingTheProductOfTheMus) {
  const NadamSettings s = nadam(1e-3, 0.9, 0.999, 1e-8, 0, 0.004);
  std::unique_ptr<Optimizer<double>> opt;
  test::run_optimizer<double>(s, test::start_params(), test::three_gradients(), &opt);
  const auto scalars = opt->scalar_state(0);
  ASSERT_EQ(scalars.size(), 1u);
  EXPECT_EQ(scalars[0].name, "mu_product");
  NadamReference ref(s);
  test::reference_trajectory(ref, test::start_params(), test::three_gradients());
  EXPECT_NEAR(*scalars[0].value, static_cast<double>(ref.product), 1e-15);
  EXPECT_EQ(test::state_names(*opt, 0), (std::vector<std::string>{"exp_avg", "exp_avg_sq"}));
}

TEST(Nadam, ZeroLearningRateLeavesParametersButAdvancesTheState) {
  const NadamSettings s = nadam(0, 0.9, 0.999, 1e-8, 0.1);
  std::unique_ptr<Optimizer<double>> opt;
  const auto traj = test::run_optimizer<double>(s, test::start_params(), test::three_gradients(), &opt);
  for (const auto& p : traj)
    for (std::size_t i = 0; i < p.size(); ++i) EXPECT_EQ(p[i], static_cast<double>(test::start_params()[i]));
  EXPECT_EQ(opt->step_count(0), 3);
  EXPECT_NE(*test::state_named(*opt, 0, "exp_avg"), Vector<double>::Zero(5));
}

TEST(Nadam, CloneIsDeepAndIndependent) {
  test::expect_clone_is_deep_and_independent(nadam(0.01, 0.9, 0.99, 1e-8, 0.01, 0.1));
}

// PyTorch's defaults (torch.optim, 1.13), every key printed in the documented order.
TEST(Nadam, DefaultsArePyTorchsInTheDocumentedOrder) {
  EXPECT_EQ(to_string(OptimizerSpec(NadamSettings{})), "nadam(lr=0.002,beta1=0.9,beta2=0.999,eps=1e-08,weight_decay=0,momentum_decay=0.004)");
  EXPECT_EQ(parse_optimizer_spec("nadam"), OptimizerSpec(NadamSettings{}));
}

}  // namespace
}  // namespace zerolr
