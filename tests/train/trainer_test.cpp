#include "zerolr/train/trainer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <tuple>
#include <vector>

#include "zerolr/optim/spec.h"

namespace zerolr {
namespace {

using ::testing::HasSubstr;

template <class T>
struct RunSetup {
  Architecture arch;
  Dataset<T> train, test;
};

template <class T>
RunSetup<T> regression(const std::string& arch, Index n = 37, std::uint64_t seed = 3) {
  RunSetup<T> s{Architecture::parse(arch), {}, {}};
  s.train = regression_toy<T>(n, s.arch.inputs, seed);
  s.test = regression_toy<T>(19, s.arch.inputs, seed + 1);
  return s;
}

template <class T>
History<T> train_once(const RunSetup<T>& s, const std::string& opt, double lr, TrainOptions o,
                      Sequential<T>* out = nullptr, const std::string& loss = "mse") {
  Sequential<T> model(s.arch, 11);
  auto optimizer = make_optimizer<T>(with_lr(parse_optimizer_spec(opt), lr));
  Trainer<T> trainer(model, LossSpec::parse(loss), *optimizer, o);
  History<T> h = trainer.fit(s.train, &s.test);
  if (out) *out = model;
  return h;
}

template <class T>
bool same_parameters(Sequential<T>& a, Sequential<T>& b) {
  const auto pa = a.parameters(), pb = b.parameters();
  for (std::size_t i = 0; i < pa.size(); ++i)
    if (*pa[i].value != *pb[i].value) return false;
  return true;
}

template <class T>
class TrainerTyped : public ::testing::Test {};
using Scalars = ::testing::Types<float, double>;
TYPED_TEST_SUITE(TrainerTyped, Scalars);

TYPED_TEST(TrainerTyped, TheSameSeedGivesTheIdenticalHistoryBitForBit) {
  using T = TypeParam;
  const auto s = regression<T>("input(3),dense(8),tanh,dropout(p=0.25),dense(1)");
  TrainOptions o;
  o.epochs = 4;
  o.batch_size = 5;
  o.seed = 42;
  const auto a = train_once(s, "adam", 0.01, o);
  const auto b = train_once(s, "adam", 0.01, o);
  ASSERT_EQ(a.train_loss.size(), 4u);
  for (std::size_t e = 0; e < 4; ++e) {
    EXPECT_EQ(std::memcmp(&a.train_loss[e], &b.train_loss[e], sizeof(T)), 0) << "epoch " << e;
    EXPECT_EQ(std::memcmp(&a.test_loss[e], &b.test_loss[e], sizeof(T)), 0) << "epoch " << e;
  }
}

TYPED_TEST(TrainerTyped, AnotherShuffleSeedChangesTheTrajectory) {
  using T = TypeParam;
  const auto s = regression<T>("input(3),dense(8),tanh,dense(1)");
  TrainOptions o;
  o.epochs = 2;
  o.batch_size = 4;
  o.seed = 1;
  const auto a = train_once(s, "sgd", 0.05, o);
  o.seed = 2;
  const auto b = train_once(s, "sgd", 0.05, o);
  EXPECT_NE(a.test_loss.back(), b.test_loss.back());
}

TYPED_TEST(TrainerTyped, AtLrZeroWithoutBuffersTheTestLossIsBitIdenticalAcrossEpochs) {
  using T = TypeParam;
  const auto s = regression<T>("input(4),dense(16),relu,layernorm,dense(8),sigmoid,dense(1)");
  TrainOptions o;
  o.epochs = 5;
  o.batch_size = 6;
  for (const char* opt : {"sgd(momentum=0.9,nesterov=1)", "adam(amsgrad=1)", "adamw(weight_decay=0.1)",
                          "rmsprop(centered=1,momentum=0.5)", "adagrad(lr_decay=0.1)"}) {
    Sequential<T> trained;
    const auto h = train_once(s, opt, 0.0, o, &trained);
    for (std::size_t e = 1; e < h.test_loss.size(); ++e)
      EXPECT_EQ(h.test_loss[e], h.test_loss[0]) << opt << " epoch " << e;
    Sequential<T> initial(s.arch, 11);
    EXPECT_TRUE(same_parameters(initial, trained)) << opt;
  }
}

TYPED_TEST(TrainerTyped, WithBatchNormInTrainModeParametersFreezeButTheTestLossMoves) {
  using T = TypeParam;
  const auto s = regression<T>("input(4),dense(8),batchnorm,relu,dense(1)", 40);
  TrainOptions o;
  o.epochs = 4;
  o.batch_size = 8;
  Sequential<T> trained;
  const auto h = train_once(s, "sgd(momentum=0.9)", 0.0, o, &trained);
  Sequential<T> initial(s.arch, 11);
  EXPECT_TRUE(same_parameters(initial, trained));
  EXPECT_NE(*initial.buffers()[0].value, *trained.buffers()[0].value);
  EXPECT_NE(h.test_loss[0], h.test_loss[1]);
}

TYPED_TEST(TrainerTyped, TrainingLossIsTheSampleWeightedMeanOfTheBatchLosses) {
  using T = TypeParam;
  // 37 samples in batches of 5: the last batch has 2. At lr = 0 the epoch's training loss
  // must equal the full-data loss up to rounding, whatever the batching.
  const auto s = regression<T>("input(3),dense(5),tanh,dense(1)");
  TrainOptions o;
  o.epochs = 3;
  o.batch_size = 5;
  Sequential<T> model(s.arch, 11);
  auto opt = make_optimizer<T>(parse_optimizer_spec("sgd(lr=0)"));
  Trainer<T> trainer(model, LossSpec::parse("mse"), *opt, o);
  const auto h = trainer.fit(s.train);
  const T full = trainer.evaluate(s.train);
  const double tol = std::is_same_v<T, float> ? 1e-5 : 1e-13;
  for (T v : h.train_loss)
    EXPECT_NEAR(static_cast<double>(v), static_cast<double>(full), tol * static_cast<double>(full));
  EXPECT_TRUE(h.test_loss.empty());
}

TYPED_TEST(TrainerTyped, PositiveLearningRateLearnsTheRegressionToy) {
  using T = TypeParam;
  const auto s = regression<T>("input(3),dense(16),tanh,dense(1)", 64);
  TrainOptions o;
  o.epochs = 60;
  o.batch_size = 8;
  const auto h = train_once(s, "adam", 0.01, o);
  EXPECT_LT(h.train_loss.back(), h.train_loss.front() / 2);
}

/// Never moves a weight: records, for each step, the one nonzero entry of tensor 0's
/// gradient, which on one-hot features (sample i is e_i) is the sample the step saw.
class OrderProbe final : public Optimizer<double> {
 public:
  explicit OrderProbe(std::vector<Index>* out) : out_(out) {}
  void step_tensor(std::size_t tensor, double*, const double* grad, Index n, double) override {
    if (tensor != 0) return;
    Index hit = -1;
    for (Index i = 0; i < n; ++i)
      if (grad[i] != 0) {
        ASSERT_EQ(hit, -1) << "two samples in one step";
        hit = i;
      }
    ASSERT_GE(hit, 0) << "no sample in a step";
    out_->push_back(hit);
  }
  OptimizerSpec spec() const override { return SgdSettings{}; }
  std::int64_t step_count(std::size_t) const override { return 0; }
  std::vector<StateRef<double>> state(std::size_t) override { return {}; }
  void set_step_count(std::size_t, std::int64_t) override {}
  std::size_t tensor_count() const override { return 0; }
  Index state_size(std::size_t) const override { return 0; }
  std::unique_ptr<Optimizer<double>> clone() const override { return std::make_unique<OrderProbe>(out_); }

 private:
  std::vector<Index>* out_;
};

// epoch_orders predicts what a Trainer visits, epoch after epoch, with and without shuffling,
// for several seeds and sizes; the trainer's own visits are read by the probe above.
TEST(Trainer, EpochOrdersPredictsTheSamplesEveryEpochVisits) {
  for (const bool shuffle : {false, true})
    for (const std::uint64_t seed : {0u, 1u, 77u})
      for (const Index n : {1, 2, 7, 31}) {
        Architecture arch;
        arch.inputs = n;
        LayerSpec dense;
        dense.units = 1;
        arch.layers.push_back(dense);
        Sequential<double> model(arch, 0);
        Dataset<double> data;
        data.x = Matrix<double>::Identity(n, n);
        data.y = Matrix<double>::Constant(n, 1, 1e6);  // far from any output: no zero gradient
        std::vector<Index> seen;
        OrderProbe probe(&seen);
        TrainOptions o;
        o.shuffle = shuffle;
        o.seed = seed;
        o.batch_size = 1;
        const int epochs = 4;
        const auto predicted = epoch_orders(o, n, epochs);
        ASSERT_EQ(predicted.size(), static_cast<std::size_t>(epochs));
        Trainer<double> trainer(model, LossSpec{}, probe, o);
        History<double> h;
        bool some_epoch_shuffled = false;
        for (int e = 0; e < epochs; ++e) {
          seen.clear();
          trainer.epoch(data, nullptr, h);
          EXPECT_EQ(seen, predicted[static_cast<std::size_t>(e)])
              << "epoch " << e << " shuffle " << shuffle << " seed " << seed << " n " << n;
          for (Index i = 0; i < n; ++i)
            some_epoch_shuffled = some_epoch_shuffled || seen[static_cast<std::size_t>(i)] != i;
        }
        if (shuffle && n >= 7) {
          EXPECT_TRUE(some_epoch_shuffled) << "seed " << seed << " n " << n;
        }
        if (!shuffle) {
          EXPECT_FALSE(some_epoch_shuffled);
        }
      }
}

TEST(Trainer, TheScheduleSetsEachStepsLearningRateFromZero) {
  const auto s = regression<double>("input(3),dense(4),dense(1)", 20);
  TrainOptions o;
  o.epochs = 3;
  o.batch_size = 5;  // 4 steps per epoch
  o.schedule = Schedule::parse("linear(start_factor=0,end_factor=1,steps=8)");
  const auto h = train_once(s, "sgd(lr=0.5)", 0.5, o);
  ASSERT_EQ(h.last_lr.size(), 3u);
  EXPECT_EQ(h.last_lr[0], 0.5 * 3.0 / 8.0);
  EXPECT_EQ(h.last_lr[1], 0.5 * 7.0 / 8.0);
  EXPECT_EQ(h.last_lr[2], 0.5);
  for (double v : h.test_loss) EXPECT_TRUE(std::isfinite(v));
}

RunSetup<double> poisoned() {
  auto s = regression<double>("input(2),dense(3),dense(1)", 8);
  s.train.x(3, 1) = std::numeric_limits<double>::quiet_NaN();
  return s;
}

TEST(Trainer, NonFiniteGradientsRaiseByDefaultNamingTheTensor) {
  const auto s = poisoned();
  TrainOptions o;
  o.batch_size = 8;
  o.shuffle = false;
  try {
    train_once(s, "sgd", 0.0, o);
    FAIL() << "expected NonFiniteGradientError";
  } catch (const NonFiniteGradientError& e) {
    EXPECT_THAT(e.what(), HasSubstr("weight"));
  }
}

TEST(Trainer, TheSkipPolicySkipsPoisonedStepsAndCountsThem) {
  const auto s = poisoned();
  TrainOptions o;
  o.epochs = 2;
  o.batch_size = 8;
  o.step.non_finite = NonFinitePolicy::Skip;
  Sequential<double> trained;
  const auto h = train_once(s, "adam", 0.1, o, &trained);
  EXPECT_EQ(h.skipped_steps, (std::vector<std::int64_t>{1, 1}));
  Sequential<double> initial(s.arch, 11);
  EXPECT_TRUE(same_parameters(initial, trained));
}

TEST(Trainer, TheApplyPolicyLetsZeroTimesNaNPoisonTheWeightsAtLrZero) {
  const auto s = poisoned();
  TrainOptions o;
  o.batch_size = 8;
  o.step.non_finite = NonFinitePolicy::Apply;
  Sequential<double> trained;
  train_once(s, "sgd", 0.0, o, &trained);
  bool any_nan = false;
  for (const auto& p : trained.parameters()) any_nan = any_nan || p.value->hasNaN();
  EXPECT_TRUE(any_nan);
}

TEST(Trainer, ABatchOfOneWithBatchNormNeedsDropLast) {
  const auto s = regression<double>("input(2),dense(3),batchnorm,dense(1)", 17);
  TrainOptions o;
  o.batch_size = 16;
  o.shuffle = false;
  EXPECT_THROW(train_once(s, "sgd", 0.0, o), ShapeError);
  o.drop_last = true;
  EXPECT_NO_THROW(train_once(s, "sgd", 0.0, o));
}

TEST(Trainer, MismatchedDataAndBadOptionsAreRejectedWithAReason) {
  const auto s = regression<double>("input(3),dense(1)", 10);
  Sequential<double> model(Architecture::parse("input(4),dense(1)"), 1);
  auto opt = make_optimizer<double>(parse_optimizer_spec("sgd"));
  Trainer<double> trainer(model, LossSpec::parse("mse"), *opt, TrainOptions{});
  try {
    trainer.fit(s.train);
    FAIL();
  } catch (const ShapeError& e) {
    EXPECT_THAT(e.what(), HasSubstr("3 features but the model takes 4"));
  }
  TrainOptions bad;
  bad.batch_size = 0;
  EXPECT_THROW(Trainer<double>(model, LossSpec::parse("mse"), *opt, bad), SpecError);
  Sequential<double> one(Architecture::parse("input(3),dense(1)"), 1);
  EXPECT_THROW(Trainer<double>(one, LossSpec::parse("cross_entropy"), *opt, TrainOptions{}), ShapeError);
}

TEST(Trainer, CrossEntropyTrainsOnTheClassificationToy) {
  RunSetup<double> s{Architecture::parse("input(2),dense(16),relu,dense(3)"), {}, {}};
  // One draw, split: another seed would draw other blob centres.
  std::tie(s.train, s.test) = split(classification_toy<double>(120, 2, 3, 5), 90);
  TrainOptions o;
  o.epochs = 30;
  o.batch_size = 10;
  const auto h = train_once<double>(s, "adam", 0.02, o, nullptr, "cross_entropy");
  EXPECT_LT(h.test_loss.back(), h.test_loss.front());
}

}  // namespace
}  // namespace zerolr
