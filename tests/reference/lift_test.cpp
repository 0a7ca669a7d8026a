// Lifting into the reference scalar: floats and doubles convert exactly and back bit for
// bit, narrowing is correctly rounded (ties to even, no double rounding, subnormals), and
// lifted models, datasets and optimizers hold exactly the original numbers and behave like
// the original.

#include "zerolr/reference/lift.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "zerolr/optim/spec.h"
#include "zerolr/random.h"
#include "zerolr/scalar/distance.h"
#include "zerolr/scalar/reference.h"
#include "zerolr/scalar/reference_distance.h"

namespace zerolr {
namespace {

template <class T>
using BitsOf = std::conditional_t<std::is_same_v<T, float>, std::uint32_t, std::uint64_t>;

template <class T>
BitsOf<T> bits(T x) {
  return std::bit_cast<BitsOf<T>>(x);
}

template <class T>
bool same_bits(T a, T b) {
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}

/// A random finite value: half the time any finite bit pattern, otherwise a subnormal or a
/// value within a few hundred steps of zero, of the smallest normal or of max.
template <class T>
T random_finite(Rng& rng) {
  using U = BitsOf<T>;
  using L = std::numeric_limits<T>;
  constexpr U kSign = U(1) << (8 * sizeof(T) - 1);
  constexpr U kMantissa = (U(1) << (L::digits - 1)) - 1;
  U magnitude = 0;
  switch (rng.below(8)) {
    case 0:
      magnitude = static_cast<U>(rng.next_u64()) & kMantissa;  // subnormal
      break;
    case 1:
      magnitude = static_cast<U>(rng.below(300));
      break;
    case 2:
      magnitude = bits(L::min()) + static_cast<U>(rng.below(600)) - 300;
      break;
    case 3:
      magnitude = bits(L::max()) - static_cast<U>(rng.below(300));
      break;
    default:
      do magnitude = static_cast<U>(rng.next_u64()) & ~kSign;
      while (magnitude >= bits(L::infinity()));
  }
  return std::bit_cast<T>(rng.below(2) ? magnitude | kSign : magnitude);
}

std::string trace(std::uint64_t seed) {
  return "seed=" + std::to_string(seed);
}

// ----------------------------------------------------------------------------------------
// Scalars.

TEST(LiftScalar, EveryFloatInALargeSampleRoundTripsBitForBit) {
  const std::uint64_t seed = 0xF10A7;
  SCOPED_TRACE(trace(seed));
  Rng rng(seed);
  std::vector<float> sample = {0.0f,
                               -0.0f,
                               std::numeric_limits<float>::infinity(),
                               -std::numeric_limits<float>::infinity(),
                               std::numeric_limits<float>::denorm_min(),
                               -std::numeric_limits<float>::denorm_min(),
                               std::numeric_limits<float>::min(),
                               std::numeric_limits<float>::max(),
                               std::numeric_limits<float>::lowest()};
  for (int i = 0; i < 1000000; ++i)
    sample.push_back(std::bit_cast<float>(static_cast<std::uint32_t>(rng.next_u64())));
  for (int i = 0; i < 200000; ++i) sample.push_back(random_finite<float>(rng));
  int nans = 0, subnormals = 0;
  for (float x : sample) {
    const float back = static_cast<float>(static_cast<Reference>(x));
    if (std::isnan(x)) {
      ++nans;
      ASSERT_TRUE(std::isnan(back)) << "NaN bits " << bits(x);
      continue;
    }
    subnormals += std::fpclassify(x) == FP_SUBNORMAL;
    ASSERT_TRUE(same_bits(x, back)) << x << " (bits " << bits(x) << ") came back as " << back;
  }
  EXPECT_GT(nans, 1000);
  EXPECT_GT(subnormals, 10000);
}

TEST(LiftScalar, EveryDoubleInALargeSampleRoundTripsBitForBit) {
  const std::uint64_t seed = 0xD0B1E;
  SCOPED_TRACE(trace(seed));
  Rng rng(seed);
  std::vector<double> sample = {0.0,
                                -0.0,
                                std::numeric_limits<double>::infinity(),
                                -std::numeric_limits<double>::infinity(),
                                std::numeric_limits<double>::denorm_min(),
                                std::numeric_limits<double>::max(),
                                std::numeric_limits<double>::lowest()};
  for (int i = 0; i < 500000; ++i) sample.push_back(std::bit_cast<double>(rng.next_u64()));
  for (int i = 0; i < 200000; ++i) sample.push_back(random_finite<double>(rng));
  sample.push_back(std::numeric_limits<double>::quiet_NaN());
  sample.push_back(-std::numeric_limits<double>::quiet_NaN());
  for (double x : sample) {
    const double back = static_cast<double>(static_cast<Reference>(x));
    if (std::isnan(x)) {
      ASSERT_TRUE(std::isnan(back)) << "NaN bits " << bits(x);
      continue;
    }
    ASSERT_TRUE(same_bits(x, back)) << x << " (bits " << bits(x) << ") came back as " << back;
  }
}

template <class T>
class Narrowing : public ::testing::Test {};
using Scalars = ::testing::Types<float, double>;
TYPED_TEST_SUITE(Narrowing, Scalars);

// For random adjacent a < b (both finite, a not a zero): the exact midpoint rounds to the one
// with an even significand, and the midpoint moved 2^-60 of itself up or down rounds to b or
// a. For float the nudge vanishes in double, so going through double would fail here.
TYPED_TEST(Narrowing, MidpointsRoundToEvenAndNudgedMidpointsToTheNearerNeighbour) {
  using T = TypeParam;
  const std::uint64_t seed = 0x3D9017;
  SCOPED_TRACE(trace(seed));
  Rng rng(seed);
  const Reference nudge = ldexp(Reference(1), -60);
  int subnormal_results = 0, ties_to_larger = 0;
  for (int i = 0; i < 200000; ++i) {
    const T a = random_finite<T>(rng);
    if (a == 0 || a == std::numeric_limits<T>::max()) continue;
    const T b = std::nextafter(a, std::numeric_limits<T>::infinity());
    const Reference mid = (Reference(a) + Reference(b)) / 2;
    ASSERT_LT(Reference(a), mid);
    ASSERT_LT(mid, Reference(b));
    const T even = bits(a) % 2 == 0 ? a : b;
    ties_to_larger += same_bits(even, b);
    subnormal_results += std::fpclassify(a) == FP_SUBNORMAL;
    const T tie = static_cast<T>(mid);
    ASSERT_TRUE(same_bits(tie, even)) << "midpoint of " << a << " and " << b << " gave " << tie;
    const Reference above = mid + abs(mid) * nudge;
    const Reference below = mid - abs(mid) * nudge;
    ASSERT_TRUE(same_bits(static_cast<T>(above), b)) << "just above the midpoint of " << a << " and " << b;
    ASSERT_TRUE(same_bits(static_cast<T>(below), a)) << "just below the midpoint of " << a << " and " << b;
  }
  EXPECT_GT(subnormal_results, 10000);
  EXPECT_GT(ties_to_larger, 50000);
}

TYPED_TEST(Narrowing, OverflowAndUnderflowThresholdsAreRoundedToNearest) {
  using T = TypeParam;
  using L = std::numeric_limits<T>;
  const Reference nudge = ldexp(Reference(1), -60);
  // Half an ulp above max is a tie between max (odd) and 2^emax (even): infinity.
  const Reference half_ulp_of_max = ldexp(Reference(1), L::max_exponent - L::digits - 1);
  const Reference overflow = Reference(L::max()) + half_ulp_of_max;
  EXPECT_EQ(static_cast<T>(overflow), L::infinity());
  EXPECT_EQ(static_cast<T>(overflow * (1 - nudge)), L::max());
  EXPECT_EQ(static_cast<T>(-overflow), -L::infinity());
  EXPECT_EQ(static_cast<T>(-overflow * (1 - nudge)), L::lowest());
  // Half of denorm_min is a tie between 0 (even) and denorm_min: the zero keeps the sign.
  const Reference half_tiny = Reference(L::denorm_min()) / 2;
  EXPECT_TRUE(same_bits(static_cast<T>(half_tiny), T(0)));
  EXPECT_TRUE(same_bits(static_cast<T>(-half_tiny), -T(0)));
  EXPECT_EQ(static_cast<T>(half_tiny * (1 + nudge)), L::denorm_min());
  EXPECT_EQ(static_cast<T>(-half_tiny * (1 + nudge)), -L::denorm_min());
  EXPECT_EQ(static_cast<T>(3 * half_tiny), 2 * L::denorm_min());  // tie to even
  // Far below and above T's range.
  EXPECT_TRUE(same_bits(static_cast<T>(-ldexp(Reference(1), -5000)), -T(0)));
  EXPECT_EQ(static_cast<T>(ldexp(Reference(1), 5000)), L::infinity());
}

TEST(LiftMatrix, RoundToOfLiftGivesBackTheSameBits) {
  Matrix<float> m(2, 3);
  m << 1.5f, -0.0f, std::numeric_limits<float>::denorm_min(), -std::numeric_limits<float>::infinity(),
      std::numeric_limits<float>::max(), 0x1.fffffep-10f;
  const Matrix<Reference> lifted = lift<Reference>(m);
  const Matrix<float> back = round_to<float>(lifted);
  ASSERT_EQ(back.rows(), 2);
  ASSERT_EQ(back.cols(), 3);
  EXPECT_EQ(std::memcmp(back.data(), m.data(), sizeof(float) * 6), 0);
  EXPECT_NE(signbit(lifted(0, 1)), 0);
}

// ----------------------------------------------------------------------------------------
// Models.

Matrix<float> random_input(Rng& rng, Index n, Index d) {
  Matrix<float> x(n, d);
  for (Index k = 0; k < x.size(); ++k) x.data()[k] = static_cast<float>(rng.uniform(-2.0, 2.0));
  return x;
}

/// Each entry of `ref` lifted from the same-position entry of `src`, exactly.
template <class R>
::testing::AssertionResult exactly_lifted(const Matrix<float>& src, const Matrix<R>& ref) {
  if (src.rows() != ref.rows() || src.cols() != ref.cols())
    return ::testing::AssertionFailure() << "shapes differ";
  for (Index k = 0; k < src.size(); ++k) {
    if (ref.data()[k] != Reference(src.data()[k]) ||
        !same_bits(static_cast<float>(ref.data()[k]), src.data()[k]))
      return ::testing::AssertionFailure()
             << "entry " << k << ": " << src.data()[k] << " lifted to " << static_cast<double>(ref.data()[k]);
  }
  return ::testing::AssertionSuccess();
}

/// Whether every entry of y is within `ulps` ulps of the reference rounded to float, or,
/// for entries that cancel to near zero, within `ulps` float epsilons of the output's scale
/// (the largest |entry| of the reference): such an entry carries the absolute error of the
/// typical entry, which is many of its own ulps.
::testing::AssertionResult close_to_reference(const Matrix<float>& y, const Matrix<Reference>& y_ref,
                                              double ulps) {
  if (y.rows() != y_ref.rows() || y.cols() != y_ref.cols())
    return ::testing::AssertionFailure() << "shapes differ";
  const Reference unit = y_ref.cwiseAbs().maxCoeff() * Reference(std::numeric_limits<float>::epsilon());
  for (Index k = 0; k < y.size(); ++k) {
    const std::uint64_t d = ulp_distance_to_reference(y.data()[k], y_ref.data()[k], ZeroMode::Value);
    const auto in_units = static_cast<double>(abs(Reference(y.data()[k]) - y_ref.data()[k]) / unit);
    if (static_cast<double>(d) > ulps && !(in_units <= ulps))
      return ::testing::AssertionFailure() << "entry " << k << ": float " << y.data()[k] << " vs reference "
                                           << static_cast<double>(y_ref.data()[k]) << " (" << d << " ulps; "
                                           << in_units << " epsilons of the output scale)";
  }
  return ::testing::AssertionSuccess();
}

TEST(LiftSequential, ParametersGradientsAndBuffersAreExactlyTheLiftedValues) {
  const std::uint64_t seed = 71;
  SCOPED_TRACE(trace(seed));
  Rng rng(seed);
  Sequential<float> model(
      Architecture::parse("input(5),dense(6),batchnorm,relu,dense(3),layernorm,tanh,dense(2)"), seed);
  for (int i = 0; i < 3; ++i) {
    model.forward(random_input(rng, 8, 5), Mode::Train);
    model.backward(random_input(rng, 8, 2));
  }
  // The running statistics have moved off their initial 0 and 1.
  ASSERT_EQ(model.buffers().size(), 2u);
  ASSERT_NE(*model.buffers()[0].value, Matrix<float>::Zero(6, 1));

  Sequential<Reference> lifted = lift<Reference>(model);
  EXPECT_EQ(lifted.architecture(), model.architecture());
  EXPECT_EQ(lifted.seed(), model.seed());
  const auto src_p = model.parameters();
  const auto dst_p = lifted.parameters();
  ASSERT_EQ(src_p.size(), dst_p.size());
  for (std::size_t i = 0; i < src_p.size(); ++i) {
    EXPECT_EQ(dst_p[i].name, src_p[i].name);
    EXPECT_TRUE(exactly_lifted(*src_p[i].value, *dst_p[i].value)) << src_p[i].name;
    EXPECT_TRUE(exactly_lifted(*src_p[i].grad, *dst_p[i].grad)) << src_p[i].name << " gradient";
  }
  const auto src_b = model.buffers();
  const auto dst_b = lifted.buffers();
  ASSERT_EQ(src_b.size(), dst_b.size());
  for (std::size_t i = 0; i < src_b.size(); ++i) {
    EXPECT_EQ(dst_b[i].name, src_b[i].name);
    EXPECT_TRUE(exactly_lifted(*src_b[i].value, *dst_b[i].value)) << src_b[i].name;
  }
}

TEST(LiftSequential, EvalForwardRoundsToWithinAFewUlpsOfTheFloatForward) {
  const char* architectures[] = {
      "input(4),dense(8),relu,dense(3)",
      "input(4),dense(8),tanh,dense(8),tanh,dense(2)",
      "input(5),dense(6),batchnorm,relu,dense(2)",
      "input(5),dense(6),layernorm,tanh,dense(3)",
      "input(3),dense(16),batchnorm,tanh,dense(8),layernorm,relu,dense(1)",
  };
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    for (const char* arch : architectures) {
      SCOPED_TRACE(std::string(arch) + " " + trace(seed));
      Rng rng(seed);
      Sequential<float> model(Architecture::parse(arch), seed);
      // Train-mode forwards move batchnorm's running statistics away from 0 and 1.
      for (int i = 0; i < 3; ++i) model.forward(random_input(rng, 16, model.inputs()), Mode::Train);
      Sequential<Reference> lifted = lift<Reference>(model);
      const Matrix<float> x = random_input(rng, 32, model.inputs());
      const Matrix<float> y = model.forward(x, Mode::Eval);
      const Matrix<Reference> y_ref = lifted.forward(lift<Reference>(x), Mode::Eval);
      EXPECT_TRUE(close_to_reference(y, y_ref, 8));
      const ErrorSummary s = summarize_errors(y, y_ref, ZeroMode::Value);
      EXPECT_LE(s.median_ulp, 4u);
      EXPECT_EQ(s.nan_mismatches, 0);
    }
  }
}

TEST(LiftSequential, DropoutMasksReplayAfterThreeTrainForwards) {
  const std::uint64_t seed = 2024;
  SCOPED_TRACE(trace(seed));
  Rng rng(seed);
  const Architecture arch = Architecture::parse("input(6),dense(8),dropout");
  Sequential<float> model(arch, seed);
  Sequential<float> fresh(arch, seed);
  for (int i = 0; i < 3; ++i) model.forward(random_input(rng, 16, 6), Mode::Train);
  Sequential<Reference> lifted = lift<Reference>(model);

  const Matrix<float> x = random_input(rng, 16, 6);
  const Matrix<float> y = model.forward(x, Mode::Train);
  const Matrix<float> y_first_call = fresh.forward(x, Mode::Train);
  const Matrix<Reference> y_ref = lifted.forward(lift<Reference>(x), Mode::Train);
  // The fourth call's mask is not the first call's, so carrying the position matters.
  int differ_from_first = 0, dropped = 0;
  for (Index k = 0; k < y.size(); ++k) {
    differ_from_first += (y.data()[k] == 0) != (y_first_call.data()[k] == 0);
    dropped += y.data()[k] == 0;
    ASSERT_EQ(y_ref.data()[k] == 0, y.data()[k] == 0) << "mask differs at entry " << k;
  }
  EXPECT_TRUE(close_to_reference(y, y_ref, 8));
  EXPECT_GT(differ_from_first, 20);
  EXPECT_GT(dropped, 20);
  EXPECT_EQ(lifted.layer(1).random_state(), 4u);
  EXPECT_EQ(model.layer(1).random_state(), 4u);
}

// ----------------------------------------------------------------------------------------
// Data and optimizers.

TEST(LiftDataset, HoldsExactlyTheSameSamplesAndNames) {
  Dataset<float> d = regression_toy<float>(40, 3, 9);
  d.feature_names = {"a", "b", "c"};
  d.target_name = "y";
  d.x(0, 0) = -0.0f;
  d.x(1, 1) = std::numeric_limits<float>::denorm_min();
  const Dataset<Reference> lifted = lift<Reference>(d);
  EXPECT_TRUE(exactly_lifted(d.x, lifted.x));
  EXPECT_TRUE(exactly_lifted(d.y, lifted.y));
  EXPECT_NE(signbit(lifted.x(0, 0)), 0);
  EXPECT_EQ(lifted.feature_names, d.feature_names);
  EXPECT_EQ(lifted.target_name, d.target_name);
  EXPECT_NO_THROW(lifted.validate());
}

class LiftOptimizer : public ::testing::TestWithParam<const char*> {};

TEST_P(LiftOptimizer, CopiesEveryStateVectorAndStepCounterExactly) {
  const OptimizerSpec spec = parse_optimizer_spec(GetParam());
  const std::uint64_t seed = 31;
  SCOPED_TRACE(trace(seed));
  Rng rng(seed);
  auto opt = make_optimizer<float>(spec);
  // Two tensors with different sizes and step counts.
  const Index sizes[] = {5, 3};
  const int steps[] = {4, 2};
  std::vector<Vector<float>> params;
  for (int t = 0; t < 2; ++t) {
    params.push_back(random_input(rng, sizes[t], 1));
    for (int s = 0; s < steps[t]; ++s) {
      const Vector<float> g = random_input(rng, sizes[t], 1);
      opt->step_tensor(static_cast<std::size_t>(t), params.back().data(), g.data(), sizes[t], 0.05f);
    }
  }
  auto lifted = lift<Reference>(*opt);
  ASSERT_EQ(lifted->tensor_count(), opt->tensor_count());
  EXPECT_EQ(lifted->spec(), opt->spec());
  for (std::size_t t = 0; t < 2; ++t) {
    EXPECT_EQ(lifted->step_count(t), steps[t]);
    EXPECT_EQ(lifted->state_size(t), sizes[t]);
    const auto src = opt->state(t);
    const auto dst = lifted->state(t);
    ASSERT_FALSE(src.empty());
    ASSERT_EQ(dst.size(), src.size());
    for (std::size_t k = 0; k < src.size(); ++k) {
      EXPECT_EQ(dst[k].name, src[k].name);
      EXPECT_TRUE(exactly_lifted(Matrix<float>(*src[k].value), Matrix<Reference>(*dst[k].value)))
          << "tensor " << t << " " << src[k].name;
    }
  }
  // One more step of both from the same parameters and gradient stays close: the lifted
  // optimizer continues the float one rather than restarting.
  Vector<float> p = params[0];
  Vector<Reference> p_ref = p.cast<Reference>();
  const Vector<float> g = random_input(rng, sizes[0], 1);
  const Vector<Reference> g_ref = g.cast<Reference>();
  opt->step_tensor(0, p.data(), g.data(), sizes[0], 0.05f);
  lifted->step_tensor(0, p_ref.data(), g_ref.data(), sizes[0], Reference(0.05f));
  EXPECT_EQ(lifted->step_count(0), opt->step_count(0));
  const ErrorSummary s = summarize_errors(Matrix<float>(p), Matrix<Reference>(p_ref), ZeroMode::Value);
  EXPECT_LE(s.max_ulp, 8u) << "max relative error " << s.max_rel;
}

INSTANTIATE_TEST_SUITE_P(Rules, LiftOptimizer,
                         ::testing::Values("adam(lr=0.01,amsgrad=1)", "sgd(lr=0.1,momentum=0.9)",
                                           "rmsprop(lr=0.01,momentum=0.9,centered=1)",
                                           "adagrad(lr=0.1,initial_accumulator_value=0.1)"),
                         [](const auto& info) {
                           const std::string text = info.param;
                           return text.substr(0, text.find('('));
                         });

}  // namespace
}  // namespace zerolr
