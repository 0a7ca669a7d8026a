// Sequential: naming and counting, deep copies, shape errors, seeding, float against double,
// the forward reference, and the whole model's gradient against central differences.

#include "zerolr/nn/sequential.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <utility>
#include <vector>

#include "nn/test_util.h"

namespace zerolr {
namespace {

using test::MatD;
using test::MatF;
using ::testing::HasSubstr;

constexpr const char* kMixed = "input(4),dense(8),relu,batchnorm,dense(3),layernorm,dropout,dense(1)";

TEST(Sequential, NamesAndCountsParametersAndBuffersLikePyTorch) {
  Sequential<double> model(Architecture::parse(kMixed), 1);
  const auto params = model.parameters();
  const std::vector<std::pair<std::string, std::pair<Index, Index>>> want{
      {"0.weight", {8, 4}}, {"0.bias", {8, 1}}, {"2.weight", {8, 1}}, {"2.bias", {8, 1}},
      {"3.weight", {3, 8}}, {"3.bias", {3, 1}}, {"4.weight", {3, 1}}, {"4.bias", {3, 1}},
      {"6.weight", {1, 3}}, {"6.bias", {1, 1}}};
  ASSERT_EQ(params.size(), want.size());
  Index total = 0;
  for (std::size_t i = 0; i < params.size(); ++i) {
    EXPECT_EQ(params[i].name, want[i].first);
    EXPECT_EQ(params[i].value->rows(), want[i].second.first) << params[i].name;
    EXPECT_EQ(params[i].value->cols(), want[i].second.second) << params[i].name;
    ASSERT_NE(params[i].grad, nullptr);
    EXPECT_EQ(params[i].grad->rows(), params[i].value->rows()) << params[i].name;
    EXPECT_EQ(params[i].grad->cols(), params[i].value->cols()) << params[i].name;
    total += params[i].value->size();
  }
  EXPECT_EQ(total, 32 + 8 + 8 + 8 + 24 + 3 + 3 + 3 + 3 + 1);
  EXPECT_EQ(model.parameter_count(), total);
  const auto buffers = model.buffers();
  ASSERT_EQ(buffers.size(), 2u);
  EXPECT_EQ(buffers[0].name, "2.running_mean");
  EXPECT_EQ(buffers[1].name, "2.running_var");
  EXPECT_EQ(model.size(), 7);
  EXPECT_EQ(model.inputs(), 4);
  EXPECT_EQ(model.outputs(), 1);
  EXPECT_EQ(model.architecture().to_string(), kMixed);
  EXPECT_EQ(model.layer(6).spec().kind, LayerKind::Dense);
  EXPECT_THROW(model.layer(7), std::out_of_range);
}

TEST(Sequential, ModelWithoutLayersIsTheIdentity) {
  Rng rng(300);
  Sequential<double> model(Architecture::parse("input(3)"), 0);
  EXPECT_TRUE(model.parameters().empty());
  EXPECT_TRUE(model.buffers().empty());
  EXPECT_EQ(model.parameter_count(), 0);
  EXPECT_EQ(model.outputs(), 3);
  const MatD x = test::random_matrix(rng, 5, 3);
  EXPECT_EQ(model.forward(x, Mode::Train), x);
  const MatD dy = test::random_matrix(rng, 5, 3);
  EXPECT_EQ(model.backward(dy), dy);
  Sequential<float> empty;
  EXPECT_EQ(empty.inputs(), 1);
  EXPECT_EQ(empty.forward(MatF::Constant(2, 1, 3.0f), Mode::Eval), MatF::Constant(2, 1, 3.0f));
}

TEST(Sequential, CopyIsDeepSoTrainingTheCopyLeavesTheOriginalUntouched) {
  Rng rng(301);
  Sequential<double> original(Architecture::parse(kMixed), 301);
  const MatD x = test::random_matrix(rng, 6, 4);
  const MatD y_before = original.forward(x, Mode::Eval);
  const auto state_before = test::snapshot(original);

  Sequential<double> copy = original;
  Sequential<double> assigned(Architecture::parse("input(4),dense(1)"), 9);
  assigned = original;
  for (Sequential<double>* m : {&copy, &assigned}) {
    EXPECT_EQ(test::snapshot(*m), state_before);
    for (int step = 0; step < 3; ++step) {
      const MatD y = m->forward(x, Mode::Train);  // moves the running statistics
      m->backward(MatD::Ones(y.rows(), y.cols()));
      for (const auto& p : m->parameters()) *p.value -= 0.1 * *p.grad;
    }
    EXPECT_NE(test::snapshot(*m), state_before);
  }
  EXPECT_EQ(test::snapshot(original), state_before);
  EXPECT_EQ(original.forward(x, Mode::Eval), y_before);
  // No tensor is shared.
  const auto po = original.parameters(), pc = copy.parameters();
  for (std::size_t i = 0; i < po.size(); ++i) {
    EXPECT_NE(po[i].value, pc[i].value);
    EXPECT_NE(po[i].grad, pc[i].grad);
  }
}

TEST(Sequential, MovedModelKeepsItsParameters) {
  Sequential<double> a(Architecture::parse(kMixed), 302);
  const auto state = test::snapshot(a);
  Sequential<double> b = std::move(a);
  EXPECT_EQ(test::snapshot(b), state);
  Sequential<double> c;
  c = std::move(b);
  EXPECT_EQ(test::snapshot(c), state);
  EXPECT_EQ(c.architecture().to_string(), kMixed);
}

TEST(Sequential, CopyReplaysTheSameDropoutMasksAsTheOriginal) {
  Sequential<double> a(Architecture::parse("input(10),dropout(p=0.5)"), 303);
  const MatD x = MatD::Ones(10, 10);
  a.forward(x, Mode::Train);
  Sequential<double> b = a;
  const MatD ya = a.forward(x, Mode::Train);
  const MatD yb = b.forward(x, Mode::Train);
  EXPECT_EQ(ya, yb);
  EXPECT_NE(MatD(a.forward(x, Mode::Train)), ya);
}

TEST(Sequential, ForwardRejectsTheWrongFeatureCountAndAnEmptyBatch) {
  Sequential<double> model(Architecture::parse("input(4),dense(2)"), 0);
  try {
    model.forward(MatD::Zero(3, 5), Mode::Eval);
    ADD_FAILURE() << "no ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_THAT(e.what(), HasSubstr("expected 4 input features but got 5"));
  }
  try {
    model.forward(MatD::Zero(0, 4), Mode::Train);
    ADD_FAILURE() << "no ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_THAT(e.what(), HasSubstr("the batch is empty"));
  }
  // Activation-only models and models without layers check too: their layers cannot.
  Sequential<double> act(Architecture::parse("input(4),relu"), 0);
  EXPECT_THROW(act.forward(MatD::Zero(2, 3), Mode::Eval), ShapeError);
  Sequential<double> none(Architecture::parse("input(4)"), 0);
  EXPECT_THROW(none.forward(MatD::Zero(2, 3), Mode::Eval), ShapeError);
  try {
    none.forward(MatD::Zero(0, 4), Mode::Eval);
    ADD_FAILURE() << "no ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_THAT(e.what(), HasSubstr("model: the batch is empty"));
  }
}

TEST(Sequential, InvalidArchitectureIsRejectedBeforeAnythingIsBuilt) {
  Architecture a = Architecture::parse("input(3),dense(2),dropout");
  a.layers[1].p = 1.5;
  EXPECT_THROW(Sequential<double>(a, 0), SpecError);
  a.layers[1].p = 0.5;
  a.layers[0].units = 0;
  EXPECT_THROW(Sequential<float>(a, 0), SpecError);
}

TEST(Sequential, SameSeedGivesBitIdenticalParametersAndDifferentSeedsDifferentOnes) {
  const Architecture arch = Architecture::parse(
      "input(5),dense(6),relu,dense(6,init=xavier_uniform),tanh,dense(4,init=xavier_normal),"
      "dense(3,init=he_uniform),dense(2,init=he_normal)");
  Sequential<double> a(arch, 42), b(arch, 42), c(arch, 43);
  EXPECT_EQ(test::snapshot(a), test::snapshot(b));
  const auto pa = a.parameters(), pc = c.parameters();
  for (std::size_t i = 0; i < pa.size(); ++i) {
    if (pa[i].value->isZero(0)) continue;  // xavier and he biases start at zero
    EXPECT_NE(*pa[i].value, *pc[i].value) << pa[i].name;
  }
  // Layers of the same shape within one model are drawn from different streams.
  Sequential<double> twins(Architecture::parse("input(3),dense(3),dense(3)"), 7);
  EXPECT_NE(*twins.parameters()[0].value, *twins.parameters()[2].value);
}

TEST(Sequential, FloatAndDoubleModelsFromTheSameSeedAgreeToFloatRounding) {
  const Architecture arch = Architecture::parse(
      "input(4),dense(6,init=he_normal),batchnorm,leaky_relu,dense(5,init=xavier_normal),layernorm,"
      "softplus,dense(5,init=xavier_uniform),dropout(p=0.3),tanh,dense(3,init=he_uniform),sigmoid,dense(2)");
  Sequential<float> mf(arch, 304);
  Sequential<double> md(arch, 304);
  const auto pf = mf.parameters();
  const auto pd = md.parameters();
  ASSERT_EQ(pf.size(), pd.size());
  for (std::size_t i = 0; i < pf.size(); ++i) {
    ASSERT_EQ(pf[i].name, pd[i].name);
    EXPECT_EQ(*pf[i].value, pd[i].value->cast<float>()) << pf[i].name;
  }
  Rng rng(304);
  for (const Mode mode : {Mode::Train, Mode::Eval}) {
    const MatF xf = test::random_matrix(rng, 7, 4, -2, 2).cast<float>();
    const MatF yf = mf.forward(xf, mode);
    const MatD yd = md.forward(xf.cast<double>(), mode);
    EXPECT_TRUE(test::agrees_to_float(yf, yd, 256)) << (mode == Mode::Train ? "train" : "eval");
  }
}

TEST(Sequential, ForwardReturnsAStableReferenceThatBackwardDoesNotDisturb) {
  Rng rng(305);
  Sequential<double> model(Architecture::parse("input(3),dense(4),tanh,dense(2)"), 305);
  const MatD x1 = test::random_matrix(rng, 5, 3);
  const MatD x2 = test::random_matrix(rng, 5, 3);
  const MatD& r1 = model.forward(x1, Mode::Eval);
  const MatD y1 = r1;
  model.backward(MatD::Ones(5, 2));
  EXPECT_EQ(r1, y1);
  const MatD& r2 = model.forward(x2, Mode::Eval);
  EXPECT_EQ(&r1, &r2);
  EXPECT_NE(r2, y1);
  // The reference holds the same values that a fresh evaluation gives.
  EXPECT_EQ(MatD(model.forward(x1, Mode::Eval)), y1);
}

TEST(Sequential, BackwardReturnsTheInputGradientShapeAndOverwritesParameterGradients) {
  Rng rng(306);
  Sequential<double> model(Architecture::parse("input(3),dense(4),relu,dense(2)"), 306);
  const MatD x = test::random_matrix(rng, 6, 3);
  model.forward(x, Mode::Train);
  const MatD dy = test::random_matrix(rng, 6, 2);
  const MatD dx = model.backward(dy);
  EXPECT_EQ(dx.rows(), 6);
  EXPECT_EQ(dx.cols(), 3);
  const auto first = test::snapshot(model);
  std::vector<MatD> grads;
  for (const auto& p : model.parameters()) grads.push_back(*p.grad);
  model.forward(x, Mode::Train);
  model.backward(dy);
  std::size_t i = 0;
  for (const auto& p : model.parameters()) EXPECT_EQ(*p.grad, grads[i++]) << p.name;
  EXPECT_EQ(test::snapshot(model), first);
}

/// A random architecture holding every layer kind except dropout: a dense layer of random
/// width and init before each of the others, in an order drawn from `rng`.
Architecture random_architecture(Rng& rng, bool with_dropout) {
  std::vector<std::string> others{"relu",     "leaky_relu(slope=0.2)", "tanh",
                                  "sigmoid",  "softplus(beta=2)",      "batchnorm(momentum=0.3)",
                                  "layernorm"};
  if (with_dropout) others.push_back("dropout(p=0.4)");
  for (std::size_t i = others.size(); i > 1; --i) std::swap(others[i - 1], others[rng.below(i)]);
  const char* inits[] = {"torch", "xavier_uniform", "xavier_normal", "he_uniform", "he_normal"};
  std::string text = "input(" + std::to_string(2 + rng.below(3)) + ")";
  for (const auto& o : others)
    text += ",dense(" + std::to_string(2 + rng.below(4)) + ",init=" + inits[rng.below(5)] + ")," + o;
  text += ",dense(2)";
  return Architecture::parse(text);
}

TEST(Sequential, WholeModelGradientMatchesFiniteDifferencesInTrainMode) {
  for (const std::uint64_t seed : {307u, 308u, 309u}) {
    SCOPED_TRACE(test::seed_trace(seed));
    Rng rng(seed);
    const Architecture arch = random_architecture(rng, false);
    SCOPED_TRACE(arch.to_string());
    Sequential<double> model(arch, seed);
    // Non-trivial normalisation parameters so the affine parts matter.
    for (const auto& p : model.parameters())
      if (p.value->cols() == 1 && p.name.find("weight") != std::string::npos)
        *p.value = test::random_matrix(rng, p.value->rows(), 1, 0.5, 1.5);
    const MatD x = test::random_matrix(rng, 4 + static_cast<Index>(rng.below(3)), arch.inputs, -2, 2);
    test::expect_model_gradients(model, x, Mode::Train, rng);
  }
}

TEST(Sequential, WholeModelGradientMatchesFiniteDifferencesInEvalModeWithDropout) {
  for (const std::uint64_t seed : {310u, 311u}) {
    SCOPED_TRACE(test::seed_trace(seed));
    Rng rng(seed);
    const Architecture arch = random_architecture(rng, true);
    SCOPED_TRACE(arch.to_string());
    Sequential<double> model(arch, seed);
    // Warm the running statistics so Eval does not see the initial mean 0, variance 1.
    model.forward(test::random_matrix(rng, 8, arch.inputs, -2, 2), Mode::Train);
    const MatD x = test::random_matrix(rng, 3, arch.inputs, -2, 2);
    test::expect_model_gradients(model, x, Mode::Eval, rng);
  }
}

}  // namespace
}  // namespace zerolr
