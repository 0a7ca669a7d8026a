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
#include <string>

#include "gen/case_gen.h"
#include "zerolr/optim/adam.h"
#include "zerolr/optim/sgd.h"

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
using BrokenAdamWRule = zerolr::AdamFamilyRule<zerolr::AdamWSettings, UnscaledDecay>;

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

// --- The check --------------------------------------------------------------------------

bool registered(const std::string& name) {
  const auto names = zerolr::property_names();
  return std::find(names.begin(), names.end(), name) != names.end();
}

struct Outcome {
  rc::detail::FailureResult failure;
  Case shrunk;  ///< the last failing case RapidCheck tried: its final counterexample
};

/// Runs `property` over `gen` against `broken` with a fixed seed; expects a failure that is
/// a property violation (not an exception) and returns it with the shrunk case.
std::optional<Outcome> expect_failure(const std::string& property, const rc::Gen<Case>& gen,
                                      const Factories& broken) {
  std::optional<Case> last;
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
  Outcome out{result.get<rc::detail::FailureResult>(), *last};
  EXPECT_NE(out.failure.description.find("is violated"), std::string::npos)
      << "the failure is not a violation: " << out.failure.description;
  std::cout << "[ mutation ] " << property << ": found after " << out.failure.numSuccess << " passing cases, "
            << out.failure.reproduce.shrinkPath.size() << " shrink steps\n"
            << "             shrunk to " << zerolr::describe(out.shrunk) << "\n"
            << "             " << out.failure.description << "\n";
  return out;
}

/// A small counterexample: at most two layers, one hidden at most, and a couple of steps.
void expect_small(const Case& c) {
  EXPECT_LE(c.arch.layers.size(), 2u) << c.arch.to_string();
  EXPECT_LE(c.total_steps(), 2) << zerolr::describe(c);
  EXPECT_EQ(c.epochs, 1);
}

TEST(Mutation, FreezeCatchesDecayNotScaledByLr) {
  const auto out = expect_failure("freeze", zerolr::gen::genFrozenCase(),
                                  replacing<zerolr::AdamWSettings, BrokenAdamWRule>());
  ASSERT_TRUE(out);
  EXPECT_TRUE(std::holds_alternative<zerolr::AdamWSettings>(out->shrunk.optimizer));
  expect_small(out->shrunk);
  EXPECT_EQ(out->shrunk.arch.layers.size(), 1u) << "a single dense layer suffices";
  EXPECT_EQ(out->shrunk.total_steps(), 1);
}

TEST(Mutation, StateAdvancesCatchesACounterFrozenAtLrZero) {
  if (!registered("state_advances")) GTEST_SKIP() << "state_advances is not registered yet";
  const auto out =
      expect_failure("state_advances", zerolr::gen::genCase(), replacing<zerolr::SgdSettings, LazySgdRule>());
  ASSERT_TRUE(out);
  EXPECT_TRUE(std::holds_alternative<zerolr::SgdSettings>(out->shrunk.optimizer));
  expect_small(out->shrunk);
}

TEST(Mutation, IndependenceCatchesAClockSharedByTensors) {
  if (!registered("independence")) GTEST_SKIP() << "independence is not registered yet";
  const auto out = expect_failure("independence", zerolr::gen::genCase(), shared_clock());
  ASSERT_TRUE(out);
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
