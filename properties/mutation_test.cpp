// Each property must FAIL on a library broken the way it guards against, and RapidCheck
// must shrink the counterexample to a small case. The broken optimizers are test-only and
// reach the properties through Factories, exactly as plug-ins do.
#include <gtest/gtest.h>
#include <rapidcheck.h>

#include <algorithm>
#include <cmath>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "gen/case_gen.h"
#include "zerolr/optim/rules/adam.h"
#include "zerolr/optim/rules/sgd.h"

namespace {

using zerolr::Case;
using zerolr::Factories;
using zerolr::OptimizerSpec;

// --- Broken optimizers -----------------------------------------------------------------

/// AdamW's decoupled decay without the lr factor: p <- p * (1 - weight_decay). At lr = 0
/// it still shrinks every parameter, which is what the freeze property guards against.
struct UnscaledDecay {
  template <class T>
  static void apply(double wd, T /*lr*/, zerolr::rule::VecMap<T> p, zerolr::Vector<T>& /*g*/) {
    if (wd != 0) p.array() = p.array() * static_cast<T>(1.0 - wd);
  }
};
using LrBlindAdamWRule = zerolr::AdamFamilyRule<zerolr::AdamWSettings, UnscaledDecay>;

/// SGD that returns early at lr = 0, so its step counter and momentum do not advance
/// (what state_advances guards against: PyTorch advances both).
struct LazySgdRule {
  using Settings = zerolr::SgdSettings;
  template <class T>
  using State = zerolr::SgdRule::State<T>;
  template <class T>
  static State<T> init(const Settings& s, zerolr::Index n) {
    return zerolr::SgdRule::init<T>(s, n);
  }
  template <class T>
  static std::vector<zerolr::StateRef<T>> refs(State<T>& st) {
    return zerolr::SgdRule::refs<T>(st);
  }
  template <class T>
  static void update(const Settings& s, State<T>& st, T* p, const T* g, zerolr::Index n, T lr) {
    if (lr == 0) return;
    zerolr::SgdRule::update<T>(s, st, p, g, n, lr);
  }
};

/// The library optimizer with one clock shared by all tensors (tiny-dnn's bug): stepping
/// any tensor advances every other tensor's step counter too.
template <class T>
class SharedClock final : public zerolr::Optimizer<T> {
 public:
  explicit SharedClock(std::unique_ptr<zerolr::Optimizer<T>> inner) : inner_(std::move(inner)) {}
  void step_tensor(std::size_t tensor, T* param, const T* grad, zerolr::Index n, T lr) override {
    inner_->step_tensor(tensor, param, grad, n, lr);
    for (std::size_t u = 0; u < inner_->tensor_count(); ++u)
      if (u != tensor && inner_->state_size(u) != 0) inner_->set_step_count(u, inner_->step_count(u) + 1);
  }
  OptimizerSpec spec() const override { return inner_->spec(); }
  std::int64_t step_count(std::size_t t) const override { return inner_->step_count(t); }
  std::vector<zerolr::StateRef<T>> state(std::size_t t) override { return inner_->state(t); }
  void set_step_count(std::size_t t, std::int64_t s) override { inner_->set_step_count(t, s); }
  std::size_t tensor_count() const override { return inner_->tensor_count(); }
  zerolr::Index state_size(std::size_t t) const override { return inner_->state_size(t); }
  std::unique_ptr<zerolr::Optimizer<T>> clone() const override {
    return std::make_unique<SharedClock>(inner_->clone());
  }

 private:
  std::unique_ptr<zerolr::Optimizer<T>> inner_;
};

template <class Settings, class Rule>
Factories replacing() {
  auto make = [](auto tag) {
    using T = decltype(tag);
    return [](const OptimizerSpec& s) -> std::unique_ptr<zerolr::Optimizer<T>> {
      if (const auto* settings = std::get_if<Settings>(&s))
        return std::make_unique<zerolr::RuleOptimizer<T, Rule>>(*settings);
      return zerolr::make_optimizer<T>(s);
    };
  };
  return {make(float{}), make(double{})};
}

Factories shared_clock() {
  return {[](const OptimizerSpec& s) -> std::unique_ptr<zerolr::Optimizer<float>> {
            return std::make_unique<SharedClock<float>>(zerolr::make_optimizer<float>(s));
          },
          [](const OptimizerSpec& s) -> std::unique_ptr<zerolr::Optimizer<double>> {
            return std::make_unique<SharedClock<double>>(zerolr::make_optimizer<double>(s));
          }};
}

/// The library optimizer for the case's spec with its step replaced by `Mutation::step`,
/// which calls the real step (or not) and then breaks it. Every optimizer the generator
/// draws is broken, so RapidCheck may shrink the optimizer towards plain SGD.
template <class T, class Mutation>
class Mutated final : public zerolr::Optimizer<T> {
 public:
  explicit Mutated(std::unique_ptr<zerolr::Optimizer<T>> inner) : inner_(std::move(inner)) {}
  void step_tensor(std::size_t tensor, T* param, const T* grad, zerolr::Index n, T lr) override {
    Mutation::step(*inner_, tensor, param, grad, n, lr);
  }
  OptimizerSpec spec() const override { return inner_->spec(); }
  std::int64_t step_count(std::size_t t) const override { return inner_->step_count(t); }
  std::vector<zerolr::StateRef<T>> state(std::size_t t) override { return inner_->state(t); }
  void set_step_count(std::size_t t, std::int64_t s) override { inner_->set_step_count(t, s); }
  std::size_t tensor_count() const override { return inner_->tensor_count(); }
  zerolr::Index state_size(std::size_t t) const override { return inner_->state_size(t); }
  std::unique_ptr<zerolr::Optimizer<T>> clone() const override {
    return std::make_unique<Mutated>(inner_->clone());
  }

 private:
  std::unique_ptr<zerolr::Optimizer<T>> inner_;
};

template <class Mutation>
Factories mutated() {
  return {[](const OptimizerSpec& s) -> std::unique_ptr<zerolr::Optimizer<float>> {
            return std::make_unique<Mutated<float, Mutation>>(zerolr::make_optimizer<float>(s));
          },
          [](const OptimizerSpec& s) -> std::unique_ptr<zerolr::Optimizer<double>> {
            return std::make_unique<Mutated<double, Mutation>>(zerolr::make_optimizer<double>(s));
          }};
}

/// The real step, then a decay of 1e-3 w that ignores the lr (tensorflow/addons#2282): at
/// lr = 0 every weight shrinks, so the model and its test loss change.
struct LrBlindDecay {
  template <class T>
  static void step(zerolr::Optimizer<T>& opt, std::size_t t, T* p, const T* g, zerolr::Index n, T lr) {
    opt.step_tensor(t, p, g, n, lr);
    for (zerolr::Index i = 0; i < n; ++i) p[i] -= T(1e-3) * p[i];
  }
};

/// The real step, then a drift of +1e-3 on every entry that does not scale with the lr:
/// at lr = 0 each epoch sees other weights, so the epochs' training losses differ.
struct LrBlindDrift {
  template <class T>
  static void step(zerolr::Optimizer<T>& opt, std::size_t t, T* p, const T* g, zerolr::Index n, T lr) {
    opt.step_tensor(t, p, g, n, lr);
    for (zerolr::Index i = 0; i < n; ++i) p[i] += T(1e-3);
  }
};

/// The real step with the lr off by a relative 1e-4: every update is 1e-4 too large,
/// far above the per-step rounding budget (K u |w| with K = 32).
struct SlightlyWrongLr {
  template <class T>
  static void step(zerolr::Optimizer<T>& opt, std::size_t t, T* p, const T* g, zerolr::Index n, T lr) {
    opt.step_tensor(t, p, g, n, lr * T(1 + 1e-4));
  }
};

/// Replaces NaN and inf gradient entries by 0 before the real step: under the apply policy
/// the non-finite step then poisons nothing, i.e. it was silently not applied.
struct NanSwallowing {
  template <class T>
  static void step(zerolr::Optimizer<T>& opt, std::size_t t, T* p, const T* g, zerolr::Index n, T lr) {
    std::vector<T> clean(g, g + n);
    for (T& x : clean)
      if (!std::isfinite(x)) x = T(0);
    opt.step_tensor(t, p, clean.data(), n, lr);
  }
};

/// An lr floor of 0.05 for every positive lr (0 stays 0): the movement at lr * 2^-10 is
/// the movement at lr * 2^-6, so it does not vanish with the lr.
struct LrFloor {
  template <class T>
  static void step(zerolr::Optimizer<T>& opt, std::size_t t, T* p, const T* g, zerolr::Index n, T lr) {
    opt.step_tensor(t, p, g, n, lr > 0 ? std::max(lr, T(0.05)) : lr);
  }
};

/// The real step, then +1e-3 on each tensor's entry 0 whatever the lr: the rule treats
/// entries by index, so it does not commute with permuting hidden units.
struct FirstEntryBump {
  template <class T>
  static void step(zerolr::Optimizer<T>& opt, std::size_t t, T* p, const T* g, zerolr::Index n, T lr) {
    opt.step_tensor(t, p, g, n, lr);
    if (n > 0) p[0] += T(1e-3);
  }
};

// --- The check --------------------------------------------------------------------------

zerolr::gen::CaseOptions no_batchnorm() {
  zerolr::gen::CaseOptions o;
  o.allow_batchnorm = false;
  return o;
}


struct Outcome {
  rc::detail::FailureResult failure;
  Case shrunk;              ///< the last failing case RapidCheck tried: its final counterexample
  zerolr::Verdict verdict;  ///< the property's verdict on `shrunk`
};

/// Runs `property` over `gen` against `broken` with a fixed seed; expects a failure that is
/// a property violation (not an exception) and returns it with the shrunk case.
std::optional<Outcome> expect_failure(const std::string& property, const rc::Gen<Case>& gen,
                                      const Factories& broken) {
  std::optional<Case> last;
  zerolr::Verdict last_verdict;
  rc::detail::TestParams params;
  params.seed = 20240501;
  params.maxSuccess = 300;
  params.maxSize = 100;
  rc::detail::TestMetadata meta{"mutation/" + property, property};
  const auto result = rc::detail::checkTestable(
      [&] {
        const Case c = *gen;
        const zerolr::Verdict v = zerolr::run_property(property, c, broken);
        RC_PRE(v.applicable);
        if (!v.holds()) {
          last = c;
          last_verdict = v;
          RC_FAIL("property '" + property + "' is violated: " + v.first_violation());
        }
      },
      meta, params);
  if (!result.is<rc::detail::FailureResult>()) {
    std::ostringstream s;
    rc::detail::printResultMessage(result, s);
    ADD_FAILURE() << property << " did not fail on the broken library:\n" << s.str();
    return std::nullopt;
  }
  Outcome out{result.get<rc::detail::FailureResult>(), *last, last_verdict};
  EXPECT_NE(out.failure.description.find("is violated"), std::string::npos)
      << "the failure is not a violation: " << out.failure.description;
  std::cout << "[ mutation ] " << property << ": found after " << out.failure.numSuccess << " passing cases, "
            << out.failure.reproduce.shrinkPath.size() << " shrink steps\n"
            << "             shrunk to " << zerolr::describe(out.shrunk) << "\n"
            << "             " << out.failure.description << "\n";
  return out;
}

/// How small a shrunk counterexample must be. The defaults: at most two layers (one hidden
/// at most), a couple of steps, one epoch, a few training samples.
struct Small {
  std::size_t layers = 2;
  std::int64_t steps = 2;
  int epochs = 1;
  zerolr::Index train = 4;
};

void expect_small(const Case& c, const Small& at_most = {}) {
  EXPECT_LE(c.arch.layers.size(), at_most.layers) << c.arch.to_string();
  EXPECT_LE(c.total_steps(), at_most.steps) << zerolr::describe(c);
  EXPECT_LE(c.epochs, at_most.epochs) << zerolr::describe(c);
  EXPECT_LE(c.train.size(), at_most.train) << zerolr::describe(c);
}

TEST(Mutation, FreezeCatchesDecayNotScaledByLr) {
  const auto out = expect_failure("freeze", zerolr::gen::genFrozenCase(),
                                  replacing<zerolr::AdamWSettings, LrBlindAdamWRule>());
  ASSERT_TRUE(out);
  EXPECT_TRUE(std::holds_alternative<zerolr::AdamWSettings>(out->shrunk.optimizer));
  expect_small(out->shrunk);
  EXPECT_EQ(out->shrunk.arch.layers.size(), 1u) << "a single dense layer suffices";
  EXPECT_EQ(out->shrunk.total_steps(), 1);
}

TEST(Mutation, StateAdvancesCatchesACounterFrozenAtLrZero) {
  const auto out =
      expect_failure("state_advances", zerolr::gen::genCase(), replacing<zerolr::SgdSettings, LazySgdRule>());
  ASSERT_TRUE(out);
  EXPECT_TRUE(std::holds_alternative<zerolr::SgdSettings>(out->shrunk.optimizer));
  expect_small(out->shrunk);
}

TEST(Mutation, IndependenceCatchesAClockSharedByTensors) {
  const auto out = expect_failure("independence", zerolr::gen::genCase(), shared_clock());
  ASSERT_TRUE(out);
  expect_small(out->shrunk);
}

TEST(Mutation, TestLossFrozenCatchesDecayThatIgnoresTheLr) {
  // The model and the evaluation cannot be broken through Factories, so the break is one
  // that moves the weights at lr = 0 (freeze catches it too); it applies to every optimizer.
  const auto out =
      expect_failure("test_loss_frozen", zerolr::gen::genFrozenCase(no_batchnorm()), mutated<LrBlindDecay>());
  ASSERT_TRUE(out);
  expect_small(out->shrunk, {1, 1, 1, 1});
}

TEST(Mutation, TestLossTracksBuffersCatchesWeightsMovingAtLrZero) {
  zerolr::gen::CaseOptions o;
  o.require_batchnorm = true;
  const auto out =
      expect_failure("test_loss_tracks_buffers", zerolr::gen::genFrozenCase(o), mutated<LrBlindDecay>());
  ASSERT_TRUE(out);
  EXPECT_TRUE(out->shrunk.arch.has_buffers());
  // batchnorm and the output dense; one batch of the 2 samples batchnorm needs.
  expect_small(out->shrunk, {2, 1, 1, 2});
  // Besides the moved parameter, the restored-buffers comparison itself fails.
  bool restored_loss_differs = false;
  for (const auto& f : out->verdict.findings)
    restored_loss_differs =
        restored_loss_differs || f.message.find("initial buffers put back") != std::string::npos;
  EXPECT_TRUE(restored_loss_differs) << out->verdict.first_violation();
}

TEST(Mutation, TrainLossOrderCatchesADriftThatIgnoresTheLr) {
  zerolr::gen::CaseOptions o = no_batchnorm();
  o.allow_dropout = false;
  o.always_shuffle = true;
  o.min_epochs = 2;
  const auto out = expect_failure("train_loss_order", zerolr::gen::genFrozenCase(o), mutated<LrBlindDrift>());
  ASSERT_TRUE(out);
  // The property needs two epochs: one sample each is the smallest case.
  expect_small(out->shrunk, {1, 2, 2, 1});
}

TEST(Mutation, DriftCatchesAnLrOffByOnePartInTenThousand) {
  zerolr::gen::CaseOptions o;
  o.max_train = 16;  // as the drift property test
  const auto out = expect_failure("drift", zerolr::gen::genCase(o), mutated<SlightlyWrongLr>());
  ASSERT_TRUE(out);
  EXPECT_FALSE(out->shrunk.all_lr_zero()) << "only a positive lr shows the error";
  expect_small(out->shrunk);
}

TEST(Mutation, NonFiniteCatchesAnApplyPolicyThatSwallowsNaN) {
  const auto out = expect_failure("non_finite", zerolr::gen::genNonFiniteCase(), mutated<NanSwallowing>());
  ASSERT_TRUE(out);
  EXPECT_EQ(out->shrunk.policy, zerolr::NonFinitePolicy::Apply) << "raise and skip never reach the rule";
  EXPECT_TRUE(out->shrunk.all_lr_zero());
  EXPECT_NE(out->failure.description.find("not applied"), std::string::npos) << out->failure.description;
  // NonFinite data puts NaN and inf in some entries only: allow a few samples to hold one.
  expect_small(out->shrunk, {2, 4, 1, 4});
}

TEST(Mutation, ContinuityCatchesAnLrFloor) {
  const auto out = expect_failure("continuity", zerolr::gen::genCase(), mutated<LrFloor>());
  ASSERT_TRUE(out);
  expect_small(out->shrunk);
}

TEST(Mutation, MetamorphicCatchesARuleThatTreatsEntriesByIndex) {
  // Only the comparison after training both models at lr = 0 runs the optimizer, so the
  // break must act at lr = 0 (freeze catches it too): an update scaled by index would be 0.
  const auto out = expect_failure("metamorphic", zerolr::gen::genCase(), mutated<FirstEntryBump>());
  ASSERT_TRUE(out);
  EXPECT_TRUE(out->shrunk.all_lr_zero());
  // A permutable pair needs a hidden dense of >= 2 units and the output dense.
  EXPECT_EQ(out->shrunk.arch.layers.size(), 2u) << out->shrunk.arch.to_string();
  expect_small(out->shrunk);
}

TEST(Mutation, FreezeHoldsOnTheLibraryWithTheSameSeed) {
  // The control: the same run against the real library passes, so the failures above
  // come from the mutations.
  rc::detail::TestParams params;
  params.seed = 20240501;
  params.maxSuccess = 100;
  const auto result = rc::detail::checkTestable(
      [] {
        const zerolr::Verdict v = zerolr::run_property("freeze", *zerolr::gen::genFrozenCase());
        RC_PRE(v.applicable);
        RC_ASSERT(v.holds());
      },
      rc::detail::TestMetadata{"mutation/control", "control"}, params);
  EXPECT_TRUE(result.is<rc::detail::SuccessResult>());
}

}  // namespace
