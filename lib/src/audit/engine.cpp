// The audit engine: generate -> execute -> judge -> shrink -> report, and nothing else. How
// an implementation runs is its executor's business (executors.cpp, worker.cpp); what is
// right is the property registry's (properties.cpp, vector_props.cpp).
#include <algorithm>
#include <chrono>
#include <map>

#include "audit/parts.h"
#include "zerolr/audit/audit.h"

namespace zerolr {

namespace {

using Clock = std::chrono::steady_clock;

double elapsed_ms(Clock::time_point since) {
  return std::chrono::duration<double, std::milli>(Clock::now() - since).count();
}

std::shared_ptr<Executor> executor_for(const AuditTarget& t, bool isolate) {
  if (t.remote) return t.remote;
  return isolate ? sandbox_executor(t) : in_process_executor(t);
}

Verdict model_freeze(const Case& c, const Factories& f) {
  return prop_freeze(c, f);
}

constexpr const char* kModelCheck = "freeze(model)";

/// The findings of a vector case's verdicts, each named after its verdict's property.
std::vector<AuditFinding> findings_of(const std::vector<Verdict>& verdicts) {
  std::vector<AuditFinding> out;
  for (const auto& v : verdicts)
    for (const auto& f : v.findings) out.push_back({v.property, f.cls, f.message, "", "", 1});
  return out;
}

std::vector<AuditFinding> findings_of_model(const Verdict& v) {
  std::vector<AuditFinding> out;
  for (const auto& f : v.findings) out.push_back({kModelCheck, f.cls, f.message, "", "", 1});
  return out;
}

bool is_hang(const std::string& message) {
  return message.rfind("hung", 0) == 0;
}

/// Time limits after hangs: once the implementation has hung, every later case (and the
/// shrinking of the hang) gets a timeout of 20 times the slowest case that completed
/// normally, at least 100 ms, so that a hanging implementation does not cost a full timeout
/// per case; after three hangs of one check its remaining cases are skipped. Crash and hang
/// findings stay exact and replayable: the token replays with the full timeout.
class HangGuard {
 public:
  explicit HangGuard(int timeout_ms) : timeout_ms_(timeout_ms) {}
  int timeout() const {
    if (hangs_.empty()) return timeout_ms_;
    const double scaled = std::max(100.0, 20 * slowest_ok_ms_);
    return static_cast<int>(std::min<double>(timeout_ms_, scaled));
  }
  bool skip(const std::string& check) const {
    const auto it = hangs_.find(check);
    return it != hangs_.end() && it->second >= 3;
  }
  void completed(double ms) { slowest_ok_ms_ = std::max(slowest_ok_ms_, ms); }
  void hung(const std::string& check) { ++hangs_[check]; }

 private:
  int timeout_ms_;
  double slowest_ok_ms_ = 0;
  std::map<std::string, int> hangs_;
};

}  // namespace

AuditReport run_audit(const AuditTarget& target, const AuditOptions& o) {
  const auto start = Clock::now();
  AuditReport report;
  report.optimizer = target.name;
  report.claims = target.claims ? to_string(*target.claims) : "";
  report.has_f32 = static_cast<bool>(target.f32);
  report.unchecked = target.unchecked;
  report.notes = target.notes;
  const std::shared_ptr<Executor> exec = executor_for(target, o.isolate);
  const VectorSubject subject = target.subject();
  HangGuard guard(o.timeout_ms);
  Rng rng(o.seed);
  std::vector<std::string> checks{"freeze", "non_finite", "signed_zero", "run"};
  if (target.claims) {
    checks.push_back("agreement");
    checks.push_back("warmup");
    checks.push_back("agreement");
  }
  std::map<std::pair<std::string, int>, std::size_t> seen;  // (property, class) -> finding
  // Records new kinds of finding with a shrunk counterexample; counts the others.
  auto record = [&](const std::vector<AuditFinding>& found,
                    const std::function<AuditFinding(const AuditFinding&)>& shrink_fn) {
    for (const auto& f : found) {
      const auto key = std::make_pair(f.property, static_cast<int>(f.cls));
      if (const auto it = seen.find(key); it != seen.end()) {
        ++report.findings[it->second].count;
        continue;
      }
      seen[key] = report.findings.size();
      report.findings.push_back(shrink_fn(f));
    }
  };
  for (int i = 0; i < o.cases; ++i) {
    const bool f32 = report.has_f32 && rng.uniform() < 0.5;
    const Scalar scalar = f32 ? Scalar::Float : Scalar::Double;
    const bool model = i % 5 == 4;
    const std::string check = model ? kModelCheck : checks[static_cast<std::size_t>(i) % checks.size()];
    if (guard.skip(check)) {
      ++report.skipped;
      if (o.progress) o.progress(i + 1, o.cases);
      continue;
    }
    if (model) {
      Case c = generate_model_case(rng, scalar);
      if (target.claims) c.optimizer = *target.claims;  // what the token says it ran
      const auto t0 = Clock::now();
      const Verdict v = exec->run_model(c, model_freeze, kModelCheck, guard.timeout());
      const auto found = findings_of_model(v);
      bool hung = false;
      for (const auto& f : found) hung = hung || is_hang(f.message);
      hung ? guard.hung(check) : guard.completed(elapsed_ms(t0));
      record(found, [&](const AuditFinding& f) {
        AuditFinding out = f;
        auto still = [&](const Case& cand) {
          const auto again =
              findings_of_model(exec->run_model(cand, model_freeze, kModelCheck, guard.timeout()));
          for (const auto& x : again)
            if (x.property == f.property && x.cls == f.cls) {
              out.message = x.message;
              return true;
            }
          return false;
        };
        const Case small = shrink_model(c, still, is_hang(f.message) ? 4 : 60);
        out.counterexample = describe(small);
        out.reproduce = to_token(small);
        return out;
      });
    } else {
      const VectorCase vc = generate_vector(rng, check, scalar, o.steps, target.tensor_lists);
      const auto t0 = Clock::now();
      const Trajectory tr = exec->run(vc, guard.timeout());
      is_hang(tr.failure) ? guard.hung(check) : guard.completed(elapsed_ms(t0));
      const std::vector<Verdict> verdicts = judge_vector_case(vc, tr, subject);
      for (const auto& v : verdicts)
        if (v.worst_ratio) {
          double& worst = f32 ? report.worst_ratio_f32 : report.worst_ratio_f64;
          worst = std::max(worst, *v.worst_ratio);
        }
      record(findings_of(verdicts), [&](const AuditFinding& f) {
        AuditFinding out = f;
        auto still = [&](const VectorCase& cand) {
          const auto again = findings_of(judge_vector_case(cand, exec->run(cand, guard.timeout()), subject));
          for (const auto& x : again)
            if (x.property == f.property && x.cls == f.cls) {
              out.message = x.message;
              return true;
            }
          return false;
        };
        const VectorCase small = shrink_vector(vc, still, is_hang(f.message) ? 6 : 300);
        out.counterexample = readable(small);
        out.reproduce = small.token();
        return out;
      });
    }
    ++report.cases;
    if (o.progress) o.progress(i + 1, o.cases);
  }
  report.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  return report;
}

std::vector<AuditFinding> check_vector_case(const AuditTarget& target, const VectorCase& vc) {
  try {
    vc.validate();
  } catch (const SpecError& e) {
    throw SpecError(std::string("check_vector_case: ") + e.what());
  }
  if (vc.scalar == Scalar::Float && !target.f32)
    throw SpecError("check_vector_case: a float case but the implementation has no float path");
  const auto exec = executor_for(target, false);
  return findings_of(judge_vector_case(vc, exec->run(vc, 0), target.subject()));
}

std::vector<AuditFinding> replay_token(const AuditTarget& target, const std::string& token,
                                       const AuditOptions& o) {
  const auto exec = executor_for(target, o.isolate);
  std::vector<AuditFinding> found;
  if (token.rfind("zerolr-vec-", 0) == 0) {
    const VectorCase vc = VectorCase::parse(token);
    if (vc.scalar == Scalar::Float && !target.f32)
      throw SpecError("the token is a float case but the implementation has no float path");
    found = findings_of(judge_vector_case(vc, exec->run(vc, o.timeout_ms), target.subject()));
    for (auto& f : found) f.counterexample = readable(vc);
  } else {
    const Case c = parse_token(token);
    found = findings_of_model(exec->run_model(c, model_freeze, kModelCheck, o.timeout_ms));
    for (auto& f : found) f.counterexample = describe(c);
  }
  for (auto& f : found) f.reproduce = token;
  return found;
}

}  // namespace zerolr
