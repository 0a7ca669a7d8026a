// Front ends that turn an optimizer into an AuditTarget: a built-in spec and a C plug-in.
// (The worker front end is in worker.cpp.)
#include "zerolr/audit/target.h"

#include "zerolr/audit/plugin_loader.h"

namespace zerolr {

AuditTarget builtin_target(const OptimizerSpec& spec) {
  validate(spec);
  AuditTarget t;
  t.name = to_string(spec);
  t.claims = spec;
  t.f64 = [](const OptimizerSpec& s) { return make_optimizer<double>(s); };
  t.f32 = [](const OptimizerSpec& s) { return make_optimizer<float>(s); };
  t.may_refuse = false;
  t.tensor_lists = true;
  return t;
}

AuditTarget plugin_target(const std::string& path) {
  auto plugin = std::make_shared<const Plugin>(path);
  AuditTarget t;
  t.name = plugin->name();
  t.claims = plugin->claims();
  t.f64 = [plugin](const OptimizerSpec&) { return std::make_unique<PluginOptimizer<double>>(plugin); };
  if (plugin->has_f32())
    t.f32 = [plugin](const OptimizerSpec&) { return std::make_unique<PluginOptimizer<float>>(plugin); };
  t.may_refuse = true;     // the ABI allows a refusal (a non-zero status)
  t.tensor_lists = false;  // the ABI steps one flat vector
  return t;
}

}  // namespace zerolr
