// The properties, each a function from a Case to a Verdict. Drivers never re-implement them.
#include "zerolr/audit/properties.h"

#include <cmath>

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
  if (!c.all_lr_zero()) {
    v.applicable = false;
    return v;
  }
  // A parameter that turns NaN or inf at lr = 0 is judged against the exact rule from the
  // same state (check_step): if the exact rule fails too (0/0 with eps = 0) or the working
  // precision's range gives out (g*g overflowing in float), it is a Hazard of the rule;
  // otherwise the implementation broke the freeze.
  bool stopped = false;
  auto w = walk_case<T>(c, make, [&](StepView<T>& s) {
    if (auto f = non_finite_turn(s)) {
      v.findings.push_back(*f);
      v.tags.push_back(f->cls == FindingClass::Hazard ? "rule hazard" : "non-finite parameter");
      stopped = true;
      return false;
    }
    return true;
  });
  v.tags.push_back(optimizer_name(c.optimizer));
  v.tags.push_back(to_string(c.scalar));
  v.tags.push_back("regime:" + to_string(c.regime));
  if (c.arch.has_buffers()) v.tags.push_back("batchnorm");
  if (stopped) return v;
  if (w.non_finite) {
    v.tags.push_back("non-finite gradient");
    v.applicable = false;
    return v;
  }
  compare_parameters(w.initial, w.model, v, FindingClass::Violation,
                     "at lr = 0 after " + std::to_string(w.steps) + " steps");
  return v;
}

struct Entry {
  const char* name;
  Verdict (*run)(const Case&, const Factories&);
};

const Entry kProperties[] = {
    {"freeze", &prop_freeze},
    {"test_loss_frozen", &prop_test_loss_frozen},
    {"test_loss_tracks_buffers", &prop_test_loss_tracks_buffers},
    {"train_loss_order", &prop_train_loss_order},
    {"drift", &prop_drift},
    {"state_advances", &prop_state_advances},
    {"non_finite", &prop_non_finite},
    {"continuity", &prop_continuity},
    {"metamorphic", &prop_metamorphic},
    {"independence", &prop_independence},
};

}  // namespace

Verdict prop_freeze(const Case& c, const Factories& f) {
  return c.scalar == Scalar::Float ? freeze<float>(c, f.f32) : freeze<double>(c, f.f64);
}

std::vector<std::string> property_names() {
  std::vector<std::string> names;
  for (const auto& e : kProperties) names.push_back(e.name);
  return names;
}

Verdict run_property(const std::string& name, const Case& c, const Factories& f) {
  for (const auto& e : kProperties)
    if (name == e.name) return e.run(c, f);
  std::string known;
  for (const auto& e : kProperties) known += (known.empty() ? "" : ", ") + std::string(e.name);
  throw SpecError("unknown property '" + name + "' (known: " + known + ")");
}

}  // namespace zerolr
