// Distances between floats, doubles and the reference: the ulp distance against
// std::nextafter stepping and its special values, the relative error's conventions, and the
// matrix summary on hand-made matrices.

#include "zerolr/scalar/distance.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "zerolr/random.h"
#include "zerolr/scalar/reference_distance.h"

namespace zerolr {
namespace {

constexpr std::uint64_t kFar = std::numeric_limits<std::uint64_t>::max();
constexpr double kInf = std::numeric_limits<double>::infinity();

template <class T>
using BitsOf = std::conditional_t<std::is_same_v<T, float>, std::uint32_t, std::uint64_t>;

template <class T>
BitsOf<T> bits(T x) {
  return std::bit_cast<BitsOf<T>>(x);
}

template <class T>
T from_bits(BitsOf<T> b) {
  return std::bit_cast<T>(b);
}

template <class T>
constexpr BitsOf<T> kSignBit = BitsOf<T>(1) << (8 * sizeof(T) - 1);

/// A random non-NaN value from a mix of regions: any bit pattern, subnormals, zeros, the
/// neighbourhoods of max, of the smallest normal and of zero, and infinities; random sign.
template <class T>
T interesting_value(Rng& rng) {
  using U = BitsOf<T>;
  using L = std::numeric_limits<T>;
  constexpr U kMantissa = (U(1) << (L::digits - 1)) - 1;
  U magnitude = 0;
  switch (rng.below(7)) {
    case 0:
      do magnitude = static_cast<U>(rng.next_u64()) & ~kSignBit<T>;
      while (magnitude > bits(L::infinity()));
      break;
    case 1:
      magnitude = static_cast<U>(rng.next_u64()) & kMantissa;
      break;
    case 2:
      magnitude = 0;
      break;
    case 3:
      magnitude = bits(L::max()) - static_cast<U>(rng.below(400));
      break;
    case 4:
      magnitude = bits(L::min()) + static_cast<U>(rng.below(800)) - 400;
      break;
    case 5:
      magnitude = static_cast<U>(rng.below(400));
      break;
    default:
      magnitude = bits(L::infinity());
      break;
  }
  return from_bits<T>(rng.below(2) ? magnitude | kSignBit<T> : magnitude);
}

template <class T>
T quiet_nan_with_payload(BitsOf<T> payload, bool negative) {
  const BitsOf<T> b = bits(std::numeric_limits<T>::quiet_NaN()) | payload;
  return from_bits<T>(negative ? b | kSignBit<T> : b);
}

template <class T>
class UlpDistance : public ::testing::Test {};
using Scalars = ::testing::Types<float, double>;
TYPED_TEST_SUITE(UlpDistance, Scalars);

TYPED_TEST(UlpDistance, KStepsOfNextafterAreKUlpsApartInBothModes) {
  using T = TypeParam;
  const std::uint64_t seed = 0xD157A7CE;
  SCOPED_TRACE("seed=" + std::to_string(seed));
  Rng rng(seed);
  const T inf = std::numeric_limits<T>::infinity();
  int crossed_zero = 0, reached_infinity = 0, subnormal_start = 0;
  for (int i = 0; i < 5000; ++i) {
    const T a = interesting_value<T>(rng);
    const T toward = rng.below(2) ? inf : -inf;
    const int k = static_cast<int>(rng.below(301));
    T b = a;
    std::uint64_t steps = 0;
    // Stepping stops at the end of the line: nextafter(inf, inf) stays put.
    for (int s = 0; s < k && b != toward; ++s, ++steps) b = std::nextafter(b, toward);
    crossed_zero += a != 0 && b != 0 && std::signbit(a) != std::signbit(b);
    reached_infinity += std::isinf(b) && !std::isinf(a);
    subnormal_start += std::fpclassify(a) == FP_SUBNORMAL;
    ASSERT_EQ(ulp_distance(a, b, ZeroMode::Value), steps) << "a=" << a << " b=" << b << " k=" << k;
    ASSERT_EQ(ulp_distance(a, b, ZeroMode::Bits), steps) << "a=" << a << " b=" << b << " k=" << k;
  }
  // The sample did exercise the regions the conventions are about.
  EXPECT_GT(crossed_zero, 50);
  EXPECT_GT(reached_infinity, 50);
  EXPECT_GT(subnormal_start, 500);
}

TYPED_TEST(UlpDistance, NextafterPassesOneZeroWhoseSignDependsOnTheDirection) {
  using T = TypeParam;
  const T tiny = std::numeric_limits<T>::denorm_min();
  const T inf = std::numeric_limits<T>::infinity();
  // What the Value convention rests on: +tiny -> +0 -> -tiny going down and -tiny -> -0 ->
  // +tiny going up, so the line holds one zero, reached with either sign.
  const T down = std::nextafter(tiny, -inf);
  EXPECT_EQ(down, T(0));
  EXPECT_FALSE(std::signbit(down));
  EXPECT_EQ(std::nextafter(down, -inf), -tiny);
  const T up = std::nextafter(-tiny, inf);
  EXPECT_EQ(up, T(0));
  EXPECT_TRUE(std::signbit(up));
  EXPECT_EQ(std::nextafter(up, inf), tiny);
  for (ZeroMode mode : {ZeroMode::Value, ZeroMode::Bits}) {
    EXPECT_EQ(ulp_distance(tiny, -tiny, mode), 2u);
    EXPECT_EQ(ulp_distance(T(0), tiny, mode), 1u);
    EXPECT_EQ(ulp_distance(-T(0), tiny, mode), 1u);
    EXPECT_EQ(ulp_distance(T(0), -tiny, mode), 1u);
    EXPECT_EQ(ulp_distance(-T(0), -tiny, mode), 1u);
  }
}

TYPED_TEST(UlpDistance, SignedZerosAreZeroApartByValueAndOneApartByBits) {
  using T = TypeParam;
  EXPECT_EQ(ulp_distance(T(0), -T(0), ZeroMode::Value), 0u);
  EXPECT_EQ(ulp_distance(-T(0), T(0), ZeroMode::Value), 0u);
  EXPECT_EQ(ulp_distance(T(0), -T(0), ZeroMode::Bits), 1u);
  EXPECT_EQ(ulp_distance(-T(0), T(0), ZeroMode::Bits), 1u);
  EXPECT_EQ(ulp_distance(-T(0), -T(0), ZeroMode::Bits), 0u);
  EXPECT_EQ(ulp_distance(T(0), T(0), ZeroMode::Bits), 0u);
}

TYPED_TEST(UlpDistance, IsSymmetricZeroExactlyOnEqualValuesAndAdditiveAlongTheLine) {
  using T = TypeParam;
  const std::uint64_t seed = 0x5E77;
  SCOPED_TRACE("seed=" + std::to_string(seed));
  Rng rng(seed);
  for (int i = 0; i < 20000; ++i) {
    T v[3] = {interesting_value<T>(rng), interesting_value<T>(rng), interesting_value<T>(rng)};
    const T a = v[0], b = v[1];
    for (ZeroMode mode : {ZeroMode::Value, ZeroMode::Bits}) {
      ASSERT_EQ(ulp_distance(a, b, mode), ulp_distance(b, a, mode)) << a << " " << b;
      ASSERT_EQ(ulp_distance(a, a, mode), 0u) << a;
    }
    ASSERT_EQ(ulp_distance(a, b, ZeroMode::Value) == 0, a == b) << a << " " << b;
    ASSERT_EQ(ulp_distance(a, b, ZeroMode::Bits) == 0, bits(a) == bits(b)) << a << " " << b;
    // Bits mode adds one exactly for a pair of zeros of opposite signs.
    const bool opposite_zeros = a == 0 && b == 0 && std::signbit(a) != std::signbit(b);
    ASSERT_EQ(ulp_distance(a, b, ZeroMode::Bits),
              ulp_distance(a, b, ZeroMode::Value) + (opposite_zeros ? 1 : 0))
        << a << " " << b;
    // For x <= y <= z (Value mode): d(x, z) = d(x, y) + d(y, z).
    std::sort(v, v + 3);
    ASSERT_EQ(ulp_distance(v[0], v[2], ZeroMode::Value),
              ulp_distance(v[0], v[1], ZeroMode::Value) + ulp_distance(v[1], v[2], ZeroMode::Value))
        << v[0] << " " << v[1] << " " << v[2];
  }
}

TYPED_TEST(UlpDistance, InfinityIsOneStepBeyondMaxAndEndsTheLine) {
  using T = TypeParam;
  using L = std::numeric_limits<T>;
  const std::uint64_t inf_position = bits(L::infinity());
  for (ZeroMode mode : {ZeroMode::Value, ZeroMode::Bits}) {
    EXPECT_EQ(ulp_distance(L::max(), L::infinity(), mode), 1u);
    EXPECT_EQ(ulp_distance(L::lowest(), -L::infinity(), mode), 1u);
    EXPECT_EQ(ulp_distance(-L::infinity(), L::infinity(), mode), 2 * inf_position);
    EXPECT_EQ(ulp_distance(L::lowest(), L::max(), mode), 2 * inf_position - 2);
    EXPECT_EQ(ulp_distance(T(0), L::infinity(), mode), inf_position);
    EXPECT_EQ(ulp_distance(-T(0), L::infinity(), mode), inf_position);
    EXPECT_LT(ulp_distance(-L::infinity(), L::infinity(), mode), kFar);
  }
}

TYPED_TEST(UlpDistance, NanIsZeroFromAnyNanAndMaximallyFarFromEverythingElse) {
  using T = TypeParam;
  using L = std::numeric_limits<T>;
  const T nans[] = {L::quiet_NaN(), -L::quiet_NaN(), L::signaling_NaN(), quiet_nan_with_payload<T>(5, false),
                    quiet_nan_with_payload<T>(1, true)};
  const T others[] = {T(0),        -T(0),           T(1),          -T(2.5),       L::max(),
                      L::lowest(), L::denorm_min(), L::infinity(), -L::infinity()};
  for (ZeroMode mode : {ZeroMode::Value, ZeroMode::Bits}) {
    for (T a : nans) {
      ASSERT_TRUE(std::isnan(a));
      for (T b : nans) EXPECT_EQ(ulp_distance(a, b, mode), 0u);
      for (T b : others) {
        EXPECT_EQ(ulp_distance(a, b, mode), kFar) << b;
        EXPECT_EQ(ulp_distance(b, a, mode), kFar) << b;
      }
    }
  }
}

TYPED_TEST(UlpDistance, CountsEveryValueOfABinade) {
  using T = TypeParam;
  using L = std::numeric_limits<T>;
  const std::uint64_t per_binade = std::uint64_t(1) << (L::digits - 1);
  for (ZeroMode mode : {ZeroMode::Value, ZeroMode::Bits}) {
    EXPECT_EQ(ulp_distance(T(1), T(2), mode), per_binade);
    EXPECT_EQ(ulp_distance(T(-1), T(-2), mode), per_binade);
    EXPECT_EQ(ulp_distance(T(-1), T(1), mode), 2 * bits(T(1)));
    EXPECT_EQ(ulp_distance(T(0), L::min(), mode), per_binade);  // all subnormals, then min
    EXPECT_EQ(ulp_distance(T(1), std::nextafter(T(1), T(2)), mode), 1u);
    EXPECT_EQ(ulp_distance(T(1), std::nextafter(T(1), T(0)), mode), 1u);
  }
}

// ----------------------------------------------------------------------------------------
// Relative error.

template <class T>
class RelativeError : public ::testing::Test {};
TYPED_TEST_SUITE(RelativeError, Scalars);

TYPED_TEST(RelativeError, NanIsZeroFromNanAndInfinitelyFarFromAnythingElse) {
  using T = TypeParam;
  const T nan = std::numeric_limits<T>::quiet_NaN();
  const T inf = std::numeric_limits<T>::infinity();
  const Reference rnan = std::numeric_limits<Reference>::quiet_NaN();
  EXPECT_EQ(relative_error(nan, rnan), 0.0);
  EXPECT_EQ(relative_error(-nan, rnan), 0.0);
  EXPECT_EQ(relative_error(nan, Reference(1)), kInf);
  EXPECT_EQ(relative_error(nan, Reference(0)), kInf);
  EXPECT_EQ(relative_error(nan, Reference(inf)), kInf);
  EXPECT_EQ(relative_error(T(1), rnan), kInf);
  EXPECT_EQ(relative_error(T(0), rnan), kInf);
  EXPECT_EQ(relative_error(inf, rnan), kInf);
  // The plain double overload.
  EXPECT_EQ(relative_error(double(nan), double(nan)), 0.0);
  EXPECT_EQ(relative_error(double(nan), 1.0), kInf);
  EXPECT_EQ(relative_error(0.0, double(nan)), kInf);
}

TYPED_TEST(RelativeError, ZeroReferenceIsMatchedOnlyByAZeroOfEitherSign) {
  using T = TypeParam;
  const Reference pz(0), nz = -Reference(0);
  ASSERT_NE(signbit(nz), 0);  // signbit(float128) is nonzero, not 1, for negatives
  for (const Reference& ref : {pz, nz}) {
    EXPECT_EQ(relative_error(T(0), ref), 0.0);
    EXPECT_EQ(relative_error(-T(0), ref), 0.0);
    EXPECT_EQ(relative_error(std::numeric_limits<T>::denorm_min(), ref), kInf);
    EXPECT_EQ(relative_error(T(-1), ref), kInf);
    EXPECT_EQ(relative_error(std::numeric_limits<T>::infinity(), ref), kInf);
  }
  EXPECT_EQ(relative_error(0.0, -0.0), 0.0);
  EXPECT_EQ(relative_error(-0.0, 0.0), 0.0);
  EXPECT_EQ(relative_error(1e-300, 0.0), kInf);
}

TYPED_TEST(RelativeError, InfinitiesMatchOnlyTheSameSignedInfinity) {
  using T = TypeParam;
  const T inf = std::numeric_limits<T>::infinity();
  const Reference rinf = std::numeric_limits<Reference>::infinity();
  EXPECT_EQ(relative_error(inf, rinf), 0.0);
  EXPECT_EQ(relative_error(-inf, -rinf), 0.0);
  EXPECT_EQ(relative_error(inf, -rinf), kInf);
  EXPECT_EQ(relative_error(-inf, rinf), kInf);
  EXPECT_EQ(relative_error(inf, Reference(1)), kInf);
  EXPECT_EQ(relative_error(std::numeric_limits<T>::max(), rinf), kInf);
  EXPECT_EQ(relative_error(T(0), rinf), kInf);
  const double dinf = kInf;
  EXPECT_EQ(relative_error(dinf, dinf), 0.0);
  EXPECT_EQ(relative_error(-dinf, -dinf), 0.0);
  EXPECT_EQ(relative_error(dinf, -dinf), kInf);
  EXPECT_EQ(relative_error(1.0, dinf), kInf);
  EXPECT_EQ(relative_error(dinf, 1e308), kInf);
}

TYPED_TEST(RelativeError, OrdinaryValuesGiveTheQuotient) {
  using T = TypeParam;
  EXPECT_EQ(relative_error(T(3), Reference(4)), 0.25);
  EXPECT_EQ(relative_error(T(5), Reference(4)), 0.25);
  EXPECT_EQ(relative_error(T(1), Reference(-1)), 2.0);
  EXPECT_EQ(relative_error(T(-6), Reference(-8)), 0.25);
  EXPECT_EQ(relative_error(T(1) + std::numeric_limits<T>::epsilon(), Reference(1)),
            static_cast<double>(std::numeric_limits<T>::epsilon()));
  EXPECT_EQ(relative_error(T(7), Reference(7)), 0.0);
  EXPECT_EQ(relative_error(3.0, 4.0), 0.25);
  EXPECT_EQ(relative_error(1.0, -1.0), 2.0);
}

TEST(RelativeErrorReference, IsEvaluatedInTheReferenceNotAfterRoundingIt) {
  // 1 + 2^-80 rounds to 1 in double; the error is still seen.
  const Reference ref = Reference(1) + ldexp(Reference(1), -80);
  EXPECT_EQ(ulp_distance_to_reference(1.0, ref, ZeroMode::Value), 0u);
  const double e = relative_error(1.0, ref);
  EXPECT_GT(e, 0.0);
  EXPECT_EQ(e, std::ldexp(1.0, -80));  // 2^-80 / (1 + 2^-80), rounded to double
  // A result beyond double's range overflows to +inf instead of wrapping or NaN.
  const Reference tiny = ldexp(Reference(1), -2000);
  EXPECT_EQ(relative_error(1.0, tiny), kInf);
}

TEST(RelativeErrorPlain, DoesNotOverflowOnOppositeExtremesAndAgreesWithTheReference) {
  EXPECT_EQ(relative_error(1e308, -1e308), 2.0);
  EXPECT_EQ(relative_error(-std::numeric_limits<double>::max(), std::numeric_limits<double>::max()), 2.0);
  const std::uint64_t seed = 0xE77;
  SCOPED_TRACE("seed=" + std::to_string(seed));
  Rng rng(seed);
  for (int i = 0; i < 5000; ++i) {
    const double c = interesting_value<double>(rng);
    const double r = interesting_value<double>(rng);
    const double plain = relative_error(c, r);
    const double ref = relative_error(c, Reference(r));
    ASSERT_LE(ulp_distance(plain, ref, ZeroMode::Value), 2u) << "computed " << c << " ref " << r;
  }
}

// ----------------------------------------------------------------------------------------
// The distance to a reference value.

template <class T>
class UlpDistanceToReference : public ::testing::Test {};
TYPED_TEST_SUITE(UlpDistanceToReference, Scalars);

TYPED_TEST(UlpDistanceToReference, RoundsTheReferenceToTheNearestValueFirst) {
  using T = TypeParam;
  using L = std::numeric_limits<T>;
  const T one_up = std::nextafter(T(1), T(2));
  // Just below and above the midpoint of 1 and its successor.
  const Reference mid = (Reference(T(1)) + Reference(one_up)) / 2;
  const Reference nudge = ldexp(Reference(1), -100);
  for (ZeroMode mode : {ZeroMode::Value, ZeroMode::Bits}) {
    EXPECT_EQ(ulp_distance_to_reference(T(1), mid - nudge, mode), 0u);
    EXPECT_EQ(ulp_distance_to_reference(T(1), mid + nudge, mode), 1u);
    EXPECT_EQ(ulp_distance_to_reference(one_up, mid + nudge, mode), 0u);
    EXPECT_EQ(ulp_distance_to_reference(T(1), mid, mode), 0u);  // ties to the even 1
    // Beyond max (by more than half an ulp) rounds to infinity.
    EXPECT_EQ(ulp_distance_to_reference(L::infinity(), Reference(L::max()) * 2, mode), 0u);
    EXPECT_EQ(ulp_distance_to_reference(L::max(), Reference(L::max()) * 2, mode), 1u);
    EXPECT_EQ(ulp_distance_to_reference(L::quiet_NaN(), std::numeric_limits<Reference>::quiet_NaN(), mode),
              0u);
    EXPECT_EQ(ulp_distance_to_reference(T(0), std::numeric_limits<Reference>::quiet_NaN(), mode), kFar);
    EXPECT_EQ(ulp_distance_to_reference(L::quiet_NaN(), Reference(0), mode), kFar);
  }
  // A negative value too small for T rounds to -0: one ulp from +0 in Bits mode only.
  const Reference negative_tiny = -ldexp(Reference(1), -2000);
  EXPECT_EQ(ulp_distance_to_reference(T(0), negative_tiny, ZeroMode::Value), 0u);
  EXPECT_EQ(ulp_distance_to_reference(T(0), negative_tiny, ZeroMode::Bits), 1u);
  EXPECT_EQ(ulp_distance_to_reference(-T(0), negative_tiny, ZeroMode::Bits), 0u);
}

// ----------------------------------------------------------------------------------------
// The matrix summary.

TEST(SummarizeErrors, HandMadeMatrixGivesKnownMaximaAndLowerMedians) {
  // Column-major 2 x 3: the reference is 1, 2, 4, 8, 16, -1; computed is off by 0, 1, 2, 3,
  // 0 and 5 ulps of float (below 1 an ulp is 2^-24, from 1 to 2 it is 2^-23, and so on).
  Matrix<Reference> ref(2, 3);
  ref << Reference(1), Reference(4), Reference(16), Reference(2), Reference(8), Reference(-1);
  Matrix<float> computed(2, 3);
  const float u = std::numeric_limits<float>::epsilon();  // 2^-23
  computed << 1.0f, 4.0f + 2 * 4 * u, 16.0f, 2.0f + 2 * u, 8.0f - 3 * 4 * u, -1.0f - 5 * u;
  const ErrorSummary s = summarize_errors(computed, ref, ZeroMode::Value);
  EXPECT_EQ(s.count, 6);
  EXPECT_EQ(s.max_ulp, 5u);
  EXPECT_EQ(s.median_ulp, 1u);  // sorted 0 0 1 2 3 5: element 2
  EXPECT_EQ(s.max_rel, 5.0 * u);
  EXPECT_EQ(s.median_rel, u);  // errors 0, u, 2u, 1.5u, 0, 5u: sorted element 2 is u
  EXPECT_EQ(s.nan_mismatches, 0);
  EXPECT_EQ(s.signed_zero_flips, 0);
  EXPECT_EQ(summarize_errors(computed, ref, ZeroMode::Bits), s);
}

TEST(SummarizeErrors, CountsNanMismatchesAndSignedZeroFlips) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const Reference rnan = std::numeric_limits<Reference>::quiet_NaN();
  Matrix<Reference> ref(1, 7);
  ref << Reference(0), -Reference(0), rnan, Reference(3), rnan, -ldexp(Reference(1), -2000), Reference(2);
  Matrix<double> computed(1, 7);
  computed << -0.0, 0.0, nan, nan, 1.0, 0.0, 2.0;
  const ErrorSummary value = summarize_errors(computed, ref, ZeroMode::Value);
  EXPECT_EQ(value.count, 7);
  EXPECT_EQ(value.nan_mismatches, 2);     // entries 3 and 4
  EXPECT_EQ(value.signed_zero_flips, 3);  // entries 0, 1 and 5 (which rounds to -0)
  EXPECT_EQ(value.max_ulp, kFar);
  EXPECT_EQ(value.max_rel, kInf);
  EXPECT_EQ(value.median_ulp, 0u);   // 0 0 0 0 0 far far
  EXPECT_EQ(value.median_rel, 0.0);  // 0 0 0 0 1 inf inf (entry 5: |0 + r| / |r| = 1)
  const ErrorSummary by_bits = summarize_errors(computed, ref, ZeroMode::Bits);
  EXPECT_EQ(by_bits.signed_zero_flips, 3);
  EXPECT_EQ(by_bits.median_ulp, 1u);  // 0 0 1 1 1 far far
  EXPECT_EQ(by_bits.max_ulp, kFar);
}

TEST(SummarizeErrors, RejectsDifferentShapesAndSummarisesNothingAsZeros) {
  EXPECT_THROW(summarize_errors(Matrix<float>(2, 3), Matrix<Reference>(3, 2), ZeroMode::Value), ShapeError);
  EXPECT_THROW(summarize_errors(Matrix<double>(1, 3), Matrix<Reference>(1, 2), ZeroMode::Value), ShapeError);
  EXPECT_EQ(summarize_errors(Matrix<double>(0, 3), Matrix<Reference>(0, 3), ZeroMode::Value), ErrorSummary{});
}

}  // namespace
}  // namespace zerolr
