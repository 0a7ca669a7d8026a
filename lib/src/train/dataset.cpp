#include "zerolr/train/dataset.h"

#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

#include "instantiate.h"

namespace zerolr {

template <class T>
void Dataset<T>::validate() const {
  if (x.rows() != y.rows())
    throw ShapeError("dataset: x has " + std::to_string(x.rows()) + " rows but y has " +
                     std::to_string(y.rows()));
  if (!feature_names.empty() && static_cast<Index>(feature_names.size()) != x.cols())
    throw ShapeError("dataset: " + std::to_string(feature_names.size()) + " feature names for " +
                     std::to_string(x.cols()) + " feature columns");
}

template <class T>
Dataset<T> Dataset<T>::subset(const std::vector<Index>& rows) const {
  validate();
  for (std::size_t i = 0; i < rows.size(); ++i) {
    if (rows[i] < 0 || rows[i] >= size())
      throw ShapeError("dataset subset: row " + std::to_string(rows[i]) + " (entry " + std::to_string(i) +
                       ") is outside [0, " + std::to_string(size()) + ")");
  }
  Dataset out;
  const auto n = static_cast<Index>(rows.size());
  out.x.resize(n, x.cols());
  out.y.resize(n, y.cols());
  for (Index i = 0; i < n; ++i) {
    const auto r = rows[static_cast<std::size_t>(i)];
    out.x.row(i) = x.row(r);
    out.y.row(i) = y.row(r);
  }
  out.feature_names = feature_names;
  out.target_name = target_name;
  return out;
}

template <class T>
std::pair<Dataset<T>, Dataset<T>> split(const Dataset<T>& data, Index n_first) {
  data.validate();
  if (n_first < 0 || n_first > data.size())
    throw ShapeError("dataset split: " + std::to_string(n_first) +
                     " first samples requested from a dataset of " + std::to_string(data.size()));
  const Index n_rest = data.size() - n_first;
  std::pair<Dataset<T>, Dataset<T>> parts;
  parts.first.x = data.x.topRows(n_first);
  parts.first.y = data.y.topRows(n_first);
  parts.second.x = data.x.bottomRows(n_rest);
  parts.second.y = data.y.bottomRows(n_rest);
  for (Dataset<T>* part : {&parts.first, &parts.second}) {
    part->feature_names = data.feature_names;
    part->target_name = data.target_name;
  }
  return parts;
}

ZEROLR_INSTANTIATE_CLASS(Dataset)

#define ZEROLR_INSTANTIATE_DATASET_FUNCTIONS(T) \
  template std::pair<Dataset<T>, Dataset<T>> split<T>(const Dataset<T>&, Index);
ZEROLR_FOR_EACH_SCALAR(ZEROLR_INSTANTIATE_DATASET_FUNCTIONS)
#undef ZEROLR_INSTANTIATE_DATASET_FUNCTIONS

}  // namespace zerolr
