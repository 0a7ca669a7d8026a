#include "zerolr/nn/loss.h"

#include <cmath>

#include "instantiate.h"
#include "nn/formulas.h"
#include "zerolr/spec_syntax.h"

namespace zerolr {

// Non-template code: compiled once, not again in the reference build.
#ifndef ZEROLR_REFERENCE_TU
LossSpec LossSpec::parse(const std::string& text) {
  const auto call = parse_call(text, "loss spec");
  LossSpec spec;
  if (call.name == "mse") {
    spec.kind = LossKind::Mse;
  } else if (call.name == "bce") {
    spec.kind = LossKind::BceWithLogits;
  } else if (call.name == "cross_entropy") {
    spec.kind = LossKind::CrossEntropy;
  } else if (call.name == "huber") {
    spec.kind = LossKind::Huber;
  } else {
    throw SpecError("loss spec: unknown loss '" + call.name + "' (known: mse, bce, cross_entropy, huber)");
  }
  for (const auto& arg : call.args) {
    if (spec.kind != LossKind::Huber)
      throw SpecError("loss spec: " + call.name + " takes no settings (got '" +
                      (arg.key.empty() ? arg.value : arg.key) + "')");
    if (!arg.key.empty() && arg.key != "delta")
      throw SpecError("loss spec: huber has no key '" + arg.key + "' (valid keys: delta)");
    spec.delta = parse_real(arg, "loss spec");
    if (!(spec.delta > 0))
      throw SpecError("loss spec: huber delta=" + arg.value + " is out of range: must be in (0, inf)");
  }
  if (call.args.size() > 1) throw SpecError("loss spec: huber repeats key 'delta'");
  return spec;
}

std::string LossSpec::to_string() const {
  switch (kind) {
    case LossKind::Mse:
      return "mse";
    case LossKind::BceWithLogits:
      return "bce";
    case LossKind::CrossEntropy:
      return "cross_entropy";
    case LossKind::Huber:
      return "huber(delta=" + format_real(delta) + ")";
  }
  return "?";
}

Index loss_target_columns(const LossSpec& spec, Index outputs) {
  return spec.kind == LossKind::CrossEntropy ? 1 : outputs;
}

#endif  // ZEROLR_REFERENCE_TU

namespace {

template <class T>
void check_shapes(const LossSpec& spec, const Matrix<T>& y, const Matrix<T>& t) {
  const Index want = loss_target_columns(spec, y.cols());
  if (y.rows() < 1) throw ShapeError("loss: the batch is empty");
  if (t.rows() != y.rows() || t.cols() != want)
    throw ShapeError("loss " + spec.to_string() + ": targets are " + std::to_string(t.rows()) + "x" +
                     std::to_string(t.cols()) + " but the predictions need " + std::to_string(y.rows()) +
                     "x" + std::to_string(want));
  if (spec.kind == LossKind::Huber && !(spec.delta > 0 && std::isfinite(spec.delta)))
    throw ShapeError("loss huber: delta must be finite and > 0, got " + format_real(spec.delta));
  if (spec.kind == LossKind::CrossEntropy && y.cols() < 2)
    throw ShapeError("loss cross_entropy: needs at least 2 output classes, got " + std::to_string(y.cols()));
}

template <class T>
Index class_index(const T& v, Index classes, Index row) {
  using std::floor;
  if (!(v >= 0) || !(v < T(classes)) || floor(v) != v)
    throw ShapeError("loss cross_entropy: target of sample " + std::to_string(row) +
                     " is not a class index in [0, " + std::to_string(classes) + ")");
  return static_cast<Index>(static_cast<long long>(v));
}

// The value, and the gradient when `grad` is not null. One function, so the two never drift.
template <class T>
T compute(const LossSpec& spec, const Matrix<T>& y, const Matrix<T>& t, Matrix<T>* grad) {
  using std::abs;
  using std::exp;
  using std::log;
  using std::log1p;
  check_shapes(spec, y, t);
  const Index n = y.rows(), k = y.cols();
  if (grad) grad->resize(n, k);
  T total(0);
  switch (spec.kind) {
    case LossKind::Mse: {
      const T count = T(n * k);
      for (Index j = 0; j < k; ++j)
        for (Index i = 0; i < n; ++i) {
          const T d = y(i, j) - t(i, j);
          total += d * d;
          if (grad) (*grad)(i, j) = T(2) * d / count;
        }
      return total / count;
    }
    case LossKind::BceWithLogits: {
      const T count = T(n * k);
      for (Index j = 0; j < k; ++j)
        for (Index i = 0; i < n; ++i) {
          const T x = y(i, j);
          const T z = t(i, j);
          const T e = exp(-abs(x));
          total += (x > 0 ? x : T(0)) - x * z + log1p(e);
          if (grad) {
            const T sig = x >= 0 ? T(1) / (T(1) + e) : e / (T(1) + e);
            (*grad)(i, j) = (sig - z) / count;
          }
        }
      return total / count;
    }
    case LossKind::CrossEntropy: {
      const T count = T(n);
      for (Index i = 0; i < n; ++i) {
        const Index c = class_index(t(i, 0), k, i);
        const T lse =
            formula::log_sum_exp<T>(k, [&](Index j) { return y(i, j); }, [](Index, const T&, const T&) {}).lse;
        total += lse - y(i, c);
        if (grad)
          for (Index j = 0; j < k; ++j) (*grad)(i, j) = (exp(y(i, j) - lse) - (j == c ? T(1) : T(0))) / count;
      }
      return total / count;
    }
    case LossKind::Huber: {
      const T count = T(n * k);
      const T delta = static_cast<T>(spec.delta);
      for (Index j = 0; j < k; ++j)
        for (Index i = 0; i < n; ++i) {
          const T d = y(i, j) - t(i, j);
          const T a = abs(d);
          if (a < delta) {
            total += T(0.5) * d * d;
            if (grad) (*grad)(i, j) = d / count;
          } else {
            total += delta * (a - T(0.5) * delta);
            if (grad) (*grad)(i, j) = (d > 0 ? delta : -delta) / count;
          }
        }
      return total / count;
    }
  }
  return total;
}

}  // namespace

template <class T>
T loss_value(const LossSpec& spec, const Matrix<T>& y, const Matrix<T>& t) {
  return compute<T>(spec, y, t, nullptr);
}

template <class T>
T loss_and_grad(const LossSpec& spec, const Matrix<T>& y, const Matrix<T>& t, Matrix<T>& grad) {
  return compute<T>(spec, y, t, &grad);
}

#define ZEROLR_INST(T)                                                           \
  template T loss_value<T>(const LossSpec&, const Matrix<T>&, const Matrix<T>&); \
  template T loss_and_grad<T>(const LossSpec&, const Matrix<T>&, const Matrix<T>&, Matrix<T>&);
ZEROLR_FOR_EACH_SCALAR(ZEROLR_INST)
#undef ZEROLR_INST

}  // namespace zerolr
