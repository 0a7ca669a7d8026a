// Adamax against torch.optim.Adamax's algorithm box, written out below in scalar long double.

#include "zerolr/optim/rules/adamax.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "optim/test_util.h"

namespace zerolr {
namespace {

using test::LVec;

/// torch.optim.Adamax's algorithm box, one scalar at a time (t counts from 1):
///   g <- g + wd p;  m <- beta1 m + (1 - beta1) g;  u <- max(beta2 u, |g| + eps)
///   p <- p - lr m / ((1 - beta1^t) u)
struct AdamaxReference {
  long double lr, beta1, beta2, eps, weight_decay;
  LVec m, u;
  int t = 0;

  explicit AdamaxReference(const AdamaxSettings& s)
      : lr(s.lr), beta1(s.beta1), beta2(s.beta2), eps(s.eps), weight_decay(s.weight_decay) {}

  void step(LVec& p, const LVec& grad) {
    ++t;
    m.resize(p.size(), 0);
    u.resize(p.size(), 0);
    for (std::size_t i = 0; i < p.size(); ++i) {
      long double g = grad[i];
      if (weight_decay != 0) g += weight_decay * p[i];
      m[i] = beta1 * m[i] + (1 - beta1) * g;
      u[i] = std::max(beta2 * u[i], std::fabs(g) + eps);
      p[i] -= lr * m[i] / ((1 - std::pow(beta1, static_cast<long double>(t))) * u[i]);
    }
  }
};

AdamaxSettings adamax(double lr, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8, double wd = 0) {
  AdamaxSettings s;
  s.lr = lr;
  s.beta1 = beta1;
  s.beta2 = beta2;
  s.eps = eps;
  s.weight_decay = wd;
  return s;
}

TEST(Adamax, HandWorkedFirstStepIsLrTimesTheSignOfTheGradient) {
  // beta1 = 0.5: m = 0.5 g, u = |g| + 0, bias correction 0.5: p = 1 - 0.5 * 0.5 g / (0.5 |g|).
  const auto p = test::run_optimizer<double>(adamax(0.5, 0.5, 0.999, 0), {1.0L, 1.0L}, {{4.0L, -0.25L}});
  EXPECT_EQ(p[0][0], 0.5);
  EXPECT_EQ(p[0][1], 1.5);
}

TEST(Adamax, DefaultFirstThreeStepsMatchTheAlgorithmBox) {
  const AdamaxSettings s = adamax(2e-3);
  test::expect_matches_reference(s, AdamaxReference(s));
}

TEST(Adamax, WeightDecayAndSmallBetaTwoMatchTheAlgorithmBox) {
  const AdamaxSettings s = adamax(0.01, 0.5, 0.25, 1e-3, 0.2);
  test::expect_matches_reference(s, AdamaxReference(s));
}

// The running maximum is torch.amax: a NaN on either side gives NaN.
TEST(Adamax, TheInfinityNormPropagatesNaNAsTorchAmax) {
  auto opt = make_optimizer<double>(adamax(0.0));
  Matrix<double> p = test::column<double>({1, 2}), g = test::column<double>({1, 1});
  opt->step({{"w", &p, &g}}, 0.0);
  g(0) = std::numeric_limits<double>::quiet_NaN();
  opt->step({{"w", &p, &g}}, 0.0);
  const Vector<double>& u = *test::state_named(*opt, 0, "exp_inf");
  EXPECT_TRUE(std::isnan(u(0)));
  EXPECT_EQ(u(1), std::max(0.999 * (1 + 1e-8), 1 + 1e-8));
}

TEST(Adamax, ZeroLearningRateLeavesParametersButAdvancesTheState) {
  const AdamaxSettings s = adamax(0, 0.9, 0.999, 1e-8, 0.1);
  std::unique_ptr<Optimizer<double>> opt;
  const auto traj = test::run_optimizer<double>(s, test::start_params(), test::three_gradients(), &opt);
  for (const auto& p : traj)
    for (std::size_t i = 0; i < p.size(); ++i) EXPECT_EQ(p[i], static_cast<double>(test::start_params()[i]));
  EXPECT_EQ(opt->step_count(0), 3);
  EXPECT_EQ(test::state_names(*opt, 0), (std::vector<std::string>{"exp_avg", "exp_inf"}));
}

// With beta2 = 0 the normaliser u = |g_t| + eps forgets the large gradients that m remembers:
// a zero gradient after a large one takes a step of lr |m| / eps, whatever eps is, so the
// eps_below_floor trait (continuity's hazard class) holds for every eps there.
TEST(Adamax, MemorylessNormaliserMakesTheDirectionBoundedOnlyByMOverEps) {
  const AdamaxSettings s = adamax(1e-6, 0.5, 0.0, 1e-3, 0.0);
  std::unique_ptr<Optimizer<double>> opt;
  const auto traj = test::run_optimizer<double>(s, {0.0}, {{1e6}, {0.0}}, &opt);
  // Step 2: m = 0.5 * (0.5 * 1e6) = 2.5e5, u = 0 + 1e-3, bias correction 1 - 0.25 = 0.75.
  const double step2 = traj[1][0] - traj[0][0];
  EXPECT_NEAR(step2 / -(1e-6 * 2.5e5 / (0.75 * 1e-3)), 1.0, 1e-12);
  EXPECT_TRUE(eps_below_floor(OptimizerSpec(s)));
  EXPECT_FALSE(eps_below_floor(OptimizerSpec(adamax(1e-6, 0.5, 0.999, 1e-3, 0.0))));
  EXPECT_FALSE(eps_below_floor(OptimizerSpec(adamax(1e-6, 0.0, 0.0, 1e-3, 0.0))));  // m has no memory
  EXPECT_TRUE(eps_below_floor(OptimizerSpec(adamax(1e-6, 0.5, 0.999, 1e-13, 0.0))));
}

TEST(Adamax, CloneIsDeepAndIndependent) {
  test::expect_clone_is_deep_and_independent(adamax(0.01, 0.5, 0.25, 1e-3, 0.2));
}

// PyTorch's defaults (torch.optim, 1.13), every key printed in the documented order.
TEST(Adamax, DefaultsArePyTorchsInTheDocumentedOrder) {
  EXPECT_EQ(to_string(OptimizerSpec(AdamaxSettings{})), "adamax(lr=0.002,beta1=0.9,beta2=0.999,eps=1e-08,weight_decay=0)");
  EXPECT_EQ(parse_optimizer_spec("adamax"), OptimizerSpec(AdamaxSettings{}));
}

}  // namespace
}  // namespace zerolr
