// Adagrad against torch.optim.Adagrad's algorithm box, written out below in scalar long double.

#include "zerolr/optim/rules/adagrad.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "optim/test_util.h"

namespace zerolr {
namespace {

using test::LVec;

/// torch.optim.Adagrad, one scalar at a time (t counts from 1):
///   clr <- lr / (1 + (t - 1) lr_decay)
///   g <- g + wd * p
///   sum <- sum + g^2                       (sum starts at initial_accumulator_value)
///   p <- p - clr g / (sqrt(sum) + eps)
struct AdagradReference {
  long double lr, lr_decay, weight_decay, initial, eps;
  LVec sum;
  int t = 0;

  explicit AdagradReference(const AdagradSettings& s)
      : lr(s.lr),
        lr_decay(s.lr_decay),
        weight_decay(s.weight_decay),
        initial(s.initial_accumulator_value),
        eps(s.eps) {}

  void step(LVec& p, const LVec& grad) {
    ++t;
    sum.resize(p.size(), initial);
    const long double clr = lr / (1 + (t - 1) * lr_decay);
    for (std::size_t i = 0; i < p.size(); ++i) {
      long double g = grad[i];
      if (weight_decay != 0) g = g + weight_decay * p[i];
      sum[i] = sum[i] + g * g;
      p[i] = p[i] - clr * g / (std::sqrt(sum[i]) + eps);
    }
  }
};

AdagradSettings adagrad(double lr, double lr_decay = 0, double weight_decay = 0,
                        double initial_accumulator_value = 0, double eps = 1e-10) {
  AdagradSettings s;
  s.lr = lr;
  s.lr_decay = lr_decay;
  s.weight_decay = weight_decay;
  s.initial_accumulator_value = initial_accumulator_value;
  s.eps = eps;
  return s;
}

TEST(Adagrad, HandWorkedStepsMatchLiteralValues) {
  // sum = 5 + 4 = 9: p = 1 - 0.3 * 2 / 3 = 0.8.
  const auto p = test::run_optimizer<double>(adagrad(0.3, 0, 0, 5, 0), {1.0L}, {{2.0L}});
  EXPECT_DOUBLE_EQ(p[0][0], 0.8);
  // lr_decay 1: clr = 0.5, then 0.25. Step 1: sum = 1, p = 1 - 0.5 * 1 / 1 = 0.5.
  // Step 2: sum = 2, p = 0.5 - 0.25 / sqrt(2) = 0.32322330470336313...
  const auto q = test::run_optimizer<double>(adagrad(0.5, 1, 0, 0, 0), {1.0L}, {{1.0L}, {1.0L}});
  EXPECT_DOUBLE_EQ(q[0][0], 0.5);
  EXPECT_NEAR(q[1][0], 0.32322330470336313, 1e-15);
}

TEST(Adagrad, DefaultFirstThreeStepsMatchTheAlgorithmBox) {
  const AdagradSettings s = adagrad(0.01);
  test::expect_matches_reference(s, AdagradReference(s));
}

TEST(Adagrad, LrDecayFirstThreeStepsMatchTheAlgorithmBox) {
  const AdagradSettings s = adagrad(0.01, 0.3);
  test::expect_matches_reference(s, AdagradReference(s));
}

TEST(Adagrad, WeightDecayFirstThreeStepsMatchTheAlgorithmBox) {
  const AdagradSettings s = adagrad(0.01, 0, 0.2);
  test::expect_matches_reference(s, AdagradReference(s));
}

TEST(Adagrad, InitialAccumulatorFirstThreeStepsMatchTheAlgorithmBox) {
  const AdagradSettings s = adagrad(0.01, 0, 0, 0.1);
  test::expect_matches_reference(s, AdagradReference(s));
}

TEST(Adagrad, LargeEpsFirstThreeStepsMatchTheAlgorithmBox) {
  const AdagradSettings s = adagrad(0.01, 0, 0, 0, 0.5);
  test::expect_matches_reference(s, AdagradReference(s));
}

TEST(Adagrad, AllOptionsTogetherMatchTheAlgorithmBox) {
  const AdagradSettings s = adagrad(0.02, 0.1, 0.05, 0.25, 1e-6);
  test::expect_matches_reference(s, AdagradReference(s));
}

TEST(Adagrad, ZeroLearningRateLeavesParametersButGrowsTheSum) {
  const AdagradSettings s = adagrad(0, 0.5, 0, 0.1);
  std::unique_ptr<Optimizer<double>> opt;
  const auto traj = test::run_optimizer<double>(s, test::start_params(), test::three_gradients(), &opt);
  for (const auto& p : traj)
    for (std::size_t i = 0; i < p.size(); ++i) EXPECT_EQ(p[i], static_cast<double>(test::start_params()[i]));
  EXPECT_EQ(opt->step_count(0), 3);
  AdagradReference ref(s);
  test::reference_trajectory(ref, test::start_params(), test::three_gradients());
  const Vector<double>& sum = *test::state_named(*opt, 0, "sum");
  for (Index i = 0; i < sum.size(); ++i)
    EXPECT_LE(test::ulp_distance(sum(i), static_cast<double>(ref.sum[i])), 4u) << i;
}

TEST(Adagrad, StateIsTheSumStartingAtTheInitialAccumulator) {
  auto opt = make_optimizer<double>(adagrad(0.1, 0, 0, 0.75));
  Matrix<double> p = test::column<double>({1, 2}), g = test::column<double>({0, 0});
  EXPECT_TRUE(opt->state(0).empty());
  opt->step({{"w", &p, &g}}, 0.1);
  EXPECT_EQ(test::state_names(*opt, 0), std::vector<std::string>{"sum"});
  EXPECT_EQ(*test::state_named(*opt, 0, "sum"), Vector<double>::Constant(2, 0.75));
  EXPECT_EQ(opt->step_count(0), 1);
}

TEST(Adagrad, CloneIsDeepAndIndependent) {
  test::expect_clone_is_deep_and_independent(adagrad(0.05, 0.1, 0.01, 0.2));
}

// PyTorch's defaults (torch.optim, 1.13), every key printed in the documented order.
TEST(Adagrad, DefaultsArePyTorchsInTheDocumentedOrder) {
  EXPECT_EQ(to_string(OptimizerSpec(AdagradSettings{})), "adagrad(lr=0.01,lr_decay=0,weight_decay=0,initial_accumulator_value=0,eps=1e-10)");
  EXPECT_EQ(parse_optimizer_spec("adagrad"), OptimizerSpec(AdagradSettings{}));
}

}  // namespace
}  // namespace zerolr
