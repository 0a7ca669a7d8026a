// AdamW against torch.optim.AdamW's algorithm box, written out below in scalar long double.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "optim/test_util.h"
#include "zerolr/optim/rules/adam.h"

namespace zerolr {
namespace {

using test::LVec;

/// torch.optim.AdamW, one scalar at a time (t counts from 1):
///   p <- p - lr * wd * p                                  (decoupled, scaled by lr)
///   m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2
///   m_hat <- m / (1 - b1^t)
///   amsgrad: v_max <- max(v_max, v); v_hat <- v_max / (1 - b2^t)   else v_hat <- v / (1 - b2^t)
///   p <- p - lr m_hat / (sqrt(v_hat) + eps)
struct AdamWReference {
  long double lr, beta1, beta2, eps, weight_decay;
  bool amsgrad;
  LVec m, v, v_max;
  int t = 0;

  explicit AdamWReference(const AdamWSettings& s)
      : lr(s.lr),
        beta1(s.beta1),
        beta2(s.beta2),
        eps(s.eps),
        weight_decay(s.weight_decay),
        amsgrad(s.amsgrad) {}

  void step(LVec& p, const LVec& grad) {
    ++t;
    m.resize(p.size());
    v.resize(p.size());
    v_max.resize(p.size());
    for (std::size_t i = 0; i < p.size(); ++i) {
      const long double g = grad[i];
      p[i] = p[i] - lr * weight_decay * p[i];
      m[i] = beta1 * m[i] + (1 - beta1) * g;
      v[i] = beta2 * v[i] + (1 - beta2) * g * g;
      const long double m_hat = m[i] / (1 - std::pow(beta1, static_cast<long double>(t)));
      long double v_hat;
      if (amsgrad) {
        v_max[i] = (std::isnan(v_max[i]) || std::isnan(v[i])) ? std::nanl("") : std::max(v_max[i], v[i]);
        v_hat = v_max[i] / (1 - std::pow(beta2, static_cast<long double>(t)));
      } else {
        v_hat = v[i] / (1 - std::pow(beta2, static_cast<long double>(t)));
      }
      p[i] = p[i] - lr * m_hat / (std::sqrt(v_hat) + eps);
    }
  }
};

AdamWSettings adamw(double lr, double weight_decay = 1e-2, bool amsgrad = false, double beta1 = 0.9,
                    double beta2 = 0.999, double eps = 1e-8) {
  AdamWSettings s;
  s.lr = lr;
  s.beta1 = beta1;
  s.beta2 = beta2;
  s.eps = eps;
  s.weight_decay = weight_decay;
  s.amsgrad = amsgrad;
  return s;
}

TEST(AdamW, DecayIsDecoupledAndScaledByTheLearningRate) {
  // A zero gradient leaves m = v = 0 and the Adam part adds nothing:
  // p = 2 * (1 - 0.1 * 0.5) = 1.9.
  const auto p = test::run_optimizer<double>(adamw(0.1, 0.5), {2.0L}, {{0.0L}});
  EXPECT_DOUBLE_EQ(p[0][0], 1.9);
  // Twice: 2 * 0.95^2 = 1.805.
  const auto q = test::run_optimizer<double>(adamw(0.1, 0.5), {2.0L}, {{0.0L}, {0.0L}});
  EXPECT_DOUBLE_EQ(q[1][0], 1.805);
}

TEST(AdamW, DefaultFirstThreeStepsMatchTheAlgorithmBox) {
  const AdamWSettings s = adamw(0.01);
  test::expect_matches_reference(s, AdamWReference(s));
}

TEST(AdamW, StrongWeightDecayFirstThreeStepsMatchTheAlgorithmBox) {
  const AdamWSettings s = adamw(0.01, 2.5);
  test::expect_matches_reference(s, AdamWReference(s));
}

TEST(AdamW, AmsgradFirstThreeStepsMatchTheAlgorithmBox) {
  const AdamWSettings s = adamw(0.01, 0.1, true, 0.9, 0.5);
  const std::vector<LVec> shrinking = {{2.0L, -4.0L, 1.0L, 8.0L, -0.5L},
                                       {0.5L, -1.0L, 0.25L, -1.0L, -0.125L},
                                       {0.125L, -0.25L, 0.0625L, 0.5L, -0.03125L}};
  test::expect_matches_reference(s, AdamWReference(s), test::start_params(), shrinking);
}

TEST(AdamW, WithoutWeightDecayItIsAdam) {
  AdamSettings a;
  a.lr = 0.01;
  const auto adam_path = test::run_optimizer<double>(a, test::start_params(), test::three_gradients());
  const auto adamw_path =
      test::run_optimizer<double>(adamw(0.01, 0), test::start_params(), test::three_gradients());
  EXPECT_EQ(adam_path, adamw_path);
  // With decay they differ: Adam adds it to the gradient, AdamW shrinks the parameter.
  a.weight_decay = 0.1;
  EXPECT_NE(test::run_optimizer<double>(a, test::start_params(), test::three_gradients()),
            test::run_optimizer<double>(adamw(0.01, 0.1), test::start_params(), test::three_gradients()));
}

TEST(AdamW, ZeroLearningRateLeavesParametersEvenWithWeightDecay) {
  for (const double wd : {0.0, 0.01, 0.5, 3.0}) {
    for (const bool amsgrad : {false, true}) {
      const AdamWSettings s = adamw(0, wd, amsgrad);
      std::unique_ptr<Optimizer<double>> opt;
      const auto traj = test::run_optimizer<double>(s, test::start_params(), test::three_gradients(), &opt);
      for (const auto& p : traj)
        for (std::size_t i = 0; i < p.size(); ++i)
          EXPECT_EQ(p[i], static_cast<double>(test::start_params()[i])) << "wd=" << wd;
      EXPECT_EQ(opt->step_count(0), 3);
      AdamWReference ref(s);
      test::reference_trajectory(ref, test::start_params(), test::three_gradients());
      const Vector<double>& m = *test::state_named(*opt, 0, "exp_avg");
      for (Index i = 0; i < m.size(); ++i)
        EXPECT_LE(test::ulp_distance(m(i), static_cast<double>(ref.m[i])), 4u) << i;
    }
  }
  // The same in float.
  std::unique_ptr<Optimizer<float>> opt;
  const auto traj =
      test::run_optimizer<float>(adamw(0, 0.5), test::start_params(), test::three_gradients(), &opt);
  EXPECT_EQ(traj[2], std::vector<float>({1.5f, -0.75f, 0.0f, 8.0f, 0.03125f}));
  EXPECT_NE(test::state_named(*opt, 0, "exp_avg_sq")->norm(), 0.0f);
}

TEST(AdamW, StateNamesAndCloneFollowAdam) {
  std::unique_ptr<Optimizer<double>> opt;
  test::run_optimizer<double>(adamw(0.1, 0.1, true), {1.0L, 2.0L}, {{1.0L, 1.0L}}, &opt);
  EXPECT_EQ(test::state_names(*opt, 0),
            (std::vector<std::string>{"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}));
  test::expect_clone_is_deep_and_independent(adamw(0.01, 0.2, true));
}

// PyTorch's defaults (torch.optim, 1.13), every key printed in the documented order.
TEST(AdamW, DefaultsArePyTorchsInTheDocumentedOrder) {
  EXPECT_EQ(to_string(OptimizerSpec(AdamWSettings{})), "adamw(lr=0.001,beta1=0.9,beta2=0.999,eps=1e-08,weight_decay=0.01,amsgrad=0)");
  EXPECT_EQ(parse_optimizer_spec("adamw"), OptimizerSpec(AdamWSettings{}));
}

}  // namespace
}  // namespace zerolr
