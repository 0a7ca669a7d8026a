#include "zerolr/optim/step.h"

#include <cmath>
#include <type_traits>
#include <string>

#include "instantiate.h"
#include "zerolr/kernels.h"
#include "zerolr/spec_syntax.h"

namespace zerolr {

namespace {

template <class T>
std::string text_of(const T& v) {
  return format_real(static_cast<double>(v));
}

}  // namespace

// The non-template functions are compiled once, not again in the reference build.
#ifndef ZEROLR_REFERENCE_TU
std::string to_string(NonFinitePolicy policy) {
  switch (policy) {
    case NonFinitePolicy::Raise:
      return "raise";
    case NonFinitePolicy::Skip:
      return "skip";
    case NonFinitePolicy::Apply:
      return "apply";
  }
  throw SpecError("non-finite policy: invalid enumerator " + std::to_string(static_cast<int>(policy)));
}

NonFinitePolicy parse_non_finite_policy(const std::string& text) {
  for (NonFinitePolicy p : {NonFinitePolicy::Raise, NonFinitePolicy::Skip, NonFinitePolicy::Apply})
    if (text == to_string(p)) return p;
  throw SpecError("non-finite policy \"" + text + "\" is not one of raise, skip, apply");
}
#endif

template <class T>
T clip_grad_norm(const std::vector<ParamRef<T>>& params, T max_norm) {
  using std::isnan;
  using std::sqrt;
  if (!(max_norm > 0)) throw SpecError("clip_grad_norm: max_norm must be > 0, got " + text_of(max_norm));
  // A plain left-to-right sum, tensor by tensor: the order is part of the definition.
  T sum_sq = T(0);
  for (const ParamRef<T>& p : params) {
    const T* g = p.grad->data();
    const Index n = p.grad->size();
    for (Index i = 0; i < n; ++i) sum_sq += g[i] * g[i];
  }
  const T total = sqrt(sum_sq);
  const T coef = max_norm / (total + T(1e-6));
  // torch.clamp(coef, max=1) keeps a NaN, and an infinite norm gives coef = 0, so that
  // 0 * inf turns the infinite entries into NaN, as PyTorch does.
  if (coef < T(1) || isnan(coef)) {
    for (const ParamRef<T>& p : params) *p.grad *= coef;
  }
  return total;
}

template <class T>
bool gradients_finite(const std::vector<ParamRef<T>>& params, std::string* where) {
  using std::isfinite;
  for (const ParamRef<T>& p : params) {
    const T* g = p.grad->data();
    const Index n = p.grad->size();
    const Index rows = p.grad->rows();
    Index i = 0;
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>)
      i = kernels::first_non_finite<T>(n, g);  // vectorized screen (zerolr/kernels.h)
    for (; i < n; ++i) {
      if (isfinite(g[i])) continue;
      if (where != nullptr) {
        // Storage is column-major: entry i is (i % rows, i / rows).
        *where = "gradient of '" + p.name + "' entry " + std::to_string(i) + " (row " +
                 std::to_string(i % rows) + ", col " + std::to_string(i / rows) + ") is " + text_of(g[i]);
      }
      return false;
    }
  }
  return true;
}

template <class T>
StepOutcome apply_step(Optimizer<T>& opt, const std::vector<ParamRef<T>>& params, T lr,
                       const StepOptions& options) {
  using std::isfinite;
  if (!(lr >= 0) || !isfinite(lr))
    throw SpecError("apply_step: the learning rate must be finite and >= 0, got " + text_of(lr));
  if (!(options.clip_norm >= 0))
    throw SpecError("apply_step: clip_norm must be >= 0 (0 disables clipping), got " +
                    format_real(options.clip_norm));
  StepOutcome outcome;
  std::string where;
  outcome.non_finite = !gradients_finite(params, &where);
  if (outcome.non_finite) {
    switch (options.non_finite) {
      case NonFinitePolicy::Raise:
        throw NonFiniteGradientError("non-finite gradient: " + where);
      case NonFinitePolicy::Skip:
        outcome.stepped = false;
        return outcome;
      case NonFinitePolicy::Apply:
        break;
    }
  }
  if (options.clip_norm > 0) clip_grad_norm(params, static_cast<T>(options.clip_norm));
  opt.step(params, lr);
  return outcome;
}

#define ZEROLR_INST(T)                                                              \
  template T clip_grad_norm<T>(const std::vector<ParamRef<T>>&, T);                 \
  template bool gradients_finite<T>(const std::vector<ParamRef<T>>&, std::string*); \
  template StepOutcome apply_step<T>(Optimizer<T>&, const std::vector<ParamRef<T>>&, T, const StepOptions&);
ZEROLR_FOR_EACH_SCALAR(ZEROLR_INST)
#undef ZEROLR_INST

}  // namespace zerolr
