#include "zerolr/train/dataset.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <Eigen/QR>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <set>
#include <string>
#include <vector>

#include "zerolr/core.h"

namespace zerolr {
namespace {

using ::testing::HasSubstr;

/// Four samples with two features; row i holds (10 i, 10 i + 1) and target i.
Dataset<double> four_rows() {
  Dataset<double> d;
  d.x.resize(4, 2);
  d.y.resize(4, 1);
  for (Index i = 0; i < 4; ++i) {
    d.x(i, 0) = 10.0 * static_cast<double>(i);
    d.x(i, 1) = 10.0 * static_cast<double>(i) + 1;
    d.y(i, 0) = static_cast<double>(i);
  }
  d.feature_names = {"a", "b"};
  d.target_name = "t";
  return d;
}

template <class T>
bool same_bits(const Matrix<T>& a, const Matrix<T>& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::memcmp(a.data(), b.data(), sizeof(T) * static_cast<std::size_t>(a.size())) == 0;
}

template <class T>
bool same_bits(const Dataset<T>& a, const Dataset<T>& b) {
  return same_bits(a.x, b.x) && same_bits(a.y, b.y) && a.feature_names == b.feature_names &&
         a.target_name == b.target_name;
}

/// Each float entry is the float rounding of the double entry, bit for bit.
::testing::AssertionResult float_is_rounded_double(const Dataset<float>& f, const Dataset<double>& d) {
  if (f.x.rows() != d.x.rows() || f.x.cols() != d.x.cols() || f.y.rows() != d.y.rows() ||
      f.y.cols() != d.y.cols())
    return ::testing::AssertionFailure() << "shapes differ";
  auto check = [](const Matrix<float>& fm, const Matrix<double>& dm, const char* which) {
    for (Index i = 0; i < fm.rows(); ++i)
      for (Index j = 0; j < fm.cols(); ++j) {
        const float expected = static_cast<float>(dm(i, j));
        if (std::memcmp(&expected, &fm(i, j), sizeof(float)) != 0)
          return ::testing::AssertionFailure()
                 << which << "(" << i << ", " << j << "): " << fm(i, j) << " != float(" << dm(i, j) << ")";
      }
    return ::testing::AssertionSuccess();
  };
  const auto x = check(f.x, d.x, "x");
  if (!x) return x;
  return check(f.y, d.y, "y");
}

std::vector<std::string> names(Index d) {
  std::vector<std::string> out;
  for (Index j = 0; j < d; ++j) out.push_back("x" + std::to_string(j));
  return out;
}

template <class F>
std::string shape_error(F f) {
  try {
    f();
  } catch (const ShapeError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no ShapeError was thrown";
  return "";
}

// Dataset ---------------------------------------------------------------------------------

TEST(Dataset, ValidateAcceptsMatchingRowsAndNames) {
  Dataset<double> d = four_rows();
  EXPECT_NO_THROW(d.validate());
  d.feature_names.clear();
  EXPECT_NO_THROW(d.validate());
  EXPECT_EQ(d.size(), 4);
  EXPECT_EQ(d.features(), 2);
}

TEST(Dataset, ValidateRejectsDifferentRowCounts) {
  Dataset<double> d = four_rows();
  d.y.resize(3, 1);
  EXPECT_THAT(shape_error([&] { d.validate(); }), HasSubstr("x has 4 rows but y has 3"));
}

TEST(Dataset, ValidateRejectsAWrongNumberOfFeatureNames) {
  Dataset<float> d;
  d.x = Matrix<float>::Zero(2, 3);
  d.y = Matrix<float>::Zero(2, 1);
  d.feature_names = {"a", "b"};
  EXPECT_THAT(shape_error([&] { d.validate(); }), HasSubstr("2 feature names for 3 feature columns"));
}

TEST(Dataset, SubsetTakesTheRowsInTheGivenOrderWithRepeats) {
  const Dataset<double> d = four_rows();
  const Dataset<double> s = d.subset({3, 0, 3});
  ASSERT_EQ(s.size(), 3);
  EXPECT_EQ(s.x(0, 0), 30.0);
  EXPECT_EQ(s.x(0, 1), 31.0);
  EXPECT_EQ(s.x(1, 0), 0.0);
  EXPECT_EQ(s.x(2, 1), 31.0);
  EXPECT_EQ(s.y(0, 0), 3.0);
  EXPECT_EQ(s.y(1, 0), 0.0);
  EXPECT_EQ(s.feature_names, d.feature_names);
  EXPECT_EQ(s.target_name, "t");
}

TEST(Dataset, SubsetOfNoRowsIsEmptyButKeepsTheColumns) {
  const Dataset<double> s = four_rows().subset({});
  EXPECT_EQ(s.size(), 0);
  EXPECT_EQ(s.features(), 2);
  EXPECT_EQ(s.y.cols(), 1);
}

TEST(Dataset, SubsetRejectsRowsOutsideTheDataset) {
  const Dataset<double> d = four_rows();
  EXPECT_THAT(shape_error([&] { d.subset({0, 4}); }), HasSubstr("row 4 (entry 1) is outside [0, 4)"));
  EXPECT_THAT(shape_error([&] { d.subset({-1}); }), HasSubstr("row -1"));
}

TEST(Split, CutsAfterTheFirstSamplesAndKeepsTheNames) {
  const Dataset<double> d = four_rows();
  const auto [head, tail] = split(d, 1);
  ASSERT_EQ(head.size(), 1);
  ASSERT_EQ(tail.size(), 3);
  EXPECT_EQ(head.x(0, 1), 1.0);
  EXPECT_EQ(tail.x(0, 0), 10.0);
  EXPECT_EQ(tail.y(2, 0), 3.0);
  EXPECT_EQ(head.feature_names, d.feature_names);
  EXPECT_EQ(tail.target_name, "t");
}

TEST(Split, AtTheEndsGivesAnEmptyPart) {
  const Dataset<double> d = four_rows();
  const auto none_first = split(d, 0);
  EXPECT_EQ(none_first.first.size(), 0);
  EXPECT_EQ(none_first.first.features(), 2);
  EXPECT_TRUE(same_bits(none_first.second, d));
  const auto all_first = split(d, 4);
  EXPECT_TRUE(same_bits(all_first.first, d));
  EXPECT_EQ(all_first.second.size(), 0);
}

TEST(Split, RejectsACutOutsideTheDataset) {
  const Dataset<double> d = four_rows();
  EXPECT_THAT(shape_error([&] { split(d, 5); }), HasSubstr("5 first samples requested from a dataset of 4"));
  EXPECT_THAT(shape_error([&] { split(d, -1); }), HasSubstr("-1 first samples"));
}

TEST(Split, ThenConcatenatingGivesBackTheDataset) {
  const Dataset<float> d = uniform_random_labels<float>(17, 3, 5);
  const auto [a, b] = split(d, 6);
  Matrix<float> x(17, 3), y(17, 1);
  x << a.x, b.x;
  y << a.y, b.y;
  EXPECT_TRUE(same_bits(x, d.x));
  EXPECT_TRUE(same_bits(y, d.y));
}

// uniform_random_labels ---------------------------------------------------------------------

TEST(UniformRandomLabels, HasTheRequestedShapeAndNames) {
  const Dataset<double> d = uniform_random_labels<double>(50, 4, 1);
  EXPECT_EQ(d.x.rows(), 50);
  EXPECT_EQ(d.x.cols(), 4);
  EXPECT_EQ(d.y.rows(), 50);
  EXPECT_EQ(d.y.cols(), 1);
  EXPECT_EQ(d.feature_names, names(4));
  EXPECT_EQ(d.target_name, "y");
  EXPECT_NO_THROW(d.validate());
}

TEST(UniformRandomLabels, IsDeterministicInTheSeed) {
  EXPECT_TRUE(same_bits(uniform_random_labels<double>(40, 3, 9), uniform_random_labels<double>(40, 3, 9)));
  EXPECT_TRUE(same_bits(uniform_random_labels<float>(40, 3, 9), uniform_random_labels<float>(40, 3, 9)));
  EXPECT_FALSE(
      same_bits(uniform_random_labels<double>(40, 3, 9).x, uniform_random_labels<double>(40, 3, 10).x));
  EXPECT_FALSE(
      same_bits(uniform_random_labels<double>(40, 3, 9).y, uniform_random_labels<double>(40, 3, 10).y));
}

TEST(UniformRandomLabels, FeaturesLieInTheUnitIntervalAndLabelsAreZeroOrOne) {
  const std::uint64_t seed = 123;
  const Dataset<float> d = uniform_random_labels<float>(5000, 4, seed);
  EXPECT_GE(d.x.minCoeff(), 0.0f) << "seed " << seed;
  EXPECT_LT(d.x.maxCoeff(), 1.0f) << "seed " << seed;
  EXPECT_NEAR(d.x.mean(), 0.5f, 0.01f);
  int ones = 0;
  for (Index i = 0; i < d.size(); ++i) {
    ASSERT_TRUE(d.y(i, 0) == 0.0f || d.y(i, 0) == 1.0f) << d.y(i, 0);
    ones += d.y(i, 0) == 1.0f;
  }
  EXPECT_NEAR(ones / 5000.0, 0.5, 0.03);  // the standard error is 0.007
}

TEST(UniformRandomLabels, FloatIsTheRoundedDouble) {
  EXPECT_TRUE(float_is_rounded_double(uniform_random_labels<float>(300, 5, 77),
                                      uniform_random_labels<double>(300, 5, 77)));
}

TEST(UniformRandomLabels, RejectsEmptyShapes) {
  EXPECT_THAT(shape_error([] { uniform_random_labels<double>(0, 3, 1); }),
              HasSubstr("uniform_random_labels: n = 0 samples, need at least 1"));
  EXPECT_THAT(shape_error([] { uniform_random_labels<float>(3, 0, 1); }),
              HasSubstr("uniform_random_labels: d = 0 features, need at least 1"));
}

// regression_toy ------------------------------------------------------------------------------

TEST(RegressionToy, HasTheRequestedShapeAndNames) {
  const Dataset<float> d = regression_toy<float>(30, 6, 2);
  EXPECT_EQ(d.x.rows(), 30);
  EXPECT_EQ(d.x.cols(), 6);
  EXPECT_EQ(d.y.rows(), 30);
  EXPECT_EQ(d.y.cols(), 1);
  EXPECT_EQ(d.feature_names, names(6));
  EXPECT_EQ(d.target_name, "y");
}

TEST(RegressionToy, IsDeterministicInTheSeed) {
  EXPECT_TRUE(same_bits(regression_toy<double>(64, 3, 4), regression_toy<double>(64, 3, 4)));
  EXPECT_TRUE(same_bits(regression_toy<float>(64, 3, 4), regression_toy<float>(64, 3, 4)));
  EXPECT_FALSE(same_bits(regression_toy<double>(64, 3, 4).x, regression_toy<double>(64, 3, 5).x));
  EXPECT_FALSE(same_bits(regression_toy<double>(64, 3, 4).y, regression_toy<double>(64, 3, 5).y));
}

TEST(RegressionToy, FeaturesAreStandardNormal) {
  const Dataset<double> d = regression_toy<double>(20000, 3, 8);
  const double mean = d.x.mean();
  const double var = (d.x.array() - mean).square().mean();
  EXPECT_NEAR(mean, 0.0, 0.02);  // standard error 0.004
  EXPECT_NEAR(var, 1.0, 0.03);   // standard error 0.008
  EXPECT_TRUE(d.y.allFinite());
}

TEST(RegressionToy, TheTargetDependsOnTheFeaturesAndIsNoisy) {
  const std::uint64_t seed = 21;
  const Dataset<double> d = regression_toy<double>(4000, 3, seed);
  Matrix<double> a(d.size(), d.features() + 1);
  a << d.x, Matrix<double>::Ones(d.size(), 1);
  const Vector<double> coef = a.colPivHouseholderQr().solve(d.y.col(0));
  const Vector<double> residual = d.y.col(0) - a * coef;
  const double total = (d.y.array() - d.y.mean()).square().sum();
  const double r2 = 1.0 - residual.squaredNorm() / total;
  EXPECT_GT(r2, 0.8) << "seed " << seed;    // y is mostly 1.5 w.x near 0
  EXPECT_LT(r2, 0.999) << "seed " << seed;  // but not exactly linear: sin and noise
}

TEST(RegressionToy, FloatIsTheRoundedDouble) {
  EXPECT_TRUE(float_is_rounded_double(regression_toy<float>(300, 4, 3), regression_toy<double>(300, 4, 3)));
}

TEST(RegressionToy, RejectsEmptyShapes) {
  EXPECT_THAT(shape_error([] { regression_toy<double>(-1, 3, 1); }), HasSubstr("regression_toy: n = -1"));
  EXPECT_THAT(shape_error([] { regression_toy<double>(3, 0, 1); }), HasSubstr("regression_toy: d = 0"));
}

// classification_toy --------------------------------------------------------------------------

TEST(ClassificationToy, HasTheRequestedShapeAndNames) {
  const Dataset<double> d = classification_toy<double>(25, 2, 3, 6);
  EXPECT_EQ(d.x.rows(), 25);
  EXPECT_EQ(d.x.cols(), 2);
  EXPECT_EQ(d.y.rows(), 25);
  EXPECT_EQ(d.y.cols(), 1);
  EXPECT_EQ(d.feature_names, names(2));
  EXPECT_EQ(d.target_name, "y");
}

TEST(ClassificationToy, IsDeterministicInTheSeed) {
  EXPECT_TRUE(same_bits(classification_toy<double>(50, 2, 4, 1), classification_toy<double>(50, 2, 4, 1)));
  EXPECT_TRUE(same_bits(classification_toy<float>(50, 2, 4, 1), classification_toy<float>(50, 2, 4, 1)));
  EXPECT_FALSE(
      same_bits(classification_toy<double>(50, 2, 4, 1).x, classification_toy<double>(50, 2, 4, 2).x));
  EXPECT_FALSE(
      same_bits(classification_toy<double>(50, 2, 4, 1).y, classification_toy<double>(50, 2, 4, 2).y));
}

TEST(ClassificationToy, LabelsAreClassIndicesAndEveryClassOccurs) {
  const Index classes = 5;
  const Dataset<float> d = classification_toy<float>(2000, 3, classes, 13);
  std::set<float> seen;
  for (Index i = 0; i < d.size(); ++i) {
    const float label = d.y(i, 0);
    ASSERT_EQ(label, std::floor(label));
    ASSERT_GE(label, 0.0f);
    ASSERT_LT(label, static_cast<float>(classes));
    seen.insert(label);
  }
  EXPECT_EQ(seen.size(), static_cast<std::size_t>(classes));
}

TEST(ClassificationToy, TheClassesFormSeparableBlobs) {
  // A nearest-class-mean rule must beat chance (1/3) by far: the labels follow the features.
  const std::uint64_t seed = 17;
  const Index classes = 3;
  const Dataset<double> d = classification_toy<double>(3000, 4, classes, seed);
  Matrix<double> means = Matrix<double>::Zero(classes, d.features());
  Vector<double> counts = Vector<double>::Zero(classes);
  for (Index i = 0; i < d.size(); ++i) {
    const auto c = static_cast<Index>(d.y(i, 0));
    means.row(c) += d.x.row(i);
    counts(c) += 1;
  }
  for (Index c = 0; c < classes; ++c) means.row(c) /= counts(c);
  int correct = 0;
  for (Index i = 0; i < d.size(); ++i) {
    Index best = 0;
    (means.rowwise() - d.x.row(i)).rowwise().squaredNorm().minCoeff(&best);
    correct += best == static_cast<Index>(d.y(i, 0));
  }
  EXPECT_GT(correct / 3000.0, 0.8) << "seed " << seed;
}

TEST(ClassificationToy, FloatIsTheRoundedDouble) {
  EXPECT_TRUE(float_is_rounded_double(classification_toy<float>(300, 3, 4, 12),
                                      classification_toy<double>(300, 3, 4, 12)));
}

TEST(ClassificationToy, RejectsFewerThanTwoClassesAndEmptyShapes) {
  EXPECT_THAT(shape_error([] { classification_toy<double>(10, 2, 1, 1); }),
              HasSubstr("classification_toy: classes = 1, need at least 2"));
  EXPECT_THAT(shape_error([] { classification_toy<double>(0, 2, 3, 1); }),
              HasSubstr("classification_toy: n = 0"));
  EXPECT_THAT(shape_error([] { classification_toy<float>(5, 0, 3, 1); }),
              HasSubstr("classification_toy: d = 0"));
}

}  // namespace
}  // namespace zerolr
