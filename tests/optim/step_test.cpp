// Gradient clipping, the non-finite-gradient policies and apply_step.

#include "zerolr/optim/step.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "optim/test_util.h"

namespace zerolr {
namespace {

using testing::AllOf;
using testing::HasSubstr;

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

/// Two tensors, a 2x2 weight and a 2x1 bias, with their gradients.
struct TwoTensors {
  Matrix<double> w{2, 2}, gw{2, 2}, b{2, 1}, gb{2, 1};
  TwoTensors() {
    w << 1, -2, 0.5, 4;
    gw << 0.5, -1, 2, 0.25;
    b << -1, 3;
    gb << 1, -0.5;
  }
  std::vector<ParamRef<double>> params() { return {{"0.weight", &w, &gw}, {"0.bias", &b, &gb}}; }
};

TEST(ClipGradNorm, ReturnsTheTotalNormAndLeavesGradientsBelowTheMaximum) {
  TwoTensors t;
  const Matrix<double> gw = t.gw, gb = t.gb;
  // 0.25 + 1 + 4 + 0.0625 + 1 + 0.25 = 6.5625, sqrt = 2.5617...
  const double total = clip_grad_norm(t.params(), 10.0);
  EXPECT_DOUBLE_EQ(total, std::sqrt(6.5625));
  EXPECT_EQ(t.gw, gw);
  EXPECT_EQ(t.gb, gb);
}

TEST(ClipGradNorm, ScalesEveryGradientByMaxOverNormAbove) {
  TwoTensors t;
  const Matrix<double> gw = t.gw, gb = t.gb;
  const double total = clip_grad_norm(t.params(), 1.0);
  const double coef = 1.0 / (std::sqrt(6.5625) + 1e-6);
  EXPECT_DOUBLE_EQ(total, std::sqrt(6.5625));
  EXPECT_EQ(t.gw, gw * coef);
  EXPECT_EQ(t.gb, gb * coef);
  // The clipped norm is the maximum, up to PyTorch's 1e-6 in the denominator.
  EXPECT_NEAR(std::sqrt(t.gw.squaredNorm() + t.gb.squaredNorm()), 1.0, 1e-6);
  // Hand-worked: a single gradient (3, 4) has norm 5; max 1 gives (0.6, 0.8) up to 1e-6.
  Matrix<double> p(2, 1), g(2, 1);
  g << 3, 4;
  EXPECT_EQ(clip_grad_norm<double>({{"p", &p, &g}}, 1.0), 5.0);
  EXPECT_NEAR(g(0), 0.6, 1e-6);
  EXPECT_NEAR(g(1), 0.8, 1e-6);
}

TEST(ClipGradNorm, AZeroNormIsFine) {
  Matrix<double> p = Matrix<double>::Ones(3, 1), g = Matrix<double>::Zero(3, 1);
  EXPECT_EQ(clip_grad_norm<double>({{"p", &p, &g}}, 1.0), 0.0);
  EXPECT_EQ(g, Matrix<double>::Zero(3, 1));
  EXPECT_TRUE(g.allFinite());
}

TEST(ClipGradNorm, AnInfiniteEntryTurnsIntoNanAsInPyTorch) {
  Matrix<double> p = Matrix<double>::Ones(3, 1), g(3, 1);
  g << 1, kInf, -2;
  EXPECT_EQ(clip_grad_norm<double>({{"p", &p, &g}}, 1.0), kInf);
  // coef = 1 / inf = 0: finite entries become 0, the infinite one 0 * inf = NaN.
  EXPECT_EQ(g(0), 0.0);
  EXPECT_TRUE(std::isnan(g(1)));
  EXPECT_EQ(g(2), 0.0);
  // A NaN norm makes everything NaN.
  Matrix<float> pf = Matrix<float>::Ones(2, 1), gf(2, 1);
  gf << 1, std::numeric_limits<float>::quiet_NaN();
  EXPECT_TRUE(std::isnan(clip_grad_norm<float>({{"p", &pf, &gf}}, 1.0f)));
  EXPECT_TRUE(std::isnan(gf(0)));
}

TEST(ClipGradNorm, ANonPositiveMaximumIsRejected) {
  TwoTensors t;
  EXPECT_THROW(clip_grad_norm(t.params(), 0.0), SpecError);
  EXPECT_THROW(clip_grad_norm(t.params(), -1.0), SpecError);
  EXPECT_THROW(clip_grad_norm(t.params(), kNan), SpecError);
}

TEST(GradientsFinite, NamesTheFirstBadEntryByTensorIndexAndValue) {
  TwoTensors t;
  std::string where;
  EXPECT_TRUE(gradients_finite(t.params(), &where));
  EXPECT_TRUE(where.empty());
  t.gw(1, 1) = -kInf;  // storage index 3 of a 2x2 column-major matrix
  t.gb(0) = kNan;
  EXPECT_FALSE(gradients_finite(t.params(), &where));
  EXPECT_THAT(where, AllOf(HasSubstr("'0.weight'"), HasSubstr("entry 3"), HasSubstr("row 1, col 1"),
                           HasSubstr("-inf")));
  t.gw(1, 1) = 1;
  EXPECT_FALSE(gradients_finite(t.params(), &where));
  EXPECT_THAT(where, AllOf(HasSubstr("'0.bias'"), HasSubstr("entry 0"), HasSubstr("nan")));
  EXPECT_FALSE(gradients_finite(t.params()));  // without a where
}

// gradients_finite scans large tensors in blocks of 256: every position of one bad entry in
// a tensor of 1000 (four full blocks and a tail), in float and double, for each kind of
// non-finite value, and a subnormal or the largest finite value is not flagged.
template <class T>
void check_every_position() {
  Matrix<T> w = Matrix<T>::Zero(40, 25), g = Matrix<T>::Constant(40, 25, T(0.5));
  std::vector<ParamRef<T>> params{{"w", &w, &g}};
  const T bad[] = {std::numeric_limits<T>::quiet_NaN(), std::numeric_limits<T>::infinity(),
                   -std::numeric_limits<T>::infinity()};
  for (Index i = 0; i < g.size(); ++i) {
    g.data()[i] = bad[i % 3];
    std::string where;
    ASSERT_FALSE(gradients_finite(params, &where)) << "entry " << i << " missed";
    ASSERT_THAT(where, HasSubstr("entry " + std::to_string(i) + " ")) << where;
    g.data()[i] = (i % 2) ? std::numeric_limits<T>::max() : std::numeric_limits<T>::denorm_min();
    ASSERT_TRUE(gradients_finite(params)) << "entry " << i << " flagged";
    g.data()[i] = T(0.5);
  }
}

TEST(GradientsFinite, FindsABadEntryAtEveryPositionOfALargeTensor) {
  check_every_position<float>();
  check_every_position<double>();
}

TEST(NonFinitePolicy, PrintsAndParsesItsThreeNames) {
  for (NonFinitePolicy p : {NonFinitePolicy::Raise, NonFinitePolicy::Skip, NonFinitePolicy::Apply})
    EXPECT_EQ(parse_non_finite_policy(to_string(p)), p);
  EXPECT_EQ(to_string(NonFinitePolicy::Skip), "skip");
  try {
    parse_non_finite_policy("ignore");
    FAIL() << "no SpecError";
  } catch (const SpecError& e) {
    EXPECT_THAT(e.what(), AllOf(HasSubstr("ignore"), HasSubstr("raise, skip, apply")));
  }
  EXPECT_THROW(parse_non_finite_policy("Raise"), SpecError);
}

TEST(ApplyStep, FiniteGradientsStepLikeTheOptimizer) {
  TwoTensors t, u;
  auto a = make_optimizer<double>(AdamSettings{});
  auto b = make_optimizer<double>(AdamSettings{});
  const StepOutcome out = apply_step(*a, t.params(), 0.01, StepOptions{});
  b->step(u.params(), 0.01);
  EXPECT_TRUE(out.stepped);
  EXPECT_FALSE(out.non_finite);
  EXPECT_EQ(t.w, u.w);
  EXPECT_EQ(t.b, u.b);
  EXPECT_EQ(a->step_count(1), 1);
}

TEST(ApplyStep, ClipsBeforeStepping) {
  TwoTensors t, u;
  SgdSettings s;
  auto a = make_optimizer<double>(s);
  StepOptions opts;
  opts.clip_norm = 0.5;
  apply_step(*a, t.params(), 1.0, opts);
  clip_grad_norm(u.params(), 0.5);
  EXPECT_EQ(t.w, u.w - u.gw);
  EXPECT_EQ(t.gw, u.gw) << "the gradients are clipped in place, as clip_grad_norm_ does";
  opts.clip_norm = -1;
  EXPECT_THROW(apply_step(*a, t.params(), 1.0, opts), SpecError);
}

TEST(ApplyStep, RaiseThrowsAndLeavesParametersAndStateUntouched) {
  TwoTensors t;
  auto opt = make_optimizer<double>(AdamSettings{});
  apply_step(*opt, t.params(), 0.01, StepOptions{});
  const Matrix<double> w = t.w, b = t.b;
  const Vector<double> m = *test::state_named(*opt, 0, "exp_avg");
  t.gb(1) = kNan;
  try {
    apply_step(*opt, t.params(), 0.01, StepOptions{});
    FAIL() << "no NonFiniteGradientError";
  } catch (const NonFiniteGradientError& e) {
    EXPECT_THAT(e.what(), AllOf(HasSubstr("0.bias"), HasSubstr("entry 1"), HasSubstr("nan")));
  }
  EXPECT_EQ(t.w, w);
  EXPECT_EQ(t.b, b);
  EXPECT_EQ(*test::state_named(*opt, 0, "exp_avg"), m);
  EXPECT_EQ(opt->step_count(0), 1);
  EXPECT_EQ(opt->step_count(1), 1);
}

TEST(ApplyStep, SkipChangesNothingAndReportsIt) {
  TwoTensors t;
  auto opt = make_optimizer<double>(parse_optimizer_spec("rmsprop(momentum=0.9,centered=1)"));
  apply_step(*opt, t.params(), 0.01, StepOptions{});
  const Matrix<double> w = t.w, b = t.b;
  const Vector<double> v = *test::state_named(*opt, 1, "square_avg");
  t.gw(0, 1) = kInf;
  StepOptions skip;
  skip.non_finite = NonFinitePolicy::Skip;
  skip.clip_norm = 1.0;
  const StepOutcome out = apply_step(*opt, t.params(), 0.01, skip);
  EXPECT_FALSE(out.stepped);
  EXPECT_TRUE(out.non_finite);
  EXPECT_EQ(t.w, w);
  EXPECT_EQ(t.b, b);
  EXPECT_EQ(t.gw(0, 1), kInf) << "a skipped step does not clip either";
  EXPECT_EQ(*test::state_named(*opt, 1, "square_avg"), v);
  EXPECT_EQ(opt->step_count(0), 1);
}

TEST(ApplyStep, ApplyLetsANanGradientPoisonTheParameterEvenAtZeroLearningRate) {
  TwoTensors t;
  auto opt = make_optimizer<double>(SgdSettings{});
  t.gw(1, 0) = kNan;
  StepOptions apply;
  apply.non_finite = NonFinitePolicy::Apply;
  const StepOutcome out = apply_step(*opt, t.params(), 0.0, apply);
  EXPECT_TRUE(out.stepped);
  EXPECT_TRUE(out.non_finite);
  EXPECT_TRUE(std::isnan(t.w(1, 0))) << "0 * NaN = NaN";
  EXPECT_EQ(t.w(0, 0), 1.0) << "finite entries stay put at lr = 0";
  EXPECT_EQ(t.b, (Matrix<double>(2, 1) << -1, 3).finished());
  EXPECT_EQ(opt->step_count(0), 1);
}

TEST(ApplyStep, ABadLearningRateIsRejectedBeforeAnyPolicy) {
  TwoTensors t;
  auto opt = make_optimizer<double>(SgdSettings{});
  t.gb(0) = kNan;
  StepOptions skip;
  skip.non_finite = NonFinitePolicy::Skip;
  EXPECT_THROW(apply_step(*opt, t.params(), -0.1, skip), SpecError);
  EXPECT_THROW(apply_step(*opt, t.params(), kInf, skip), SpecError);
  EXPECT_EQ(opt->tensor_count(), 0u);
}

TEST(ApplyStep, WorksInFloat) {
  Matrix<float> p(3, 1), g(3, 1);
  p << 1, 2, 3;
  g << 1, 1, 1;
  auto opt = make_optimizer<float>(SgdSettings{});
  EXPECT_TRUE(apply_step<float>(*opt, {{"p", &p, &g}}, 0.5f, StepOptions{}).stepped);
  EXPECT_EQ(p, (Matrix<float>(3, 1) << 0.5f, 1.5f, 2.5f).finished());
}

}  // namespace
}  // namespace zerolr
