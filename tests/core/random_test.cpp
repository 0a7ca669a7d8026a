#include "zerolr/random.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <set>
#include <vector>

namespace zerolr {
namespace {

TEST(Rng, MatchesThePublishedSplitmix64Sequence) {
  // The reference sequence for seed 1234567 (Vigna's splitmix64.c, as on Rosetta Code).
  const std::array<std::uint64_t, 5> expected = {6457827717110365317ULL, 3203168211198807973ULL,
                                                 9817491932198370423ULL, 4593380528125082431ULL,
                                                 16408922859458223821ULL};
  Rng rng(1234567);
  for (std::uint64_t e : expected) EXPECT_EQ(rng.next_u64(), e);
}

TEST(Rng, SameSeedGivesTheSameSequence) {
  Rng a(42), b(42);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(a.next_u64(), b.next_u64()) << "draw " << i;
  Rng c(7), d(7);
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(c.uniform(), d.uniform());
    ASSERT_EQ(c.normal(), d.normal());
    ASSERT_EQ(c.below(13), d.below(13));
  }
}

TEST(Rng, DifferentSeedsGiveDifferentSequences) {
  Rng a(1), b(2);
  int equal = 0;
  for (int i = 0; i < 1000; ++i) equal += a.next_u64() == b.next_u64();
  EXPECT_EQ(equal, 0);
}

TEST(Rng, StateAdvancesByTheWeylIncrementPerDraw) {
  Rng rng(5);
  rng.next_u64();
  rng.next_u64();
  EXPECT_EQ(rng.state(), 5 + 2 * 0x9E3779B97F4A7C15ULL);
}

TEST(Rng, UniformLiesInTheHalfOpenUnitIntervalAndUsesTheTop53Bits) {
  const std::uint64_t seed = 99;
  Rng rng(seed), bits(seed);
  double lo = 1, hi = 0;
  for (int i = 0; i < 200000; ++i) {
    const double u = rng.uniform();
    ASSERT_EQ(u, static_cast<double>(bits.next_u64() >> 11) * 0x1.0p-53) << "seed " << seed;
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    lo = std::min(lo, u);
    hi = std::max(hi, u);
  }
  EXPECT_LT(lo, 1e-4);
  EXPECT_GT(hi, 1 - 1e-4);
}

TEST(Rng, UniformMeanAndVarianceMatchTheUnitInterval) {
  Rng rng(2024);
  const int n = 200000;
  double sum = 0, sum2 = 0;
  for (int i = 0; i < n; ++i) {
    const double u = rng.uniform();
    sum += u;
    sum2 += u * u;
  }
  const double mean = sum / n;
  EXPECT_NEAR(mean, 0.5, 0.005);  // the standard error is 0.00065
  EXPECT_NEAR(sum2 / n - mean * mean, 1.0 / 12, 0.002);
}

TEST(Rng, UniformOnAnIntervalStaysInsideIt) {
  Rng rng(3);
  for (int i = 0; i < 10000; ++i) {
    const double v = rng.uniform(-2.5, 4.0);
    ASSERT_GE(v, -2.5);
    ASSERT_LT(v, 4.0);
  }
}

TEST(Rng, BelowStaysInRangeForSmallAndHugeBounds) {
  Rng rng(11);
  const std::vector<std::uint64_t> bounds = {1, 2, 3, 7, 10, 1000, (1ULL << 32) + 1, (1ULL << 63) + 1, ~0ULL};
  for (std::uint64_t n : bounds)
    for (int i = 0; i < 2000; ++i) ASSERT_LT(rng.below(n), n) << "n = " << n;
}

TEST(Rng, BelowOneIsAlwaysZero) {
  Rng rng(8);
  for (int i = 0; i < 100; ++i) EXPECT_EQ(rng.below(1), 0u);
}

TEST(Rng, BelowTenPassesAChiSquareTestOnAFixedSeed) {
  const std::uint64_t seed = 12345;
  Rng rng(seed);
  const int n = 100000, k = 10;
  std::array<int, k> counts{};
  for (int i = 0; i < n; ++i) ++counts[rng.below(k)];
  double chi2 = 0;
  const double expected = static_cast<double>(n) / k;
  for (int c : counts) chi2 += (c - expected) * (c - expected) / expected;
  // 9 degrees of freedom: P(chi2 > 40) is about 7e-6.
  EXPECT_LT(chi2, 40.0) << "seed " << seed;
}

TEST(Rng, BelowIsUnbiasedWhenTheBoundDoesNotDivideTwoToThe64) {
  // n = 3 * 2^62: a plain r % n would land below 2^62 half of the time instead of a third.
  const std::uint64_t n = 3ULL << 62;
  Rng rng(77);
  const int draws = 30000;
  int low = 0;
  for (int i = 0; i < draws; ++i) low += rng.below(n) < (1ULL << 62);
  EXPECT_NEAR(static_cast<double>(low) / draws, 1.0 / 3, 0.015);
}

TEST(Rng, NormalHasMeanZeroAndVarianceOneOnAFixedSeed) {
  const std::uint64_t seed = 31337;
  Rng rng(seed);
  const int n = 200000;
  double sum = 0, sum2 = 0, sum4 = 0;
  for (int i = 0; i < n; ++i) {
    const double z = rng.normal();
    ASSERT_TRUE(std::isfinite(z));
    sum += z;
    sum2 += z * z;
    sum4 += z * z * z * z;
  }
  EXPECT_NEAR(sum / n, 0.0, 0.015) << "seed " << seed;  // standard error 0.0022
  EXPECT_NEAR(sum2 / n, 1.0, 0.02) << "seed " << seed;  // standard error 0.0032
  EXPECT_NEAR(sum4 / n, 3.0, 0.12) << "seed " << seed;  // the Gaussian kurtosis
}

TEST(Rng, NormalTailsAreAsRareAsForAGaussian) {
  Rng rng(4);
  const int n = 200000;
  int beyond2 = 0;
  for (int i = 0; i < n; ++i) beyond2 += std::abs(rng.normal()) > 2.0;
  // P(|Z| > 2) = 0.0455; the standard error of the fraction is 0.00047.
  EXPECT_NEAR(static_cast<double>(beyond2) / n, 0.0455, 0.003);
}

TEST(Rng, SplitIsDeterministic) {
  Rng a(10), b(10);
  Rng ca = a.split(), cb = b.split();
  for (int i = 0; i < 100; ++i) ASSERT_EQ(ca.next_u64(), cb.next_u64());
  EXPECT_EQ(a.state(), b.state());
}

TEST(Rng, SplitStreamsAreUncorrelatedWithTheParentAndEachOther) {
  Rng parent(2718);
  Rng c1 = parent.split();
  Rng c2 = parent.split();
  std::set<std::uint64_t> seen;
  const int n = 50000;
  double s01 = 0, s02 = 0, s12 = 0;
  for (int i = 0; i < n; ++i) {
    const std::uint64_t p = parent.next_u64(), a = c1.next_u64(), b = c2.next_u64();
    seen.insert(p);
    seen.insert(a);
    seen.insert(b);
    const double up = static_cast<double>(p >> 11) * 0x1.0p-53 - 0.5;
    const double ua = static_cast<double>(a >> 11) * 0x1.0p-53 - 0.5;
    const double ub = static_cast<double>(b >> 11) * 0x1.0p-53 - 0.5;
    s01 += up * ua;
    s02 += up * ub;
    s12 += ua * ub;
  }
  // No draw repeats across the three streams (overlap would show as repeats).
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(3 * n));
  // Correlations: each is about N(0, 1/n), so |r| < 0.03 is a six-sigma bound.
  const double var = 1.0 / 12;
  EXPECT_LT(std::abs(s01 / n / var), 0.03);
  EXPECT_LT(std::abs(s02 / n / var), 0.03);
  EXPECT_LT(std::abs(s12 / n / var), 0.03);
}

TEST(MixSeed, IsAStatelessFunctionOfSeedAndKey) {
  EXPECT_EQ(mix_seed(1, 2), mix_seed(1, 2));
  std::set<std::uint64_t> values;
  for (std::uint64_t seed = 0; seed < 30; ++seed)
    for (std::uint64_t key = 0; key < 30; ++key) values.insert(mix_seed(seed, key));
  EXPECT_EQ(values.size(), 900u);
  EXPECT_NE(mix_seed(1, 2), mix_seed(2, 1));
}

}  // namespace
}  // namespace zerolr
