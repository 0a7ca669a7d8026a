// The double-double oracle gives the float128 oracle's verdicts on audits: every built-in
// rule (the registry's defaults and a harder setting of each), judged by both references
// on the same 200 cases, has the same findings (property, class, count) and worst ratios
// that agree to the references' own resolution. reference/oracle.h says how they differ.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <tuple>
#include <vector>

#include "zerolr/audit/audit.h"
#include "zerolr/optim/spec.h"
#include "zerolr/reference/oracle.h"

namespace zerolr {
namespace {

std::vector<std::tuple<std::string, std::string, int>> summary(const AuditReport& r) {
  std::vector<std::tuple<std::string, std::string, int>> out;
  for (const auto& f : r.findings) out.emplace_back(f.property, to_string(f.cls), f.count);
  std::sort(out.begin(), out.end());
  return out;
}

AuditReport audit(const std::string& spec) {
  AuditOptions o;
  o.cases = 200;
  o.seed = 3;
  o.isolate = false;
  return run_audit(builtin_target(parse_optimizer_spec(spec)), o);
}

TEST(OracleVerdicts, EveryRuleGetsTheSameVerdictFromBothReferences) {
  std::vector<std::string> specs = optimizer_defaults();
  // Settings where eps, decay and the coefficients matter more.
  for (const char* s : {"adam(lr=0.1,eps=1e-30,weight_decay=0.5,amsgrad=1)", "rmsprop(lr=0.01,centered=1,momentum=0.9)",
                        "nadam(lr=0.1,momentum_decay=0.04,weight_decay=0.1)", "radam(lr=0.1,beta2=0.9)",
                        "asgd(lr=0.5,lambd=0.1,alpha=0.5,t0=2)", "lion(lr=0.1,weight_decay=1)"})
    specs.emplace_back(s);
  int fallbacks = 0;
  for (const std::string& spec : specs) {
    SCOPED_TRACE(spec);
    const std::uint64_t before = oracle::counts().fallbacks;
    const AuditReport dd = audit(spec);
    fallbacks += static_cast<int>(oracle::counts().fallbacks - before);
    AuditReport q;
    {
      oracle::ScopedFloat128 only;
      q = audit(spec);
    }
    EXPECT_EQ(summary(dd), summary(q));
    EXPECT_EQ(dd.passed(), q.passed());
    EXPECT_NEAR(dd.worst_ratio_f64, q.worst_ratio_f64, 1e-9 * q.worst_ratio_f64);
    EXPECT_NEAR(dd.worst_ratio_f32, q.worst_ratio_f32, 1e-9 * q.worst_ratio_f32);
  }
  // The generated cases include non-finite gradients and range edges: some runs fall back.
  EXPECT_GT(fallbacks, 0);
  RecordProperty("fallbacks", fallbacks);
}

}  // namespace
}  // namespace zerolr
