#pragma once
/// \file
/// What the audit judges: an optimizer implementation, with what it claims and what it can do.
/// A front end (a built-in spec, a C plug-in, a worker process) only turns an optimizer into
/// an AuditTarget; everything after that is the same engine (audit/audit.h).

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "zerolr/audit/executor.h"
#include "zerolr/audit/properties.h"

namespace zerolr {

struct AuditTarget {
  std::string name;
  /// The rule the implementation claims (nullopt: no reference comparisons).
  std::optional<OptimizerSpec> claims;
  /// Fresh optimizers per case in each precision, for implementations reachable in this
  /// process (built-ins, plug-ins); f32 is empty when there is no float path.
  /// An optimizer class of a test's own is a target through these alone:
  /// run_audit({name, claims, f64, f32}, options).
  OptimizerFactory<double> f64;
  OptimizerFactory<float> f32;
  /// Whether a step may be refused (the plug-in ABI allows it; built-ins never refuse).
  bool may_refuse = true;
  /// Whether a case's vector may be handed over as several tensors (split).
  bool tensor_lists = false;
  /// Options of the implementation that no rule checks, named in the report.
  std::vector<std::string> unchecked;
  /// Free text for the report (why there are no claims, say).
  std::vector<std::string> notes;
  /// Set for implementations in another process (a worker): the engine runs cases there.
  /// Null: in this process, or in a forked child per case when AuditOptions::isolate.
  std::shared_ptr<Executor> remote;

  /// What the vector properties need to know.
  VectorSubject subject() const { return {claims, may_refuse}; }
};

/// A built-in optimizer as an audit target: it claims its own spec, never refuses, has a float
/// path and steps lists of tensors.
AuditTarget builtin_target(const OptimizerSpec& spec);
/// A C plug-in (zerolr/plugin.h) loaded from `path`; throws PluginError.
AuditTarget plugin_target(const std::string& path);

}  // namespace zerolr
