// The properties, each a function from a Case to a Verdict. Drivers never re-implement them.
#include "zerolr/audit/properties.h"

#include <cmath>

#include "audit/registry.h"
#include "audit/run.h"
#include "zerolr/spec_syntax.h"

namespace zerolr {

std::string to_string(FindingClass c) {
  switch (c) {
    case FindingClass::Violation:
      return "violation";
    case FindingClass::Hazard:
      return "hazard";
    case FindingClass::Note:
      return "note";
    case FindingClass::Rule:
      return "rule";
  }
  return "?";
}

bool Verdict::holds() const {
  if (!applicable) return false;
  for (const auto& f : findings)
    if (f.cls == FindingClass::Violation) return false;
  return true;
}

std::string Verdict::first_violation() const {
  for (const auto& f : findings)
    if (f.cls == FindingClass::Violation) return f.message;
  return "";
}

Factories Factories::library() {
  return {[](const OptimizerSpec& s) { return make_optimizer<float>(s); },
          [](const OptimizerSpec& s) { return make_optimizer<double>(s); }};
}

namespace {

template <class T>
Verdict freeze(const Case& c, const OptimizerFactory<T>& make) {
  Verdict v;
  v.property = "freeze";
  // A rule that moves at lr = 0 by its own definition (Rprop, ASGD): its movement is judged
  // against the reference step from the same state instead.
  const bool rule_freezes = freezes_at_lr0(c.optimizer);
  bool zero_step = false, stopped = false;
  std::vector<bool> flipped;
  auto w = walk_case<T>(c, make, [&](StepView<T>& s) {
    if (s.lr != 0) return true;
    zero_step = true;
    // A parameter that turns NaN or inf at lr = 0 is judged against the exact rule from the
    // same state (check_step): if the exact rule fails too (0/0 with eps = 0) or the working
    // precision's range gives out (g*g overflowing in float), it is a Hazard of the rule;
    // otherwise the implementation broke the freeze.
    if (auto f = non_finite_turn(s)) {
      v.findings.push_back(*f);
      v.tags.push_back(f->cls == FindingClass::Hazard ? "rule hazard" : "non-finite parameter");
      stopped = true;
      return false;
    }
    const auto params = s.model->parameters();
    flipped.resize(params.size(), false);
    const std::string where = "at lr = 0 at step " + std::to_string(s.k + 1);
    for (std::size_t t = 0; t < params.size(); ++t) {
      const Matrix<T>& a = (*s.w_prev)[t];
      const Matrix<T>& b = *params[t].value;
      Index changed = 0, first = -1, first_flip = -1;
      for (Index i = 0; i < a.size(); ++i) {
        const T x = a.data()[i], y = b.data()[i];
        if (!(x == y) && !(std::isnan(x) && std::isnan(y))) {
          if (first < 0) first = i;
          ++changed;
        } else if (x == y && std::signbit(x) != std::signbit(y) && first_flip < 0) {
          first_flip = i;
        }
      }
      if (first_flip >= 0 && !flipped[t]) {
        flipped[t] = true;
        v.findings.push_back({FindingClass::Note, params[t].name + "[" + std::to_string(first_flip) +
                                                      "] flipped the sign of zero " + where});
      }
      if (changed == 0) continue;
      const std::string what = params[t].name + "[" + std::to_string(first) + "] changed from " +
                               text(a.data()[first]) + " to " + text(b.data()[first]) + " " + where +
                               (changed > 1 ? " (" + std::to_string(changed) + " entries changed)" : "");
      if (rule_freezes) {
        v.findings.push_back({FindingClass::Violation, what});
      } else if (!s.before_opt->state_visible()) {
        // An opaque implementation (plug-in, worker): the reference cannot restart from its
        // state. The movement is the rule's by its definition; how far it moves is the vector
        // cases' agreement check's to judge.
        v.findings.push_back(
            {FindingClass::Rule, what + ", and " + optimizer_name(c.optimizer) +
                                     "'s own rule moves at lr = 0 (it does not freeze; the "
                                     "implementation's state is opaque, so the amount is not "
                                     "judged here)"});
      } else {
        Verdict step;
        judge_step(step, s);
        if (step.findings.empty())
          v.findings.push_back(
              {FindingClass::Rule, what + ", as " + optimizer_name(c.optimizer) +
                                       "'s own rule does (it does not freeze at lr = 0; the step "
                                       "agrees with the reference step from the same state)"});
        else
          v.findings.push_back({FindingClass::Violation,
                                what + ", and not as its rule does: " + step.findings.front().message});
      }
      stopped = true;
      return false;
    }
    return true;
  });
  v.tags.push_back(optimizer_name(c.optimizer));
  v.tags.push_back(to_string(c.scalar));
  v.tags.push_back("regime:" + to_string(c.regime));
  if (c.arch.has_buffers()) v.tags.push_back("batchnorm");
  if (!c.all_lr_zero()) v.tags.push_back("lr reaches 0 after lr > 0");
  if (stopped) return v;
  if (w.non_finite) {
    v.tags.push_back("non-finite gradient");
    v.applicable = false;
    return v;
  }
  if (!zero_step) v.applicable = false;
  return v;
}

// The registry: every property once, model and vector halves side by side.
const PropertyEntry kProperties[] = {
    {"freeze", &prop_freeze, &vector_freeze},
    {"test_loss_frozen", &prop_test_loss_frozen, nullptr},
    {"test_loss_tracks_buffers", &prop_test_loss_tracks_buffers, nullptr},
    {"train_loss_order", &prop_train_loss_order, nullptr},
    {"drift", &prop_drift, nullptr},
    {"state_advances", &prop_state_advances, nullptr},
    {"non_finite", &prop_non_finite, &vector_non_finite},
    {"continuity", &prop_continuity, nullptr},
    {"metamorphic", &prop_metamorphic, nullptr},
    {"independence", &prop_independence, nullptr},
    {"signed_zero", nullptr, &vector_signed_zero},
    {"refusal", nullptr, &vector_refusal},
    {"exception", nullptr, &vector_exception},
    {"rule_hazard", nullptr, &vector_rule_hazard},
    {"agreement", nullptr, &vector_agreement},
    {"failure", nullptr, &vector_failure},
};

}  // namespace

Verdict prop_freeze(const Case& c, const Factories& f) {
  return c.scalar == Scalar::Float ? freeze<float>(c, f.f32) : freeze<double>(c, f.f64);
}

std::span<const PropertyEntry> property_registry() {
  return kProperties;
}

std::vector<std::string> property_names() {
  std::vector<std::string> names;
  for (const auto& e : kProperties)
    if (e.model != nullptr) names.push_back(e.name);
  return names;
}

std::vector<std::string> vector_property_names() {
  std::vector<std::string> names;
  for (const auto& e : kProperties)
    if (e.vector != nullptr) names.push_back(e.name);
  return names;
}

Verdict run_property(const std::string& name, const Case& c, const Factories& f) {
  for (const auto& e : kProperties)
    if (e.model != nullptr && name == e.name) return e.model(c, f);
  std::string known;
  for (const auto& n : property_names()) known += (known.empty() ? "" : ", ") + n;
  throw SpecError("unknown property '" + name + "' (known: " + known + ")");
}

}  // namespace zerolr
