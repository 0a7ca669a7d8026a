// The synthetic generators. Every value is drawn in double from zerolr::Rng and rounded to T
// with one static_cast, so that the float, double and reference datasets of a seed are
// roundings of the same double dataset.

#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "instantiate.h"
#include "zerolr/random.h"
#include "zerolr/train/dataset.h"

namespace zerolr {

namespace {

void check_sizes(const char* generator, Index n, Index d) {
  if (n < 1)
    throw ShapeError(std::string(generator) + ": n = " + std::to_string(n) + " samples, need at least 1");
  if (d < 1)
    throw ShapeError(std::string(generator) + ": d = " + std::to_string(d) + " features, need at least 1");
}

std::vector<std::string> feature_names(Index d) {
  std::vector<std::string> names;
  names.reserve(static_cast<std::size_t>(d));
  for (Index j = 0; j < d; ++j) names.push_back("x" + std::to_string(j));
  return names;
}

template <class T>
Dataset<T> empty_dataset(Index n, Index d) {
  Dataset<T> data;
  data.x.resize(n, d);
  data.y.resize(n, 1);
  data.feature_names = feature_names(d);
  data.target_name = "y";
  return data;
}

// Uniform on the grid k / 2^24, k in [0, 2^24): every value is exact in float, so rounding
// to any T keeps it below 1 (a 53-bit draw such as 1 - 2^-53 would round to 1.0f).
double uniform_exact_in_float(Rng& rng) {
  return static_cast<double>(rng.next_u64() >> 40) * 0x1.0p-24;
}

}  // namespace

template <class T>
Dataset<T> uniform_random_labels(Index n, Index d, std::uint64_t seed) {
  check_sizes("uniform_random_labels", n, d);
  Dataset<T> data = empty_dataset<T>(n, d);
  Rng rng(seed);
  for (Index i = 0; i < n; ++i) {
    for (Index j = 0; j < d; ++j) data.x(i, j) = static_cast<T>(uniform_exact_in_float(rng));
    data.y(i, 0) = static_cast<T>(static_cast<double>(rng.below(2)));
  }
  return data;
}

template <class T>
Dataset<T> regression_toy(Index n, Index d, std::uint64_t seed) {
  check_sizes("regression_toy", n, d);
  Dataset<T> data = empty_dataset<T>(n, d);
  Rng rng(seed);
  // w ~ N(0, I / d), so that w.x is standard normal and sin(w.x) is not nearly linear.
  std::vector<double> w(static_cast<std::size_t>(d));
  const double scale = 1.0 / std::sqrt(static_cast<double>(d));
  for (double& wj : w) wj = scale * rng.normal();
  std::vector<double> row(static_cast<std::size_t>(d));
  for (Index i = 0; i < n; ++i) {
    double s = 0.0;
    for (std::size_t j = 0; j < row.size(); ++j) {
      row[j] = rng.normal();
      s += w[j] * row[j];
    }
    const double noise = rng.normal();
    for (std::size_t j = 0; j < row.size(); ++j) data.x(i, static_cast<Index>(j)) = static_cast<T>(row[j]);
    data.y(i, 0) = static_cast<T>(std::sin(s) + 0.5 * s + 0.1 * noise);
  }
  return data;
}

template <class T>
Dataset<T> classification_toy(Index n, Index d, Index classes, std::uint64_t seed) {
  check_sizes("classification_toy", n, d);
  if (classes < 2)
    throw ShapeError("classification_toy: classes = " + std::to_string(classes) + ", need at least 2");
  Dataset<T> data = empty_dataset<T>(n, d);
  Rng rng(seed);
  // Centres ~ N(0, 2.5^2 I) and blobs of unit variance: mostly separable, not trivially so.
  const auto k = static_cast<std::size_t>(classes);
  const auto dd = static_cast<std::size_t>(d);
  std::vector<double> centres(k * dd);
  for (double& c : centres) c = 2.5 * rng.normal();
  for (Index i = 0; i < n; ++i) {
    const std::uint64_t label = rng.below(static_cast<std::uint64_t>(classes));
    for (std::size_t j = 0; j < dd; ++j)
      data.x(i, static_cast<Index>(j)) =
          static_cast<T>(centres[static_cast<std::size_t>(label) * dd + j] + rng.normal());
    data.y(i, 0) = static_cast<T>(static_cast<double>(label));
  }
  return data;
}

#define ZEROLR_INSTANTIATE_SYNTHETIC(T)                                      \
  template Dataset<T> uniform_random_labels<T>(Index, Index, std::uint64_t); \
  template Dataset<T> regression_toy<T>(Index, Index, std::uint64_t);        \
  template Dataset<T> classification_toy<T>(Index, Index, Index, std::uint64_t);
ZEROLR_FOR_EACH_SCALAR(ZEROLR_INSTANTIATE_SYNTHETIC)
#undef ZEROLR_INSTANTIATE_SYNTHETIC

}  // namespace zerolr
