// RMSprop against torch.optim.RMSprop's algorithm box, written out below in scalar long double.

#include "zerolr/optim/rules/rmsprop.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "optim/test_util.h"

namespace zerolr {
namespace {

using test::LVec;

/// torch.optim.RMSprop, one scalar at a time:
///   g <- g + wd * p
///   v <- alpha v + (1 - alpha) g^2;  v~ <- v
///   centered: g_ave <- alpha g_ave + (1 - alpha) g;  v~ <- v~ - g_ave^2
///   momentum > 0: b <- mu b + g / (sqrt(v~) + eps);  p <- p - lr b
///   else:         p <- p - lr g / (sqrt(v~) + eps)
struct RmspropReference {
  long double lr, alpha, eps, weight_decay, momentum;
  bool centered;
  LVec v, g_ave, b;

  explicit RmspropReference(const RmspropSettings& s)
      : lr(s.lr),
        alpha(s.alpha),
        eps(s.eps),
        weight_decay(s.weight_decay),
        momentum(s.momentum),
        centered(s.centered) {}

  void step(LVec& p, const LVec& grad) {
    v.resize(p.size());
    g_ave.resize(p.size());
    b.resize(p.size());
    for (std::size_t i = 0; i < p.size(); ++i) {
      long double g = grad[i];
      if (weight_decay != 0) g = g + weight_decay * p[i];
      v[i] = alpha * v[i] + (1 - alpha) * g * g;
      long double v_tilde = v[i];
      if (centered) {
        g_ave[i] = alpha * g_ave[i] + (1 - alpha) * g;
        v_tilde = v_tilde - g_ave[i] * g_ave[i];
      }
      if (momentum > 0) {
        b[i] = momentum * b[i] + g / (std::sqrt(v_tilde) + eps);
        p[i] = p[i] - lr * b[i];
      } else {
        p[i] = p[i] - lr * g / (std::sqrt(v_tilde) + eps);
      }
    }
  }
};

RmspropSettings rmsprop(double lr, double alpha = 0.99, double eps = 1e-8, double weight_decay = 0,
                        double momentum = 0, bool centered = false) {
  RmspropSettings s;
  s.lr = lr;
  s.alpha = alpha;
  s.eps = eps;
  s.weight_decay = weight_decay;
  s.momentum = momentum;
  s.centered = centered;
  return s;
}

TEST(Rmsprop, HandWorkedFirstStepMatchesLiteralValue) {
  // v = 0.01 * 1 = 0.01, sqrt(v) = 0.1: p = 1 - 0.01 * 1 / 0.1 = 0.9.
  const auto p = test::run_optimizer<double>(rmsprop(0.01, 0.99, 0), {1.0L}, {{1.0L}});
  EXPECT_DOUBLE_EQ(p[0][0], 0.9);
  // alpha = 0.75, g = 4: v = 4, sqrt = 2, p = 1 - 0.5 * 4 / 2 = 0.
  const auto q = test::run_optimizer<double>(rmsprop(0.5, 0.75, 0), {1.0L}, {{4.0L}});
  EXPECT_EQ(q[0][0], 0.0);
}

TEST(Rmsprop, DefaultFirstThreeStepsMatchTheAlgorithmBox) {
  const RmspropSettings s = rmsprop(0.001);
  test::expect_matches_reference(s, RmspropReference(s));
}

TEST(Rmsprop, AlphaAndEpsFirstThreeStepsMatchTheAlgorithmBox) {
  const RmspropSettings s = rmsprop(0.001, 0.5, 0.25);
  test::expect_matches_reference(s, RmspropReference(s));
}

TEST(Rmsprop, MomentumFirstThreeStepsMatchTheAlgorithmBox) {
  const RmspropSettings s = rmsprop(0.001, 0.9, 1e-8, 0, 0.9);
  test::expect_matches_reference(s, RmspropReference(s));
}

TEST(Rmsprop, CenteredFirstThreeStepsMatchTheAlgorithmBox) {
  const RmspropSettings s = rmsprop(0.001, 0.99, 1e-8, 0, 0, true);
  test::expect_matches_reference(s, RmspropReference(s));
}

TEST(Rmsprop, WeightDecayFirstThreeStepsMatchTheAlgorithmBox) {
  const RmspropSettings s = rmsprop(0.001, 0.99, 1e-8, 0.2);
  test::expect_matches_reference(s, RmspropReference(s));
}

TEST(Rmsprop, AllOptionsTogetherMatchTheAlgorithmBox) {
  const RmspropSettings s = rmsprop(0.001, 0.9, 1e-6, 0.1, 0.5, true);
  test::expect_matches_reference(s, RmspropReference(s));
}

TEST(Rmsprop, ZeroLearningRateLeavesParametersButAdvancesEveryAverage) {
  const RmspropSettings s = rmsprop(0, 0.9, 1e-8, 0, 0.9, true);
  std::unique_ptr<Optimizer<double>> opt;
  const auto traj = test::run_optimizer<double>(s, test::start_params(), test::three_gradients(), &opt);
  for (const auto& p : traj)
    for (std::size_t i = 0; i < p.size(); ++i) EXPECT_EQ(p[i], static_cast<double>(test::start_params()[i]));
  EXPECT_EQ(opt->step_count(0), 3);
  RmspropReference ref(s);
  test::reference_trajectory(ref, test::start_params(), test::three_gradients());
  const Vector<double>& v = *test::state_named(*opt, 0, "square_avg");
  const Vector<double>& ga = *test::state_named(*opt, 0, "grad_avg");
  const Vector<double>& b = *test::state_named(*opt, 0, "momentum_buffer");
  for (Index i = 0; i < v.size(); ++i) {
    EXPECT_LE(test::ulp_distance(v(i), static_cast<double>(ref.v[i])), 4u) << i;
    EXPECT_LE(test::ulp_distance(ga(i), static_cast<double>(ref.g_ave[i])), 4u) << i;
    EXPECT_LE(test::ulp_distance(b(i), static_cast<double>(ref.b[i])), 4u) << i;
  }
  // Plain RMSprop too.
  const auto plain = test::run_optimizer<double>(rmsprop(0), test::start_params(), test::three_gradients());
  EXPECT_EQ(plain[2], std::vector<double>({1.5, -0.75, 0.0, 8.0, 0.03125}));
}

TEST(Rmsprop, StateNamesDependOnCenteredAndMomentum) {
  std::unique_ptr<Optimizer<double>> plain, centered, heavy;
  test::run_optimizer<double>(rmsprop(0.01), {1.0L}, {{1.0L}}, &plain);
  test::run_optimizer<double>(rmsprop(0.01, 0.99, 1e-8, 0, 0, true), {1.0L}, {{1.0L}}, &centered);
  test::run_optimizer<double>(rmsprop(0.01, 0.99, 1e-8, 0, 0.5, true), {1.0L}, {{1.0L}}, &heavy);
  EXPECT_EQ(test::state_names(*plain, 0), std::vector<std::string>{"square_avg"});
  EXPECT_EQ(test::state_names(*centered, 0), (std::vector<std::string>{"square_avg", "grad_avg"}));
  EXPECT_EQ(test::state_names(*heavy, 0),
            (std::vector<std::string>{"square_avg", "grad_avg", "momentum_buffer"}));
}

TEST(Rmsprop, CloneIsDeepAndIndependent) {
  test::expect_clone_is_deep_and_independent(rmsprop(0.01, 0.9, 1e-8, 0.01, 0.5, true));
}

// PyTorch's defaults (torch.optim, 1.13), every key printed in the documented order.
TEST(Rmsprop, DefaultsArePyTorchsInTheDocumentedOrder) {
  EXPECT_EQ(to_string(OptimizerSpec(RmspropSettings{})), "rmsprop(lr=0.01,alpha=0.99,eps=1e-08,weight_decay=0,momentum=0,centered=0)");
  EXPECT_EQ(parse_optimizer_spec("rmsprop"), OptimizerSpec(RmspropSettings{}));
}

}  // namespace
}  // namespace zerolr
