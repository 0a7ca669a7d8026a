#pragma once
/// \file
/// What the update rules share: flat views of a tensor, and the precision in which the
/// scalar coefficients (bias corrections, step sizes) are computed.

#include <type_traits>

#include "zerolr/core.h"
#include "zerolr/optim/optimizer.h"

namespace zerolr::rule {

/// PyTorch computes an optimizer's scalar coefficients (1 - beta^t, lr / (1 - beta1^t), ...)
/// in Python floats, i.e. double, and rounds them once when they meet a tensor. Wide<T> is
/// double for float and double, and T itself for a wider type such as the reference.
template <class T>
using Wide = std::conditional_t<std::is_floating_point_v<T> && (sizeof(T) <= sizeof(double)), double, T>;

/// A hyperparameter (a double in the spec) as the tensor's scalar, rounded once.
template <class T>
T cast(double v) {
  return static_cast<T>(v);
}

template <class T>
using VecMap = Eigen::Map<Vector<T>>;
template <class T>
using ConstVecMap = Eigen::Map<const Vector<T>>;

}  // namespace zerolr::rule
