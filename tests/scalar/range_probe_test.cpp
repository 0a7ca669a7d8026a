// RangeProbe: range exits and precision losses of T's arithmetic, counted on exact-ish values.

#include "zerolr/scalar/range_probe.h"

#include <gtest/gtest.h>

#include <limits>

namespace zerolr {
namespace {

/// What evaluating f counts.
template <class F>
ProbeCounts counted(F&& f) {
  const ProbeCounts before = probe_counts();
  f();
  const ProbeCounts after = probe_counts();
  return {after.range_exits - before.range_exits, after.precision_losses - before.precision_losses};
}

TEST(RangeProbe, CountsAProductThatUnderflowsTsNormalRange) {
  using F = RangeProbe<float>;
  using D = RangeProbe<double>;
  // 1e-25 * 1e-25 = 1e-50: below float's smallest normal (1.2e-38), fine for double.
  EXPECT_EQ(counted([] { (void)(F(1e-25f) * F(1e-25f)); }).range_exits, 1u);
  EXPECT_EQ(counted([] { (void)(D(1e-25) * D(1e-25)); }).range_exits, 0u);
  // 1e200 * 1e200 is finite in long double and above double's largest value.
  EXPECT_EQ(counted([] { (void)(D(1e200) * D(1e200)); }).range_exits, 1u);
  // A subnormal input is outside the normal range too; zero never is.
  EXPECT_EQ(counted([] { (void)F(std::numeric_limits<float>::denorm_min()); }).range_exits, 1u);
  EXPECT_EQ(counted([] { (void)(F(0.0f) * F(1e-30f)); }).range_exits, 0u);
}

TEST(RangeProbe, OrdinaryArithmeticCountsNothing) {
  using F = RangeProbe<float>;
  const ProbeCounts c = counted([] {
    F x = F(3.0f);
    for (int i = 0; i < 10; ++i) x = sqrt(x * x + F(1.0f)) / F(1.5f) - F(0.25f);
  });
  EXPECT_EQ(c.total(), 0u);
}

// Centered RMSprop's v - grad_avg^2 with both near 1 and their exact difference 1e-8: float
// rounds each to about 6e-8, so its difference has no correct digit, and the square root that
// follows is a precision loss for float; double resolves it.
TEST(RangeProbe, CountsARootOfACancellationBelowTsRounding) {
  const auto centered = [](auto alpha, auto v0, auto ga0, auto g) {
    using P = decltype(alpha);
    const P one_minus = P(1.0) - alpha;
    const P v = alpha * v0 + one_minus * g * g;
    const P ga = alpha * ga0 + one_minus * g;
    return sqrt(v - ga * ga);
  };
  using F = RangeProbe<float>;
  using D = RangeProbe<double>;
  EXPECT_EQ(counted([&] { (void)centered(F(0.00125), F(0.99981f), F(0.9999f), F(1.0f)); }).precision_losses, 1u);
  EXPECT_EQ(counted([&] { (void)centered(D(0.00125), D(0.99981), D(0.9999), D(1.0)); }).precision_losses, 0u);
}

// A cancellation that nothing divides by or takes the root of is the budget's business (it
// measures errors on the scale of the weights): a weight that moves to zero counts nothing.
TEST(RangeProbe, ACancellationThatIsNotAmplifiedCountsNothing) {
  using F = RangeProbe<float>;
  const ProbeCounts c = counted([] { (void)(F(1.0f) - F(0.1) * F(10.0f)); });
  EXPECT_EQ(c.total(), 0u);
}

TEST(RangeProbe, ErrorBoundsFollowTheRunningAnalysis) {
  using F = RangeProbe<float>;
  const double u = std::numeric_limits<float>::epsilon() / 2;
  EXPECT_EQ(F(0.5f).relative_error(), 0.0);  // exact in float
  EXPECT_EQ(F(0.1).relative_error(), u);     // a double coefficient rounded to float
  EXPECT_EQ((F(0.5f) * F(0.25f)).relative_error(), 0.0);
  EXPECT_EQ((F(1.0f) / F(3.0f)).relative_error(), u);
  const F x = F(1.0f) / F(3.0f);
  EXPECT_NEAR((x - F(0.33333f)).relative_error(), (x.value() * u) / (x.value() - 0.33333f) + u, 1e-9);
}

}  // namespace
}  // namespace zerolr
