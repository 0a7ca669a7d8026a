#pragma once
/// \file
/// The properties: pure functions from a Case to a Verdict, written once and used by every
/// driver (properties/ through RapidCheck, fuzz/ from bytes, tools/audit).

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "zerolr/audit/case.h"
#include "zerolr/optim/optimizer.h"

namespace zerolr {

enum class FindingClass {
  Violation,  ///< the property is false for this case
  Hazard,     ///< non-finite values propagate, or a degenerate setting fails
  Note        ///< bit-level differences only (signed-zero flips)
};
std::string to_string(FindingClass c);

struct Finding {
  FindingClass cls = FindingClass::Violation;
  std::string message;
};

/// The outcome of a property on a case.
struct Verdict {
  std::string property;
  /// False when the case does not meet the property's precondition (a non-finite gradient
  /// under a freeze property, say): nothing was judged. Drivers discard such cases.
  bool applicable = true;
  std::vector<Finding> findings;
  /// Labels for coverage statistics (RC_TAG): "batchnorm", "range-limited", ...
  std::vector<std::string> tags;

  /// True when applicable and no finding is a violation.
  bool holds() const;
  /// The first violation's message, or "".
  std::string first_violation() const;
};

/// Makes the optimizer under test; the default is the library's make_optimizer. Tests pass
/// deliberately broken optimizers here; the audit passes plug-ins.
template <class T>
using OptimizerFactory = std::function<std::unique_ptr<Optimizer<T>>(const OptimizerSpec&)>;

struct Factories {
  OptimizerFactory<float> f32;
  OptimizerFactory<double> f64;
  static Factories library();
};

/// 1. Freeze: if every lr is 0 and every gradient is finite, every trainable parameter keeps
///    its value after all steps (value equality). Signed-zero flips are Notes.
///    Not applicable if some lr is nonzero or a gradient is non-finite.
Verdict prop_freeze(const Case& c, const Factories& f = Factories::library());

/// The names of all properties, for the regressions replay and the tools.
std::vector<std::string> property_names();
/// Runs the property with that name; SpecError on an unknown name.
Verdict run_property(const std::string& name, const Case& c, const Factories& f = Factories::library());

}  // namespace zerolr
