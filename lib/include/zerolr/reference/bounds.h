#pragma once
/// \file
/// Rigorous running forward-error bounds for a working-precision (float or double) run.
///
/// bounded_forward() runs a model layer by layer with each layer's own forward, so the value
/// it returns is bit for bit what Sequential::forward computes, and alongside it a bound with
///
///     |computed - exact| <= bound        entrywise, and for the loss,
///
/// where "exact" is the same model evaluated in exact real arithmetic on the same inputs,
/// with the same parameter and buffer values, and with every hyperparameter (BatchNorm eps,
/// LeakyReLU slope, Softplus beta and threshold, Huber delta) taken as the spec's double
/// value; Dropout's scale is taken either as the exact 1/(1-p) or as the double-computed
/// 1.0/(1.0-p) (the bound covers both). The inputs and targets are exact (bound 0).
/// Derivations: docs/notes/forward-bounds.md.
///
/// Assumptions the bound rests on, stated once:
///   - IEEE binary32/binary64 arithmetic, round to nearest, no contraction in zerolr's own
///     loops (-ffp-contract=off); Eigen's matrix product may sum in any order, with or
///     without FMA.
///   - libm's exp, log, log1p and tanh err by at most kLibmUlps ulps (glibc documents <= 2-3
///     on x86_64; tests/reference/bounds_test.cpp samples this).
/// Bounds are computed in double, each inflated to be safe against its own rounding. A bound
/// is +inf when nothing is claimed: a non-finite computed value, or a normalisation whose
/// denominator is not resolved by the analysis.

#include "zerolr/nn/layer.h"
#include "zerolr/nn/loss.h"
#include "zerolr/nn/sequential.h"

namespace zerolr {

/// The assumed worst-case error of libm's exp, log, log1p and tanh, in ulps of the result.
inline constexpr double kLibmUlps = 4.0;

/// A forward pass (and optionally a loss) with its rigorous error bounds.
template <class T>
struct BoundedForward {
  Matrix<T> value;        ///< bit-identical to model.forward(x, mode)
  Matrix<double> bound;   ///< |value - exact| <= bound, entrywise; same shape as value
  T loss = T(0);          ///< loss_value(spec, value, target) when a loss was given
  double loss_bound = 0;  ///< |loss - exact loss| <= loss_bound (0 when no loss was given)
};

/// Runs `model` on exact inputs `x` and bounds the forward error of every output entry, and of
/// the loss when `loss` and `target` are given.
///
/// requires: T is float or double; x.cols() == model.inputs(), x.rows() >= 1 (>= 2 in Train
///           mode with BatchNorm); loss and target both null or both set, target shaped as
///           loss_value requires.
/// ensures:  value equals model.forward(x, mode) bit for bit and the model's state (running
///           statistics, Dropout streams) advances exactly as that call would advance it;
///           every bound entry is >= 0 (possibly +inf) and holds for the exact model.
template <class T>
BoundedForward<T> bounded_forward(Sequential<T>& model, const Matrix<T>& x, Mode mode,
                                  const LossSpec* loss = nullptr, const Matrix<T>* target = nullptr);

/// One layer's step of the running bound: given the layer's input `x` with bound `ex`
/// (|x - x*| <= ex) and the output `y` that layer.forward(x, mode) just returned, a bound on
/// |y - y*| where y* is the exact layer applied to x*. Parameters are read from the layer.
///
/// requires: `y` is the layer's output for exactly this `x` and `mode`, and layer's parameters
///           and buffers are those the forward used (for BatchNorm in Eval mode the running
///           statistics; in Train mode they are not read).
/// ensures:  a bound of y's shape. The intermediates the analysis needs (Softplus's
///           exp and log1p, the normalisations' mean, variance and 1/std) come from the
///           layer's own formulas (lib/src/nn/formulas.h), not from a replay of them.
template <class T>
Matrix<double> layer_error_bound(Layer<T>& layer, const Matrix<T>& x, const Matrix<double>& ex,
                                 const Matrix<T>& y, Mode mode);

/// A bound on |computed - exact loss| where `computed` = loss_value(spec, y, t), the exact
/// loss is taken at y* with |y - y*| <= ey, and t is exact.
template <class T>
double loss_error_bound(const LossSpec& spec, const Matrix<T>& y, const Matrix<double>& ey,
                        const Matrix<T>& t, T computed);

extern template struct BoundedForward<float>;
extern template struct BoundedForward<double>;

}  // namespace zerolr
