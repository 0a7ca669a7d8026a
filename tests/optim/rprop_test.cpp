// Rprop against torch.optim.Rprop's computation, written out below in scalar long double:
// step sizes start at the first step's lr and are clamped on every step.

#include "zerolr/optim/rules/rprop.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "optim/test_util.h"

namespace zerolr {
namespace {

using test::LVec;

/// torch.optim.Rprop, one scalar at a time (step sizes start at the first step's lr):
///   s <- sign(g prev);  size <- clamp(size * (etaplus, etaminus or 1), min, max)
///   g <- 0 where s < 0;  p <- p - sign(g) size;  prev <- g
struct RpropReference {
  long double etaminus, etaplus, lo, hi;
  LVec prev, size;

  explicit RpropReference(const RpropSettings& s)
      : etaminus(s.etaminus), etaplus(s.etaplus), lo(s.step_size_min), hi(s.step_size_max) {}

  static long double sign(long double x) { return (0 < x) - (x < 0); }

  void step(LVec& p, const LVec& grad, long double lr) {
    if (size.empty()) size.assign(p.size(), lr);
    prev.resize(p.size(), 0);
    for (std::size_t i = 0; i < p.size(); ++i) {
      const long double s = sign(grad[i] * prev[i]);
      size[i] = std::min(std::max(size[i] * (s > 0 ? etaplus : s < 0 ? etaminus : 1), lo), hi);
      const long double g = s < 0 ? 0 : grad[i];
      p[i] -= sign(g) * size[i];
      prev[i] = g;
    }
  }
};

RpropSettings rprop(double etaminus = 0.5, double etaplus = 1.2, double lo = 1e-6, double hi = 50) {
  RpropSettings s;
  s.etaminus = etaminus;
  s.etaplus = etaplus;
  s.step_size_min = lo;
  s.step_size_max = hi;
  return s;
}

void expect_matches(const RpropSettings& s, const std::vector<double>& lrs, const std::vector<LVec>& grads) {
  SCOPED_TRACE(to_string(OptimizerSpec(s)));
  auto opt = make_optimizer<double>(s);
  RpropReference ref(s);
  LVec p_ref = test::start_params();
  Matrix<double> p = test::column<double>(p_ref), g(p.rows(), 1);
  for (std::size_t k = 0; k < lrs.size(); ++k) {
    g = test::column<double>(grads[k]);
    opt->step({{"w", &p, &g}}, lrs[k]);
    ref.step(p_ref, grads[k], lrs[k]);
    for (Index i = 0; i < p.size(); ++i)
      EXPECT_LE(test::ulp_distance(p(i), static_cast<double>(p_ref[static_cast<std::size_t>(i)])), 4u)
          << "step " << k + 1 << " entry " << i;
  }
}

TEST(Rprop, SignChangesGrowAndShrinkTheStepSizesAsTorchDoes) {
  // Gradients whose signs repeat, flip and vanish, so every branch runs.
  const std::vector<LVec> grads{{0.5L, -2.0L, 0.25L, 3.0L, 0},
                                {0.25L, 1.0L, 0.75L, 4.0L, -0.125L},
                                {0.125L, 0.5L, -1.5L, 4.0L, -0.0625L},
                                {-1.0L, 0.5L, 2.0L, 0, 0.5L}};
  expect_matches(rprop(), {0.01, 0.01, 0.01, 0.01}, grads);
  expect_matches(rprop(0.25, 2.0, 1e-3, 0.02), {0.01, 0.01, 0.01, 0.01}, grads);
}

// The lr is read once, when the state is created: later lrs change nothing.
TEST(Rprop, ReadsTheLrOnlyOnItsFirstStep) {
  const std::vector<LVec> grads(4, LVec{1.0L, -1.0L, 0.5L, 2.0L, -0.25L});
  expect_matches(rprop(), {0.01, 0.5, 0.0, 3.0}, grads);
}

// At lr = 0 the step sizes start at 0 and are clamped up to step_size_min: every weight moves
// by step_size_min * sign(g), as PyTorch 1.13 measured here; freezes_at_lr0 says so.
TEST(Rprop, MovesEveryWeightByTheMinimumStepSizeAtLrZero) {
  auto opt = make_optimizer<double>(rprop());
  Matrix<double> p = test::column<double>({1, 1, 1}), g = test::column<double>({2, -3, 0});
  opt->step({{"w", &p, &g}}, 0.0);
  EXPECT_EQ(p(0), 1 - 1e-6);
  EXPECT_EQ(p(1), 1 + 1e-6);
  EXPECT_EQ(p(2), 1.0);
  EXPECT_FALSE(freezes_at_lr0(OptimizerSpec(rprop())));
  // With step_size_min = 0 the first step at lr = 0 does not move.
  auto zero = make_optimizer<double>(rprop(0.5, 1.2, 0, 50));
  Matrix<double> q = test::column<double>({1}), h = test::column<double>({2});
  zero->step({{"w", &q, &h}}, 0.0);
  EXPECT_EQ(q(0), 1.0);
}

// torch.sign(NaN) is 0: a NaN gradient moves nothing and keeps the step size.
TEST(Rprop, ANaNGradientMovesNothing) {
  auto opt = make_optimizer<double>(rprop());
  Matrix<double> p = test::column<double>({1}),
                 g = test::column<double>({std::numeric_limits<double>::quiet_NaN()});
  opt->step({{"w", &p, &g}}, 0.01);
  EXPECT_EQ(p(0), 1.0);
  EXPECT_EQ((*test::state_named(*opt, 0, "step_size"))(0), 0.01);
}

TEST(Rprop, StepSizeMinAboveMaxIsRejected) {
  EXPECT_THROW(parse_optimizer_spec("rprop(step_size_min=1,step_size_max=0.5)"), SpecError);
  EXPECT_THROW(parse_optimizer_spec("rprop(etaminus=1)"), SpecError);
  EXPECT_THROW(parse_optimizer_spec("rprop(etaplus=1)"), SpecError);
}

TEST(Rprop, CloneIsDeepAndIndependent) {
  test::expect_clone_is_deep_and_independent(rprop(0.25, 2.0, 1e-3, 0.02));
}

// PyTorch's defaults (torch.optim, 1.13), every key printed in the documented order.
TEST(Rprop, DefaultsArePyTorchsInTheDocumentedOrder) {
  EXPECT_EQ(to_string(OptimizerSpec(RpropSettings{})), "rprop(lr=0.01,etaminus=0.5,etaplus=1.2,step_size_min=1e-06,step_size_max=50)");
  EXPECT_EQ(parse_optimizer_spec("rprop"), OptimizerSpec(RpropSettings{}));
}

}  // namespace
}  // namespace zerolr
