// The optimizer driver's contract, common to every rule.
#include "zerolr/optim/optimizer.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace zerolr {
namespace {

using ::testing::HasSubstr;

TEST(Optimizer, ATensorThatChangedSizeIsRejectedBeforeAnyTensorSteps) {
  for (const char* spec :
       {"sgd(lr=0.1,momentum=0.9)", "adam(lr=0.1)", "adamw(lr=0.1)", "rmsprop(lr=0.1)", "adagrad(lr=0.1)"}) {
    auto opt = make_optimizer<double>(parse_optimizer_spec(spec));
    Matrix<double> a = Matrix<double>::Constant(2, 2, 1.0), ga = Matrix<double>::Constant(2, 2, 0.5);
    Matrix<double> b = Matrix<double>::Constant(3, 1, 1.0), gb = Matrix<double>::Constant(3, 1, 0.5);
    std::vector<ParamRef<double>> params{{"a", &a, &ga}, {"b", &b, &gb}};
    opt->step(params, 0.1);
    const Matrix<double> a_after_one = a;
    b.resize(4, 1);
    b.setConstant(1.0);
    gb.resize(4, 1);
    gb.setConstant(0.5);
    try {
      opt->step(params, 0.1);
      FAIL() << spec;
    } catch (const ShapeError& e) {
      EXPECT_THAT(e.what(), HasSubstr("('b') changed size from 3 to 4")) << spec;
    }
    EXPECT_EQ(a, a_after_one) << spec << ": the first tensor stepped before the error";
    EXPECT_EQ(opt->step_count(0), 1) << spec;
  }
}

TEST(Optimizer, ANegativeOrNonFiniteLearningRateIsRejectedAndChangesNothing) {
  auto opt = make_optimizer<float>(parse_optimizer_spec("adam"));
  Matrix<float> a = Matrix<float>::Constant(2, 1, 1.0f), ga = Matrix<float>::Constant(2, 1, 0.5f);
  std::vector<ParamRef<float>> params{{"a", &a, &ga}};
  EXPECT_THROW(opt->step(params, -1.0f), SpecError);
  EXPECT_THROW(opt->step(params, std::numeric_limits<float>::infinity()), SpecError);
  EXPECT_THROW(opt->step(params, std::numeric_limits<float>::quiet_NaN()), SpecError);
  EXPECT_EQ(opt->step_count(0), 0);
  EXPECT_EQ(a, Matrix<float>::Constant(2, 1, 1.0f));
}

}  // namespace
}  // namespace zerolr
