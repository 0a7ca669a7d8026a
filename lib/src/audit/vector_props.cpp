// The vector properties: each judges an implementation's trajectory on a vector case, against
// the claimed rule's reference run when there are claims. Execution is not their business:
// the trajectory comes from whichever executor ran the implementation (audit/executor.h).
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

#include "audit/claim.h"
#include "audit/registry.h"
#include "zerolr/audit/properties.h"
#include "zerolr/scalar/distance.h"
#include "zerolr/spec_syntax.h"

namespace zerolr {

/// Everything the vector properties share about one case.
struct VectorContext {
  const VectorCase& vc;
  const Trajectory& tr;
  const VectorSubject& subject;
  ClaimRun claim;
  std::vector<double> initial;  ///< the case's parameters in its scalar
  std::size_t judged = 0;       ///< steps judged: up to the first rule hazard, inclusive

  double round(double v) const {
    return vc.scalar == Scalar::Float ? static_cast<double>(static_cast<float>(v)) : v;
  }
  const std::vector<double>& before(std::size_t k) const { return k == 0 ? initial : tr.steps[k - 1].params; }
  const std::vector<double>& after(std::size_t k) const { return tr.steps[k].params; }
  bool finite_gradient(std::size_t k) const {
    for (double g : vc.grads[k])
      if (!std::isfinite(round(g))) return false;
    return true;
  }
  bool stepped(std::size_t k) const { return tr.steps[k].status == StepRecord::Status::Stepped; }
  std::string at(std::size_t k) const {
    return "step " + std::to_string(k + 1) + " (lr " + format_real(round(vc.lrs[k])) + ")";
  }
  /// A NaN or inf that the claimed rule produces too, exactly (a 0/0 of its settings) or in
  /// the scalar's own range, is the rule's hazard, not the implementation's fault.
  bool rule_fails_too(std::size_t k, Index i) const {
    if (!claim.available) return false;
    return !isfinite(claim.ref[k](i)) || !std::isfinite(claim.lib[k][static_cast<std::size_t>(i)]) ||
           claim.range_limited[k];
  }
  bool became_bad(std::size_t k, std::size_t i) const {
    return std::isfinite(before(k)[i]) && !std::isfinite(after(k)[i]);
  }
  /// |implementation - reference| at step k, entry i; 0 for the same non-finite value.
  double error(std::size_t k, Index i) const {
    const double got = after(k)[static_cast<std::size_t>(i)];
    const Reference& exact = claim.ref[k](i);
    if (std::isfinite(got) && isfinite(exact)) return static_cast<double>(abs(Reference(got) - exact));
    if ((std::isnan(got) && isnan(exact)) ||
        (std::isinf(got) && isinf(exact) && std::signbit(got) == (exact < 0)))
      return 0;
    return std::numeric_limits<double>::infinity();
  }
};

namespace {

std::string num(double v) {
  return format_real(v);
}

Verdict make_verdict(const std::string& name) {
  Verdict v;
  v.property = name;
  return v;
}

/// Bit-identical, except that every NaN is one value (a NaN's payload does not survive every
/// executor's transport): ulp distance 0 with signed zeros told apart.
bool identical(double a, double b) {
  return ulp_distance(a, b, ZeroMode::Bits) == 0;
}

}  // namespace

// freeze: a step at lr = 0 with finite gradients changes no value and makes no NaN. When the
// claimed rule itself moves the entry there (Rprop's minimum step size, ASGD's eta from the
// previous lr) and the implementation lands within the trajectory budget of the rule, the
// movement is the rule's: a Rule finding.
Verdict vector_freeze(const VectorContext& c) {
  Verdict v = make_verdict("freeze");
  v.applicable = false;
  for (std::size_t k = 0; k < c.judged; ++k) {
    if (c.vc.lrs[k] != 0 || !c.finite_gradient(k) || !c.stepped(k)) continue;
    v.applicable = true;
    for (std::size_t i = 0; i < c.initial.size(); ++i) {
      const double b = c.before(k)[i], a = c.after(k)[i];
      const bool kept = a == b || (std::isnan(a) && std::isnan(b));
      const bool bad = c.became_bad(k, i);
      if (kept && !bad) continue;
      const auto ii = static_cast<Index>(i);
      if (bad && c.rule_fails_too(k, ii)) continue;  // rule_hazard reports it
      const std::string moved =
          c.at(k) + " changed params[" + std::to_string(i) + "] from " + num(b) + " to " + num(a);
      if (c.claim.available && c.claim.moved(k, ii, c.initial)) {
        // The rule itself moves here: the movement is the rule's; how far it goes is the
        // agreement check's business (it judges every case with claims).
        v.findings.push_back(
            {FindingClass::Rule, "at lr = 0, " + moved + ", as the claimed rule " +
                                     to_string(*c.subject.claims) +
                                     " does by its own definition: it does not freeze at lr = 0"});
        return v;
      }
      // A rule that moves at lr = 0 by its own definition, on a step where an intermediate
      // leaves T's range (Rprop's g * prev underflowing): T cannot follow it, and the
      // movement is not the implementation's to answer for.
      if (c.claim.available && c.claim.range_limited[k] && !freezes_at_lr0(*c.subject.claims)) continue;
      v.findings.push_back({FindingClass::Violation, "at lr = 0 with finite gradients, " + moved});
      return v;
    }
  }
  return v;
}

// non_finite: a NaN or inf gradient at lr = 0 that reaches the parameters (0 * NaN = NaN).
Verdict vector_non_finite(const VectorContext& c) {
  Verdict v = make_verdict("non_finite");
  v.applicable = false;
  for (std::size_t k = 0; k < c.judged; ++k) {
    if (c.vc.lrs[k] != 0 || c.finite_gradient(k) || !c.stepped(k)) continue;
    v.applicable = true;
    for (std::size_t i = 0; i < c.initial.size(); ++i)
      if (c.became_bad(k, i)) {
        v.findings.push_back({FindingClass::Hazard, "a non-finite gradient at lr = 0 reached params[" +
                                                        std::to_string(i) + "] at " + c.at(k) + ": " +
                                                        num(c.before(k)[i]) + " became " +
                                                        num(c.after(k)[i]) + " (0 * NaN = NaN)"});
        return v;
      }
  }
  return v;
}

// signed_zero: at lr = 0 a zero that keeps its value but flips its sign.
Verdict vector_signed_zero(const VectorContext& c) {
  Verdict v = make_verdict("signed_zero");
  v.applicable = false;
  for (std::size_t k = 0; k < c.judged; ++k) {
    if (c.vc.lrs[k] != 0 || !c.stepped(k)) continue;
    v.applicable = true;
    for (std::size_t i = 0; i < c.initial.size(); ++i) {
      const double b = c.before(k)[i], a = c.after(k)[i];
      if (a == b && a == 0 && std::signbit(a) != std::signbit(b)) {
        v.findings.push_back(
            {FindingClass::Note, "at lr = 0, " + c.at(k) + " turned params[" + std::to_string(i) + "] from " +
                                     (std::signbit(b) ? "-0" : "+0") + " into " +
                                     (std::signbit(a) ? "-0" : "+0") + " (equal values, different bits)"});
        return v;
      }
    }
  }
  return v;
}

// refusal: a refused step leaves every parameter bit-identical, and only an implementation
// that may refuse refuses.
Verdict vector_refusal(const VectorContext& c) {
  Verdict v = make_verdict("refusal");
  v.applicable = false;
  for (std::size_t k = 0; k < c.tr.steps.size(); ++k) {
    if (c.tr.steps[k].status != StepRecord::Status::Refused) continue;
    v.applicable = true;
    const std::string status = c.tr.steps[k].message.empty() ? "" : " with status " + c.tr.steps[k].message;
    if (!c.subject.may_refuse) {
      v.findings.push_back({FindingClass::Violation, "refused " + c.at(k) + status +
                                                         ", but it declared that it never refuses a step"});
      return v;
    }
    for (std::size_t i = 0; i < c.initial.size(); ++i)
      if (!identical(c.before(k)[i], c.after(k)[i])) {
        v.findings.push_back({FindingClass::Violation,
                              "refused " + c.at(k) + status + " but changed params[" + std::to_string(i) +
                                  "] from " + num(c.before(k)[i]) + " to " + num(c.after(k)[i])});
        return v;
      }
  }
  return v;
}

// exception: the optimizer raised instead of stepping; never taken for a refusal.
Verdict vector_exception(const VectorContext& c) {
  Verdict v = make_verdict("exception");
  for (std::size_t k = 0; k < c.tr.steps.size(); ++k)
    if (c.tr.steps[k].status == StepRecord::Status::Raised) {
      v.findings.push_back(
          {FindingClass::Violation, "the optimizer raised at " + c.at(k) + ": " + c.tr.steps[k].message});
      break;
    }
  return v;
}

// rule_hazard: a parameter turned NaN or inf with finite gradients where the claimed rule
// does too (in exact arithmetic, or in the working precision's range).
Verdict vector_rule_hazard(const VectorContext& c) {
  Verdict v = make_verdict("rule_hazard");
  v.applicable = c.claim.available;
  for (std::size_t k = 0; k < c.judged; ++k) {
    if (!c.finite_gradient(k) || !c.stepped(k)) continue;
    for (std::size_t i = 0; i < c.initial.size(); ++i)
      if (c.became_bad(k, i) && c.rule_fails_too(k, static_cast<Index>(i))) {
        v.findings.push_back(
            {FindingClass::Hazard,
             c.at(k) + " turned params[" + std::to_string(i) + "] into " + num(c.after(k)[i]) +
                 " with finite gradients, and so does the claimed rule " +
                 (c.claim.range_limited[k] ? "in this precision (its arithmetic overflows or underflows)"
                                           : "in exact arithmetic (a 0/0 of its settings)")});
        return v;
      }
  }
  return v;
}

// agreement (and warmup): the trajectory stays within the trajectory budget of the claimed
// rule's reference on the same inputs, for every case with claims and finite gradients
// (freeze cases included: a rule that moves at lr = 0 must move as the rule says). The
// verdict is named warmup for warmup cases, agreement otherwise.
Verdict vector_agreement(const VectorContext& c) {
  Verdict v = make_verdict(c.vc.check == "warmup" ? "warmup" : "agreement");
  bool clean = c.tr.failure.empty() && c.judged == c.vc.lrs.size() && c.tr.steps.size() == c.vc.lrs.size();
  for (const auto& s : c.tr.steps) clean = clean && s.status == StepRecord::Status::Stepped;
  for (std::size_t k = 0; clean && k < c.judged; ++k)
    for (std::size_t i = 0; i < c.initial.size(); ++i)
      clean = clean &&
              !(c.became_bad(k, i) && c.finite_gradient(k) && c.rule_fails_too(k, static_cast<Index>(i)));
  v.applicable = c.claim.available && clean;
  if (!v.applicable) return v;
  double worst = 0;
  for (std::size_t k = 0; k < c.vc.lrs.size(); ++k) {
    if (c.claim.range_limited[k]) {
      v.tags.push_back("range-limited");
      break;
    }
    for (std::size_t i = 0; i < c.initial.size(); ++i) {
      const auto ii = static_cast<Index>(i);
      const double e = c.error(k, ii);
      if (e == 0) continue;  // exact agreement (the budget may be NaN from NaN inputs)
      const double budget = c.claim.budget[k][i];
      worst = std::max(worst, e / budget);
      if (!(e <= budget)) {
        v.findings.push_back(
            {FindingClass::Violation, "at step " + std::to_string(k + 1) + " params[" + std::to_string(i) +
                                          "] is " + num(c.after(k)[i]) + " but the claimed rule " +
                                          to_string(*c.subject.claims) + " gives " +
                                          num(static_cast<double>(c.claim.ref[k](ii))) + " (error " + num(e) +
                                          ", budget " + num(budget) + ")"});
        v.worst_ratio = worst;
        return v;
      }
    }
  }
  v.worst_ratio = worst;
  return v;
}

// A crash, hang or broken reply that ended the run: a violation of the case's check.
Verdict vector_failure(const VectorContext& c) {
  Verdict v = make_verdict(c.vc.check);
  if (!c.tr.failure.empty()) v.findings.push_back({FindingClass::Violation, c.tr.failure});
  return v;
}

std::vector<Verdict> judge_vector_case(const VectorCase& vc, const Trajectory& tr,
                                       const VectorSubject& subject) {
  vc.validate();
  if (tr.steps.size() > vc.lrs.size())
    throw SpecError("judge_vector_case: " + std::to_string(tr.steps.size()) + " step records for " +
                    std::to_string(vc.lrs.size()) + " steps");
  for (const auto& s : tr.steps)
    if (s.params.size() != vc.params.size())
      throw SpecError("judge_vector_case: a step record holds " + std::to_string(s.params.size()) +
                      " values for " + std::to_string(vc.params.size()) + " parameters");
  VectorContext c{vc, tr, subject, claim_run(vc, subject.claims), {}, 0};
  for (double p : vc.params) c.initial.push_back(c.round(p));
  // Judge up to and including the first step where the rule's own hazard struck.
  c.judged = tr.steps.size();
  for (std::size_t k = 0; k < tr.steps.size() && c.judged == tr.steps.size(); ++k)
    if (c.finite_gradient(k) && c.stepped(k))
      for (std::size_t i = 0; i < c.initial.size(); ++i)
        if (c.became_bad(k, i) && c.rule_fails_too(k, static_cast<Index>(i))) {
          c.judged = k + 1;
          break;
        }
  std::vector<Verdict> out;
  for (const auto& e : property_registry())
    if (e.vector != nullptr) out.push_back(e.vector(c));
  return out;
}

}  // namespace zerolr
