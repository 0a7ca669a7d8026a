#pragma once
/// \file
/// In-memory datasets and the synthetic generators.

#include <cstdint>
#include <string>
#include <vector>

#include "zerolr/core.h"

namespace zerolr {

/// Features x (n x d) and targets y (n x k), row i being sample i.
/// invariant (checked by validate): x.rows() == y.rows().
template <class T>
struct Dataset {
  Matrix<T> x;
  Matrix<T> y;
  std::vector<std::string> feature_names;  ///< empty or x.cols() names
  std::string target_name;

  Index size() const { return x.rows(); }
  Index features() const { return x.cols(); }
  /// Throws ShapeError if the row counts differ or the names do not fit.
  void validate() const;
  /// The samples at `rows`, in that order.
  Dataset subset(const std::vector<Index>& rows) const;
};

/// The first `n_first` samples and the rest. requires: 0 <= n_first <= size.
template <class T>
std::pair<Dataset<T>, Dataset<T>> split(const Dataset<T>& data, Index n_first);

/// Features uniform in [0, 1), binary labels (0/1) uniformly at random: the typical sanity
/// check in which nothing can be learnt.
template <class T>
Dataset<T> uniform_random_labels(Index n, Index d, std::uint64_t seed);

/// A regression toy: standard normal features, y = sin(w.x) + 0.5 w.x + 0.1 noise.
template <class T>
Dataset<T> regression_toy(Index n, Index d, std::uint64_t seed);

/// A classification toy: `classes` Gaussian blobs around random centres; y is the class
/// index column (for cross_entropy).
template <class T>
Dataset<T> classification_toy(Index n, Index d, Index classes, std::uint64_t seed);

}  // namespace zerolr
