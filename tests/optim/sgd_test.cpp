// SGD against torch.optim.SGD's algorithm box, written out below in scalar long double.

#include "zerolr/optim/rules/sgd.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "optim/test_util.h"

namespace zerolr {
namespace {

using test::LVec;

/// torch.optim.SGD, one scalar at a time:
///   g <- g + wd * p;  b <- g (t = 1) or mu * b + (1 - tau) * g;  g <- g + mu * b (nesterov)
///   or g <- b;  p <- p - lr * g
struct SgdReference {
  long double lr, momentum, dampening, weight_decay;
  bool nesterov;
  LVec buf;
  int t = 0;

  explicit SgdReference(const SgdSettings& s)
      : lr(s.lr),
        momentum(s.momentum),
        dampening(s.dampening),
        weight_decay(s.weight_decay),
        nesterov(s.nesterov) {}

  void step(LVec& p, const LVec& grad) {
    ++t;
    buf.resize(p.size());
    for (std::size_t i = 0; i < p.size(); ++i) {
      long double g = grad[i];
      if (weight_decay != 0) g = g + weight_decay * p[i];
      if (momentum != 0) {
        if (t > 1)
          buf[i] = momentum * buf[i] + (1 - dampening) * g;
        else
          buf[i] = g;
        if (nesterov)
          g = g + momentum * buf[i];
        else
          g = buf[i];
      }
      p[i] = p[i] - lr * g;
    }
  }
};

SgdSettings sgd(double lr, double momentum = 0, double dampening = 0, double weight_decay = 0,
                bool nesterov = false) {
  SgdSettings s;
  s.lr = lr;
  s.momentum = momentum;
  s.dampening = dampening;
  s.weight_decay = weight_decay;
  s.nesterov = nesterov;
  return s;
}

TEST(Sgd, HandWorkedStepsMatchLiteralValues) {
  // lr = 0.1, p = 1, g = 1: p = 1 - 0.1 = 0.9.
  auto plain = test::run_optimizer<double>(sgd(0.1), {1.0L}, {{1.0L}});
  EXPECT_DOUBLE_EQ(plain[0][0], 0.9);
  // momentum 0.9: b1 = 1, p1 = 0.9; b2 = 0.9 * 1 + 1 = 1.9, p2 = 0.9 - 0.19 = 0.71.
  auto heavy = test::run_optimizer<double>(sgd(0.1, 0.9), {1.0L}, {{1.0L}, {1.0L}});
  EXPECT_DOUBLE_EQ(heavy[0][0], 0.9);
  EXPECT_DOUBLE_EQ(heavy[1][0], 0.71);
}

TEST(Sgd, PlainFirstThreeStepsMatchTheAlgorithmBox) {
  const SgdSettings s = sgd(0.01);
  test::expect_matches_reference(s, SgdReference(s));
}

TEST(Sgd, MomentumFirstThreeStepsMatchTheAlgorithmBox) {
  const SgdSettings s = sgd(0.01, 0.9);
  test::expect_matches_reference(s, SgdReference(s));
}

TEST(Sgd, DampeningFirstThreeStepsMatchTheAlgorithmBox) {
  const SgdSettings s = sgd(0.01, 0.8, 0.3);
  test::expect_matches_reference(s, SgdReference(s));
}

TEST(Sgd, NesterovFirstThreeStepsMatchTheAlgorithmBox) {
  const SgdSettings s = sgd(0.01, 0.9, 0, 0, true);
  test::expect_matches_reference(s, SgdReference(s));
}

TEST(Sgd, WeightDecayFirstThreeStepsMatchTheAlgorithmBox) {
  const SgdSettings s = sgd(0.01, 0, 0, 0.05);
  test::expect_matches_reference(s, SgdReference(s));
}

TEST(Sgd, AllOptionsTogetherMatchTheAlgorithmBox) {
  const SgdSettings damped = sgd(0.02, 0.5, 0.25, 0.1);
  test::expect_matches_reference(damped, SgdReference(damped));
  const SgdSettings nesterov = sgd(0.02, 0.7, 0, 0.1, true);
  test::expect_matches_reference(nesterov, SgdReference(nesterov));
}

TEST(Sgd, ZeroLearningRateLeavesParametersButAdvancesTheMomentumBuffer) {
  const SgdSettings s = sgd(0, 0.9, 0.1);
  std::unique_ptr<Optimizer<double>> opt;
  const auto traj = test::run_optimizer<double>(s, test::start_params(), test::three_gradients(), &opt);
  for (const auto& p : traj)
    for (std::size_t i = 0; i < p.size(); ++i) EXPECT_EQ(p[i], static_cast<double>(test::start_params()[i]));
  EXPECT_EQ(opt->step_count(0), 3);

  SgdReference ref(s);
  test::reference_trajectory(ref, test::start_params(), test::three_gradients());
  const Vector<double>* buf = test::state_named(*opt, 0, "momentum_buffer");
  ASSERT_NE(buf, nullptr);
  for (Index i = 0; i < buf->size(); ++i)
    EXPECT_LE(test::ulp_distance((*buf)(i), static_cast<double>(ref.buf[i])), 4u) << i;

  // Without momentum there is no state, but the counter still advances.
  std::unique_ptr<Optimizer<double>> plain;
  const auto still =
      test::run_optimizer<double>(sgd(0), test::start_params(), test::three_gradients(), &plain);
  EXPECT_EQ(still[2], std::vector<double>({1.5, -0.75, 0.0, 8.0, 0.03125}));
  EXPECT_EQ(plain->step_count(0), 3);
}

TEST(Sgd, StateIsAMomentumBufferOnlyWhenMomentumIsOn) {
  std::unique_ptr<Optimizer<double>> plain, heavy;
  test::run_optimizer<double>(sgd(0.1), {1.0L}, {{1.0L}}, &plain);
  test::run_optimizer<double>(sgd(0.1, 0.5), {1.0L}, {{1.0L}, {2.0L}}, &heavy);
  EXPECT_TRUE(plain->state(0).empty());
  EXPECT_EQ(plain->step_count(0), 1);
  EXPECT_EQ(test::state_names(*heavy, 0), std::vector<std::string>{"momentum_buffer"});
  EXPECT_EQ(heavy->step_count(0), 2);
  EXPECT_EQ(heavy->step_count(7), 0) << "a tensor never stepped has count 0";
  EXPECT_TRUE(heavy->state(7).empty());
}

TEST(Sgd, CloneIsDeepAndIndependent) {
  test::expect_clone_is_deep_and_independent(sgd(0.1, 0.9, 0.1, 0.01));
}

TEST(Sgd, ChangingATensorsSizeThrowsShapeError) {
  auto opt = make_optimizer<double>(sgd(0.1, 0.9));
  Matrix<double> p = Matrix<double>::Ones(3, 1), g = Matrix<double>::Ones(3, 1);
  opt->step({{"w", &p, &g}}, 0.1);
  Matrix<double> p4 = Matrix<double>::Ones(4, 1), g4 = Matrix<double>::Ones(4, 1);
  EXPECT_THROW(opt->step({{"w", &p4, &g4}}, 0.1), ShapeError);
  EXPECT_EQ(p4, Matrix<double>::Ones(4, 1));
  EXPECT_EQ(opt->step_count(0), 1);
}

TEST(Sgd, AGradientOfAnotherShapeThrowsShapeErrorNamingTheTensor) {
  auto opt = make_optimizer<double>(sgd(0.1));
  Matrix<double> p = Matrix<double>::Ones(2, 3), g = Matrix<double>::Ones(3, 2);
  try {
    opt->step({{"0.weight", &p, &g}}, 0.1);
    FAIL() << "no ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_THAT(e.what(), testing::HasSubstr("0.weight"));
    EXPECT_THAT(e.what(), testing::HasSubstr("2x3"));
  }
  EXPECT_EQ(p, Matrix<double>::Ones(2, 3));
  EXPECT_EQ(opt->tensor_count(), 0u);
}

TEST(Sgd, TwoTensorsKeepIndependentStates) {
  const SgdSettings s = sgd(0.05, 0.9);
  auto together = make_optimizer<double>(s);
  Matrix<double> a = test::column<double>({1, 2}), b = test::column<double>({-3, 0.5, 4});
  Matrix<double> ga = test::column<double>({0.5, -1}), gb = test::column<double>({2, 1, -1});
  together->step({{"a", &a, &ga}, {"b", &b, &gb}}, 0.05);
  together->step({{"a", &a, &ga}, {"b", &b, &gb}}, 0.05);

  // Each tensor alone follows the same path as it does next to the other.
  const auto alone_a = test::run_optimizer<double>(s, {1, 2}, {{0.5, -1}, {0.5, -1}});
  const auto alone_b = test::run_optimizer<double>(s, {-3, 0.5, 4}, {{2, 1, -1}, {2, 1, -1}});
  EXPECT_EQ(std::vector<double>(a.data(), a.data() + 2), alone_a[1]);
  EXPECT_EQ(std::vector<double>(b.data(), b.data() + 3), alone_b[1]);

  // Stepping only tensor 1 advances only its counter.
  together->step_tensor(1, b.data(), gb.data(), 3, 0.05);
  EXPECT_EQ(together->step_count(0), 2);
  EXPECT_EQ(together->step_count(1), 3);
  EXPECT_EQ(together->tensor_count(), 2u);
}

TEST(Sgd, ANegativeOrNonFiniteLearningRateIsRejected) {
  auto opt = make_optimizer<double>(sgd(0.1));
  Matrix<double> p = Matrix<double>::Ones(2, 1), g = Matrix<double>::Ones(2, 1);
  EXPECT_THROW(opt->step({{"w", &p, &g}}, -0.1), SpecError);
  EXPECT_THROW(opt->step({{"w", &p, &g}}, std::numeric_limits<double>::quiet_NaN()), SpecError);
  EXPECT_THROW(opt->step({{"w", &p, &g}}, std::numeric_limits<double>::infinity()), SpecError);
  EXPECT_EQ(p, Matrix<double>::Ones(2, 1));
  EXPECT_EQ(opt->step_count(0), 0);
}

TEST(Sgd, MakeOptimizerRejectsAnInvalidSpecAndKeepsAValidOne) {
  EXPECT_THROW(make_optimizer<double>(sgd(0.1, 0, 0, 0, true)), SpecError);
  EXPECT_THROW(make_optimizer<float>(sgd(-1)), SpecError);
  const SgdSettings s = sgd(0.25, 0.5, 0.125, 0.0625);
  EXPECT_EQ(make_optimizer<float>(s)->spec(), OptimizerSpec(s));
}

TEST(Sgd, SetStepCountRestoresACounterAndNeedsState) {
  std::unique_ptr<Optimizer<double>> opt;
  test::run_optimizer<double>(sgd(0.1, 0.9), {1.0L}, {{1.0L}}, &opt);
  opt->set_step_count(0, 41);
  EXPECT_EQ(opt->step_count(0), 41);
  EXPECT_THROW(opt->set_step_count(3, 1), ShapeError);
}

// PyTorch's defaults (torch.optim, 1.13), every key printed in the documented order.
TEST(Sgd, DefaultsArePyTorchsInTheDocumentedOrder) {
  EXPECT_EQ(to_string(OptimizerSpec(SgdSettings{})), "sgd(lr=0.001,momentum=0,dampening=0,weight_decay=0,nesterov=0)");
  EXPECT_EQ(parse_optimizer_spec("sgd"), OptimizerSpec(SgdSettings{}));
}

}  // namespace
}  // namespace zerolr
