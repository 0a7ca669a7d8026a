#pragma once
/// \file
/// The audit: the property battery run against one optimizer implementation, built in or a
/// plug-in, with every finding shrunk to a small counterexample that replays from a token.
///
/// Cases come in two kinds:
/// - vector cases: a flat parameter vector, a gradient per step and an lr per step, with the
///   magnitudes and special values the generators use (exact and negative zeros, tiny and
///   huge values, subnormals, doubles not representable in float, NaN and inf where the check
///   asks for them), fed to the optimizer directly;
/// - model cases (audit/case.h): gradients taken from generated models, judged by the
///   library's properties (freeze, non_finite) with the optimizer under test.
///
/// Checks on vector cases, each a property named in findings (audit/properties.h):
/// - freeze: a step at lr = 0 with finite gradients, whatever came before it (schedules that
///   fall to zero, jump to zero, or start with a zero warm-up), keeps every parameter's value
///   and makes no NaN or inf (violation). When the claimed rule itself moves the parameter
///   there (Rprop, ASGD) and the implementation does what the rule does, the finding is of
///   class `rule`: the rule's own behaviour, reported with its counterexample, not a
///   violation. Without claims the same movement is a violation;
/// - agreement: with claims, the trajectory stays within the trajectory budget of the
///   exact reference of the claimed rule on the same inputs (violation otherwise); the
///   budget grows with zerolr's own error on the case, so a case that is hard for the working
///   precision (overflow of g*g in float, say) is not blamed on the implementation;
/// - warmup: the same agreement after a zero warm-up: state must advance at lr = 0 exactly as
///   the claimed rule says;
/// - run: positive lrs up to about 3, judged only for refusals, crashes and hangs;
/// - refusal: a refused step must leave the parameters bit-identical, and only an
///   implementation that may refuse refuses;
/// - exception: the optimizer raised (a worker's exception) instead of stepping: a violation
///   of its own, never taken for a refusal;
/// - rule_hazard: a NaN or inf from finite gradients that the claimed rule produces too, in exact
///   arithmetic (a 0/0 of its settings, such as Adagrad with eps = 0 on a zero gradient) or
///   in the working precision's range (g*g overflowing in float), is a hazard of the rule,
///   not a violation of the implementation;
/// - non_finite: a NaN or inf gradient at lr = 0 that reaches the parameters is a hazard;
/// - signed_zero: -0.0 with a negative gradient at lr = 0 turning into +0.0 is a note.
/// A crash or a hang of the implementation on a case is a violation of the check that ran.
/// Once the implementation has hung, later cases run with a timeout scaled from its normal
/// case time (20 times the slowest, at least 100 ms), and after three hangs of one check the
/// check's remaining cases are skipped (the report counts them): an implementation that
/// always hangs is audited in seconds, not minutes.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "zerolr/audit/case.h"
#include "zerolr/audit/properties.h"
#include "zerolr/audit/target.h"

namespace zerolr {

struct AuditFinding {
  std::string property;
  FindingClass cls = FindingClass::Violation;
  std::string message;
  std::string counterexample;  ///< readable, shrunk
  std::string reproduce;       ///< a vector-case or case token
  int count = 1;               ///< how many cases showed this property and class
};

struct AuditOptions {
  int cases = 200;
  std::uint64_t seed = 1;
  int steps = 6;          ///< steps per vector case (shrinking may lower it)
  int timeout_ms = 2000;  ///< per case
  bool isolate = true;    ///< run in-process implementations in a child process per case
  std::function<void(int done, int total)> progress;  ///< called after each case
};

struct AuditReport {
  std::string optimizer;  ///< plug-in name or spec
  std::string claims;     ///< the claimed spec, or ""
  int cases = 0;
  int skipped = 0;  ///< cases not run after their check hung three times
  double seconds = 0;
  std::vector<AuditFinding> findings;
  std::vector<std::string> unchecked;  ///< options no rule checks
  std::vector<std::string> notes;
  /// Worst trajectory error / budget over the agreement cases, float and double.
  double worst_ratio_f32 = 0, worst_ratio_f64 = 0;
  bool has_f32 = false;
  bool passed() const;  ///< no violation
};

/// Runs the whole audit.
AuditReport run_audit(const AuditTarget& target, const AuditOptions& options);

/// Runs ONE vector case in this process (no child, no timeout, no shrinking) against the
/// target, with exactly the checks run_audit applies to it; the fuzz targets call this.
/// A target with a remote executor runs the case there.
/// requires: vc as VectorCase::parse accepts it, and a float case only when the target has a
/// float path (SpecError otherwise).
std::vector<AuditFinding> check_vector_case(const AuditTarget& target, const VectorCase& vc);

/// Re-runs one saved token (a vector case or a model case) exactly; the findings it gives.
std::vector<AuditFinding> replay_token(const AuditTarget& target, const std::string& token,
                                       const AuditOptions& options);

/// The report as JSON text: {"verdict", "optimizer", "claims", "cases", "skipped", "seconds",
/// "unchecked", "notes", "findings": [{"property", "class", "message", "counterexample",
/// "reproduce", "count"}], "drift": {...}}.
std::string report_json(const AuditReport& report);
/// Several reports as JUnit XML: a testsuite per report, a testcase per property, a failure
/// per violation (CI dashboards read it).
std::string report_junit(const std::vector<AuditReport>& reports);
/// The report as the text zerolr-audit prints.
std::string report_text(const AuditReport& report);

}  // namespace zerolr
