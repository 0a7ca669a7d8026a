// The audit engine: built-in optimizers pass their own audit; the broken example, crashing,
// hanging and lying plug-ins are caught with small counterexamples that replay exactly.
#include "zerolr/audit/audit.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>

#include "zerolr/audit/plugin_loader.h"

namespace zerolr {
namespace {

using ::testing::HasSubstr;

const AuditFinding* find(const AuditReport& r, const std::string& property, FindingClass cls) {
  for (const auto& f : r.findings)
    if (f.property == property && f.cls == cls) return &f;
  return nullptr;
}

AuditOptions quick(int cases, std::uint64_t seed = 1) {
  AuditOptions o;
  o.cases = cases;
  o.seed = seed;
  o.timeout_ms = 3000;
  return o;
}

TEST(Audit, EveryBuiltInOptimizerPassesItsOwnAudit) {
  for (const char* spec :
       {"sgd(momentum=0.9,dampening=0.5,weight_decay=0.1)", "sgd(momentum=0.5,nesterov=1)",
        "adam(amsgrad=1,weight_decay=0.01)", "adamw(beta2=0.9999999,eps=1e-30)",
        "rmsprop(centered=1,momentum=0.9,weight_decay=0.01)", "adagrad(lr_decay=0.1,eps=0)"}) {
    const AuditReport r = run_audit(builtin_target(parse_optimizer_spec(spec)), quick(300, 7));
    EXPECT_TRUE(r.passed()) << spec << ": " << report_json(r);
    EXPECT_EQ(r.cases, 300);
    EXPECT_LE(r.worst_ratio_f64, 1.0) << spec;
    EXPECT_LE(r.worst_ratio_f32, 1.0) << spec;
    EXPECT_GT(r.worst_ratio_f64, 0.0) << spec << ": no agreement case was judged";
    // The hazards and notes every PyTorch-semantics optimizer shares.
    EXPECT_NE(find(r, "non_finite", FindingClass::Hazard), nullptr) << spec;
  }
}

TEST(Audit, TheBrokenExampleIsCaughtWithAOneStepOneParameterCounterexample) {
  const AuditReport r = run_audit(plugin_target(ZLR_EXAMPLE_BROKEN_ADAMW), quick(200));
  EXPECT_FALSE(r.passed());
  const AuditFinding* f = find(r, "freeze", FindingClass::Violation);
  ASSERT_NE(f, nullptr) << report_json(r);
  EXPECT_THAT(f->counterexample, HasSubstr("n = 1, 1 step(s)"));
  EXPECT_THAT(f->message, HasSubstr("at lr = 0"));
  // The token replays the same finding exactly.
  const auto again = replay_token(plugin_target(ZLR_EXAMPLE_BROKEN_ADAMW), f->reproduce, quick(1));
  ASSERT_FALSE(again.empty());
  EXPECT_EQ(again[0].property, "freeze");
  EXPECT_EQ(again[0].message, f->message.substr(0, again[0].message.size()));
  EXPECT_NE(find(r, "agreement", FindingClass::Violation), nullptr);
  EXPECT_NE(find(r, "freeze(model)", FindingClass::Violation), nullptr);
}

TEST(Audit, TheCorrectExamplePasses) {
  const AuditReport r = run_audit(plugin_target(ZLR_EXAMPLE_ADAMW), quick(200));
  EXPECT_TRUE(r.passed()) << report_json(r);
  EXPECT_TRUE(r.has_f32);
}

TEST(Audit, APlugInThatCrashesIsReportedAndTheAuditCarriesOn) {
  const AuditReport r = run_audit(plugin_target(ZLR_BAD_PLUGIN_CRASH_ON_STEP), quick(20));
  EXPECT_EQ(r.cases, 20);
  EXPECT_FALSE(r.passed());
  bool crash = false;
  for (const auto& f : r.findings)
    crash = crash || f.message.find("crashed with signal") != std::string::npos;
  EXPECT_TRUE(crash) << report_json(r);
}

TEST(Audit, APlugInThatHangsIsReportedAfterTheTimeout) {
  // The plug-in hangs on a step with lr > 0.5: a token with lr 1 hangs, exactly and every time.
  AuditOptions o = quick(1);
  o.timeout_ms = 300;
  const std::string token = "zerolr-vec-v1|scalar=double|check=run|params=0x1p+0|lrs=0x1p+0|grads=0x1p-1";
  const auto found = replay_token(plugin_target(ZLR_BAD_PLUGIN_HANG_ON_STEP), token, o);
  ASSERT_EQ(found.size(), 1u);
  EXPECT_EQ(found[0].property, "run");
  EXPECT_EQ(found[0].cls, FindingClass::Violation);
  EXPECT_EQ(found[0].message, "hung: no result within 300 ms");
}

// An implementation that hangs on every case but the first step of each: the hang is reported
// with a shrunk counterexample, later cases get a shorter timeout, and after three hangs of a
// check its remaining cases are skipped (and counted).
TEST(Audit, AnImplementationThatAlwaysHangsIsReportedAndItsChecksStopEarly) {
  AuditOptions o = quick(200);
  o.timeout_ms = 500;
  const AuditReport r = run_audit(plugin_target(ZLR_BAD_PLUGIN_HANG_AFTER_FIRST), o);
  EXPECT_FALSE(r.passed());
  EXPECT_GT(r.skipped, 0) << report_json(r);
  EXPECT_EQ(r.cases + r.skipped, 200);
  const AuditFinding* hang = nullptr;
  for (const auto& f : r.findings)
    if (f.message.rfind("hung: no result within", 0) == 0) hang = &f;
  ASSERT_NE(hang, nullptr) << report_json(r);
  EXPECT_EQ(hang->cls, FindingClass::Violation);
  // Shrunk to two steps: the first returns, the second hangs.
  EXPECT_THAT(hang->counterexample, HasSubstr("2 step(s)"));
  EXPECT_FALSE(hang->reproduce.empty());
}

TEST(Audit, ARefusalThatChangesParametersIsAViolation) {
  const AuditReport r = run_audit(plugin_target(ZLR_BAD_PLUGIN_LYING_REFUSAL), quick(30));
  const AuditFinding* f = find(r, "refusal", FindingClass::Violation);
  ASSERT_NE(f, nullptr) << report_json(r);
  EXPECT_THAT(f->message, HasSubstr("but changed params["));
}

// Agreement from non-finite starting parameters: a rule that keeps NaN and inf where they are
// agrees with the reference (NaN with NaN, inf with the same inf); an implementation that
// turns a finite parameter into NaN where the rule does not still disagrees.
TEST(Audit, AgreementAcceptsTheSameNonFiniteValuesAndRejectsOthers) {
  const double nan = std::numeric_limits<double>::quiet_NaN(), inf = std::numeric_limits<double>::infinity();
  std::vector<std::string> specs = optimizer_defaults();  // every registered rule, and options
  specs.insert(specs.end(), {"sgd(lr=0.1,momentum=0.9)", "adamw(weight_decay=0.1)"});
  for (const std::string& spec : specs) {
    for (Scalar scalar : {Scalar::Double, Scalar::Float}) {
      VectorCase vc;
      vc.scalar = scalar;
      vc.check = "agreement";
      vc.params = {nan, inf, -inf, 0.5};
      vc.grads = {{0.25, -0.5, 1.0, 0.125}, {0.5, 0.25, -0.25, -1.0}};
      vc.lrs = {0.01, 0.001};
      const auto findings = check_vector_case(builtin_target(parse_optimizer_spec(spec)), vc);
      for (const auto& f : findings)
        EXPECT_NE(f.cls, FindingClass::Violation) << spec << ": " << f.property << ": " << f.message;
    }
  }
  // The broken example (decay not scaled by lr) still disagrees on such a case: the finite
  // entry moves differently.
  VectorCase vc;
  vc.check = "agreement";
  vc.params = {nan, 0.5};
  vc.grads = {{0.25, 0.25}};
  vc.lrs = {0.0};
  const auto broken = check_vector_case(plugin_target(ZLR_EXAMPLE_BROKEN_ADAMW), vc);
  bool violation = false;
  for (const auto& f : broken) violation = violation || f.cls == FindingClass::Violation;
  EXPECT_TRUE(violation);
}

TEST(VectorCaseToken, RoundTripsExactlyAndRejectsMalformedTokens) {
  VectorCase vc;
  vc.scalar = Scalar::Float;
  vc.check = "warmup";
  vc.params = {-0.0, 0x1.8p-149, 1e30};
  vc.grads = {{1, 2, 3},
              {std::numeric_limits<double>::quiet_NaN(), -std::numeric_limits<double>::infinity(), 0}};
  vc.lrs = {0, 0.1};
  const VectorCase back = VectorCase::parse(vc.token());
  EXPECT_EQ(back.token(), vc.token());
  EXPECT_TRUE(std::signbit(back.params[0]));
  EXPECT_TRUE(std::isnan(back.grads[1][0]));
  auto error_of = [](const std::string& t) {
    try {
      VectorCase::parse(t);
    } catch (const SpecError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_THAT(error_of("nonsense"), HasSubstr("must start with"));
  EXPECT_THAT(error_of("zerolr-vec-v1|scalar=double|check=freeze|params=1|lrs=0,0|grads=1"),
              HasSubstr("1 gradients for 2 lrs"));
  EXPECT_THAT(error_of("zerolr-vec-v1|scalar=double|check=freeze|params=1,2|lrs=0|grads=1"),
              HasSubstr("length differs"));
  EXPECT_THAT(error_of("zerolr-vec-v1|scalar=double|check=melt|params=1|lrs=0|grads=1"),
              HasSubstr("unknown check"));
  EXPECT_THAT(error_of("zerolr-vec-v1|scalar=double|check=freeze|params=1|lrs=-1|grads=1"), HasSubstr("lr"));
  EXPECT_THAT(error_of("zerolr-vec-v1|scalar=double|check=freeze|params=1|lrs=0"),
              HasSubstr("'grads' is missing"));
}

TEST(Audit, TheJsonReportHasTheDocumentedFields) {
  const AuditReport r = run_audit(plugin_target(ZLR_EXAMPLE_BROKEN_ADAMW), quick(20));
  const std::string j = report_json(r);
  for (const char* key : {"\"verdict\": \"fail\"", "\"optimizer\"", "\"claims\"", "\"cases\": 20",
                          "\"seconds\"", "\"findings\"", "\"property\"", "\"class\"", "\"message\"",
                          "\"counterexample\"", "\"reproduce\"", "\"drift\""})
    EXPECT_THAT(j, HasSubstr(key));
}

}  // namespace
}  // namespace zerolr
