// The properties judge runs: each holds on a hand-built case, is not applicable outside its
// precondition, and fails, naming the tensor, when a deliberately broken optimizer or case
// breaks it.
#include "zerolr/audit/properties.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "zerolr/optim/rules/sgd.h"

namespace zerolr {
namespace {

using ::testing::HasSubstr;

// ---- test-only broken optimizers ---------------------------------------------------------

/// SGD plus a decay of 1e-3 w that ignores the lr (the tensorflow/addons#2282 bug).
struct LrIgnoringDecayRule {
  using Settings = SgdSettings;
  template <class T>
  using State = SgdRule::State<T>;
  template <class T>
  static State<T> init(const Settings& s, Index n) {
    return SgdRule::init<T>(s, n);
  }
  template <class T>
  static std::vector<StateRef<T>> refs(State<T>& st) {
    return SgdRule::refs(st);
  }
  template <class T>
  static void update(const Settings& s, State<T>& st, T* p, const T* g, Index n, T lr) {
    SgdRule::update(s, st, p, g, n, lr);
    for (Index i = 0; i < n; ++i) p[i] -= T(1e-3) * p[i];
  }
};

/// SGD whose step counter does not advance at lr = 0.
struct FrozenCounterRule : LrIgnoringDecayRule {
  template <class T>
  static void update(const Settings& s, State<T>& st, T* p, const T* g, Index n, T lr) {
    SgdRule::update(s, st, p, g, n, lr);
    if (lr == 0) --st.step;
  }
};

/// SGD with an lr floor of 0.05 that applies to every positive lr (but not to 0).
struct FlooredLrRule : LrIgnoringDecayRule {
  template <class T>
  static void update(const Settings& s, State<T>& st, T* p, const T* g, Index n, T lr) {
    SgdRule::update(s, st, p, g, n, lr > 0 ? std::max(lr, T(0.05)) : lr);
  }
};

/// SGD that treats a non-finite gradient entry as 0.
struct NanSwallowingRule : LrIgnoringDecayRule {
  template <class T>
  static void update(const Settings& s, State<T>& st, T* p, const T* g, Index n, T lr) {
    std::vector<T> clean(g, g + n);
    for (T& x : clean)
      if (!std::isfinite(x)) x = T(0);
    SgdRule::update(s, st, p, clean.data(), n, lr);
  }
};

/// SGD that adds 1e-3 times a tensor's first entry to every entry: not elementwise.
struct EntryMixingRule : LrIgnoringDecayRule {
  template <class T>
  static void update(const Settings& s, State<T>& st, T* p, const T* g, Index n, T lr) {
    SgdRule::update(s, st, p, g, n, lr);
    const T first = p[0];
    for (Index i = 0; i < n; ++i) p[i] += T(1e-3) * first;
  }
};

/// SGD that leaks the previous tensor's first gradient entry into the next tensor's update.
template <class T>
class CarryingSgd final : public Optimizer<T> {
 public:
  void step_tensor(std::size_t tensor, T* p, const T* g, Index n, T lr) override {
    if (tensor >= steps_.size()) steps_.resize(tensor + 1, 0);
    for (Index i = 0; i < n; ++i) p[i] -= lr * (g[i] + carry_);
    carry_ = T(1e-2) * g[0];
    ++steps_[tensor];
  }
  OptimizerSpec spec() const override { return SgdSettings{1.0}; }
  std::int64_t step_count(std::size_t t) const override { return t < steps_.size() ? steps_[t] : 0; }
  std::vector<StateRef<T>> state(std::size_t) override { return {}; }
  void set_step_count(std::size_t t, std::int64_t s) override { steps_.at(t) = s; }
  std::size_t tensor_count() const override { return steps_.size(); }
  Index state_size(std::size_t) const override { return 0; }
  std::unique_ptr<Optimizer<T>> clone() const override { return std::make_unique<CarryingSgd>(*this); }

 private:
  T carry_ = T(0);
  std::vector<std::int64_t> steps_;
};

template <class Rule>
Factories broken() {
  return {[](const OptimizerSpec& s) -> std::unique_ptr<Optimizer<float>> {
            return std::make_unique<RuleOptimizer<float, Rule>>(std::get<SgdSettings>(s));
          },
          [](const OptimizerSpec& s) -> std::unique_ptr<Optimizer<double>> {
            return std::make_unique<RuleOptimizer<double, Rule>>(std::get<SgdSettings>(s));
          }};
}

Factories carrying() {
  return {[](const OptimizerSpec&) -> std::unique_ptr<Optimizer<float>> {
            return std::make_unique<CarryingSgd<float>>();
          },
          [](const OptimizerSpec&) -> std::unique_ptr<Optimizer<double>> {
            return std::make_unique<CarryingSgd<double>>();
          }};
}

// ---- cases -------------------------------------------------------------------------------

Case make_case(Scalar scalar, const std::string& arch, std::vector<double> lrs,
               Regime regime = Regime::Normal, Index n = 10) {
  Case c;
  c.scalar = scalar;
  c.arch = Architecture::parse(arch);
  c.loss = LossSpec::parse("mse");
  c.optimizer = parse_optimizer_spec("sgd(momentum=0.9)");
  c.lrs = std::move(lrs);
  c.epochs = 3;
  c.batch_size = 4;
  c.shuffle = true;
  c.model_seed = 11;
  c.shuffle_seed = 12;
  c.regime = regime;
  c.train = make_data(regime, n, c.arch.inputs, c.loss, c.arch.outputs(), scalar, 1);
  c.test = make_data(Regime::Normal, 7, c.arch.inputs, c.loss, c.arch.outputs(), scalar, 2);
  return c;
}

/// Every registered rule at its defaults, then `extra` specs with options.
std::vector<std::string> every_rule_and(std::initializer_list<const char*> extra) {
  std::vector<std::string> out = optimizer_defaults();
  out.insert(out.end(), extra.begin(), extra.end());
  return out;
}

const std::string kMlp = "input(3),dense(5),tanh,dense(1)";
const std::string kBn = "input(3),dense(5),batchnorm,relu,dense(1)";
const std::string kDropout = "input(3),dense(5),relu,dropout(p=0.3),dense(1)";

void expect_holds(const Verdict& v) {
  EXPECT_TRUE(v.holds()) << v.property << ": " << v.first_violation();
}

void expect_fails_naming(const Verdict& v, const std::string& tensor) {
  EXPECT_TRUE(v.applicable) << v.property;
  EXPECT_FALSE(v.holds()) << v.property;
  EXPECT_THAT(v.first_violation(), HasSubstr(tensor)) << v.property;
}

bool has_tag(const Verdict& v, const std::string& tag) {
  for (const auto& t : v.tags)
    if (t == tag) return true;
  return false;
}

// ---- registry ----------------------------------------------------------------------------

TEST(Properties, EveryPropertyIsRegisteredUnderItsSnakeCaseName) {
  const auto names = property_names();
  for (const char* n : {"freeze", "test_loss_frozen", "test_loss_tracks_buffers", "train_loss_order", "drift",
                        "state_advances", "non_finite", "continuity", "metamorphic", "independence"})
    EXPECT_NE(std::find(names.begin(), names.end(), n), names.end()) << n;
  EXPECT_EQ(run_property("drift", make_case(Scalar::Double, kMlp, {0.1})).property, "drift");
}

// ---- test_loss_frozen --------------------------------------------------------------------

TEST(TestLossFrozen, HoldsAtLrZeroWithDropoutInFloatAndDouble) {
  for (Scalar s : {Scalar::Float, Scalar::Double})
    expect_holds(prop_test_loss_frozen(make_case(s, kDropout, {0.0})));
}

TEST(TestLossFrozen, IsNotApplicableWithBatchNormOrANonzeroLr) {
  EXPECT_FALSE(prop_test_loss_frozen(make_case(Scalar::Double, kBn, {0.0})).applicable);
  EXPECT_FALSE(prop_test_loss_frozen(make_case(Scalar::Double, kMlp, {0.0, 0.1})).applicable);
  EXPECT_FALSE(prop_test_loss_frozen(make_case(Scalar::Double, kMlp, {0.0}, Regime::NonFinite)).applicable);
}

TEST(TestLossFrozen, FailsWhenDecayIgnoresTheLrAndNamesTheMovedTensor) {
  expect_fails_naming(
      prop_test_loss_frozen(make_case(Scalar::Double, kMlp, {0.0}), broken<LrIgnoringDecayRule>()),
      "0.weight");
}

// ---- test_loss_tracks_buffers ------------------------------------------------------------

TEST(TestLossTracksBuffers, HoldsWithBatchNormWhoseBuffersMoveTheTestLoss) {
  for (Scalar s : {Scalar::Float, Scalar::Double}) {
    const Verdict v = prop_test_loss_tracks_buffers(make_case(s, kBn, {0.0}));
    expect_holds(v);
    EXPECT_TRUE(has_tag(v, "buffers moved"));
    EXPECT_TRUE(has_tag(v, "test loss changed"));
  }
}

TEST(TestLossTracksBuffers, IsNotApplicableWithoutBatchNorm) {
  EXPECT_FALSE(prop_test_loss_tracks_buffers(make_case(Scalar::Double, kMlp, {0.0})).applicable);
  EXPECT_FALSE(prop_test_loss_tracks_buffers(make_case(Scalar::Double, kBn, {0.1})).applicable);
}

TEST(TestLossTracksBuffers, FailsWhenDecayIgnoresTheLrAndNamesTheTensor) {
  expect_fails_naming(
      prop_test_loss_tracks_buffers(make_case(Scalar::Float, kBn, {0.0}), broken<LrIgnoringDecayRule>()),
      "weight");
}

// ---- train_loss_order --------------------------------------------------------------------

TEST(TrainLossOrder, HoldsForShuffledEpochsAtLrZero) {
  for (Scalar s : {Scalar::Float, Scalar::Double}) {
    Case c = make_case(s, kMlp, {0.0}, Regime::HeavyTailed, 23);
    c.epochs = 4;
    c.batch_size = 3;
    expect_holds(prop_train_loss_order(c));
  }
}

TEST(TrainLossOrder, IsNotApplicableWithoutShuffleOrWithActiveDropout) {
  Case c = make_case(Scalar::Double, kMlp, {0.0});
  c.shuffle = false;
  EXPECT_FALSE(prop_train_loss_order(c).applicable);
  EXPECT_FALSE(prop_train_loss_order(make_case(Scalar::Double, kDropout, {0.0})).applicable);
  Case one = make_case(Scalar::Double, kMlp, {0.0});
  one.epochs = 1;
  EXPECT_FALSE(prop_train_loss_order(one).applicable);
}

TEST(TrainLossOrder, FailsWhenWeightsMoveAtLrZeroAndNamesTheTensor) {
  expect_fails_naming(
      prop_train_loss_order(make_case(Scalar::Double, kMlp, {0.0}), broken<LrIgnoringDecayRule>()),
      "0.weight");
}

// ---- drift -------------------------------------------------------------------------------

TEST(Drift, HoldsForShuffledTrainingWithPositiveLrs) {
  for (Scalar s : {Scalar::Float, Scalar::Double}) {
    expect_holds(prop_drift(make_case(s, kBn, {0.0, 0.1, 0.05})));
    Case adam = make_case(s, kDropout, {0.01});
    adam.optimizer = parse_optimizer_spec("adamw(amsgrad=1)");
    expect_holds(prop_drift(adam));
  }
}

TEST(Drift, IsNotApplicableAboveSixtyFourStepsOrWithANonFiniteGradient) {
  Case c = make_case(Scalar::Double, kMlp, {0.1});
  c.epochs = 30;
  EXPECT_FALSE(prop_drift(c).applicable);
  EXPECT_FALSE(prop_drift(make_case(Scalar::Double, kMlp, {0.1}, Regime::NonFinite)).applicable);
}

TEST(Drift, FailsWhenTheUpdateIsNotTheRulesAndNamesTheTensor) {
  expect_fails_naming(prop_drift(make_case(Scalar::Double, kMlp, {0.1}), broken<LrIgnoringDecayRule>()),
                      "weight");
}

// ---- state_advances ----------------------------------------------------------------------

TEST(StateAdvances, HoldsForAZeroWarmUpThenPositiveLrs) {
  for (Scalar s : {Scalar::Float, Scalar::Double}) {
    Case c = make_case(s, kMlp, {0.0, 0.0, 0.0, 1e-2});
    c.optimizer = parse_optimizer_spec("adam");
    expect_holds(prop_state_advances(c));
    expect_holds(prop_state_advances(make_case(s, kBn, {0.0, 0.0, 0.1})));
  }
}

TEST(StateAdvances, IsNotApplicableWithoutAZeroWarmUp) {
  EXPECT_FALSE(prop_state_advances(make_case(Scalar::Double, kMlp, {0.1, 0.0})).applicable);
  EXPECT_FALSE(prop_state_advances(make_case(Scalar::Double, kMlp, {0.0})).applicable);
}

TEST(StateAdvances, FailsWhenTheStepCounterStopsAtLrZeroAndNamesTheTensor) {
  expect_fails_naming(
      prop_state_advances(make_case(Scalar::Double, kMlp, {0.0, 0.0, 0.1}), broken<FrozenCounterRule>()),
      "0.weight");
}

// ---- non_finite --------------------------------------------------------------------------

TEST(NonFinite, HoldsUnderRaiseAndSkipAndReportsPoisoningUnderApplyAsAHazard) {
  for (Scalar s : {Scalar::Float, Scalar::Double}) {
    Case c = make_case(s, kMlp, {0.0}, Regime::NonFinite);
    expect_holds(prop_non_finite(c));
    c.policy = NonFinitePolicy::Skip;
    expect_holds(prop_non_finite(c));
    c.policy = NonFinitePolicy::Apply;
    const Verdict v = prop_non_finite(c);
    expect_holds(v);
    ASSERT_FALSE(v.findings.empty());
    EXPECT_EQ(v.findings[0].cls, FindingClass::Hazard);
    EXPECT_THAT(v.findings[0].message, HasSubstr("weight"));
  }
}

TEST(NonFinite, IsNotApplicableWhenEveryGradientIsFinite) {
  EXPECT_FALSE(prop_non_finite(make_case(Scalar::Double, kMlp, {0.0})).applicable);
  Case c = make_case(Scalar::Double, kMlp, {0.1}, Regime::NonFinite);
  c.policy = NonFinitePolicy::Apply;
  EXPECT_FALSE(prop_non_finite(c).applicable);
}

TEST(NonFinite, FailsUnderApplyWhenTheOptimizerSwallowsNaNGradients) {
  Case c = make_case(Scalar::Double, kMlp, {0.0}, Regime::NonFinite);
  c.policy = NonFinitePolicy::Apply;
  const Verdict v = prop_non_finite(c, broken<NanSwallowingRule>());
  EXPECT_TRUE(v.applicable);
  EXPECT_FALSE(v.holds());
  EXPECT_THAT(v.first_violation(), HasSubstr("not applied"));
}

TEST(NonFinite, FailsUnderSkipAtLrZeroWhenWeightsMoveAndNamesTheTensor) {
  Case c = make_case(Scalar::Double, kMlp, {0.0}, Regime::NonFinite);
  c.policy = NonFinitePolicy::Skip;
  expect_fails_naming(prop_non_finite(c, broken<LrIgnoringDecayRule>()), "0.weight");
}

// ---- continuity --------------------------------------------------------------------------

TEST(Continuity, HoldsForEveryBuiltInRuleAsTheLrShrinks) {
  for (Scalar s : {Scalar::Float, Scalar::Double})
    for (const char* opt :
         {"sgd(momentum=0.9,nesterov=1)", "adam", "adamw(amsgrad=1)", "rmsprop(centered=1)", "adagrad"}) {
      Case c = make_case(s, kBn, {0.05, 0.02});
      c.optimizer = parse_optimizer_spec(opt);
      const Verdict v = prop_continuity(c);
      EXPECT_TRUE(v.holds()) << opt << " " << to_string(s) << ": " << v.first_violation();
    }
}

TEST(Continuity, IsNotApplicableWhenEveryLrIsZero) {
  EXPECT_FALSE(prop_continuity(make_case(Scalar::Double, kMlp, {0.0})).applicable);
}

TEST(Continuity, FailsForAnLrFloorThatSkipsZeroAndNamesTheTensor) {
  expect_fails_naming(prop_continuity(make_case(Scalar::Double, kMlp, {0.1}), broken<FlooredLrRule>()),
                      "weight");
}

// ---- metamorphic -------------------------------------------------------------------------

TEST(Metamorphic, HoldsForPermutedHiddenUnitsThroughNormsAndForReorderedTestSamples) {
  for (Scalar s : {Scalar::Float, Scalar::Double})
    for (const std::string& arch :
         {kMlp, kBn, std::string("input(3),dense(6),layernorm,softplus,dense(2)")}) {
      const Verdict v = prop_metamorphic(make_case(s, arch, {0.0}));
      EXPECT_TRUE(v.holds()) << arch << ": " << v.first_violation();
      EXPECT_TRUE(has_tag(v, "permutation")) << arch;
    }
}

TEST(Metamorphic, IsNotApplicableWithOneTestSampleAndNoPermutableLayer) {
  Case c = make_case(Scalar::Double, "input(3),dense(1)", {0.0});
  c.test = make_data(Regime::Normal, 1, 3, c.loss, 1, c.scalar, 3);
  EXPECT_FALSE(prop_metamorphic(c).applicable);
}

TEST(Metamorphic, FailsWhenTheOptimizerMixesEntriesAtLrZeroAndNamesTheTensor) {
  expect_fails_naming(prop_metamorphic(make_case(Scalar::Double, kMlp, {0.0}), broken<EntryMixingRule>()),
                      "weight");
}

// ---- independence ------------------------------------------------------------------------

TEST(Independence, HoldsForEveryBuiltInRule) {
  for (Scalar s : {Scalar::Float, Scalar::Double})
    for (const std::string& opt : every_rule_and({"sgd(momentum=0.9,weight_decay=0.1)", "adam(amsgrad=1)"})) {
      Case c = make_case(s, kBn, {0.0, 0.1});
      c.optimizer = parse_optimizer_spec(opt);
      const Verdict v = prop_independence(c);
      EXPECT_TRUE(v.holds()) << opt << ": " << v.first_violation();
    }
}

TEST(Independence, IsNotApplicableWithANonFiniteGradient) {
  EXPECT_FALSE(prop_independence(make_case(Scalar::Double, kMlp, {0.1}, Regime::NonFinite)).applicable);
}

TEST(Independence, FailsWhenTheOptimizerCarriesStateBetweenTensorsAndNamesThem) {
  const Verdict v = prop_independence(make_case(Scalar::Double, kMlp, {0.1}), carrying());
  expect_fails_naming(v, "0.bias");
  bool perturbation = false;
  for (const auto& f : v.findings)
    perturbation = perturbation || f.message.find("perturbing the gradient of") != std::string::npos;
  EXPECT_TRUE(perturbation);
}

}  // namespace
}  // namespace zerolr
