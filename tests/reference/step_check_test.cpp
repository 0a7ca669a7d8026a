// The per-step oracle check: correct steps of every optimizer stay within the budget, and
// wrong ones do not.
#include "zerolr/reference/step_check.h"

#include <gtest/gtest.h>

#include <cmath>
#include <iostream>
#include <limits>

#include "zerolr/random.h"

namespace zerolr {
namespace {

const char* kSpecs[] = {
    "sgd(lr=0.1)",
    "sgd(lr=0.1,momentum=0.9,dampening=0.1,weight_decay=0.01)",
    "sgd(lr=0.1,momentum=0.9,nesterov=1,weight_decay=0.5)",
    "adam(lr=0.01)",
    "adam(lr=0.01,beta1=0,beta2=0.9999999,eps=1e-30,weight_decay=0.1,amsgrad=1)",
    "adamw(lr=0.01,weight_decay=0.1)",
    "adamw(lr=0.5,beta1=0.5,beta2=0.5,amsgrad=1,weight_decay=1)",
    "rmsprop(lr=0.01)",
    "rmsprop(lr=0.01,alpha=0.5,momentum=0.9,centered=1,weight_decay=0.1)",
    "adagrad(lr=0.1,lr_decay=0.01,weight_decay=0.1,initial_accumulator_value=0.5)",
    "adagrad(lr=0.1,eps=0)",
};

// Values from several regimes: normal, wide dynamic range, exact zeros, tiny.
double draw(Rng& rng, int regime) {
  switch (regime) {
    case 0:
      return rng.normal();
    case 1:
      return (rng.uniform() < 0.5 ? -1 : 1) * std::pow(10.0, rng.uniform(-20, 20));
    case 2:
      return rng.uniform() < 0.5 ? 0.0 : rng.normal();
    default:
      return rng.normal() * 1e-30;
  }
}

template <class T>
void run_random_steps(std::uint64_t seed, double& worst, double& median_sum, int& checks,
                      int& range_limited) {
  Rng rng(seed);
  for (const char* spec : kSpecs) {
    for (int trial = 0; trial < 20; ++trial) {
      auto opt = make_optimizer<T>(parse_optimizer_spec(spec));
      const Index n = 1 + static_cast<Index>(rng.below(40));
      const int regime = static_cast<int>(rng.below(4));
      Vector<T> w(n), g(n);
      for (Index i = 0; i < n; ++i) w(i) = static_cast<T>(draw(rng, regime));
      const int steps = 1 + static_cast<int>(rng.below(6));
      for (int s = 0; s < steps; ++s) {
        for (Index i = 0; i < n; ++i) g(i) = static_cast<T>(draw(rng, regime));
        if (!w.allFinite() || !g.allFinite()) break;
        const T lr = static_cast<T>(rng.uniform() < 0.2 ? 0.0 : rng.uniform(0, 0.5));
        const auto before = opt->clone();
        const Vector<T> w_prev = w;
        opt->step_tensor(0, w.data(), g.data(), n, lr);
        const StepCheck c = check_step(*before, 0, w_prev.data(), g.data(), n, lr, w.data());
        if (c.range_limited) {
          ++range_limited;
          continue;
        }
        ++checks;
        median_sum += c.median_ratio;
        worst = std::max(worst, c.max_ratio);
        ASSERT_LE(c.max_ratio, 1.0) << spec << " seed " << seed << " trial " << trial << " step " << s
                                    << ": entry " << c.worst << " computed " << c.worst_computed
                                    << " reference " << c.worst_reference << " budget " << c.worst_budget;
      }
    }
  }
}

TEST(StepCheck, CorrectStepsOfEveryOptimizerStayWithinTheBudget) {
  for (std::uint64_t seed : {1u, 2u, 3u}) {
    double worst_f = 0, worst_d = 0, med_f = 0, med_d = 0;
    int n_f = 0, n_d = 0, r_f = 0, r_d = 0;
    run_random_steps<float>(seed, worst_f, med_f, n_f, r_f);
    run_random_steps<double>(seed, worst_d, med_d, n_d, r_d);
    std::cout << "seed " << seed << ": float " << n_f << " steps judged (" << r_f
              << " range-limited), max ratio " << worst_f << ", mean median " << med_f / n_f << "; double "
              << n_d << " steps judged (" << r_d << " range-limited), max ratio " << worst_d
              << ", mean median " << med_d / n_d << "\n";
    EXPECT_GT(n_f, 300);
    EXPECT_GT(n_d, 300);
    RecordProperty("max_ratio_float_seed" + std::to_string(seed), std::to_string(worst_f));
    RecordProperty("max_ratio_double_seed" + std::to_string(seed), std::to_string(worst_d));
  }
}

TEST(StepCheck, AGradientWhoseSquareOverflowsInFloatIsRangeLimitedNotAViolation) {
  auto opt = make_optimizer<float>(parse_optimizer_spec("adam(lr=0.01)"));
  Vector<float> w(2), g(2);
  w << 1.0f, 1.0f;
  g << 1e20f, 1.0f;  // g*g = 1e40 > FLT_MAX: v becomes inf in float, not in the reference
  const auto before = opt->clone();
  const Vector<float> w_prev = w;
  opt->step_tensor(0, w.data(), g.data(), 2, 0.01f);
  const StepCheck c = check_step(*before, 0, w_prev.data(), g.data(), 2, 0.01f, w.data());
  EXPECT_TRUE(c.range_limited);
  Vector<float> w2 = w_prev, g2(2);
  g2 << 0.5f, -0.25f;
  auto opt2 = make_optimizer<float>(parse_optimizer_spec("adam(lr=0.01)"));
  const auto before2 = opt2->clone();
  opt2->step_tensor(0, w2.data(), g2.data(), 2, 0.01f);
  EXPECT_FALSE(check_step(*before2, 0, w_prev.data(), g2.data(), 2, 0.01f, w2.data()).range_limited);
}

TEST(StepCheck, ADecayThatIgnoresLrIsFarOutsideTheBudgetAtLrZero) {
  // AdamW whose decay is not multiplied by lr: at lr = 0, w <- w (1 - wd).
  auto opt = make_optimizer<double>(parse_optimizer_spec("adamw(lr=0,weight_decay=0.01)"));
  Vector<double> w(3), g(3);
  w << 1.0, -2.0, 0.5;
  g << 0.1, 0.2, -0.3;
  const auto before = opt->clone();
  const Vector<double> w_prev = w;
  Vector<double> broken = w * (1 - 0.01);
  const StepCheck c = check_step(*before, 0, w_prev.data(), g.data(), 3, 0.0, broken.data());
  EXPECT_GT(c.max_ratio, 1e10);
}

TEST(StepCheck, AnErrorOfAFewBudgetsIsCaughtAndTheWorstEntryNamed) {
  auto opt = make_optimizer<float>(parse_optimizer_spec("adam(lr=0.1)"));
  Vector<float> w(4), g(4);
  w << 1.0f, -2.0f, 0.5f, 3.0f;
  g << 0.1f, 0.2f, -0.3f, 0.0f;
  const auto before = opt->clone();
  const Vector<float> w_prev = w;
  opt->step_tensor(0, w.data(), g.data(), 4, 0.1f);
  const StepCheck ok = check_step(*before, 0, w_prev.data(), g.data(), 4, 0.1f, w.data());
  EXPECT_LE(ok.max_ratio, 1.0);
  Vector<float> off = w;
  off(2) = std::nextafter(std::nextafter(off(2), 10.0f), 10.0f);
  for (int k = 0; k < 200; ++k) off(2) = std::nextafter(off(2), 10.0f);
  const StepCheck bad = check_step(*before, 0, w_prev.data(), g.data(), 4, 0.1f, off.data());
  EXPECT_GT(bad.max_ratio, 1.0);
  EXPECT_EQ(bad.worst, 2);
}

TEST(StepCheck, NaNOnOneSideOnlyIsAMismatchAndNaNOnBothAgrees) {
  auto opt = make_optimizer<double>(parse_optimizer_spec("sgd(lr=0)"));
  const double nan = std::numeric_limits<double>::quiet_NaN();
  Vector<double> w(2), g(2);
  w << 1.0, 2.0;
  g << nan, 1.0;
  const auto before = opt->clone();
  const Vector<double> w_prev = w;
  opt->step_tensor(0, w.data(), g.data(), 2, 0.0);
  ASSERT_TRUE(std::isnan(w(0)));  // 0 * NaN
  const StepCheck both = check_step(*before, 0, w_prev.data(), g.data(), 2, 0.0, w.data());
  EXPECT_EQ(both.nonfinite_mismatches, 0);
  EXPECT_EQ(both.max_ratio, 0.0);
  Vector<double> healed = w;
  healed(0) = 1.0;  // an implementation that silently ignored the NaN
  const StepCheck one = check_step(*before, 0, w_prev.data(), g.data(), 2, 0.0, healed.data());
  EXPECT_EQ(one.nonfinite_mismatches, 1);
  EXPECT_TRUE(std::isinf(one.max_ratio));
}

}  // namespace
}  // namespace zerolr
