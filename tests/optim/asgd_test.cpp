// ASGD against torch.optim.ASGD's algorithm box, written out below in scalar long double, with
// an lr that changes from step to step: the step uses the eta of the previous step's lr.

#include "zerolr/optim/rules/asgd.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "optim/test_util.h"

namespace zerolr {
namespace {

using test::LVec;

/// torch.optim.ASGD's algorithm box, one scalar at a time; eta starts at the first step's lr,
/// mu at 1 (t counts from 1, lr is the step's own):
///   g <- g + wd p;  p <- p (1 - lambd eta);  p <- p - eta g
///   ax <- ax + mu (p - ax) if mu != 1 else p
///   eta <- lr / (1 + lambd lr t)^alpha;  mu <- 1 / max(1, t - t0)
struct AsgdReference {
  long double lambd, alpha, t0, weight_decay;
  long double eta = -1, mu = 1;
  LVec ax;
  int t = 0;

  explicit AsgdReference(const AsgdSettings& s)
      : lambd(s.lambd), alpha(s.alpha), t0(s.t0), weight_decay(s.weight_decay) {}

  void step(LVec& p, const LVec& grad, long double lr) {
    if (t == 0) eta = lr;
    ++t;
    ax.resize(p.size(), 0);
    for (std::size_t i = 0; i < p.size(); ++i) {
      long double g = grad[i];
      if (weight_decay != 0) g += weight_decay * p[i];
      p[i] *= 1 - lambd * eta;
      p[i] -= eta * g;
      ax[i] = mu != 1 ? ax[i] + mu * (p[i] - ax[i]) : p[i];
    }
    eta = lr / std::pow(1 + lambd * lr * t, alpha);
    mu = 1 / std::max<long double>(1, t - t0);
  }
};

AsgdSettings asgd(double lambd = 1e-4, double alpha = 0.75, double t0 = 1e6, double wd = 0) {
  AsgdSettings s;
  s.lambd = lambd;
  s.alpha = alpha;
  s.t0 = t0;
  s.weight_decay = wd;
  return s;
}

/// Runs the rule in double and the reference with the same lrs: every entry, and the
/// averages, within 4e-16 of the reference on the scale of the weights (max(1, |value|); an
/// ulp count would punish the cancellation of a weight passing through zero).
void expect_matches(const AsgdSettings& s, const std::vector<double>& lrs) {
  SCOPED_TRACE(to_string(OptimizerSpec(s)));
  auto opt = make_optimizer<double>(s);
  AsgdReference ref(s);
  LVec p_ref = test::start_params();
  Matrix<double> p = test::column<double>(p_ref), g(p.rows(), 1);
  const auto grads = test::three_gradients();
  for (std::size_t k = 0; k < lrs.size(); ++k) {
    const LVec& gk = grads[k % grads.size()];
    g = test::column<double>(gk);
    opt->step({{"w", &p, &g}}, lrs[k]);
    ref.step(p_ref, gk, lrs[k]);
    for (Index i = 0; i < p.size(); ++i) {
      const long double want = p_ref[static_cast<std::size_t>(i)];
      EXPECT_LE(std::fabs(p(i) - want), 4e-16L * std::max(1.0L, std::fabs(want)))
          << "step " << k + 1 << " entry " << i;
    }
  }
  const Vector<double>& ax = *test::state_named(*opt, 0, "ax");
  for (Index i = 0; i < ax.size(); ++i) {
    const long double want = ref.ax[static_cast<std::size_t>(i)];
    EXPECT_LE(std::fabs(ax(i) - want), 4e-16L * std::max(1.0L, std::fabs(want))) << i;
  }
}

TEST(Asgd, DefaultStepsWithAChangingLrMatchTheAlgorithmBox) {
  expect_matches(asgd(), {0.01, 0.02, 0.005, 0.01});
}

TEST(Asgd, AveragingFromTheStartAndWeightDecayMatchTheAlgorithmBox) {
  // t0 = 0: mu = 1 / (t - t0) from step 2 on, so ax averages instead of copying.
  expect_matches(asgd(0.1, 0.5, 0, 0.05), {0.1, 0.05, 0.2, 0.1, 0.3});
}

// The documented lag: eta comes from the previous step's lr, so after a step at lr 0.1 a step
// at lr = 0 still moves the weight by about 0.1 g, and only the step after it freezes.
TEST(Asgd, MovesAtLrZeroAfterAPositiveStepByItsOwnDefinition) {
  auto opt = make_optimizer<double>(asgd(0, 0.75));  // lambd 0: eta is exactly the lr
  Matrix<double> p = test::column<double>({1}), g = test::column<double>({1});
  opt->step({{"w", &p, &g}}, 0.1);
  EXPECT_EQ(p(0), 0.9);
  opt->step({{"w", &p, &g}}, 0.0);
  EXPECT_EQ(p(0), 0.9 - 0.1);
  opt->step({{"w", &p, &g}}, 0.0);
  EXPECT_EQ(p(0), 0.9 - 0.1);
  EXPECT_FALSE(freezes_at_lr0(OptimizerSpec(asgd())));
}

TEST(Asgd, EtaAndMuAreScalarStateStartingAtTheFirstLr) {
  auto opt = make_optimizer<double>(asgd());
  Matrix<double> p = test::column<double>({1}), g = test::column<double>({0});
  EXPECT_TRUE(opt->scalar_state(0).empty());
  opt->step({{"w", &p, &g}}, 0.25);
  const auto scalars = opt->scalar_state(0);
  ASSERT_EQ(scalars.size(), 2u);
  EXPECT_EQ(scalars[0].name, "eta");
  EXPECT_EQ(*scalars[0].value, 0.25 / std::pow(1 + 1e-4 * 0.25 * 1, 0.75));
  EXPECT_EQ(scalars[1].name, "mu");
  EXPECT_EQ(*scalars[1].value, 1.0);
}

TEST(Asgd, CloneIsDeepAndIndependent) {
  test::expect_clone_is_deep_and_independent(asgd(0.1, 0.5, 0, 0.05));
}

// PyTorch's defaults (torch.optim, 1.13), every key printed in the documented order.
TEST(Asgd, DefaultsArePyTorchsInTheDocumentedOrder) {
  EXPECT_EQ(to_string(OptimizerSpec(AsgdSettings{})), "asgd(lr=0.01,lambd=1e-04,alpha=0.75,t0=1e+06,weight_decay=0)");
  EXPECT_EQ(parse_optimizer_spec("asgd"), OptimizerSpec(AsgdSettings{}));
}

}  // namespace
}  // namespace zerolr
