#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "zerolr/scalar/reference_distance.h"

namespace zerolr {
namespace {

// Element (size - 1) / 2 of the sorted values. requires: !v.empty().
template <class V>
V lower_median(std::vector<V>& v) {
  const auto mid = v.begin() + static_cast<std::ptrdiff_t>((v.size() - 1) / 2);
  std::nth_element(v.begin(), mid, v.end());
  return *mid;
}

}  // namespace

template <WorkingScalar T>
std::uint64_t ulp_distance_to_reference(T computed, const Reference& ref, ZeroMode mode) {
  // Boost narrows float128 with the compiler's own conversion: correctly rounded, directly
  // to T (never through double, which would double-round floats).
  return ulp_distance(computed, static_cast<T>(ref), mode);
}

template <WorkingScalar T>
double relative_error(T computed, const Reference& ref) {
  using std::fabs;
  using std::isinf;
  using std::isnan;
  constexpr double kInf = std::numeric_limits<double>::infinity();
  const bool nan_c = isnan(computed), nan_r = isnan(ref);
  if (nan_c || nan_r) return nan_c && nan_r ? 0.0 : kInf;
  const Reference c(computed);
  if (isinf(computed) || isinf(ref)) return c == ref ? 0.0 : kInf;
  if (ref == 0) return computed == 0 ? 0.0 : kInf;
  return static_cast<double>(fabs(c - ref) / fabs(ref));
}

template <WorkingScalar T>
ErrorSummary summarize_errors(const Matrix<T>& computed, const Matrix<Reference>& ref, ZeroMode mode) {
  if (computed.rows() != ref.rows() || computed.cols() != ref.cols())
    throw ShapeError("summarize_errors: computed is " + std::to_string(computed.rows()) + "x" +
                     std::to_string(computed.cols()) + " but the reference is " + std::to_string(ref.rows()) +
                     "x" + std::to_string(ref.cols()));
  ErrorSummary s;
  s.count = computed.size();
  if (s.count == 0) return s;
  std::vector<std::uint64_t> ulps(static_cast<std::size_t>(s.count));
  std::vector<double> rels(ulps.size());
  for (Index k = 0; k < s.count; ++k) {
    const T c = computed.data()[k];
    const Reference& r = ref.data()[k];
    const T rounded = static_cast<T>(r);
    const auto i = static_cast<std::size_t>(k);
    ulps[i] = ulp_distance(c, rounded, mode);
    rels[i] = relative_error(c, r);
    using std::isnan;
    if (isnan(c) != isnan(r)) ++s.nan_mismatches;
    if (c == 0 && rounded == 0 && std::signbit(c) != std::signbit(rounded)) ++s.signed_zero_flips;
  }
  s.max_ulp = *std::max_element(ulps.begin(), ulps.end());
  s.max_rel = *std::max_element(rels.begin(), rels.end());
  s.median_ulp = lower_median(ulps);
  s.median_rel = lower_median(rels);
  return s;
}

#define ZEROLR_INSTANTIATE_REFERENCE_DISTANCE(T)                                      \
  template std::uint64_t ulp_distance_to_reference<T>(T, const Reference&, ZeroMode); \
  template double relative_error<T>(T, const Reference&);                             \
  template ErrorSummary summarize_errors<T>(const Matrix<T>&, const Matrix<Reference>&, ZeroMode);
ZEROLR_INSTANTIATE_REFERENCE_DISTANCE(float)
ZEROLR_INSTANTIATE_REFERENCE_DISTANCE(double)
#undef ZEROLR_INSTANTIATE_REFERENCE_DISTANCE

}  // namespace zerolr
