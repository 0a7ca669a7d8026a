// The oracle's choice of reference (zerolr/reference/oracle.h): double-double by default,
// float128 from scratch whenever double-double's range ends, with a test for each range edge,
// and the same judgement as float128 alone on ordinary steps and runs.
#include "zerolr/reference/oracle.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "zerolr/optim/optimizer.h"
#include "zerolr/optim/spec.h"
#include "zerolr/reference/replay.h"
#include "zerolr/reference/step_check.h"

namespace zerolr {
namespace {

struct Step {
  StepCheck check;
  std::uint64_t fallbacks = 0;  ///< how many runs fell back to float128
};

// One Adam step from w with gradient g (both n-vectors), checked by check_step.
Step check_adam(const std::string& spec, const std::vector<double>& w, const std::vector<double>& g, double lr) {
  auto opt = make_optimizer<double>(parse_optimizer_spec(spec));
  const Index n = static_cast<Index>(w.size());
  // State from one step at lr = 0 with the same gradient, so the checked step has history.
  std::vector<double> w0 = w, g0 = g;
  opt->step_tensor(0, w0.data(), g0.data(), n, 0.0);
  auto before = opt->clone();
  std::vector<double> after = w, gg = g;
  opt->step_tensor(0, after.data(), gg.data(), n, lr);
  const std::uint64_t fb = oracle::counts().fallbacks;
  Step s;
  s.check = check_step<double>(*before, 0, w.data(), g.data(), n, lr, after.data());
  s.fallbacks = oracle::counts().fallbacks - fb;
  return s;
}

Step check_adam_float128(const std::string& spec, const std::vector<double>& w, const std::vector<double>& g,
                         double lr) {
  oracle::ScopedFloat128 only;
  return check_adam(spec, w, g, lr);
}

void expect_same(const StepCheck& a, const StepCheck& b) {
  EXPECT_EQ(a.range_limited, b.range_limited);
  EXPECT_EQ(a.nonfinite_mismatches, b.nonfinite_mismatches);
  EXPECT_EQ(a.worst, b.worst);
  EXPECT_EQ(a.max_ratio, b.max_ratio);
  EXPECT_EQ(a.median_ratio, b.median_ratio);
  EXPECT_EQ(a.worst_reference, b.worst_reference);
  EXPECT_EQ(a.worst_budget, b.worst_budget);
}

// Each edge: double-double counts a range exit, the step is judged by float128 from scratch,
// and the result is float128's, bit for bit.
struct Edge {
  const char* name;
  std::vector<double> w, g;
};

TEST(Oracle, EveryRangeEdgeFallsBackToFloat128) {
  const Edge edges[] = {
      // g*g = 1e400: overflows double and double-double, finite in float128.
      {"overflow", {1.0, -2.0, 0.5}, {1e200, 1.0, -3.0}},
      // g*g = 1e-320: a subnormal in double, below double-double's safe range (w = 0, so
      // weight decay adds nothing to g).
      {"underflow to subnormal", {0.0, -2.0, 0.5}, {1e-160, 1.0, -3.0}},
      // g*g = 1e300: finite in double, but above 2^995, where double-double's exact
      // products would overflow; float128 holds it exactly.
      {"huge times huge, finite in float128", {1.0, -2.0, 0.5}, {1e150, 1.0, -3.0}},
      // A weight of 1e-310 is itself a subnormal input.
      {"subnormal input", {1e-310, -2.0, 0.5}, {1.0, 1.0, -3.0}},
  };
  for (const Edge& e : edges) {
    SCOPED_TRACE(e.name);
    const Step dd = check_adam("adam(lr=0.01,weight_decay=0.1)", e.w, e.g, 0.01);
    const Step q = check_adam_float128("adam(lr=0.01,weight_decay=0.1)", e.w, e.g, 0.01);
    EXPECT_EQ(dd.fallbacks, 1u);
    expect_same(dd.check, q.check);
  }
}

TEST(Oracle, OrdinaryStepsStayInDoubleDoubleAndAgreeWithFloat128) {
  const char* specs[] = {"adam(lr=0.01,weight_decay=0.1)", "adamw(lr=0.1,amsgrad=1)", "rmsprop(lr=0.01,centered=1)",
                         "nadam(lr=0.01)", "radam(lr=0.01)", "asgd(lr=0.1)", "rprop(lr=0.01)", "lion(lr=0.001)",
                         "adadelta(lr=1)", "adamax(lr=0.01)", "adagrad(lr=0.1)",
                         "sgd(lr=0.1,momentum=0.9,nesterov=1)"};
  for (const char* spec : specs) {
    SCOPED_TRACE(spec);
    const std::vector<double> w = {1.0, -2.5e-3, 0.0, 3e5, -7.25}, g = {0.5, 1e-9, -2.0, 1e3, 0.0};
    const Step dd = check_adam(spec, w, g, 0.01);
    const Step q = check_adam_float128(spec, w, g, 0.01);
    EXPECT_EQ(dd.fallbacks, 0u);
    EXPECT_EQ(dd.check.range_limited, q.check.range_limited);
    EXPECT_EQ(dd.check.worst, q.check.worst);
    // The references differ by their own rounding (2^-100 relative and less), far below any
    // ratio's resolution: ratios agree to 1e-9 relative.
    EXPECT_NEAR(dd.check.max_ratio, q.check.max_ratio, 1e-9 * q.check.max_ratio + 1e-300);
    EXPECT_EQ(dd.check.worst_reference, q.check.worst_reference);
  }
}

TEST(Oracle, ADriftReplayAgreesWithFloat128AndFallsBackOnlyWhenItMust) {
  DriftCase c;
  c.arch = Architecture::parse("input(8),dense(16),tanh,dense(1)");
  c.steps = 6;
  c.samples = 32;
  c.batch_size = 16;
  const std::uint64_t fb = oracle::counts().fallbacks;
  const DriftRun dd = replay_drift<double>(c);
  EXPECT_EQ(oracle::counts().fallbacks, fb);
  DriftRun q;
  {
    oracle::ScopedFloat128 only;
    q = replay_drift<double>(c);
  }
  ASSERT_EQ(dd.points.size(), q.points.size());
  for (std::size_t k = 0; k < dd.points.size(); ++k) {
    const DriftPoint &a = dd.points[k], &b = q.points[k];
    EXPECT_EQ(a.weight_max_ulp, b.weight_max_ulp);
    EXPECT_EQ(a.loss_reference, b.loss_reference);
    EXPECT_NEAR(a.weight_max_rel_error, b.weight_max_rel_error, 1e-9 * b.weight_max_rel_error + 1e-300);
    EXPECT_NEAR(a.loss_bound_ratio, b.loss_bound_ratio, 1e-9 * b.loss_bound_ratio + 1e-300);
    EXPECT_NEAR(a.step_max_ratio, b.step_max_ratio, 1e-9 * b.step_max_ratio + 1e-300);
  }
}

// Every registered rule runs in both references, and they agree to double-double's resolution
// over several steps (the rules' coefficients, pow and sqrt included).
TEST(Oracle, EveryRuleRunsInBothReferencesAndTheyAgree) {
  for (const std::string& spec_text : optimizer_defaults()) {
    SCOPED_TRACE(spec_text);
    const OptimizerSpec spec = parse_optimizer_spec(spec_text);
    auto dd = make_optimizer<DoubleDouble>(spec);
    auto q = make_optimizer<Float128>(spec);
    const double w0[] = {1.0, -0.25, 3e-3, 0.0, -7.5, 2e4};
    const Index n = 6;
    Vector<DoubleDouble> wd(n);
    Vector<Float128> wq(n);
    for (Index i = 0; i < n; ++i) wd(i) = DoubleDouble(w0[i]), wq(i) = Float128(w0[i]);
    for (int k = 0; k < 8; ++k) {
      Vector<DoubleDouble> gd(n);
      Vector<Float128> gq(n);
      for (Index i = 0; i < n; ++i) {
        const double g = std::sin(1.7 * static_cast<double>(k * n + i) + 0.3) * std::pow(10.0, static_cast<double>(i % 4) - 2);
        gd(i) = DoubleDouble(g), gq(i) = Float128(g);
      }
      const double lr = k == 3 ? 0.0 : 0.01 * (k + 1);
      dd->step_tensor(0, wd.data(), gd.data(), n, DoubleDouble(lr));
      q->step_tensor(0, wq.data(), gq.data(), n, Float128(lr));
      for (Index i = 0; i < n; ++i) {
        const Float128 a = to_float128(wd(i)), b = wq(i);
        ASSERT_LE(static_cast<double>(abs(a - b)), 0x1p-90 * (static_cast<double>(abs(b)) + 1e-300))
            << "step " << k + 1 << " entry " << i << ": " << static_cast<double>(a) << " vs " << static_cast<double>(b);
      }
    }
  }
}

// A computation nested in one that falls back (check_step inside a drift replay) runs in
// float128 only during the rerun: one fallback, not one per nesting level.
TEST(Oracle, ANestedComputationDoesNotTryDoubleDoubleAgainDuringARerun) {
  const oracle::Counts before = oracle::counts();
  int inner_dd = 0, inner_q = 0;
  auto inner = [&] {
    return oracle::with_reference([&]<class R>() {
      (std::is_same_v<R, DoubleDouble> ? inner_dd : inner_q) += 1;
      return static_cast<double>(R(1e200) * R(1e200) > R(1));  // leaves double-double's range
    });
  };
  oracle::with_reference([&]<class R>() {
    inner();
    return 0;
  });
  const oracle::Counts after = oracle::counts();
  EXPECT_EQ(after.runs - before.runs, 2u);          // outer and inner, in double-double
  EXPECT_EQ(after.fallbacks - before.fallbacks, 2u);  // the inner one, then the outer one
  EXPECT_EQ(inner_dd, 1);
  EXPECT_EQ(inner_q, 2);  // its own fallback, then the outer rerun's float128-only run
  EXPECT_EQ(after.float128_only - before.float128_only, 1u);
}

TEST(Oracle, Float128OnlyModeIsScoped) {
  EXPECT_FALSE(oracle::float128_only());
  {
    oracle::ScopedFloat128 only;
    EXPECT_TRUE(oracle::float128_only());
    {
      oracle::ScopedFloat128 nested;
      EXPECT_TRUE(oracle::float128_only());
    }
    EXPECT_TRUE(oracle::float128_only());
  }
  EXPECT_FALSE(oracle::float128_only());
}

TEST(Oracle, ConstantsDoNotCountAsRangeExits) {
  const std::uint64_t before = dd_range_exits();
  const DoubleDouble big = oracle::constant<DoubleDouble>(1.7976931348623157e308);
  const DoubleDouble small = oracle::constant<DoubleDouble>(2.2250738585072014e-308);
  EXPECT_EQ(dd_range_exits(), before);
  EXPECT_TRUE(DoubleDouble(1e300) < big);  // the comparison value itself counts, as it should
  EXPECT_TRUE(small < DoubleDouble(1.0));
  EXPECT_EQ(to_float128(DoubleDouble::from_sum(1.0, 0x1p-80)), Float128(1.0) + Float128(0x1p-80));
  EXPECT_TRUE(signbit(to_float128(DoubleDouble(-0.0))));  // as the float128 path keeps it
}

}  // namespace
}  // namespace zerolr
