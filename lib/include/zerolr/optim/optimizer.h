#pragma once
/// \file
/// The optimizer contract and the generic driver that gives every update rule lazily
/// created per-tensor state.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "zerolr/core.h"
#include "zerolr/nn/layer.h"
#include "zerolr/optim/rule.h"
#include "zerolr/optim/spec.h"

namespace zerolr {

/// An optimizer with PyTorch's semantics: one state per parameter tensor, created on the
/// tensor's first step; integer step counters that advance on every step, lr = 0 included.
///
/// step_tensor(t, p, g, n, lr)
///   requires: lr >= 0 and finite; p and g point to n >= 1 values; tensor t was always
///             stepped with the same n.
///   ensures:  p holds the rule's update; the tensor's state advanced by one step.
template <class T>
class Optimizer {
 public:
  virtual ~Optimizer() = default;

  /// Steps every tensor of `params` (tensor ids are positions in the list).
  void step(const std::vector<ParamRef<T>>& params, T lr);

  virtual void step_tensor(std::size_t tensor, T* param, const T* grad, Index n, T lr) = 0;

  /// The spec this optimizer was made from (including its base lr).
  virtual OptimizerSpec spec() const = 0;
  /// The step counter of a tensor; 0 before its first step.
  virtual std::int64_t step_count(std::size_t tensor) const = 0;
  /// The tensor's state vectors, or nothing before its first step.
  virtual std::vector<StateRef<T>> state(std::size_t tensor) = 0;
  /// The tensor's scalar state (NAdam's mu_product, ASGD's eta), or nothing. Opaque
  /// implementations (plug-ins, workers) have none to show.
  virtual std::vector<ScalarRef<T>> scalar_state(std::size_t /*tensor*/) { return {}; }
  /// Whether state() and scalar_state() show the whole state (false for plug-ins and workers,
  /// whose state is opaque: the oracle cannot restart their rule from it).
  virtual bool state_visible() const { return true; }
  /// Sets a tensor's step counter (with state(), this restores a saved state).
  virtual void set_step_count(std::size_t tensor, std::int64_t step) = 0;
  /// Number of tensors with state.
  virtual std::size_t tensor_count() const = 0;
  /// The length a tensor's state was created for; 0 before its first step.
  virtual Index state_size(std::size_t tensor) const = 0;

  virtual std::unique_ptr<Optimizer<T>> clone() const = 0;
};

/// Makes the optimizer a spec names.
template <class T>
std::unique_ptr<Optimizer<T>> make_optimizer(const OptimizerSpec& spec);

/// Drives an update rule (optim/rule.h): keeps Rule::Settings and one Rule::State<T> per
/// tensor, created on the tensor's first step.
template <class T, class Rule>
class RuleOptimizer final : public Optimizer<T> {
 public:
  using Settings = typename Rule::Settings;
  using State = typename Rule::template State<T>;

  explicit RuleOptimizer(const Settings& settings) : settings_(settings) {}

  void step_tensor(std::size_t tensor, T* param, const T* grad, Index n, T lr) override {
    if (n < 1) throw ShapeError("optimizer step: a tensor needs at least one value");
    if (tensor >= states_.size()) states_.resize(tensor + 1);
    auto& slot = states_[tensor];
    if (!slot) {
      slot = std::make_unique<State>(Rule::template init<T>(settings_, n));
      sizes_.resize(states_.size(), 0);
      sizes_[tensor] = n;
    } else if (sizes_[tensor] != n) {
      throw ShapeError("optimizer step: tensor " + std::to_string(tensor) + " changed size from " +
                       std::to_string(sizes_[tensor]) + " to " + std::to_string(n));
    }
    Rule::update(settings_, *slot, param, grad, n, lr);
  }

  OptimizerSpec spec() const override { return settings_; }
  std::int64_t step_count(std::size_t tensor) const override {
    return tensor < states_.size() && states_[tensor] ? states_[tensor]->step : 0;
  }
  std::vector<StateRef<T>> state(std::size_t tensor) override {
    if (tensor >= states_.size() || !states_[tensor]) return {};
    return Rule::refs(*states_[tensor]);
  }
  std::vector<ScalarRef<T>> scalar_state(std::size_t tensor) override {
    if (tensor >= states_.size() || !states_[tensor]) return {};
    // Registered rules must define scalars (UpdateRule); a test's ad-hoc rule may omit it.
    if constexpr (requires(State & st) { Rule::scalars(st); })
      return Rule::scalars(*states_[tensor]);
    else
      return {};
  }
  void set_step_count(std::size_t tensor, std::int64_t step) override {
    if (tensor >= states_.size() || !states_[tensor])
      throw ShapeError("set_step_count: tensor " + std::to_string(tensor) + " has no state yet");
    states_[tensor]->step = step;
  }
  std::size_t tensor_count() const override { return states_.size(); }
  Index state_size(std::size_t tensor) const override { return tensor < sizes_.size() ? sizes_[tensor] : 0; }
  std::unique_ptr<Optimizer<T>> clone() const override {
    auto copy = std::make_unique<RuleOptimizer>(settings_);
    copy->sizes_ = sizes_;
    for (const auto& s : states_) copy->states_.push_back(s ? std::make_unique<State>(*s) : nullptr);
    return copy;
  }
  const Settings& settings() const { return settings_; }

 private:
  Settings settings_;
  std::vector<std::unique_ptr<State>> states_;
  std::vector<Index> sizes_;
};

}  // namespace zerolr
