#include "zerolr/reference/replay.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace zerolr {
namespace {

using ::testing::HasSubstr;

DriftCase small_case(const std::string& opt, std::int64_t steps) {
  DriftCase c;
  c.arch = Architecture::parse("input(3),dense(8),tanh,dense(1)");
  c.optimizer = parse_optimizer_spec(opt);
  c.steps = steps;
  c.samples = 12;
  c.batch_size = 5;
  return c;
}

TEST(Replay, AtLrZeroBothRunsStayOnTheLiftedWeightsExactly) {
  for (const char* opt : {"adam(lr=0)", "sgd(lr=0,momentum=0.9)", "adamw(lr=0,weight_decay=0.1)",
                          "rmsprop(lr=0,centered=1)", "adagrad(lr=0)"}) {
    const auto c = small_case(opt, 6);
    for (const auto& run : {replay_drift<float>(c), replay_drift<double>(c)}) {
      ASSERT_EQ(run.points.size(), 6u);
      for (const auto& p : run.points) {
        EXPECT_EQ(p.weight_max_rel_error, 0.0) << opt << " " << run.scalar << " step " << p.step;
        EXPECT_EQ(p.weight_max_ulp, 0u) << opt << " " << run.scalar << " step " << p.step;
      }
    }
  }
}

TEST(Replay, DoubleDriftsFarLessThanFloatAndBothStaySmallOnAShortRun) {
  const auto c = small_case("sgd(lr=0.05,momentum=0.9)", 20);
  const auto f = replay_drift<float>(c);
  const auto d = replay_drift<double>(c);
  // The loss is a sum of a few dozen terms: its relative error is a small multiple of u.
  for (const auto& p : d.points) EXPECT_LT(p.loss_rel_error, 1e-13) << "step " << p.step;
  for (const auto& p : f.points) EXPECT_LT(p.loss_rel_error, 1e-4) << "step " << p.step;
  EXPECT_LT(d.points.back().weight_median_rel_error, f.points.back().weight_median_rel_error * 1e-6);
  EXPECT_GT(f.points.back().weight_median_rel_error + f.points.back().weight_max_rel_error, 0.0)
      << "float and float128 cannot agree to the last bit on 20 SGD steps";
}

TEST(Replay, TheLrOfEachStepIsTheExplicitSequenceRoundedToTheScalar) {
  auto c = small_case("adam", 4);
  c.lrs = {0.0, 0.1, 0.3};
  const auto f = replay_drift<float>(c);
  EXPECT_EQ(f.points[0].lr, 0.0);
  EXPECT_EQ(f.points[1].lr, static_cast<double>(0.1f));
  EXPECT_EQ(f.points[3].lr, static_cast<double>(0.3f));
  EXPECT_EQ(f.points[0].weight_max_rel_error, 0.0) << "a zero first step moves nothing";
}

TEST(Replay, TheReportHasATableRowPerPrintedStepAndAnSvgLinePerSeries) {
  const auto c = small_case("adam(lr=0.01)", 10);
  const std::vector<DriftRun> runs{replay_drift<float>(c), replay_drift<double>(c)};
  const std::string text = drift_text(c, runs, 5);
  EXPECT_THAT(text, HasSubstr("float32"));
  EXPECT_THAT(text, HasSubstr("float64"));
  const std::string svg = drift_svg(c, runs);
  EXPECT_EQ(svg.rfind("<svg", 0), 0u);
  EXPECT_THAT(svg, HasSubstr("</svg>"));
  std::size_t lines = 0;
  for (std::size_t at = svg.find("<polyline"); at != std::string::npos; at = svg.find("<polyline", at + 1))
    ++lines;
  EXPECT_EQ(lines, 6u);
}

TEST(Replay, BadCasesAreRejectedWithAReason) {
  auto c = small_case("adam", 0);
  EXPECT_THROW(replay_drift<double>(c), SpecError);
  c = small_case("adam", 3);
  c.lrs = {-1.0};
  EXPECT_THROW(replay_drift<double>(c), SpecError);
  c = small_case("adam", 3);
  c.arch = Architecture::parse("input(3),dense(2)");
  c.loss = LossSpec::parse("mse");
  try {
    replay_drift<double>(c);
    FAIL();
  } catch (const ShapeError& e) {
    EXPECT_THAT(e.what(), HasSubstr("target column"));
  }
}

}  // namespace
}  // namespace zerolr
