// Lion against the algorithm of Chen et al. 2023 as lion-pytorch computes it, written out
// below in scalar long double.

#include "zerolr/optim/rules/lion.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "optim/test_util.h"

namespace zerolr {
namespace {

using test::LVec;

/// lion-pytorch's update_fn, one scalar at a time:
///   p <- p (1 - lr wd);  c <- beta1 m + (1 - beta1) g;  p <- p - lr sign(c)
///   m <- beta2 m + (1 - beta2) g
struct LionReference {
  long double lr, beta1, beta2, weight_decay;
  LVec m;

  explicit LionReference(const LionSettings& s)
      : lr(s.lr), beta1(s.beta1), beta2(s.beta2), weight_decay(s.weight_decay) {}

  static long double sign(long double x) { return (0 < x) - (x < 0); }

  void step(LVec& p, const LVec& grad) {
    m.resize(p.size(), 0);
    for (std::size_t i = 0; i < p.size(); ++i) {
      p[i] *= 1 - lr * weight_decay;
      p[i] -= lr * sign(beta1 * m[i] + (1 - beta1) * grad[i]);
      m[i] = beta2 * m[i] + (1 - beta2) * grad[i];
    }
  }
};

LionSettings lion(double lr, double beta1 = 0.9, double beta2 = 0.99, double wd = 0) {
  LionSettings s;
  s.lr = lr;
  s.beta1 = beta1;
  s.beta2 = beta2;
  s.weight_decay = wd;
  return s;
}

TEST(Lion, EveryStepMovesEachWeightByLrTowardsMinusTheSignOfTheInterpolation) {
  // m = 0 on the first step: c = 0.1 g, so the step is -lr sign(g).
  const auto p = test::run_optimizer<double>(lion(0.25), {1.0L, 1.0L, 1.0L}, {{3.0L, -0.5L, 0.0L}});
  EXPECT_EQ(p[0], (std::vector<double>{0.75, 1.25, 1.0}));
}

TEST(Lion, DefaultFirstThreeStepsMatchTheAlgorithm) {
  const LionSettings s = lion(1e-4);
  test::expect_matches_reference(s, LionReference(s));
}

TEST(Lion, DecoupledDecayScaledByLrMatchesTheAlgorithm) {
  const LionSettings s = lion(0.01, 0.5, 0.9, 0.1);
  test::expect_matches_reference(s, LionReference(s));
}

TEST(Lion, ZeroLearningRateLeavesParametersButAdvancesTheMomentum) {
  const LionSettings s = lion(0, 0.9, 0.99, 0.5);
  std::unique_ptr<Optimizer<double>> opt;
  const auto traj = test::run_optimizer<double>(s, test::start_params(), test::three_gradients(), &opt);
  for (const auto& p : traj)
    for (std::size_t i = 0; i < p.size(); ++i) EXPECT_EQ(p[i], static_cast<double>(test::start_params()[i]));
  EXPECT_TRUE(freezes_at_lr0(OptimizerSpec(s)));
  EXPECT_EQ(test::state_names(*opt, 0), std::vector<std::string>{"exp_avg"});
  EXPECT_NE(*test::state_named(*opt, 0, "exp_avg"), Vector<double>::Zero(5));
}

// sign is torch.sign: a NaN gradient gives sign 0 and moves nothing (the momentum turns NaN).
TEST(Lion, ANaNGradientMovesNothingButPoisonsTheMomentum) {
  auto opt = make_optimizer<double>(lion(0.1));
  Matrix<double> p = test::column<double>({1}),
                 g = test::column<double>({std::numeric_limits<double>::quiet_NaN()});
  opt->step({{"w", &p, &g}}, 0.1);
  EXPECT_EQ(p(0), 1.0);
  EXPECT_TRUE(std::isnan((*test::state_named(*opt, 0, "exp_avg"))(0)));
}

TEST(Lion, CloneIsDeepAndIndependent) {
  test::expect_clone_is_deep_and_independent(lion(0.01, 0.5, 0.9, 0.1));
}

// lion-pytorch's defaults, every key printed in the documented order.
TEST(Lion, DefaultsAreLionPytorchsInTheDocumentedOrder) {
  EXPECT_EQ(to_string(OptimizerSpec(LionSettings{})), "lion(lr=1e-04,beta1=0.9,beta2=0.99,weight_decay=0)");
  EXPECT_EQ(parse_optimizer_spec("lion"), OptimizerSpec(LionSettings{}));
}

}  // namespace
}  // namespace zerolr
