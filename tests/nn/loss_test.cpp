// Losses: hand-worked values, gradients against central differences, numerical stability,
// shape errors, and the spec's text form.

#include "zerolr/nn/loss.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "nn/test_util.h"

namespace zerolr {
namespace {

using test::MatD;
using test::MatF;
using ::testing::AllOf;
using ::testing::HasSubstr;

LossSpec loss(LossKind kind, double delta = 1.0) {
  LossSpec s;
  s.kind = kind;
  s.delta = delta;
  return s;
}

MatD row(std::initializer_list<double> v) {
  MatD m(1, static_cast<Index>(v.size()));
  Index j = 0;
  for (const double x : v) m(0, j++) = x;
  return m;
}

MatD col(std::initializer_list<double> v) {
  return row(v).transpose();
}

/// dL/dy from loss_and_grad against central differences of loss_value in y.
void expect_loss_gradient(const LossSpec& spec, const MatD& y, const MatD& t) {
  MatD grad;
  const double value = loss_and_grad<double>(spec, y, t, grad);
  EXPECT_EQ(value, loss_value<double>(spec, y, t));
  ASSERT_EQ(grad.rows(), y.rows());
  ASSERT_EQ(grad.cols(), y.cols());
  MatD yv = y;
  const MatD num = test::numeric_gradient(yv, [&] { return loss_value<double>(spec, yv, t); });
  EXPECT_TRUE(test::gradients_match(grad, num)) << spec.to_string();
}

/// The message of the ShapeError that loss_value throws, or a failure.
std::string shape_error(const LossSpec& spec, const MatD& y, const MatD& t) {
  try {
    loss_value<double>(spec, y, t);
    ADD_FAILURE() << spec.to_string() << " accepted " << y.rows() << "x" << y.cols() << " vs " << t.rows()
                  << "x" << t.cols();
  } catch (const ShapeError& e) {
    return e.what();
  }
  return "";
}

std::string spec_error(const std::string& text) {
  try {
    const LossSpec s = LossSpec::parse(text);
    ADD_FAILURE() << "\"" << text << "\" parsed as " << s.to_string();
  } catch (const SpecError& e) {
    return e.what();
  }
  return "";
}

// ---------------------------------------------------------------------------------------
// Hand-worked values.

TEST(MseLoss, MatchesHandWorkedValues) {
  EXPECT_EQ(loss_value<double>(loss(LossKind::Mse), row({1, 2}), row({0, 0})), 2.5);
  EXPECT_EQ(loss_value<float>(loss(LossKind::Mse), row({1, 2}).cast<float>(), row({0, 0}).cast<float>()),
            2.5f);
  // ((3-1)^2 + (0-0)^2 + (-1-1)^2 + (2-4)^2) / 4 = 3
  MatD y(2, 2), t(2, 2);
  y << 3, 0, -1, 2;
  t << 1, 0, 1, 4;
  EXPECT_EQ(loss_value<double>(loss(LossKind::Mse), y, t), 3.0);
  EXPECT_EQ(loss_value<double>(loss(LossKind::Mse), y, y), 0.0);
  MatD g;
  loss_and_grad<double>(loss(LossKind::Mse), row({1, 2}), row({0, 0}), g);
  EXPECT_EQ(g, row({1, 2}));  // 2 d / 2
}

TEST(BceLoss, MatchesHandWorkedValues) {
  // A zero logit is a coin toss whatever the target: log 2.
  EXPECT_DOUBLE_EQ(loss_value<double>(loss(LossKind::BceWithLogits), row({0, 0, 0}), row({0, 1, 0.3})),
                   std::log(2.0));
  // logit log 3 means p = 3/4: target 1 costs -log(3/4), target 0 costs -log(1/4).
  EXPECT_NEAR(
      loss_value<double>(loss(LossKind::BceWithLogits), col({std::log(3.0), std::log(3.0)}), col({1, 0})),
      (-std::log(0.75) - std::log(0.25)) / 2, 1e-15);
  MatD g;
  loss_and_grad<double>(loss(LossKind::BceWithLogits), row({0, 0}), row({1, 0}), g);
  EXPECT_EQ(g, row({-0.25, 0.25}));  // (sigmoid(0) - t) / 2
}

TEST(CrossEntropyLoss, MatchesHandWorkedValues) {
  for (const Index c : {2, 3, 7}) {
    MatD y = MatD::Constant(2, c, 0.7);
    MatD t(2, 1);
    t << 0, static_cast<double>(c - 1);
    EXPECT_NEAR(loss_value<double>(loss(LossKind::CrossEntropy), y, t), std::log(static_cast<double>(c)),
                1e-15)
        << "C=" << c;
  }
  // logits (0, log 3): softmax (1/4, 3/4); class 1 costs -log(3/4), class 0 costs log 4.
  MatD y(2, 2);
  y << 0, std::log(3.0), 0, std::log(3.0);
  EXPECT_NEAR(loss_value<double>(loss(LossKind::CrossEntropy), y, col({1, 0})),
              (-std::log(0.75) + std::log(4.0)) / 2, 1e-15);
  MatD g;
  loss_and_grad<double>(loss(LossKind::CrossEntropy), y, col({1, 0}), g);
  MatD want(2, 2);
  want << 0.125, -0.125, -0.375, 0.375;  // (softmax - onehot) / 2
  EXPECT_TRUE(g.isApprox(want, 1e-15));
}

TEST(HuberLoss, MatchesHandWorkedValuesOnBothBranches) {
  // delta = 1: d = 0.5 -> 0.125 (quadratic); d = -3 -> 1 * (3 - 0.5) = 2.5 (linear).
  EXPECT_EQ(loss_value<double>(loss(LossKind::Huber), row({0.5, -3}), row({0, 0})), (0.125 + 2.5) / 2);
  // delta = 2: d = 1 -> 0.5; d = 4 -> 2 * (4 - 1) = 6; |d| = delta is linear: 2 * (2 - 1) = 2.
  EXPECT_EQ(loss_value<double>(loss(LossKind::Huber, 2.0), row({1, 4, 2}), row({0, 0, 0})),
            (0.5 + 6 + 2) / 3);
  MatD g;
  loss_and_grad<double>(loss(LossKind::Huber, 2.0), row({1, 4, -5}), row({0, 0, 0}), g);
  EXPECT_EQ(g, row({1.0 / 3, 2.0 / 3, -2.0 / 3}));
  // Within delta, huber is half the squared error (mse counts 2 d / n in its gradient).
  EXPECT_EQ(loss_value<double>(loss(LossKind::Huber, 10.0), row({1, 2}), row({0, 0})),
            loss_value<double>(loss(LossKind::Mse), row({1, 2}), row({0, 0})) / 2);
}

// ---------------------------------------------------------------------------------------
// Gradients against central differences.

TEST(EveryLoss, GradientMatchesFiniteDifferencesOnRandomInputs) {
  for (const std::uint64_t seed : {200u, 201u, 202u}) {
    SCOPED_TRACE(test::seed_trace(seed));
    Rng rng(seed);
    const Index n = 1 + static_cast<Index>(rng.below(6)), k = 2 + static_cast<Index>(rng.below(4));
    const MatD y = test::random_matrix(rng, n, k, -3, 3);
    expect_loss_gradient(loss(LossKind::Mse), y, test::random_matrix(rng, n, k, -3, 3));
    // bce targets may be soft labels in [0, 1].
    expect_loss_gradient(loss(LossKind::BceWithLogits), y, test::random_matrix(rng, n, k, 0, 1));
    MatD classes(n, 1);
    for (Index i = 0; i < n; ++i)
      classes(i, 0) = static_cast<double>(rng.below(static_cast<std::uint64_t>(k)));
    expect_loss_gradient(loss(LossKind::CrossEntropy), y, classes);
  }
}

TEST(HuberLoss, GradientMatchesFiniteDifferencesWithBothBranchesHit) {
  Rng rng(203);
  const double delta = 0.7;
  // Residuals with magnitude in [0.05, 0.5] (quadratic) and [1, 3] (linear), away from delta.
  MatD t = test::random_matrix(rng, 6, 3);
  MatD d = test::random_away_from_zero(rng, 6, 3, 0.05, 0.5);
  for (Index i = 0; i < 6; i += 2) d.row(i) = test::random_away_from_zero(rng, 1, 3, 1, 3);
  const MatD y = t + d;
  int quadratic = 0, linear = 0;
  for (Index k = 0; k < d.size(); ++k) (std::abs(d.data()[k]) < delta ? quadratic : linear)++;
  EXPECT_GT(quadratic, 0);
  EXPECT_GT(linear, 0);
  expect_loss_gradient(loss(LossKind::Huber, delta), y, t);
}

// ---------------------------------------------------------------------------------------
// Stability.

TEST(BceLoss, IsFiniteForHugeLogitsInFloatAndDouble) {
  const MatD y = row({1000, -1000, 1000, -1000});
  const MatD t = row({0, 1, 1, 0});
  MatD g;
  const double v = loss_and_grad<double>(loss(LossKind::BceWithLogits), y, t, g);
  EXPECT_TRUE(std::isfinite(v));
  EXPECT_EQ(v, (1000.0 + 1000.0 + 0 + 0) / 4);
  EXPECT_TRUE(g.allFinite());
  EXPECT_EQ(g, row({0.25, -0.25, 0, 0}));
  MatF gf;
  const float vf = loss_and_grad<float>(loss(LossKind::BceWithLogits), y.cast<float>(), t.cast<float>(), gf);
  EXPECT_TRUE(std::isfinite(vf));
  EXPECT_EQ(vf, 500.0f);
  EXPECT_TRUE(gf.allFinite());
}

TEST(BceLoss, EqualsTheNaiveFormulaForModerateLogits) {
  Rng rng(204);
  const MatD y = test::random_matrix(rng, 5, 3, -6, 6);
  const MatD t = test::random_matrix(rng, 5, 3, 0, 1);
  double naive = 0;
  for (Index k = 0; k < y.size(); ++k) {
    const double p = 1 / (1 + std::exp(-y.data()[k]));
    naive += -(t.data()[k] * std::log(p) + (1 - t.data()[k]) * std::log(1 - p));
  }
  naive /= static_cast<double>(y.size());
  EXPECT_NEAR(loss_value<double>(loss(LossKind::BceWithLogits), y, t), naive, 1e-13);
}

TEST(CrossEntropyLoss, IsStableForLogitsOfTenThousand) {
  MatD y(3, 3);
  y << 1e4, 0, -1e4,  //
      1e4, 1e4, 0,    //
      -1e4, 1e4, 1e4;
  const MatD t = col({0, 2, 1});
  MatD g;
  const double v = loss_and_grad<double>(loss(LossKind::CrossEntropy), y, t, g);
  // Row 0: class 0 dominates, cost ~0. Row 1: class 2 is 1e4 behind, cost ~1e4 + log 2
  // (two equal leaders). Row 2: class 1 ties class 2, cost log 2.
  EXPECT_NEAR(v, (0 + 1e4 + std::log(2.0) + std::log(2.0)) / 3, 1e-9);
  EXPECT_TRUE(g.allFinite());
  // Softmax sums to 1 up to the rounding of lse itself, whose ulp at 1e4 is 1.8e-12.
  EXPECT_NEAR(g.rowwise().sum().cwiseAbs().maxCoeff(), 0.0, 1e-11);
  MatF gf;
  const float vf = loss_and_grad<float>(loss(LossKind::CrossEntropy), y.cast<float>(), t.cast<float>(), gf);
  EXPECT_TRUE(std::isfinite(vf));
  EXPECT_TRUE(gf.allFinite());
  EXPECT_TRUE(test::agrees_to_float(MatF::Constant(1, 1, vf), MatD::Constant(1, 1, v)));
}

TEST(EveryLoss, FloatAgreesWithDoubleToFloatPrecision) {
  Rng rng(205);
  const MatF yf = test::random_matrix(rng, 6, 3, -3, 3).cast<float>();
  const MatF tf = test::random_matrix(rng, 6, 3, 0, 1).cast<float>();
  MatF cf(6, 1);
  for (Index i = 0; i < 6; ++i) cf(i, 0) = static_cast<float>(rng.below(3));
  for (const LossSpec& s : {loss(LossKind::Mse), loss(LossKind::BceWithLogits), loss(LossKind::Huber, 0.5),
                            loss(LossKind::CrossEntropy)}) {
    SCOPED_TRACE(s.to_string());
    const MatF& t = s.kind == LossKind::CrossEntropy ? cf : tf;
    MatF gf;
    MatD gd;
    const float vf = loss_and_grad<float>(s, yf, t, gf);
    const double vd = loss_and_grad<double>(s, yf.cast<double>(), t.cast<double>(), gd);
    EXPECT_TRUE(test::agrees_to_float(MatF::Constant(1, 1, vf), MatD::Constant(1, 1, vd)));
    EXPECT_TRUE(test::agrees_to_float(gf, gd));
  }
}

// ---------------------------------------------------------------------------------------
// Shape errors.

TEST(EveryLoss, MismatchedShapesThrowAShapeErrorNamingBothShapes) {
  for (const LossSpec& s : {loss(LossKind::Mse), loss(LossKind::BceWithLogits), loss(LossKind::Huber)}) {
    SCOPED_TRACE(s.to_string());
    EXPECT_THAT(shape_error(s, MatD::Zero(3, 2), MatD::Zero(3, 1)),
                AllOf(HasSubstr("targets are 3x1"), HasSubstr("need 3x2")));
    EXPECT_THAT(shape_error(s, MatD::Zero(3, 2), MatD::Zero(2, 2)), HasSubstr("targets are 2x2"));
    EXPECT_THAT(shape_error(s, MatD::Zero(0, 2), MatD::Zero(0, 2)), HasSubstr("empty"));
    MatD g;
    EXPECT_THROW(loss_and_grad<double>(s, MatD::Zero(3, 2), MatD::Zero(3, 3), g), ShapeError);
  }
  EXPECT_THAT(shape_error(loss(LossKind::CrossEntropy), MatD::Zero(3, 4), MatD::Zero(3, 4)),
              AllOf(HasSubstr("targets are 3x4"), HasSubstr("need 3x1")));
  EXPECT_THAT(shape_error(loss(LossKind::CrossEntropy), MatD::Zero(3, 4), MatD::Zero(2, 1)),
              HasSubstr("targets are 2x1"));
  EXPECT_THAT(shape_error(loss(LossKind::CrossEntropy), MatD::Zero(3, 1), MatD::Zero(3, 1)),
              HasSubstr("at least 2 output classes"));
}

TEST(CrossEntropyLoss, ClassIndexOutOfRangeOrNotAnIntegerThrowsAShapeError) {
  const MatD y = MatD::Zero(3, 3);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (const double bad : {3.0, -1.0, 1.5, 1e300, nan}) {
    SCOPED_TRACE(bad);
    const MatD t = col({0, bad, 2});
    EXPECT_THAT(shape_error(loss(LossKind::CrossEntropy), y, t),
                AllOf(HasSubstr("target of sample 1"), HasSubstr("not a class index in [0, 3)")));
    MatD g;
    EXPECT_THROW(loss_and_grad<double>(loss(LossKind::CrossEntropy), y, t, g), ShapeError);
    EXPECT_THROW(loss_value<float>(loss(LossKind::CrossEntropy), y.cast<float>(), t.cast<float>()),
                 ShapeError);
  }
  EXPECT_NO_THROW(loss_value<double>(loss(LossKind::CrossEntropy), y, col({0, 1, 2})));
}

TEST(LossTargetColumns, IsOneForCrossEntropyAndTheOutputWidthOtherwise) {
  EXPECT_EQ(loss_target_columns(loss(LossKind::CrossEntropy), 5), 1);
  EXPECT_EQ(loss_target_columns(loss(LossKind::Mse), 5), 5);
  EXPECT_EQ(loss_target_columns(loss(LossKind::BceWithLogits), 2), 2);
  EXPECT_EQ(loss_target_columns(loss(LossKind::Huber), 3), 3);
}

// ---------------------------------------------------------------------------------------
// The spec's text form.

TEST(LossSpecText, ParseAndPrintRoundTrip) {
  for (const std::string text : {"mse", "bce", "cross_entropy", "huber(delta=0.5)", "huber(delta=1)",
                                 "huber(delta=0.30000000000000004)", "huber(delta=1e-08)"}) {
    SCOPED_TRACE(text);
    const LossSpec s = LossSpec::parse(text);
    EXPECT_EQ(s.to_string(), text);
    EXPECT_EQ(LossSpec::parse(s.to_string()), s);
  }
  EXPECT_EQ(LossSpec::parse("mse").kind, LossKind::Mse);
  EXPECT_EQ(LossSpec::parse("bce").kind, LossKind::BceWithLogits);
  EXPECT_EQ(LossSpec::parse("cross_entropy").kind, LossKind::CrossEntropy);
  const LossSpec h = LossSpec::parse("huber( 0.25 )");
  EXPECT_EQ(h.kind, LossKind::Huber);
  EXPECT_EQ(h.delta, 0.25);
  EXPECT_EQ(LossSpec::parse("huber"), loss(LossKind::Huber, 1.0));
  EXPECT_EQ(LossSpec::parse("mse()"), loss(LossKind::Mse));
}

TEST(LossSpecText, ParseErrorsNameTheProblem) {
  EXPECT_THAT(spec_error("mae"),
              AllOf(HasSubstr("unknown loss 'mae'"), HasSubstr("mse, bce, cross_entropy, huber")));
  EXPECT_THAT(spec_error("mse(1)"), HasSubstr("mse takes no settings"));
  EXPECT_THAT(spec_error("bce(pos_weight=2)"), HasSubstr("bce takes no settings"));
  EXPECT_THAT(spec_error("huber(beta=1)"), HasSubstr("huber has no key 'beta'"));
  EXPECT_THAT(spec_error("huber(delta=0)"), HasSubstr("delta=0 is out of range"));
  EXPECT_THAT(spec_error("huber(delta=-1)"), HasSubstr("out of range"));
  EXPECT_THAT(spec_error("huber(delta=x)"), HasSubstr("delta=x is not a number"));
  EXPECT_THAT(spec_error("huber(delta=1,delta=2)"), HasSubstr("repeats key 'delta'"));
  EXPECT_THAT(spec_error("huber(delta=1"), HasSubstr("missing ')'"));
  EXPECT_THAT(spec_error("mse,bce"), HasSubstr("loss spec"));
  EXPECT_THAT(spec_error(""), HasSubstr("loss spec"));
}

}  // namespace
}  // namespace zerolr
