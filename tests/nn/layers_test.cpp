// Every layer kind: backward against central differences in double, float against double,
// forward against independent formulas, dropout's masks, and the layer contract's errors.
// BatchNorm1d has its own file (batchnorm_test.cpp).

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <set>
#include <vector>

#include "nn/test_util.h"
#include "zerolr/nn/layer.h"

namespace zerolr {
namespace {

using test::MatD;
using test::MatF;
using ::testing::HasSubstr;

LayerSpec dense_spec(Index units, Init init = Init::Torch) {
  LayerSpec s;
  s.kind = LayerKind::Dense;
  s.units = units;
  s.init = init;
  return s;
}

LayerSpec kind_spec(LayerKind kind) {
  LayerSpec s;
  s.kind = kind;
  return s;
}

constexpr Init kAllInits[] = {Init::Torch, Init::XavierUniform, Init::XavierNormal, Init::HeUniform,
                              Init::HeNormal};

// ---------------------------------------------------------------------------------------
// The checker itself.

TEST(GradientChecker, AcceptsTheExactGradientAndRejectsOneOffByOnePartInTenThousand) {
  // f(v) = sum(v^3): gradient 3 v^2.
  Rng rng(11);
  MatD v = test::random_matrix(rng, 3, 2);
  const MatD exact = (3.0 * v.array().square()).matrix();
  const MatD num = test::numeric_gradient(v, [&] { return v.array().cube().sum(); });
  EXPECT_TRUE(test::gradients_match(exact, num));
  MatD wrong = exact;
  wrong(1, 1) *= 1.0 + 1e-4;
  EXPECT_FALSE(test::gradients_match(wrong, num));
}

TEST(GradientChecker, RestoresThePerturbedValuesExactly) {
  Rng rng(12);
  MatD v = test::random_matrix(rng, 4, 3, -100, 100);
  const MatD before = v;
  (void)test::numeric_gradient(v, [&] { return v.sum(); });
  EXPECT_EQ(v, before);
}

// ---------------------------------------------------------------------------------------
// Gradients against central differences, double.

TEST(DenseLayer, BackwardMatchesFiniteDifferencesForEveryInit) {
  for (const std::uint64_t seed : {1u, 2u, 3u}) {
    SCOPED_TRACE(test::seed_trace(seed));
    Rng rng(seed);
    const Index n = 2 + static_cast<Index>(rng.below(4));
    const Index in = 1 + static_cast<Index>(rng.below(5));
    const Index out = 1 + static_cast<Index>(rng.below(5));
    for (const Init init : kAllInits) {
      const auto layer = make_layer<double>(dense_spec(out, init), in, seed);
      const MatD x = test::random_matrix(rng, n, in, -2, 2);
      test::expect_layer_gradients(*layer, x, Mode::Train, rng);
    }
  }
}

TEST(ReluLayer, BackwardMatchesFiniteDifferencesAwayFromTheKink) {
  for (const std::uint64_t seed : {4u, 5u}) {
    SCOPED_TRACE(test::seed_trace(seed));
    Rng rng(seed);
    const auto layer = make_layer<double>(kind_spec(LayerKind::ReLU), 4, seed);
    const MatD x = test::random_away_from_zero(rng, 5, 4, 0.05, 3);
    test::expect_layer_gradients(*layer, x, Mode::Train, rng);
  }
}

// PyTorch's ReLU backward selects (threshold_backward: x <= 0 ? 0 : dy); it does not multiply
// by a 0/1 derivative. So a NaN or infinite upstream gradient stops at an inactive unit
// (libtorch 1.13 gives [0, 0, nan] for these inputs). The reference scalar's path in
// layers.cpp is the same selection, written out.
template <class T>
void check_relu_backward_selects() {
  const auto layer = make_layer<T>(kind_spec(LayerKind::ReLU), 3, 0);
  Matrix<T> x(1, 3), dy(1, 3);
  x << T(-1), T(0), T(2);
  dy << std::numeric_limits<T>::quiet_NaN(), std::numeric_limits<T>::infinity(), std::numeric_limits<T>::quiet_NaN();
  layer->forward(x, Mode::Train);
  const Matrix<T> dx = layer->backward(dy);
  EXPECT_TRUE(dx(0, 0) == T(0)) << "NaN gradient at x = -1";
  EXPECT_TRUE(dx(0, 1) == T(0)) << "inf gradient at x = 0";
  EXPECT_TRUE(std::isnan(dx(0, 2))) << "NaN gradient at x = 2 passes";
}

TEST(ReluLayer, BackwardSelectsLikePyTorchSoNonFiniteGradientsStopAtInactiveUnits) {
  check_relu_backward_selects<float>();
  check_relu_backward_selects<double>();
}

TEST(LeakyReluLayer, BackwardMatchesFiniteDifferencesWithTheDefaultAndACustomSlope) {
  for (const double slope : {0.01, 0.3, -0.5}) {
    LayerSpec s = kind_spec(LayerKind::LeakyReLU);
    s.slope = slope;
    Rng rng(6);
    const auto layer = make_layer<double>(s, 3, 6);
    const MatD x = test::random_away_from_zero(rng, 6, 3, 0.05, 3);
    test::expect_layer_gradients(*layer, x, Mode::Train, rng);
  }
}

TEST(TanhLayer, BackwardMatchesFiniteDifferences) {
  Rng rng(7);
  const auto layer = make_layer<double>(kind_spec(LayerKind::Tanh), 4, 7);
  const MatD x = test::random_matrix(rng, 5, 4, -3, 3);
  test::expect_layer_gradients(*layer, x, Mode::Train, rng);
}

TEST(SigmoidLayer, BackwardMatchesFiniteDifferencesOnBothSigns) {
  Rng rng(8);
  const auto layer = make_layer<double>(kind_spec(LayerKind::Sigmoid), 4, 8);
  const MatD x = test::random_matrix(rng, 5, 4, -8, 8);
  test::expect_layer_gradients(*layer, x, Mode::Train, rng);
}

TEST(SoftplusLayer, BackwardMatchesFiniteDifferencesBelowAndAboveTheThreshold) {
  // Default beta=1, threshold=20: entries in [-5, 5] use log1p(exp), entries in [25, 40] are
  // linear. A custom beta and threshold move the switch to x = 1.5.
  LayerSpec custom = kind_spec(LayerKind::Softplus);
  custom.beta = 2;
  custom.threshold = 3;
  for (const LayerSpec& s : {kind_spec(LayerKind::Softplus), custom}) {
    SCOPED_TRACE(to_string(s));
    Rng rng(9);
    const double switch_at = s.threshold / s.beta;
    MatD x = test::random_matrix(rng, 6, 4, -5, 5);
    for (Index i = 0; i < x.rows(); i += 2) x.row(i).array() = switch_at + 5 + 10 * x.row(i).array().abs();
    for (Index i = 1; i < x.rows(); i += 2) x.row(i).array() = switch_at - 0.5 - x.row(i).array().abs();
    const auto layer = make_layer<double>(s, 4, 9);
    test::expect_layer_gradients(*layer, x, Mode::Train, rng);
  }
}

TEST(DropoutLayer, TrainBackwardMatchesFiniteDifferencesWithTheSameMask) {
  for (const double p : {0.2, 0.5, 0.8}) {
    SCOPED_TRACE("p=" + std::to_string(p));
    LayerSpec s = kind_spec(LayerKind::Dropout);
    s.p = p;
    Rng rng(10);
    auto layer = make_layer<double>(s, 5, 10);
    // Advance the call counter: the checker's clones then replay the third mask.
    const MatD warm = test::random_matrix(rng, 6, 5);
    layer->forward(warm, Mode::Train);
    layer->forward(warm, Mode::Train);
    const MatD x = test::random_matrix(rng, 6, 5);
    test::expect_layer_gradients(*layer, x, Mode::Train, rng);

    // And backward really is the mask: dx is dy scaled where y kept x, zero where it dropped it.
    auto probe = layer->clone();
    const MatD xa = test::random_away_from_zero(rng, 6, 5, 0.5, 2);
    const MatD y = probe->forward(xa, Mode::Train);
    const MatD dy = test::random_matrix(rng, 6, 5);
    const MatD dx = probe->backward(dy);
    const double scale = 1.0 / (1.0 - p);
    for (Index k = 0; k < xa.size(); ++k)
      EXPECT_EQ(dx.data()[k], y.data()[k] == 0 ? 0.0 : dy.data()[k] * scale) << k;
  }
}

TEST(DropoutLayer, EvalBackwardMatchesFiniteDifferences) {
  Rng rng(13);
  const auto layer = make_layer<double>(kind_spec(LayerKind::Dropout), 3, 13);
  const MatD x = test::random_matrix(rng, 4, 3);
  test::expect_layer_gradients(*layer, x, Mode::Eval, rng);
}

TEST(LayerNormLayer, BackwardMatchesFiniteDifferencesWithRandomAffineParameters) {
  for (const std::uint64_t seed : {14u, 15u}) {
    SCOPED_TRACE(test::seed_trace(seed));
    Rng rng(seed);
    LayerSpec s = kind_spec(LayerKind::LayerNorm);
    auto layer = make_layer<double>(s, 5, seed);
    // gamma = 1, beta = 0 would hide errors that only the affine part exercises.
    std::vector<ParamRef<double>> params;
    layer->collect_parameters(params, "");
    ASSERT_EQ(params.size(), 2u);
    *params[0].value = test::random_matrix(rng, 5, 1, 0.5, 2);
    *params[1].value = test::random_matrix(rng, 5, 1);
    for (const Mode mode : {Mode::Train, Mode::Eval}) {
      const MatD x = test::random_matrix(rng, 4, 5, -2, 2);
      test::expect_layer_gradients(*layer, x, mode, rng);
    }
  }
}

// ---------------------------------------------------------------------------------------
// Float against double.

TEST(EveryLayerKind, FloatForwardAgreesWithDoubleForwardToFloatPrecision) {
  std::vector<LayerSpec> specs;
  for (const Init init : kAllInits) specs.push_back(dense_spec(3, init));
  for (const LayerKind k :
       {LayerKind::ReLU, LayerKind::LeakyReLU, LayerKind::Tanh, LayerKind::Sigmoid, LayerKind::Softplus,
        LayerKind::Dropout, LayerKind::BatchNorm1d, LayerKind::LayerNorm})
    specs.push_back(kind_spec(k));
  for (const LayerSpec& s : specs)
    for (const Mode mode : {Mode::Train, Mode::Eval}) {
      SCOPED_TRACE(to_string(s) + (mode == Mode::Train ? " train" : " eval"));
      Rng rng(16);
      const MatF xf = test::random_matrix(rng, 6, 4, -3, 3).cast<float>();
      const MatD xd = xf.cast<double>();  // the same input, exactly
      auto lf = make_layer<float>(s, 4, 16);
      auto ld = make_layer<double>(s, 4, 16);
      const MatF yf = lf->forward(xf, mode);
      const MatD yd = ld->forward(xd, mode);
      EXPECT_TRUE(test::agrees_to_float(yf, yd));
    }
}

// ---------------------------------------------------------------------------------------
// Forward values against independent formulas.

TEST(DenseLayer, ForwardIsInputTimesWeightTransposedPlusBias) {
  Rng rng(17);
  auto layer = make_layer<double>(dense_spec(3), 4, 17);
  std::vector<ParamRef<double>> params;
  layer->collect_parameters(params, "");
  ASSERT_EQ(params.size(), 2u);
  const MatD w = *params[0].value;
  const MatD b = *params[1].value;
  ASSERT_EQ(w.rows(), 3);
  ASSERT_EQ(w.cols(), 4);
  ASSERT_EQ(b.rows(), 3);
  ASSERT_EQ(b.cols(), 1);
  const MatD x = test::random_matrix(rng, 5, 4);
  const MatD y = layer->forward(x, Mode::Eval);
  ASSERT_EQ(y.rows(), 5);
  ASSERT_EQ(y.cols(), 3);
  for (Index i = 0; i < 5; ++i)
    for (Index o = 0; o < 3; ++o) {
      double s = b(o, 0);
      for (Index j = 0; j < 4; ++j) s += x(i, j) * w(o, j);
      EXPECT_NEAR(y(i, o), s, 1e-14);
    }
}

TEST(DenseLayer, InitDrawsWithinTheDocumentedBoundsAndZeroesTheBiasExceptForTorch) {
  const Index in = 50, out = 40;
  for (const Init init : kAllInits) {
    auto layer = make_layer<double>(dense_spec(out, init), in, 18);
    std::vector<ParamRef<double>> params;
    layer->collect_parameters(params, "");
    const MatD& w = *params[0].value;
    const MatD& b = *params[1].value;
    const double fi = in, fo = out;
    const double mean = w.mean();
    const double sd = std::sqrt((w.array() - mean).square().sum() / static_cast<double>(w.size()));
    switch (init) {
      case Init::Torch:
        EXPECT_LE(w.cwiseAbs().maxCoeff(), 1 / std::sqrt(fi));
        EXPECT_LE(b.cwiseAbs().maxCoeff(), 1 / std::sqrt(fi));
        EXPECT_GT(b.cwiseAbs().maxCoeff(), 0.0);
        EXPECT_NEAR(sd, 1 / std::sqrt(3 * fi), 0.05 / std::sqrt(3 * fi));
        break;
      case Init::XavierUniform:
        EXPECT_LE(w.cwiseAbs().maxCoeff(), std::sqrt(6 / (fi + fo)));
        EXPECT_NEAR(sd, std::sqrt(2 / (fi + fo)), 0.05 * std::sqrt(2 / (fi + fo)));
        EXPECT_TRUE(b.isZero(0));
        break;
      case Init::XavierNormal:
        EXPECT_NEAR(sd, std::sqrt(2 / (fi + fo)), 0.05 * std::sqrt(2 / (fi + fo)));
        EXPECT_TRUE(b.isZero(0));
        break;
      case Init::HeUniform:
        EXPECT_LE(w.cwiseAbs().maxCoeff(), std::sqrt(6 / fi));
        EXPECT_NEAR(sd, std::sqrt(2 / fi), 0.05 * std::sqrt(2 / fi));
        EXPECT_TRUE(b.isZero(0));
        break;
      case Init::HeNormal:
        EXPECT_NEAR(sd, std::sqrt(2 / fi), 0.05 * std::sqrt(2 / fi));
        EXPECT_TRUE(b.isZero(0));
        break;
    }
    EXPECT_NEAR(mean, 0.0, 4 * sd / std::sqrt(static_cast<double>(w.size())));
  }
}

TEST(ElementwiseLayers, ForwardMatchesTheTextbookFormulas) {
  Rng rng(19);
  const MatD x = test::random_away_from_zero(rng, 4, 6, 0.01, 6);
  LayerSpec leaky = kind_spec(LayerKind::LeakyReLU);
  leaky.slope = 0.2;
  LayerSpec soft = kind_spec(LayerKind::Softplus);
  soft.beta = 1.5;
  const auto relu = make_layer<double>(kind_spec(LayerKind::ReLU), 6, 0);
  const auto lrelu = make_layer<double>(leaky, 6, 0);
  const auto tanh_l = make_layer<double>(kind_spec(LayerKind::Tanh), 6, 0);
  const auto sig = make_layer<double>(kind_spec(LayerKind::Sigmoid), 6, 0);
  const auto sp = make_layer<double>(soft, 6, 0);
  const MatD yr = relu->forward(x, Mode::Train);
  const MatD yl = lrelu->forward(x, Mode::Train);
  const MatD yt = tanh_l->forward(x, Mode::Train);
  const MatD ys = sig->forward(x, Mode::Train);
  const MatD yp = sp->forward(x, Mode::Train);
  for (Index k = 0; k < x.size(); ++k) {
    const double v = x.data()[k];
    EXPECT_EQ(yr.data()[k], v > 0 ? v : 0.0);
    EXPECT_DOUBLE_EQ(yl.data()[k], v > 0 ? v : 0.2 * v);
    EXPECT_DOUBLE_EQ(yt.data()[k], std::tanh(v));
    EXPECT_NEAR(ys.data()[k], 1 / (1 + std::exp(-v)), 1e-15);
    EXPECT_NEAR(yp.data()[k], std::log(1 + std::exp(1.5 * v)) / 1.5, 1e-14);
  }
}

TEST(SoftplusLayer, IsExactlyTheIdentityAboveTheThreshold) {
  const auto sp = make_layer<double>(kind_spec(LayerKind::Softplus), 1, 0);
  MatD x(4, 1);
  x << 20.5, 100, 1e6, 1e300;
  const MatD y = sp->forward(x, Mode::Train);
  EXPECT_EQ(y, x);
  const MatD dx = sp->backward(MatD::Ones(4, 1));
  EXPECT_EQ(dx, MatD::Ones(4, 1));
}

TEST(SigmoidLayer, StaysFiniteAndSaturatesForHugeInputsInFloatAndDouble) {
  MatD x(1, 4);
  x << -1000, -100, 100, 1000;
  const auto d = make_layer<double>(kind_spec(LayerKind::Sigmoid), 4, 0);
  const MatD yd = d->forward(x, Mode::Train);
  EXPECT_EQ(yd(0, 0), 0.0);
  EXPECT_EQ(yd(0, 3), 1.0);
  EXPECT_TRUE(yd.allFinite());
  const auto f = make_layer<float>(kind_spec(LayerKind::Sigmoid), 4, 0);
  const MatF yf = f->forward(x.cast<float>(), Mode::Train);
  EXPECT_TRUE(yf.allFinite());
  EXPECT_EQ(yf(0, 0), 0.0f);
  EXPECT_EQ(yf(0, 3), 1.0f);
  EXPECT_TRUE(f->backward(MatF::Ones(1, 4)).allFinite());
}

TEST(ElementwiseLayers, PropagateNaNInputsToTheOutput) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  for (const LayerKind k :
       {LayerKind::ReLU, LayerKind::LeakyReLU, LayerKind::Tanh, LayerKind::Sigmoid, LayerKind::Softplus}) {
    SCOPED_TRACE(to_string(k));
    const auto l = make_layer<double>(kind_spec(k), 2, 0);
    MatD x(1, 2);
    x << nan, 1.0;
    const MatD y = l->forward(x, Mode::Train);
    EXPECT_TRUE(std::isnan(y(0, 0)));
    EXPECT_FALSE(std::isnan(y(0, 1)));
  }
}

// ---------------------------------------------------------------------------------------
// Dropout's masks.

LayerSpec dropout_spec(double p) {
  LayerSpec s = kind_spec(LayerKind::Dropout);
  s.p = p;
  return s;
}

TEST(DropoutLayer, EvalModeIsTheIdentityForwardAndBackward) {
  Rng rng(20);
  const auto l = make_layer<double>(dropout_spec(0.7), 5, 20);
  const MatD x = test::random_matrix(rng, 8, 5);
  EXPECT_EQ(l->forward(x, Mode::Eval), x);
  const MatD dy = test::random_matrix(rng, 8, 5);
  EXPECT_EQ(l->backward(dy), dy);
}

TEST(DropoutLayer, TrainZeroesAboutPOfTheEntriesAndScalesTheRestByOneOverOneMinusP) {
  for (const double p : {0.1, 0.3, 0.5, 0.9}) {
    SCOPED_TRACE("p=" + std::to_string(p));
    Rng rng(21);
    const auto l = make_layer<double>(dropout_spec(p), 100, 21);
    const MatD x = test::random_away_from_zero(rng, 100, 100, 0.5, 2);
    const MatD y = l->forward(x, Mode::Train);
    const double scale = 1.0 / (1.0 - p);
    Index zeros = 0;
    for (Index k = 0; k < x.size(); ++k) {
      if (y.data()[k] == 0) {
        ++zeros;
      } else {
        EXPECT_EQ(y.data()[k], x.data()[k] * scale) << k;
      }
    }
    const double frac = static_cast<double>(zeros) / static_cast<double>(x.size());
    // 10000 Bernoulli(p) draws: a standard deviation of at most 0.005.
    EXPECT_NEAR(frac, p, 0.025);
  }
}

TEST(DropoutLayer, PZeroIsTheIdentityInTrainMode) {
  Rng rng(22);
  const auto l = make_layer<double>(dropout_spec(0), 4, 22);
  const MatD x = test::random_matrix(rng, 10, 4);
  EXPECT_EQ(l->forward(x, Mode::Train), x);
  const MatD dy = test::random_matrix(rng, 10, 4);
  EXPECT_EQ(l->backward(dy), dy);
}

TEST(DropoutLayer, POneZeroesEverythingInTrainMode) {
  Rng rng(23);
  const auto l = make_layer<double>(dropout_spec(1), 4, 23);
  const MatD x = test::random_matrix(rng, 10, 4);
  EXPECT_TRUE(l->forward(x, Mode::Train).isZero(0));
  EXPECT_TRUE(l->backward(test::random_matrix(rng, 10, 4)).isZero(0));
}

TEST(DropoutLayer, TheSameSeedReproducesTheSameSequenceOfMasks) {
  const MatD x = MatD::Ones(20, 10);
  const auto a = make_layer<double>(dropout_spec(0.5), 10, 24);
  const auto b = make_layer<double>(dropout_spec(0.5), 10, 24);
  const auto f = make_layer<float>(dropout_spec(0.5), 10, 24);
  for (int call = 0; call < 5; ++call) {
    const MatD ya = a->forward(x, Mode::Train);
    const MatD yb = b->forward(x, Mode::Train);
    const MatF yf = f->forward(x.cast<float>(), Mode::Train);
    EXPECT_EQ(ya, yb) << "call " << call;
    EXPECT_EQ(yf, ya.cast<float>()) << "call " << call;
  }
}

TEST(DropoutLayer, ConsecutiveCallsAndDifferentSeedsGiveDifferentMasks) {
  const MatD x = MatD::Ones(20, 10);
  const auto a = make_layer<double>(dropout_spec(0.5), 10, 25);
  const auto b = make_layer<double>(dropout_spec(0.5), 10, 26);
  std::set<std::vector<double>> masks;
  for (int call = 0; call < 5; ++call) {
    const MatD y = a->forward(x, Mode::Train);
    masks.insert(std::vector<double>(y.data(), y.data() + y.size()));
  }
  EXPECT_EQ(masks.size(), 5u);
  auto a2 = make_layer<double>(dropout_spec(0.5), 10, 25);
  EXPECT_NE(MatD(a2->forward(x, Mode::Train)), MatD(b->forward(x, Mode::Train)));
}

TEST(DropoutLayer, EvalCallsDoNotAdvanceTheMaskSequence) {
  const MatD x = MatD::Ones(8, 8);
  const auto a = make_layer<double>(dropout_spec(0.5), 8, 27);
  const auto b = make_layer<double>(dropout_spec(0.5), 8, 27);
  b->forward(x, Mode::Eval);
  b->forward(x, Mode::Eval);
  EXPECT_EQ(MatD(a->forward(x, Mode::Train)), MatD(b->forward(x, Mode::Train)));
}

// ---------------------------------------------------------------------------------------
// The contract: parameters, overwriting gradients, clones, errors.

TEST(EveryLayerKind, ReportsItsParametersWithPyTorchNames) {
  std::vector<ParamRef<double>> params;
  make_layer<double>(dense_spec(3), 2, 0)->collect_parameters(params, "4.");
  ASSERT_EQ(params.size(), 2u);
  EXPECT_EQ(params[0].name, "4.weight");
  EXPECT_EQ(params[1].name, "4.bias");
  for (const LayerKind k : {LayerKind::ReLU, LayerKind::LeakyReLU, LayerKind::Tanh, LayerKind::Sigmoid,
                            LayerKind::Softplus, LayerKind::Dropout}) {
    std::vector<ParamRef<double>> none;
    std::vector<BufferRef<double>> no_buffers;
    auto l = make_layer<double>(kind_spec(k), 2, 0);
    l->collect_parameters(none, "0.");
    l->collect_buffers(no_buffers, "0.");
    EXPECT_TRUE(none.empty()) << to_string(k);
    EXPECT_TRUE(no_buffers.empty()) << to_string(k);
  }
  std::vector<ParamRef<double>> ln;
  std::vector<BufferRef<double>> ln_buffers;
  auto l = make_layer<double>(kind_spec(LayerKind::LayerNorm), 3, 0);
  l->collect_parameters(ln, "2.");
  l->collect_buffers(ln_buffers, "2.");
  ASSERT_EQ(ln.size(), 2u);
  EXPECT_EQ(ln[0].name, "2.weight");
  EXPECT_EQ(ln[1].name, "2.bias");
  EXPECT_EQ(*ln[0].value, MatD::Ones(3, 1));
  EXPECT_EQ(*ln[1].value, MatD::Zero(3, 1));
  EXPECT_TRUE(ln_buffers.empty());
}

TEST(EveryLayerKind, BackwardOverwritesParameterGradientsInsteadOfAccumulating) {
  Rng rng(28);
  for (const LayerSpec& s :
       {dense_spec(3), kind_spec(LayerKind::LayerNorm), kind_spec(LayerKind::BatchNorm1d)}) {
    SCOPED_TRACE(to_string(s));
    auto l = make_layer<double>(s, 4, 28);
    const MatD x = test::random_matrix(rng, 5, 4);
    const MatD y = l->forward(x, Mode::Train);
    const MatD dy = test::random_matrix(rng, y.rows(), y.cols());
    std::vector<ParamRef<double>> params;
    l->collect_parameters(params, "");
    l->backward(dy);
    std::vector<MatD> first;
    for (const auto& p : params) first.push_back(*p.grad);
    l->backward(dy);
    for (std::size_t i = 0; i < params.size(); ++i) {
      EXPECT_EQ(*params[i].grad, first[i]) << params[i].name;
      EXPECT_FALSE(first[i].isZero(0)) << params[i].name;
    }
  }
}

TEST(EveryLayerKind, CloneIsIndependentOfTheOriginal) {
  Rng rng(29);
  auto original = make_layer<double>(dense_spec(2), 3, 29);
  auto copy = original->clone();
  std::vector<ParamRef<double>> po, pc;
  original->collect_parameters(po, "");
  copy->collect_parameters(pc, "");
  ASSERT_EQ(po.size(), pc.size());
  EXPECT_EQ(*po[0].value, *pc[0].value);
  EXPECT_NE(po[0].value, pc[0].value);
  const MatD before = *po[0].value;
  pc[0].value->setConstant(7.0);
  EXPECT_EQ(*po[0].value, before);
  EXPECT_EQ(copy->spec(), original->spec());
  const MatD x = test::random_matrix(rng, 2, 3);
  EXPECT_NE(MatD(original->forward(x, Mode::Eval)), MatD(copy->forward(x, Mode::Eval)));
}

TEST(EveryLayerKind, ForwardRejectsAnEmptyBatchWithAShapeError) {
  std::vector<LayerSpec> specs{dense_spec(2)};
  for (const LayerKind k :
       {LayerKind::ReLU, LayerKind::LeakyReLU, LayerKind::Tanh, LayerKind::Sigmoid, LayerKind::Softplus,
        LayerKind::Dropout, LayerKind::BatchNorm1d, LayerKind::LayerNorm})
    specs.push_back(kind_spec(k));
  for (const LayerSpec& s : specs)
    for (const Mode mode : {Mode::Train, Mode::Eval}) {
      SCOPED_TRACE(to_string(s));
      auto l = make_layer<double>(s, 3, 0);
      try {
        l->forward(MatD(0, 3), mode);
        ADD_FAILURE() << "no ShapeError";
      } catch (const ShapeError& e) {
        EXPECT_THAT(e.what(), HasSubstr("empty"));
      }
    }
}

TEST(EveryLayerKind, LayersThatKnowTheirWidthRejectTheWrongFeatureCount) {
  for (const LayerSpec& s :
       {dense_spec(2), kind_spec(LayerKind::BatchNorm1d), kind_spec(LayerKind::LayerNorm)}) {
    SCOPED_TRACE(to_string(s));
    auto l = make_layer<double>(s, 3, 0);
    try {
      l->forward(MatD::Ones(4, 5), Mode::Train);
      ADD_FAILURE() << "no ShapeError";
    } catch (const ShapeError& e) {
      EXPECT_THAT(e.what(), HasSubstr("expected 3 input features but got 5"));
    }
  }
}

TEST(EveryLayerKind, BackwardRejectsAGradientOfTheWrongShape) {
  for (const LayerSpec& s : {dense_spec(2), kind_spec(LayerKind::Tanh), kind_spec(LayerKind::Dropout),
                             kind_spec(LayerKind::BatchNorm1d), kind_spec(LayerKind::LayerNorm)}) {
    SCOPED_TRACE(to_string(s));
    Rng rng(30);
    auto l = make_layer<double>(s, 3, 0);
    const MatD y = l->forward(test::random_matrix(rng, 4, 3), Mode::Train);
    EXPECT_THROW(l->backward(MatD::Ones(y.rows() + 1, y.cols())), ShapeError);
    EXPECT_THROW(l->backward(MatD::Ones(y.rows(), y.cols() + 1)), ShapeError);
  }
  // Before any forward there is no output to match.
  auto fresh = make_layer<double>(dense_spec(2), 3, 0);
  try {
    fresh->backward(MatD::Ones(4, 2));
    ADD_FAILURE() << "no ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_THAT(e.what(), HasSubstr("call forward first"));
  }
}

TEST(MakeLayer, RejectsZeroInputsAndOutOfRangeSettings) {
  EXPECT_THROW(make_layer<double>(dense_spec(2), 0, 0), ShapeError);
  EXPECT_THROW(make_layer<float>(dense_spec(0), 3, 0), SpecError);
  EXPECT_THROW(make_layer<double>(dropout_spec(1.5), 3, 0), SpecError);
  EXPECT_THROW(make_layer<double>(dropout_spec(-0.1), 3, 0), SpecError);
  LayerSpec bn = kind_spec(LayerKind::BatchNorm1d);
  bn.eps = 0;
  EXPECT_THROW(make_layer<double>(bn, 3, 0), SpecError);
  LayerSpec sp = kind_spec(LayerKind::Softplus);
  sp.beta = 0;
  EXPECT_THROW(make_layer<double>(sp, 3, 0), SpecError);
  for (const LayerKind k :
       {LayerKind::Dense, LayerKind::ReLU, LayerKind::LeakyReLU, LayerKind::Tanh, LayerKind::Sigmoid,
        LayerKind::Softplus, LayerKind::Dropout, LayerKind::BatchNorm1d, LayerKind::LayerNorm})
    EXPECT_EQ(make_layer<double>(kind_spec(k), 3, 0)->spec().kind, k);
}

}  // namespace
}  // namespace zerolr
