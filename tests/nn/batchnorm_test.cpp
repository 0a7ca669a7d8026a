// BatchNorm1d: batch statistics in Train mode, running statistics in Eval mode, and the
// running-statistics update that moves even when nothing is learnt (the lr = 0 story).
// Expected values are computed here from PyTorch's documented formulas:
//   y = (x - mean) / sqrt(var_biased + eps) * gamma + beta               (Train)
//   running = (1 - momentum) * running + momentum * statistic           (var: unbiased)
//   y = (x - running_mean) / sqrt(running_var + eps) * gamma + beta      (Eval)

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "nn/test_util.h"
#include "zerolr/nn/layer.h"
#include "zerolr/nn/sequential.h"

namespace zerolr {
namespace {

using test::MatD;
using test::MatF;
using ::testing::HasSubstr;

LayerSpec bn_spec(double momentum = 0.1, double eps = 1e-5) {
  LayerSpec s;
  s.kind = LayerKind::BatchNorm1d;
  s.momentum = momentum;
  s.eps = eps;
  return s;
}

/// Direct access to a batchnorm layer's tensors, in the order the layer reports them.
struct BnTensors {
  MatD* gamma;
  MatD* beta;
  MatD* running_mean;
  MatD* running_var;
};

BnTensors tensors(Layer<double>& l) {
  std::vector<ParamRef<double>> p;
  std::vector<BufferRef<double>> b;
  l.collect_parameters(p, "");
  l.collect_buffers(b, "");
  EXPECT_EQ(p.size(), 2u);
  EXPECT_EQ(b.size(), 2u);
  return {p.at(0).value, p.at(1).value, b.at(0).value, b.at(1).value};
}

/// A batch whose columns have clearly different means and spreads.
MatD skewed_batch(Rng& rng, Index n, Index d) {
  MatD x = test::random_matrix(rng, n, d);
  for (Index j = 0; j < d; ++j)
    x.col(j) =
        x.col(j) * (0.5 + static_cast<double>(j)) + MatD::Constant(n, 1, 3.0 * static_cast<double>(j) - 2.0);
  return x;
}

double column_mean(const MatD& x, Index j) {
  double s = 0;
  for (Index i = 0; i < x.rows(); ++i) s += x(i, j);
  return s / static_cast<double>(x.rows());
}

double column_sum_sq_dev(const MatD& x, Index j) {
  const double m = column_mean(x, j);
  double ss = 0;
  for (Index i = 0; i < x.rows(); ++i) ss += (x(i, j) - m) * (x(i, j) - m);
  return ss;
}

TEST(BatchNorm, TrainModeNormalisesEachFeatureWithTheBiasedBatchVariance) {
  Rng rng(100);
  const Index n = 8, d = 3;
  auto l = make_layer<double>(bn_spec(), d, 100);
  const MatD x = skewed_batch(rng, n, d);
  const MatD y = l->forward(x, Mode::Train);
  for (Index j = 0; j < d; ++j) {
    SCOPED_TRACE("feature " + std::to_string(j));
    const double var_x = column_sum_sq_dev(x, j) / n;  // biased
    EXPECT_NEAR(column_mean(y, j), 0.0, 1e-14);
    const double var_y = column_sum_sq_dev(y, j) / n;
    EXPECT_NEAR(var_y, var_x / (var_x + 1e-5), 1e-12);
    EXPECT_NEAR(var_y, 1.0, 1e-3);  // eps / var_x is at most about 1e-4 here
    // The unbiased variance would leave the output's biased variance near (n-1)/n instead.
    EXPECT_GT(std::abs(var_y - (n - 1.0) / n), 0.1);
    for (Index i = 0; i < n; ++i)
      EXPECT_NEAR(y(i, j), (x(i, j) - column_mean(x, j)) / std::sqrt(var_x + 1e-5), 1e-12);
  }
}

TEST(BatchNorm, TrainModeAppliesGammaAndBetaAfterNormalising) {
  Rng rng(101);
  auto l = make_layer<double>(bn_spec(), 3, 101);
  auto t = tensors(*l);
  *t.gamma = test::random_matrix(rng, 3, 1, 0.5, 2);
  *t.beta = test::random_matrix(rng, 3, 1);
  const MatD x = skewed_batch(rng, 6, 3);
  const MatD y = l->forward(x, Mode::Train);
  for (Index j = 0; j < 3; ++j) {
    const double m = column_mean(x, j), v = column_sum_sq_dev(x, j) / 6;
    for (Index i = 0; i < 6; ++i)
      EXPECT_NEAR(y(i, j), (x(i, j) - m) / std::sqrt(v + 1e-5) * (*t.gamma)(j, 0) + (*t.beta)(j, 0), 1e-12);
  }
}

TEST(BatchNorm, RunningStatisticsFollowPyTorchsMomentumUpdateWithTheUnbiasedVariance) {
  for (const double momentum : {0.1, 0.35}) {
    SCOPED_TRACE("momentum=" + std::to_string(momentum));
    Rng rng(102);
    const Index n = 5, d = 4;
    auto l = make_layer<double>(bn_spec(momentum), d, 102);
    auto t = tensors(*l);
    EXPECT_EQ(*t.running_mean, MatD::Zero(d, 1));
    EXPECT_EQ(*t.running_var, MatD::Ones(d, 1));
    std::vector<double> rm(d, 0.0), rv(d, 1.0);
    for (int step = 0; step < 3; ++step) {
      const MatD x = skewed_batch(rng, n, d);
      l->forward(x, Mode::Train);
      for (Index j = 0; j < d; ++j) {
        rm[j] = (1 - momentum) * rm[j] + momentum * column_mean(x, j);
        rv[j] = (1 - momentum) * rv[j] + momentum * column_sum_sq_dev(x, j) / (n - 1);
        EXPECT_NEAR((*t.running_mean)(j, 0), rm[j], 1e-14 * (1 + std::abs(rm[j]))) << "step " << step;
        EXPECT_NEAR((*t.running_var)(j, 0), rv[j], 1e-14 * (1 + std::abs(rv[j]))) << "step " << step;
      }
    }
  }
}

TEST(BatchNorm, EvalModeUsesTheRunningStatisticsNotTheBatchs) {
  Rng rng(103);
  const Index n = 6, d = 3;
  auto l = make_layer<double>(bn_spec(), d, 103);
  auto t = tensors(*l);
  *t.gamma = test::random_matrix(rng, d, 1, 0.5, 2);
  *t.beta = test::random_matrix(rng, d, 1);
  *t.running_mean = test::random_matrix(rng, d, 1, -1, 1);
  *t.running_var = test::random_matrix(rng, d, 1, 0.2, 3);
  const MatD x = skewed_batch(rng, n, d);
  const MatD y = l->forward(x, Mode::Eval);
  for (Index j = 0; j < d; ++j)
    for (Index i = 0; i < n; ++i) {
      const double want =
          (x(i, j) - (*t.running_mean)(j, 0)) / std::sqrt((*t.running_var)(j, 0) + 1e-5) * (*t.gamma)(j, 0) +
          (*t.beta)(j, 0);
      EXPECT_NEAR(y(i, j), want, 1e-12);
    }
  // The batch's own statistics would have centred each column.
  for (Index j = 0; j < d; ++j) EXPECT_GT(std::abs(column_mean(y, j) - (*t.beta)(j, 0)), 1e-3);
}

TEST(BatchNorm, EvalForwardAndBackwardLeaveTheBuffersUnchanged) {
  Rng rng(104);
  auto l = make_layer<double>(bn_spec(), 3, 104);
  l->forward(skewed_batch(rng, 4, 3), Mode::Train);  // move the buffers off their initial values
  auto t = tensors(*l);
  const MatD rm = *t.running_mean, rv = *t.running_var;
  for (int k = 0; k < 3; ++k) {
    const MatD y = l->forward(skewed_batch(rng, 4, 3), Mode::Eval);
    l->backward(test::random_matrix(rng, y.rows(), y.cols()));
  }
  EXPECT_EQ(*t.running_mean, rm);
  EXPECT_EQ(*t.running_var, rv);
}

TEST(BatchNorm, TrainForwardMovesTheBuffersWhileParametersStayUntouchedAtLearningRateZero) {
  // A model step at lr = 0 is forward + backward and no parameter change: the running
  // statistics are the only state that moves.
  Rng rng(105);
  Sequential<double> model(Architecture::parse("input(3),dense(4),batchnorm,relu,dense(1)"), 105);
  std::vector<MatD> params_before;
  for (const auto& p : model.parameters()) params_before.push_back(*p.value);
  std::vector<MatD> buffers_before;
  for (const auto& b : model.buffers()) buffers_before.push_back(*b.value);
  ASSERT_EQ(buffers_before.size(), 2u);

  const MatD x = test::random_matrix(rng, 8, 3);
  const MatD y = model.forward(x, Mode::Train);
  model.backward(MatD::Ones(y.rows(), y.cols()));

  const auto params = model.parameters();
  for (std::size_t i = 0; i < params.size(); ++i)
    EXPECT_EQ(*params[i].value, params_before[i]) << params[i].name;
  const auto buffers = model.buffers();
  for (std::size_t i = 0; i < buffers.size(); ++i)
    EXPECT_FALSE(buffers[i].value->isApprox(buffers_before[i], 1e-6)) << buffers[i].name;
}

TEST(BatchNorm, BatchOfOneInTrainModeThrowsAShapeErrorAndLeavesTheBuffersAlone) {
  auto l = make_layer<double>(bn_spec(), 3, 106);
  auto t = tensors(*l);
  MatD one(1, 3);
  one << 1, 2, 3;
  try {
    l->forward(one, Mode::Train);
    ADD_FAILURE() << "no ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_THAT(e.what(), HasSubstr("more than 1 value"));
  }
  EXPECT_EQ(*t.running_mean, MatD::Zero(3, 1));
  EXPECT_EQ(*t.running_var, MatD::Ones(3, 1));

  Sequential<double> model(Architecture::parse("input(3),batchnorm"), 0);
  try {
    model.forward(one, Mode::Train);
    ADD_FAILURE() << "no ShapeError from the model";
  } catch (const ShapeError& e) {
    EXPECT_THAT(e.what(), HasSubstr("more than 1 value"));
  }
}

TEST(BatchNorm, EvalModeWorksWithASingleSample) {
  auto l = make_layer<double>(bn_spec(), 3, 107);
  MatD one(1, 3);
  one << 1, -2, 3;
  const MatD y = l->forward(one, Mode::Eval);
  // Fresh running statistics: mean 0, variance 1.
  for (Index j = 0; j < 3; ++j) EXPECT_NEAR(y(0, j), one(0, j) / std::sqrt(1 + 1e-5), 1e-15);
  const MatD dx = l->backward(MatD::Ones(1, 3));
  EXPECT_TRUE(dx.allFinite());
}

TEST(BatchNorm, ModelNamesBuffersAndParametersLikePyTorch) {
  Sequential<double> model(
      Architecture::parse("input(3),dense(4),batchnorm,relu,dense(2),batchnorm(momentum=0.2)"), 0);
  const auto params = model.parameters();
  const std::vector<std::string> param_names{"0.weight", "0.bias", "1.weight", "1.bias",
                                             "3.weight", "3.bias", "4.weight", "4.bias"};
  ASSERT_EQ(params.size(), param_names.size());
  for (std::size_t i = 0; i < params.size(); ++i) EXPECT_EQ(params[i].name, param_names[i]);
  const auto buffers = model.buffers();
  const std::vector<std::string> buffer_names{"1.running_mean", "1.running_var", "4.running_mean",
                                              "4.running_var"};
  ASSERT_EQ(buffers.size(), buffer_names.size());
  for (std::size_t i = 0; i < buffers.size(); ++i) EXPECT_EQ(buffers[i].name, buffer_names[i]);
  EXPECT_EQ(*params[2].value, MatD::Ones(4, 1));   // gamma
  EXPECT_EQ(*params[3].value, MatD::Zero(4, 1));   // beta
  EXPECT_EQ(*buffers[0].value, MatD::Zero(4, 1));  // running_mean
  EXPECT_EQ(*buffers[1].value, MatD::Ones(4, 1));  // running_var
  EXPECT_EQ(buffers[2].value->rows(), 2);
  // Buffers are not trainable: no parameter aliases a buffer.
  for (const auto& p : params)
    for (const auto& b : buffers) EXPECT_NE(p.value, b.value);
}

TEST(BatchNorm, MomentumZeroLeavesTheBuffersUnchanged) {
  Rng rng(108);
  auto l = make_layer<double>(bn_spec(0.0), 3, 108);
  auto t = tensors(*l);
  *t.running_mean = test::random_matrix(rng, 3, 1);
  *t.running_var = test::random_matrix(rng, 3, 1, 0.5, 2);
  const MatD rm = *t.running_mean, rv = *t.running_var;
  for (int k = 0; k < 3; ++k) l->forward(skewed_batch(rng, 5, 3), Mode::Train);
  EXPECT_EQ(*t.running_mean, rm);
  EXPECT_EQ(*t.running_var, rv);
}

TEST(BatchNorm, MomentumOneReplacesTheBuffersWithTheLastBatchsStatistics) {
  Rng rng(109);
  auto l = make_layer<double>(bn_spec(1.0), 3, 109);
  auto t = tensors(*l);
  MatD x;
  for (int k = 0; k < 3; ++k) {
    x = skewed_batch(rng, 5, 3);
    l->forward(x, Mode::Train);
  }
  for (Index j = 0; j < 3; ++j) {
    EXPECT_DOUBLE_EQ((*t.running_mean)(j, 0), column_mean(x, j));
    EXPECT_DOUBLE_EQ((*t.running_var)(j, 0), column_sum_sq_dev(x, j) / 4);
  }
}

TEST(BatchNorm, TrainOutputDoesNotDependOnTheRunningStatistics) {
  Rng rng(110);
  auto a = make_layer<double>(bn_spec(), 3, 110);
  auto b = make_layer<double>(bn_spec(), 3, 110);
  auto tb = tensors(*b);
  *tb.running_mean = MatD::Constant(3, 1, 50.0);
  *tb.running_var = MatD::Constant(3, 1, 9.0);
  const MatD x = skewed_batch(rng, 7, 3);
  EXPECT_EQ(MatD(a->forward(x, Mode::Train)), MatD(b->forward(x, Mode::Train)));
}

TEST(BatchNorm, ConstantFeatureInTrainModeGivesBetaAndFiniteGradients) {
  auto l = make_layer<double>(bn_spec(), 2, 111);
  auto t = tensors(*l);
  (*t.beta)(0, 0) = 0.25;
  MatD x(4, 2);
  x << 3, 1, 3, 2, 3, 3, 3, 4;
  const MatD y = l->forward(x, Mode::Train);
  for (Index i = 0; i < 4; ++i) EXPECT_EQ(y(i, 0), 0.25);
  Rng rng(111);
  EXPECT_TRUE(l->backward(test::random_matrix(rng, 4, 2)).allFinite());
}

TEST(BatchNorm, TrainBackwardMatchesFiniteDifferences) {
  for (const std::uint64_t seed : {112u, 113u}) {
    SCOPED_TRACE(test::seed_trace(seed));
    Rng rng(seed);
    const Index n = 3 + static_cast<Index>(rng.below(5)), d = 1 + static_cast<Index>(rng.below(4));
    auto l = make_layer<double>(bn_spec(), d, seed);
    auto t = tensors(*l);
    *t.gamma = test::random_matrix(rng, d, 1, 0.5, 2);
    *t.beta = test::random_matrix(rng, d, 1);
    test::expect_layer_gradients(*l, skewed_batch(rng, n, d), Mode::Train, rng);
  }
}

TEST(BatchNorm, EvalBackwardMatchesFiniteDifferences) {
  Rng rng(114);
  auto l = make_layer<double>(bn_spec(), 4, 114);
  auto t = tensors(*l);
  *t.gamma = test::random_matrix(rng, 4, 1, 0.5, 2);
  *t.beta = test::random_matrix(rng, 4, 1);
  *t.running_mean = test::random_matrix(rng, 4, 1);
  *t.running_var = test::random_matrix(rng, 4, 1, 0.2, 3);
  test::expect_layer_gradients(*l, skewed_batch(rng, 5, 4), Mode::Eval, rng);
  // Eval with one sample is differentiable too.
  test::expect_layer_gradients(*l, skewed_batch(rng, 1, 4), Mode::Eval, rng);
}

TEST(BatchNorm, FloatRunningStatisticsAgreeWithDoubleToFloatPrecision) {
  Rng rng(115);
  auto lf = make_layer<float>(bn_spec(0.3), 3, 115);
  auto ld = make_layer<double>(bn_spec(0.3), 3, 115);
  for (int k = 0; k < 4; ++k) {
    const MatF xf = skewed_batch(rng, 6, 3).cast<float>();
    lf->forward(xf, Mode::Train);
    ld->forward(xf.cast<double>(), Mode::Train);
  }
  std::vector<BufferRef<float>> bf;
  std::vector<BufferRef<double>> bd;
  lf->collect_buffers(bf, "");
  ld->collect_buffers(bd, "");
  ASSERT_EQ(bf.size(), 2u);
  ASSERT_EQ(bd.size(), 2u);
  for (std::size_t i = 0; i < 2; ++i)
    EXPECT_TRUE(test::agrees_to_float(*bf[i].value, *bd[i].value)) << bd[i].name;
}

}  // namespace
}  // namespace zerolr
