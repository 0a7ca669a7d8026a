#pragma once
/// \file
/// Losses with mean reduction, each giving its value and its gradient together.
///
///   mse                 mean over all entries of (y - t)^2
///   bce                 binary cross-entropy from logits, mean over all entries:
///                       max(y,0) - y t + log1p(exp(-|y|))   (stable for any logit)
///   cross_entropy       softmax cross-entropy, mean over samples; t is an n x 1 column of
///                       class indices 0..C-1; log-sum-exp is shifted by the row maximum
///   huber(delta=1)      mean of 0.5 d^2 if |d| < delta else delta (|d| - 0.5 delta)
///
/// Sums run left to right over rows, then columns (column-major order), so that a loss's
/// rounding error is the textbook one that the reference oracle bounds.

#include <string>

#include "zerolr/core.h"

namespace zerolr {

enum class LossKind { Mse, BceWithLogits, CrossEntropy, Huber };

struct LossSpec {
  LossKind kind = LossKind::Mse;
  double delta = 1.0;  ///< Huber only; > 0

  /// "mse", "bce", "cross_entropy", "huber(delta=0.5)"; SpecError otherwise.
  static LossSpec parse(const std::string& text);
  std::string to_string() const;
  friend bool operator==(const LossSpec&, const LossSpec&) = default;
};

/// The loss of predictions `y` (n x k) against targets `t` (n x k, or n x 1 class indices for
/// cross_entropy). Throws ShapeError on mismatched shapes, or a class index out of range.
template <class T>
T loss_value(const LossSpec& spec, const Matrix<T>& y, const Matrix<T>& t);

/// The same value, and dL/dy written into `grad` (resized to y's shape).
template <class T>
T loss_and_grad(const LossSpec& spec, const Matrix<T>& y, const Matrix<T>& t, Matrix<T>& grad);

/// How many target columns the loss expects for a model with `outputs` outputs.
Index loss_target_columns(const LossSpec& spec, Index outputs);

}  // namespace zerolr
