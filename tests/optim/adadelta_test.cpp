// Adadelta against torch.optim.Adadelta's algorithm box, written out below in scalar long double.

#include "zerolr/optim/rules/adadelta.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "optim/test_util.h"

namespace zerolr {
namespace {

using test::LVec;

/// torch.optim.Adadelta's algorithm box, one scalar at a time:
///   g <- g + wd p;  v <- rho v + (1 - rho) g^2
///   delta <- sqrt(u + eps) / sqrt(v + eps) g;  u <- rho u + (1 - rho) delta^2
///   p <- p - lr delta
struct AdadeltaReference {
  long double lr, rho, eps, weight_decay;
  LVec v, u;

  explicit AdadeltaReference(const AdadeltaSettings& s)
      : lr(s.lr), rho(s.rho), eps(s.eps), weight_decay(s.weight_decay) {}

  void step(LVec& p, const LVec& grad) {
    v.resize(p.size(), 0);
    u.resize(p.size(), 0);
    for (std::size_t i = 0; i < p.size(); ++i) {
      long double g = grad[i];
      if (weight_decay != 0) g += weight_decay * p[i];
      v[i] = rho * v[i] + (1 - rho) * g * g;
      const long double delta = std::sqrt(u[i] + eps) / std::sqrt(v[i] + eps) * g;
      u[i] = rho * u[i] + (1 - rho) * delta * delta;
      p[i] -= lr * delta;
    }
  }
};

AdadeltaSettings adadelta(double lr, double rho = 0.9, double eps = 1e-6, double wd = 0) {
  AdadeltaSettings s;
  s.lr = lr;
  s.rho = rho;
  s.eps = eps;
  s.weight_decay = wd;
  return s;
}

TEST(Adadelta, DefaultFirstThreeStepsMatchTheAlgorithmBox) {
  const AdadeltaSettings s = adadelta(1.0);
  test::expect_matches_reference(s, AdadeltaReference(s));
}

TEST(Adadelta, WeightDecayAndLargeEpsMatchTheAlgorithmBox) {
  // (lr 0.2: with a larger lr entry 1 passes close to zero, and the cancellation costs ulps.)
  const AdadeltaSettings s = adadelta(0.2, 0.5, 0.25, 0.1);
  test::expect_matches_reference(s, AdadeltaReference(s));
}

// rho = 1: the averages never move, so the step is sqrt(eps / eps) g = g (times lr).
TEST(Adadelta, RhoOneKeepsTheAveragesAtZero) {
  const auto p = test::run_optimizer<double>(adadelta(0.5, 1.0, 1e-6), {1.0L}, {{2.0L}, {-4.0L}});
  EXPECT_EQ(p[0][0], 0.0);
  EXPECT_EQ(p[1][0], 2.0);
}

TEST(Adadelta, ZeroLearningRateLeavesParametersButAdvancesBothAverages) {
  const AdadeltaSettings s = adadelta(0, 0.9, 1e-6, 0.1);
  std::unique_ptr<Optimizer<double>> opt;
  const auto traj = test::run_optimizer<double>(s, test::start_params(), test::three_gradients(), &opt);
  for (const auto& p : traj)
    for (std::size_t i = 0; i < p.size(); ++i) EXPECT_EQ(p[i], static_cast<double>(test::start_params()[i]));
  EXPECT_EQ(test::state_names(*opt, 0), (std::vector<std::string>{"square_avg", "acc_delta"}));
  AdadeltaReference ref(s);
  test::reference_trajectory(ref, test::start_params(), test::three_gradients());
  const Vector<double>& u = *test::state_named(*opt, 0, "acc_delta");
  for (Index i = 0; i < u.size(); ++i)
    EXPECT_LE(test::ulp_distance(u(i), static_cast<double>(ref.u[static_cast<std::size_t>(i)])), 8u) << i;
}

TEST(Adadelta, CloneIsDeepAndIndependent) {
  test::expect_clone_is_deep_and_independent(adadelta(0.5, 0.5, 0.25, 0.1));
}

// PyTorch's defaults (torch.optim, 1.13), every key printed in the documented order.
TEST(Adadelta, DefaultsArePyTorchsInTheDocumentedOrder) {
  EXPECT_EQ(to_string(OptimizerSpec(AdadeltaSettings{})), "adadelta(lr=1,rho=0.9,eps=1e-06,weight_decay=0)");
  EXPECT_EQ(parse_optimizer_spec("adadelta"), OptimizerSpec(AdadeltaSettings{}));
}

}  // namespace
}  // namespace zerolr
