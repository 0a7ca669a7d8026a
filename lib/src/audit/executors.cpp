// Running an implementation that lives in this process: directly, or in a forked child per
// case (audit/sandbox.h) so that a crash or a hang becomes a finding. Only execution is done
// here; judging happens in the parent (vector_props.cpp).
#include <cmath>
#include <nlohmann/json.hpp>
#include <type_traits>

#include "audit/parts.h"
#include "audit/token_util.h"
#include "zerolr/audit/plugin_loader.h"
#include "zerolr/audit/sandbox.h"

namespace zerolr {

namespace {

template <class T>
const OptimizerFactory<T>& factory(const AuditTarget& t) {
  if constexpr (std::is_same_v<T, float>)
    return t.f32;
  else
    return t.f64;
}

/// The implementation's run on a vector case, stepping each tensor of the split in turn.
/// A refusal (the plug-in ABI's non-zero status, or StepRefused) is recorded and the run goes
/// on; an exception ends the run.
template <class T>
Trajectory trajectory(const AuditTarget& target, const VectorCase& vc) {
  Trajectory tr;
  const OptimizerFactory<T>& make = factory<T>(target);
  if (!make) throw SpecError("a float case, but the implementation has no float path");
  // Plug-ins ignore the spec; a built-in makes its claimed rule (each step carries its lr).
  auto opt = make(target.claims ? with_lr(*target.claims, 1.0) : OptimizerSpec{SgdSettings{}});
  auto* plugin = dynamic_cast<PluginOptimizer<T>*>(opt.get());
  const auto sizes = vc.tensors();
  std::vector<T> p(vc.params.size());
  for (std::size_t i = 0; i < p.size(); ++i) p[i] = static_cast<T>(vc.params[i]);
  for (std::size_t k = 0; k < vc.lrs.size(); ++k) {
    std::vector<T> g(p.size());
    for (std::size_t i = 0; i < g.size(); ++i) g[i] = static_cast<T>(vc.grads[k][i]);
    const T lr = static_cast<T>(vc.lrs[k]);
    StepRecord rec;
    try {
      std::size_t off = 0;
      for (std::size_t t = 0; t < sizes.size(); ++t) {
        const auto n = static_cast<Index>(sizes[t]);
        if (plugin) {
          const int status = plugin->try_step(t, p.data() + off, g.data() + off, n, lr);
          if (status != 0) {
            rec.status = StepRecord::Status::Refused;
            rec.message = std::to_string(status);
            break;
          }
        } else {
          opt->step_tensor(t, p.data() + off, g.data() + off, n, lr);
        }
        off += sizes[t];
      }
    } catch (const StepRefused& e) {
      rec.status = StepRecord::Status::Refused;
      rec.message = e.what();
    } catch (const std::exception& e) {
      rec.status = StepRecord::Status::Raised;
      rec.message = e.what();
    }
    rec.params.assign(p.begin(), p.end());
    tr.steps.push_back(std::move(rec));
    if (tr.steps.back().status == StepRecord::Status::Raised) break;
  }
  return tr;
}

Trajectory run_here(const AuditTarget& target, const VectorCase& vc) {
  return vc.scalar == Scalar::Float ? trajectory<float>(target, vc) : trajectory<double>(target, vc);
}

Factories factories_of(const AuditTarget& target) {
  Factories f = Factories::library();
  if (target.f32) f.f32 = target.f32;
  f.f64 = target.f64;
  return f;
}

Verdict model_here(const AuditTarget& target, const Case& c, const ModelProperty& property,
                   const std::string& failure_property) {
  try {
    return property(c, factories_of(target));
  } catch (const std::exception& e) {
    Verdict v;
    v.property = failure_property;
    v.findings.push_back({FindingClass::Violation, std::string("the implementation threw: ") + e.what()});
    return v;
  }
}

class InProcess final : public Executor {
 public:
  explicit InProcess(AuditTarget target) : target_(std::move(target)) {}
  Trajectory run(const VectorCase& vc, int) override { return run_here(target_, vc); }
  Verdict run_model(const Case& c, const ModelProperty& property, const std::string& failure_property,
                    int) override {
    return model_here(target_, c, property, failure_property);
  }

 private:
  AuditTarget target_;
};

// ---- the sandbox: results cross the pipe as JSON, values as exact hexadecimal floats -----

nlohmann::json to_json(const Trajectory& tr) {
  nlohmann::json steps = nlohmann::json::array();
  for (const auto& s : tr.steps) {
    std::vector<std::string> values;
    for (double v : s.params) values.push_back(hex(v));
    steps.push_back({{"status", static_cast<int>(s.status)}, {"params", values}, {"message", s.message}});
  }
  return {{"steps", steps}, {"failure", tr.failure}};
}

Trajectory trajectory_from_json(const nlohmann::json& j) {
  Trajectory tr;
  for (const auto& s : j.at("steps")) {
    StepRecord rec;
    rec.status = static_cast<StepRecord::Status>(s.at("status").get<int>());
    for (const auto& v : s.at("params")) rec.params.push_back(parse_hex(v.get<std::string>(), "params"));
    rec.message = s.at("message").get<std::string>();
    tr.steps.push_back(std::move(rec));
  }
  tr.failure = j.at("failure").get<std::string>();
  return tr;
}

class Sandbox final : public Executor {
 public:
  explicit Sandbox(AuditTarget target) : target_(std::move(target)) {}

  Trajectory run(const VectorCase& vc, int timeout_ms) override {
    const IsolatedResult r = run_isolated([&] { return to_json(run_here(target_, vc)).dump(); }, timeout_ms);
    if (r.outcome != IsolatedResult::Outcome::Returned) return {{}, r.describe()};
    try {
      return trajectory_from_json(nlohmann::json::parse(r.output));
    } catch (const std::exception&) {
      return {{}, "exited without a readable result"};
    }
  }

  Verdict run_model(const Case& c, const ModelProperty& property, const std::string& failure_property,
                    int timeout_ms) override {
    const IsolatedResult r = run_isolated(
        [&] {
          const Verdict v = model_here(target_, c, property, failure_property);
          nlohmann::json findings = nlohmann::json::array();
          for (const auto& f : v.findings)
            findings.push_back({{"class", static_cast<int>(f.cls)}, {"message", f.message}});
          return nlohmann::json{
              {"property", v.property}, {"applicable", v.applicable}, {"findings", findings}}
              .dump();
        },
        timeout_ms);
    Verdict v;
    v.property = failure_property;
    if (r.outcome != IsolatedResult::Outcome::Returned) {
      v.findings.push_back({FindingClass::Violation, r.describe()});
      return v;
    }
    try {
      const auto j = nlohmann::json::parse(r.output);
      v.property = j.at("property").get<std::string>();
      v.applicable = j.at("applicable").get<bool>();
      for (const auto& f : j.at("findings"))
        v.findings.push_back(
            {static_cast<FindingClass>(f.at("class").get<int>()), f.at("message").get<std::string>()});
    } catch (const std::exception&) {
      v.findings.push_back({FindingClass::Violation, "exited without a readable result"});
    }
    return v;
  }

 private:
  AuditTarget target_;
};

}  // namespace

std::unique_ptr<Executor> in_process_executor(const AuditTarget& target) {
  return std::make_unique<InProcess>(target);
}

std::unique_ptr<Executor> sandbox_executor(const AuditTarget& target) {
  return std::make_unique<Sandbox>(target);
}

}  // namespace zerolr
