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
/// Checks on vector cases, each named in findings:
/// - freeze: every lr 0 and every gradient finite: every parameter keeps its value, and no
///   NaN or inf appears (violation); a sign flip of a zero is a note;
/// - agreement: with claims, the trajectory stays within the trajectory budget of the
///   float128 reference of the claimed rule on the same inputs (violation otherwise); the
///   budget grows with zerolr's own error on the case, so a case that is hard for the working
///   precision (overflow of g*g in float, say) is not blamed on the implementation;
/// - warmup: the same agreement after a zero warm-up: state must advance at lr = 0 exactly as
///   the claimed rule says;
/// - run: positive lrs up to about 3, judged only for refusals, crashes and hangs;
/// - refusal: a step that returns non-zero must leave the parameters bit-identical;
/// - rule: a NaN or inf from finite gradients that the claimed rule produces too, in exact
///   arithmetic (a 0/0 of its settings, such as Adagrad with eps = 0 on a zero gradient) or
///   in the working precision's range (g*g overflowing in float), is a hazard of the rule,
///   not a violation of the implementation;
/// - non_finite: a NaN or inf gradient at lr = 0 that reaches the parameters is a hazard;
/// - signed_zero: -0.0 with a negative gradient at lr = 0 turning into +0.0 is a note.
/// A crash or a hang of the implementation on a case is a violation of the check that ran.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "zerolr/audit/case.h"
#include "zerolr/audit/properties.h"

namespace zerolr {

struct VectorCase {
  Scalar scalar = Scalar::Double;
  std::string check = "freeze";
  std::vector<double> params;              ///< initial values (n >= 1)
  std::vector<std::vector<double>> grads;  ///< one gradient of n values per step
  std::vector<double> lrs;                 ///< one lr per step

  std::string token() const;                          ///< "zerolr-vec-v1|..." with exact hex floats
  static VectorCase parse(const std::string& token);  ///< SpecError naming the field
};

struct AuditFinding {
  std::string property;
  FindingClass cls = FindingClass::Violation;
  std::string message;
  std::string counterexample;  ///< readable, shrunk
  std::string reproduce;       ///< a vector-case or case token
};

struct AuditOptions {
  int cases = 200;
  std::uint64_t seed = 1;
  int steps = 6;          ///< steps per vector case (shrinking may lower it)
  int timeout_ms = 2000;  ///< per case, in the child process
  bool isolate = true;    ///< run each case in a child process (crash and hang safe)
  std::function<void(int done, int total)> progress;  ///< called after each case
};

struct AuditReport {
  std::string optimizer;  ///< plug-in name or spec
  std::string claims;     ///< the claimed spec, or ""
  int cases = 0;
  double seconds = 0;
  std::vector<AuditFinding> findings;
  /// Worst trajectory error / budget over the agreement cases, float and double.
  double worst_ratio_f32 = 0, worst_ratio_f64 = 0;
  bool has_f32 = false;
  bool passed() const;  ///< no violation
};

/// What is audited: makes a fresh optimizer per case in each precision (f32 may be empty),
/// and the claimed spec (nullopt: no reference comparisons).
struct AuditTarget {
  std::string name;
  std::optional<OptimizerSpec> claims;
  OptimizerFactory<double> f64;
  OptimizerFactory<float> f32;  ///< empty when the implementation has no float path
};

/// A built-in optimizer as an audit target (it claims its own spec).
AuditTarget builtin_target(const OptimizerSpec& spec);
/// A plug-in loaded from `path` as an audit target; throws PluginError.
AuditTarget plugin_target(const std::string& path);

/// Runs the whole audit.
AuditReport run_audit(const AuditTarget& target, const AuditOptions& options);

/// Runs ONE vector case in this process (no child, no timeout, no shrinking) against the
/// target, with exactly the checks run_audit applies to it; the fuzz targets call this.
/// Internal bookkeeping entries ("ratio", "range") are left out. An exception thrown by the
/// implementation becomes a Violation of the case's check, as in the audit.
/// requires: vc as VectorCase::parse accepts it (sizes agree, lrs finite and >= 0), and a
/// float case only when target.f32 is set (SpecError otherwise).
std::vector<AuditFinding> check_vector_case(const AuditTarget& target, const VectorCase& vc);

/// Re-runs one saved token (a vector case or a model case) exactly; the findings it gives.
std::vector<AuditFinding> replay_token(const AuditTarget& target, const std::string& token,
                                       const AuditOptions& options);

/// The report as JSON text: {"verdict", "optimizer", "claims", "cases", "seconds",
/// "findings": [{"property", "class", "message", "counterexample", "reproduce"}], "drift": {...}}.
std::string report_json(const AuditReport& report);

}  // namespace zerolr
