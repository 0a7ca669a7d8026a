#include <cmath>
#include <memory>
#include <string>
#include <type_traits>
#include <variant>

#include "instantiate.h"
#include "zerolr/optim/optimizer.h"
#include "zerolr/optim/registry.h"
#include "zerolr/scalar/range_probe.h"
#include "zerolr/spec_syntax.h"

namespace zerolr {

namespace {

std::string shape_of(Index rows, Index cols) {
  return std::to_string(rows) + "x" + std::to_string(cols);
}

}  // namespace

template <class T>
void Optimizer<T>::step(const std::vector<ParamRef<T>>& params, T lr) {
  using std::isfinite;
  if (!(lr >= 0) || !isfinite(lr))
    throw SpecError("optimizer step: the learning rate must be finite and >= 0, got " +
                    format_real(static_cast<double>(lr)));
  // Check every tensor before stepping any, so that a bad list changes nothing.
  for (std::size_t i = 0; i < params.size(); ++i) {
    const ParamRef<T>& p = params[i];
    if (p.value == nullptr || p.grad == nullptr)
      throw ShapeError("optimizer step: tensor '" + p.name + "' has no value or no gradient");
    if (p.value->rows() != p.grad->rows() || p.value->cols() != p.grad->cols())
      throw ShapeError("optimizer step: tensor '" + p.name + "' is " +
                       shape_of(p.value->rows(), p.value->cols()) + " but its gradient is " +
                       shape_of(p.grad->rows(), p.grad->cols()));
    const Index expected = state_size(i);
    if (expected != 0 && expected != p.value->size())
      throw ShapeError("optimizer step: tensor " + std::to_string(i) + " ('" + p.name +
                       "') changed size from " + std::to_string(expected) + " to " +
                       std::to_string(p.value->size()));
  }
  for (std::size_t i = 0; i < params.size(); ++i) {
    const ParamRef<T>& p = params[i];
    step_tensor(i, p.value->data(), p.grad->data(), p.value->size(), lr);
  }
}

template <class T>
std::unique_ptr<Optimizer<T>> make_optimizer(const OptimizerSpec& spec) {
  validate(spec);
  return std::visit(
      [](const auto& settings) -> std::unique_ptr<Optimizer<T>> {
        using Rule = RuleFor<std::decay_t<decltype(settings)>>;
        return std::make_unique<RuleOptimizer<T, Rule>>(settings);
      },
      spec);
}

// make_optimizer instantiates RuleOptimizer<T, R> for every rule R of the registry.
#define ZEROLR_INST(T)         \
  template class Optimizer<T>; \
  template std::unique_ptr<Optimizer<T>> make_optimizer<T>(const OptimizerSpec&);
ZEROLR_FOR_EACH_SCALAR(ZEROLR_INST)
#ifndef ZEROLR_REFERENCE_TU
// long double: the oracle's check of a double step evaluates the same formula 11 bits wider
// to measure how strongly the formula itself amplifies rounding (reference/step_check.h).
ZEROLR_INST(long double)
// The range probes: the same formula with T's inputs, counting every intermediate outside
// T's normal range (scalar/range_probe.h, reference/step_check.h).
ZEROLR_INST(RangeProbe<float>)
ZEROLR_INST(RangeProbe<double>)
#endif
#undef ZEROLR_INST

}  // namespace zerolr
