// Learning-rate schedules against their closed forms, their text form and their errors.

#include "zerolr/optim/schedule.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <numbers>
#include <string>

#include "zerolr/core.h"

namespace zerolr {
namespace {

using testing::AllOf;
using testing::HasSubstr;

std::string schedule_error(const std::string& text) {
  try {
    Schedule::parse(text);
  } catch (const SpecError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no SpecError for \"" << text << "\"";
  return "<no error>";
}

void expect_finite_non_negative(const Schedule& s, std::int64_t up_to) {
  for (std::int64_t t = 0; t <= up_to; ++t) {
    const double f = s.factor(t);
    ASSERT_TRUE(std::isfinite(f)) << s.to_string() << " t=" << t;
    ASSERT_GE(f, 0.0) << s.to_string() << " t=" << t;
  }
}

TEST(Schedule, ConstantIsOneAtEveryStep) {
  const Schedule s;
  EXPECT_EQ(s.kind(), Schedule::Kind::Constant);
  for (std::int64_t t : {0, 1, 7, 1000000}) EXPECT_EQ(s.factor(t), 1.0);
  EXPECT_EQ(Schedule::constant().lr(0.25, 9), 0.25);
  EXPECT_EQ(s.to_string(), "constant");
}

TEST(Schedule, StepMultipliesByGammaEveryStepSizeSteps) {
  const Schedule s = Schedule::step(2, 0.5);
  EXPECT_EQ(s.kind(), Schedule::Kind::Step);
  const double literal[] = {1, 1, 0.5, 0.5, 0.25, 0.25, 0.125};
  for (std::int64_t t = 0; t < 7; ++t) EXPECT_EQ(s.factor(t), literal[t]) << t;
  const Schedule g = Schedule::step(3, 0.7);
  for (std::int64_t t = 0; t < 60; ++t)
    EXPECT_DOUBLE_EQ(g.factor(t), std::pow(0.7, static_cast<double>(t / 3))) << t;
  EXPECT_DOUBLE_EQ(g.lr(0.1, 7), 0.1 * 0.49);
}

TEST(Schedule, CosineFollowsTheClosedForm) {
  const Schedule s = Schedule::cosine(10, 0.1);
  EXPECT_EQ(s.kind(), Schedule::Kind::Cosine);
  EXPECT_EQ(s.factor(0), 1.0);
  EXPECT_DOUBLE_EQ(s.factor(10), 0.1);
  EXPECT_DOUBLE_EQ(s.factor(5), 0.55);
  for (std::int64_t t = 0; t <= 30; ++t) {
    const double want = 0.1 + 0.9 * (1 + std::cos(std::numbers::pi * static_cast<double>(t) / 10)) / 2;
    EXPECT_DOUBLE_EQ(s.factor(t), want) << t;
  }
  EXPECT_NEAR(Schedule::cosine(4).factor(4), 0.0, 1e-16);
}

TEST(Schedule, LinearFollowsTheClosedFormAndHoldsItsEnd) {
  const Schedule s = Schedule::linear(0.25, 0.75, 4);
  EXPECT_EQ(s.kind(), Schedule::Kind::Linear);
  const double literal[] = {0.25, 0.375, 0.5, 0.625, 0.75, 0.75, 0.75};
  for (std::int64_t t = 0; t < 7; ++t) EXPECT_EQ(s.factor(t), literal[t]) << t;
  const Schedule down = Schedule::linear(0.9, 0.1, 7);
  for (std::int64_t t = 0; t <= 20; ++t) {
    const double want = 0.9 + (0.1 - 0.9) * static_cast<double>(std::min<std::int64_t>(t, 7)) / 7;
    EXPECT_DOUBLE_EQ(down.factor(t), want) << t;
  }
  EXPECT_EQ(down.factor(7), 0.1) << "the end factor is exact";
}

TEST(Schedule, LinearFromAStartFactorOfZeroStartsAtExactlyZeroWithoutNanOrInf) {
  const Schedule s = Schedule::linear(0, 1, 10);
  EXPECT_EQ(s.factor(0), 0.0);
  EXPECT_DOUBLE_EQ(s.factor(3), 0.3);
  EXPECT_EQ(s.factor(10), 1.0);
  expect_finite_non_negative(s, 50);
  const Schedule zeros = Schedule::linear(0, 0, 3);
  for (std::int64_t t = 0; t < 10; ++t) EXPECT_EQ(zeros.factor(t), 0.0);
  const Schedule to_zero = Schedule::linear(1, 0, 3);
  EXPECT_EQ(to_zero.factor(3), 0.0);
  expect_finite_non_negative(to_zero, 10);
  EXPECT_EQ(Schedule::parse("linear(start_factor=0,end_factor=1,steps=4)").factor(0), 0.0);
}

TEST(Schedule, SequenceHoldsItsLastFactor) {
  const Schedule s = Schedule::sequence({1, 0.5, 0, 2});
  EXPECT_EQ(s.kind(), Schedule::Kind::Sequence);
  EXPECT_EQ(s.factor(0), 1.0);
  EXPECT_EQ(s.factor(1), 0.5);
  EXPECT_EQ(s.factor(2), 0.0);
  EXPECT_EQ(s.factor(3), 2.0);
  EXPECT_EQ(s.factor(1000), 2.0);
}

TEST(Schedule, WarmupRampsLinearlyThenChainsTheShiftedSchedule) {
  const Schedule after = Schedule::step(3, 0.5);
  const Schedule s = Schedule::warmup(4, 0.2, after);
  for (std::int64_t t = 0; t < 4; ++t)
    EXPECT_DOUBLE_EQ(s.factor(t), 0.2 + 0.8 * static_cast<double>(t) / 4) << t;
  for (std::int64_t t = 4; t < 30; ++t) EXPECT_EQ(s.factor(t), after.factor(t - 4)) << t;
  const Schedule from_zero = Schedule::warmup(5, 0, Schedule::cosine(10));
  EXPECT_EQ(from_zero.factor(0), 0.0);
  EXPECT_EQ(from_zero.factor(5), 1.0);
  expect_finite_non_negative(from_zero, 40);
  EXPECT_THROW(Schedule::warmup(2, 0.5, s), SpecError) << "a warm-up has no warm-up of its own";
}

TEST(Schedule, FactorsStayFiniteAndNonNegativeAtHugeSteps) {
  const std::int64_t big = std::numeric_limits<std::int64_t>::max();
  for (const Schedule& s : {Schedule::step(1, 2.0), Schedule::step(1, 0.5), Schedule::step(7, 0.0),
                            Schedule::cosine(3, 0), Schedule::linear(0, 1, 5), Schedule::sequence({0.5, 3}),
                            Schedule::warmup(10, 0, Schedule::step(1, 1.5))}) {
    for (std::int64_t t : {std::int64_t{0}, std::int64_t{1}, std::int64_t{1} << 40, big - 1, big}) {
      const double f = s.factor(t);
      EXPECT_TRUE(std::isfinite(f)) << s.to_string() << " t=" << t;
      EXPECT_GE(f, 0.0) << s.to_string() << " t=" << t;
    }
  }
  EXPECT_EQ(Schedule::step(1, 2.0).factor(3), 8.0);
  EXPECT_THROW(Schedule().factor(-1), Error);
}

TEST(Schedule, TextFormRoundTripsToTheSameFactors) {
  const Schedule cases[] = {
      Schedule(),
      Schedule::step(3, 0.1),
      Schedule::step(1, 1e+20),
      Schedule::cosine(100, 0.05),
      Schedule::linear(1.0 / 3, 1, 5),
      Schedule::linear(0, 0.7, 9),
      Schedule::sequence({1, 0.1, 1e-30, 0}),
      Schedule::warmup(5, 0, Schedule::cosine(50, 0.1)),
      Schedule::warmup(2, 0.5, Schedule::sequence({3e-7, 1e+300})),
      Schedule::warmup(1, 1, Schedule()),
  };
  for (const Schedule& s : cases) {
    const std::string text = s.to_string();
    const Schedule back = Schedule::parse(text);
    EXPECT_EQ(back.to_string(), text);
    EXPECT_EQ(back.kind(), s.kind()) << text;
    for (std::int64_t t = 0; t < 120; ++t) ASSERT_EQ(back.factor(t), s.factor(t)) << text << " t=" << t;
  }
  EXPECT_EQ(Schedule::warmup(5, 0, Schedule::cosine(50, 0.1)).to_string(),
            "warmup(steps=5,start_factor=0)+cosine(t_max=50,min_factor=0.1)");
}

TEST(Schedule, ParseFillsDefaultsAndAcceptsPositionalValuesAndWhitespace) {
  const Schedule step = Schedule::parse("step(10)");
  EXPECT_EQ(step.to_string(), "step(step_size=10,gamma=0.1)");
  EXPECT_EQ(Schedule::parse(" cosine ( t_max = 20 ) ").to_string(), "cosine(t_max=20,min_factor=0)");
  EXPECT_EQ(Schedule::parse("linear").to_string(), Schedule::linear(1.0 / 3, 1, 5).to_string());
  EXPECT_EQ(Schedule::parse("sequence(1, 0.5 ,0.25)").factor(5), 0.25);
  EXPECT_EQ(Schedule::parse("warmup(3)").to_string(), "warmup(steps=3,start_factor=0)+constant");
  EXPECT_EQ(Schedule::parse("warmup(steps=3,start_factor=0.5) + step(2,gamma=0.5)").factor(5), 0.5);
  EXPECT_EQ(Schedule::parse("constant()").kind(), Schedule::Kind::Constant);
}

TEST(Schedule, ParseErrorsNameTheOffendingPart) {
  EXPECT_THAT(schedule_error("exponential(0.9)"),
              AllOf(HasSubstr("unknown schedule 'exponential'"), HasSubstr("cosine")));
  EXPECT_THAT(schedule_error("step(step_size=2,decay=0.5)"),
              AllOf(HasSubstr("unknown key 'decay'"), HasSubstr("step_size, gamma")));
  EXPECT_THAT(schedule_error("step(gamma=0.5)"), HasSubstr("needs step_size"));
  EXPECT_THAT(schedule_error("step(0)"), HasSubstr("step_size=0 must be >= 1"));
  EXPECT_THAT(schedule_error("step(2,gamma=-0.5)"), HasSubstr("gamma=-0.5 is out of range [0, inf)"));
  EXPECT_THAT(schedule_error("cosine(t_max=0)"), HasSubstr("t_max=0 must be >= 1"));
  EXPECT_THAT(schedule_error("cosine(t_max=1.5)"),
              AllOf(HasSubstr("t_max=1.5"), HasSubstr("not an integer")));
  EXPECT_THAT(schedule_error("cosine(10,min_factor=1.5)"),
              HasSubstr("min_factor=1.5 is out of range [0, 1]"));
  EXPECT_THAT(schedule_error("linear(start_factor=-0.1)"),
              HasSubstr("start_factor=-0.1 is out of range [0, 1]"));
  EXPECT_THAT(schedule_error("linear(end_factor=2)"), HasSubstr("end_factor=2 is out of range [0, 1]"));
  EXPECT_THAT(schedule_error("linear(steps=0)"), HasSubstr("steps=0 must be >= 1"));
  EXPECT_THAT(schedule_error("linear(steps=2,steps=3)"), HasSubstr("key 'steps' is given twice"));
  EXPECT_THAT(schedule_error("sequence()"), HasSubstr("at least one factor"));
  EXPECT_THAT(schedule_error("sequence(1,-1)"), HasSubstr("factor 1=-1 is out of range [0, inf)"));
  EXPECT_THAT(schedule_error("sequence(1,nan)"), HasSubstr("must be finite"));
  EXPECT_THAT(schedule_error("sequence(x=1)"), HasSubstr("bare factors"));
  EXPECT_THAT(schedule_error("constant(1)"), HasSubstr("takes no arguments"));
  EXPECT_THAT(schedule_error("warmup(steps=0)+constant"), HasSubstr("steps=0 must be >= 1"));
  EXPECT_THAT(schedule_error("warmup(2,start_factor=1.5)"), HasSubstr("start_factor=1.5 is out of range"));
  EXPECT_THAT(schedule_error("warmup(start_factor=0.5)"), HasSubstr("needs steps"));
  EXPECT_THAT(schedule_error("warmup(2)+warmup(3)+constant"), HasSubstr("at most one '+'"));
  EXPECT_THAT(schedule_error("warmup(2)+warmup(3)"), HasSubstr("warm-up must come first"));
  EXPECT_THAT(schedule_error("cosine(5)+warmup(2)"), HasSubstr("only a warm-up can come before '+'"));
  EXPECT_THAT(schedule_error("warmup(2)+"), HasSubstr("empty schedule"));
  EXPECT_THAT(schedule_error(""), HasSubstr("empty schedule"));
  EXPECT_THAT(schedule_error("cosine(t_max=5"), HasSubstr("missing ')'"));
  EXPECT_THAT(schedule_error("cosine(5) extra"), HasSubstr("unexpected 'e'"));
}

TEST(Schedule, FactoriesValidateTheirArguments) {
  EXPECT_THROW(Schedule::step(0, 0.5), SpecError);
  EXPECT_THROW(Schedule::step(1, std::numeric_limits<double>::infinity()), SpecError);
  EXPECT_THROW(Schedule::step(1, std::nan("")), SpecError);
  EXPECT_THROW(Schedule::cosine(0), SpecError);
  EXPECT_THROW(Schedule::cosine(5, -0.1), SpecError);
  EXPECT_THROW(Schedule::linear(0, 1.5, 3), SpecError);
  EXPECT_THROW(Schedule::linear(0, 1, 0), SpecError);
  EXPECT_THROW(Schedule::sequence({}), SpecError);
  EXPECT_THROW(Schedule::sequence({1, std::numeric_limits<double>::infinity()}), SpecError);
  EXPECT_THROW(Schedule::warmup(0, 0, Schedule()), SpecError);
  EXPECT_NO_THROW(Schedule::step(1, 0));
  EXPECT_NO_THROW(Schedule::linear(0, 0, 1));
}

}  // namespace
}  // namespace zerolr
