#pragma once
/// \file
/// Executors: where an audited implementation runs. The audit engine generates cases, asks an
/// executor to run them, and judges what comes back; it never knows how the implementation is
/// reached. zerolr has three:
/// - in this process (built-in optimizers and plug-ins without isolation, the fuzz targets);
/// - in a forked child per case, so that a crash or a hang is a finding (plug-ins);
/// - in a long-lived worker process over a pipe, any language (audit/worker.h).

#include <functional>
#include <memory>
#include <string>

#include "zerolr/audit/case.h"
#include "zerolr/audit/properties.h"

namespace zerolr {

/// A model property run with the implementation's optimizers (prop_freeze, say).
using ModelProperty = std::function<Verdict(const Case&, const Factories&)>;

class Executor {
 public:
  virtual ~Executor() = default;
  /// The implementation's trajectory on a vector case. A crash, a hang past timeout_ms or a
  /// broken reply ends it with Trajectory::failure set (naming what happened); refusals and
  /// exceptions are step records. Never throws for the implementation's misbehaviour.
  virtual Trajectory run(const VectorCase& vc, int timeout_ms) = 0;
  /// `property` on model case `c` with optimizers made by the implementation. A crash or a
  /// hang becomes a Violation finding of the returned verdict (named `failure_property`).
  virtual Verdict run_model(const Case& c, const ModelProperty& property, const std::string& failure_property,
                            int timeout_ms) = 0;
};

}  // namespace zerolr
