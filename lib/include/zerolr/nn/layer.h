#pragma once
/// \file
/// The layer contract shared by every layer, and the architecture description that
/// builds a model from plain data.

#include <memory>
#include <string>
#include <vector>

#include "zerolr/core.h"

namespace zerolr {

/// A trainable tensor: its value and the gradient the last backward pass wrote.
template <class T>
struct ParamRef {
  std::string name;  ///< "0.weight", "0.bias", ... as PyTorch names them
  Matrix<T>* value;
  Matrix<T>* grad;
};

/// A non-trainable tensor that the forward pass may change (running statistics).
template <class T>
struct BufferRef {
  std::string name;  ///< "1.running_mean", "1.running_var"
  Matrix<T>* value;
};

/// The kinds of layer zerolr has.
enum class LayerKind { Dense, ReLU, LeakyReLU, Tanh, Sigmoid, Softplus, Dropout, BatchNorm1d, LayerNorm };

/// How Dense initialises its weights. Torch is PyTorch's default for nn.Linear:
/// weight and bias uniform in +-1/sqrt(fan_in). Xavier and He draw the weight and zero the bias.
enum class Init { Torch, XavierUniform, XavierNormal, HeUniform, HeNormal };

/// One layer as data. Only the fields of its kind are meaningful.
struct LayerSpec {
  LayerKind kind = LayerKind::Dense;
  Index units = 1;          ///< Dense: output features
  Init init = Init::Torch;  ///< Dense
  double slope = 0.01;      ///< LeakyReLU: negative_slope
  double beta = 1.0;        ///< Softplus
  double threshold = 20.0;  ///< Softplus: linear above beta*x > threshold
  double p = 0.5;           ///< Dropout: probability of zeroing
  double momentum = 0.1;    ///< BatchNorm1d: running-statistics momentum
  double eps = 1e-5;        ///< BatchNorm1d and LayerNorm

  /// Equal when the kind and the settings that apply to the kind are equal (a relu's
  /// `units` field, say, is ignored), i.e. when the text forms are equal.
  friend bool operator==(const LayerSpec& a, const LayerSpec& b);
};

/// A model as data: the number of input features and the layers in order.
///
/// The text form is a comma-separated list after the input width:
/// "input(4),dense(16),batchnorm,relu,dense(1)". Printing and parsing round-trip exactly.
struct Architecture {
  Index inputs = 1;
  std::vector<LayerSpec> layers;

  /// requires: a well-formed spec. ensures: a validated architecture or SpecError.
  static Architecture parse(const std::string& text);
  std::string to_string() const;

  /// Output width after the last layer. Throws SpecError if a layer's settings are out of range.
  Index outputs() const;
  /// Whether any layer has running statistics (BatchNorm1d).
  bool has_buffers() const;
  /// Whether any layer is random in Train mode (Dropout).
  bool has_dropout() const;

  friend bool operator==(const Architecture&, const Architecture&) = default;
};

std::string to_string(LayerKind kind);
std::string to_string(const LayerSpec& spec);

/// The contract every layer fulfils.
///
/// forward(x, mode) requires x to have as many columns as the layer's input features and at
/// least one row, and returns a reference to an output buffer owned by the layer that stays
/// valid until the next forward. It caches what backward needs.
/// backward(dy) requires a preceding forward with the same batch, writes the gradients of
/// the layer's parameters (overwriting, not accumulating) and returns dL/dx.
/// After warm-up at a fixed batch shape, neither allocates.
template <class T>
class Layer {
 public:
  virtual ~Layer() = default;

  virtual LayerSpec spec() const = 0;
  virtual const Matrix<T>& forward(const Matrix<T>& x, Mode mode) = 0;
  virtual const Matrix<T>& backward(const Matrix<T>& grad_out) = 0;

  /// Appends this layer's trainable tensors, named prefix + "weight" and so on.
  virtual void collect_parameters(std::vector<ParamRef<T>>& out, const std::string& prefix);
  /// Appends this layer's buffers (running statistics), named like the parameters.
  virtual void collect_buffers(std::vector<BufferRef<T>>& out, const std::string& prefix);

  virtual std::unique_ptr<Layer<T>> clone() const = 0;

  /// Whether the next backward must compute dL/dx (on by default). A layer may skip that
  /// product when it is off; what backward returns is then unspecified. Sequential turns it
  /// off for its first layer when the caller does not want dL/dx of the model.
  virtual void set_input_gradient(bool) {}

  /// The position of a random layer's stream (Dropout: forward calls in Train mode so far);
  /// 0 for deterministic layers. With the build seed it reproduces the layer's next draws,
  /// so a lifted copy of a model replays the same masks.
  virtual std::uint64_t random_state() const { return 0; }
  virtual void set_random_state(std::uint64_t) {}
};

/// Builds a layer from its spec for `in_features` inputs, with parameters drawn from `seed`.
/// Random draws are made in double and rounded to T, so a float and a double model built
/// from the same seed agree to float precision.
template <class T>
std::unique_ptr<Layer<T>> make_layer(const LayerSpec& spec, Index in_features, std::uint64_t seed);

}  // namespace zerolr
