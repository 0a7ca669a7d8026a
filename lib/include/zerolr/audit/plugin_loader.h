#pragma once
/// \file
/// Loading an optimizer plug-in (zerolr/plugin.h) and using it as an Optimizer<T>.

#include <memory>
#include <optional>
#include <string>

#include "zerolr/optim/optimizer.h"
#include "zerolr/plugin.h"

namespace zerolr {

/// A plug-in that cannot be used: a missing file, no entry point, an unknown abi_version,
/// a NULL required function, malformed claims. what() is a one-line reason.
class PluginError : public Error {
 public:
  using Error::Error;
};

/// A loaded plug-in. The shared library stays loaded while the object lives.
///
/// ensures (on construction): abi_version == ZLR_PLUGIN_ABI_VERSION; name is a non-empty
/// string; create, step and destroy are not NULL; claims is NULL or a valid optimizer spec
/// (parsed into claims()).
class Plugin {
 public:
  /// Loads `path` with dlopen and calls zlr_optimizer_plugin_v1(). Throws PluginError.
  explicit Plugin(const std::string& path);
  /// Wraps a descriptor that is already in this process (tests, built-in plug-ins).
  explicit Plugin(const zlr_optimizer_plugin* descriptor, std::string origin = "<in-process>");
  ~Plugin();
  Plugin(const Plugin&) = delete;
  Plugin& operator=(const Plugin&) = delete;

  const zlr_optimizer_plugin& descriptor() const { return *desc_; }
  std::string name() const { return desc_->name; }
  const std::optional<OptimizerSpec>& claims() const { return claims_; }
  bool has_f32() const { return desc_->step_f32 != nullptr; }
  const std::string& origin() const { return origin_; }

 private:
  void validate();
  void* handle_ = nullptr;
  const zlr_optimizer_plugin* desc_ = nullptr;
  std::optional<OptimizerSpec> claims_;
  std::string origin_;
};

/// A refused step (the plug-in's step returned non-zero).
class StepRefused : public Error {
 public:
  using Error::Error;
};

/// A plug-in as an Optimizer<T> (T = double uses step, float uses step_f32).
///
/// One plug-in state per tensor, created on the tensor's first step. The state is opaque:
/// state() is empty and step_count() counts the calls. clone() replays every recorded call
/// on fresh states, so a deterministic plug-in is cloned exactly. spec() is the claimed
/// spec, or SGD's when nothing is claimed. A refused step throws StepRefused after checking
/// nothing changed (the caller judges refusal honesty with the values it kept).
template <class T>
class PluginOptimizer final : public Optimizer<T> {
 public:
  explicit PluginOptimizer(std::shared_ptr<const Plugin> plugin);
  ~PluginOptimizer() override;

  void step_tensor(std::size_t tensor, T* param, const T* grad, Index n, T lr) override;
  /// Like step_tensor but returns the plug-in's status instead of throwing on refusal.
  int try_step(std::size_t tensor, T* param, const T* grad, Index n, T lr);
  OptimizerSpec spec() const override;
  std::int64_t step_count(std::size_t tensor) const override;
  std::vector<StateRef<T>> state(std::size_t) override { return {}; }
  bool state_visible() const override { return false; }
  void set_step_count(std::size_t, std::int64_t) override;
  std::size_t tensor_count() const override { return tensors_.size(); }
  Index state_size(std::size_t tensor) const override;
  std::unique_ptr<Optimizer<T>> clone() const override;

 private:
  struct Call {
    T lr;
    std::vector<T> params, grads;
  };
  struct Tensor {
    zlr_state* state = nullptr;
    Index n = 0;
    std::int64_t steps = 0;
    std::vector<Call> history;
  };
  std::shared_ptr<const Plugin> plugin_;
  std::vector<Tensor> tensors_;
};

}  // namespace zerolr
