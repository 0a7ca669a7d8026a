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
  CaseRun<T> r = run_case<T>(c, make);
  tag_run(v, c, r);
  if (r.non_finite) {
    v.applicable = false;
    return v;
  }
  compare_parameters(r, v, FindingClass::Violation, "at lr = 0 after " + std::to_string(r.steps) + " steps");
  return v;
}

struct Entry {
  const char* name;
  Verdict (*run)(const Case&, const Factories&);
};

const Entry kProperties[] = {
    {"freeze", &prop_freeze},
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
