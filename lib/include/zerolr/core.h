#pragma once
/// \file
/// The types every part of zerolr shares: matrices over a scalar T, the forward mode,
/// and the error hierarchy. Nothing here is heavy: Eigen's Core only.

#include <Eigen/Core>
#include <cstdint>
#include <stdexcept>
#include <string>

namespace zerolr {

using Index = Eigen::Index;

/// A dense matrix over T. Batches are rows: an input of n samples with d features is n x d.
template <class T>
using Matrix = Eigen::Matrix<T, Eigen::Dynamic, Eigen::Dynamic>;

/// A column vector over T.
template <class T>
using Vector = Eigen::Matrix<T, Eigen::Dynamic, 1>;

/// Train mode uses batch statistics and random masks; Eval mode is deterministic.
enum class Mode { Train, Eval };

/// Base of every error zerolr raises on bad input. what() names the offending part.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// A malformed optimizer, schedule or architecture spec, an unknown key or an out-of-range value.
class SpecError : public Error {
 public:
  using Error::Error;
};

/// A CSV file that cannot be read as numeric data with the requested target column.
class CsvError : public Error {
 public:
  using Error::Error;
};

/// Shapes or sizes that do not fit together.
class ShapeError : public Error {
 public:
  using Error::Error;
};

/// A gradient with a NaN or infinite entry under the Raise policy.
class NonFiniteGradientError : public Error {
 public:
  using Error::Error;
};

}  // namespace zerolr
