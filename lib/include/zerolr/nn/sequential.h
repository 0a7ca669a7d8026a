#pragma once
/// \file
/// A model: layers applied in order.

#include <memory>
#include <vector>

#include "zerolr/nn/layer.h"

namespace zerolr {

/// A stack of layers. parameters() (trainable) and buffers() (running statistics) are
/// distinct, and both are enumerated with PyTorch-style names ("0.weight").
///
/// Copying a Sequential copies every layer deeply: the copy trains independently.
template <class T>
class Sequential {
 public:
  Sequential() = default;
  /// Builds the architecture with parameters drawn from `seed`.
  explicit Sequential(const Architecture& arch, std::uint64_t seed = 0);
  Sequential(const Sequential& other);
  Sequential& operator=(const Sequential& other);
  Sequential(Sequential&&) noexcept = default;
  Sequential& operator=(Sequential&&) noexcept = default;
  ~Sequential() = default;

  /// requires: x.cols() == inputs(), x.rows() >= 1 (2 in Train mode with BatchNorm).
  /// ensures: the returned reference stays valid until the next forward.
  const Matrix<T>& forward(const Matrix<T>& x, Mode mode);
  /// Writes every parameter's gradient for dL/d(output) = grad_out; returns dL/dx.
  /// With input_gradient false the first layer may skip computing dL/dx (a trainer does not
  /// read it), and the returned matrix is unspecified; the parameter gradients are the same.
  const Matrix<T>& backward(const Matrix<T>& grad_out, bool input_gradient = true);

  std::vector<ParamRef<T>> parameters();
  std::vector<BufferRef<T>> buffers();

  const Architecture& architecture() const { return arch_; }
  /// The seed the parameters (and Dropout's masks) were drawn from.
  std::uint64_t seed() const { return seed_; }
  Index inputs() const { return arch_.inputs; }
  Index outputs() const;
  Index size() const { return static_cast<Index>(layers_.size()); }
  Layer<T>& layer(Index i) { return *layers_.at(static_cast<std::size_t>(i)); }
  /// Total number of trainable scalars.
  Index parameter_count();

 private:
  Architecture arch_;
  std::uint64_t seed_ = 0;
  std::vector<std::unique_ptr<Layer<T>>> layers_;
  Matrix<T> identity_;  ///< output of a model without layers
};

}  // namespace zerolr
