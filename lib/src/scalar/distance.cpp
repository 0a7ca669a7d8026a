#include "zerolr/scalar/distance.h"

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

namespace zerolr {
namespace {

// The IEEE layout of F as seen through the unsigned integer U of the same width.
template <class F, class U>
struct Layout {
  static_assert(sizeof(F) == sizeof(U) && std::numeric_limits<F>::is_iec559);
  static constexpr U kSign = U(1) << (8 * sizeof(U) - 1);
  static constexpr U kInfinity = std::bit_cast<U>(std::numeric_limits<F>::infinity());

  static U magnitude(F x) { return std::bit_cast<U>(x) & ~kSign; }
  static bool negative(F x) { return (std::bit_cast<U>(x) & kSign) != 0; }
  // Judged on the bits, so the answer does not depend on how the caller was compiled.
  static bool is_nan(F x) { return magnitude(x) > kInfinity; }

  // The position on the ordered line: the magnitude bits, negated for negative numbers, so
  // that +0 and -0 both map to 0. |position| <= kInfinity < 2^63, so negating is safe.
  static std::int64_t position(F x) {
    const auto m = static_cast<std::int64_t>(magnitude(x));
    return negative(x) ? -m : m;
  }
};

template <class F, class U>
std::uint64_t distance(F a, F b, ZeroMode mode) {
  using L = Layout<F, U>;
  const bool nan_a = L::is_nan(a), nan_b = L::is_nan(b);
  if (nan_a || nan_b) return nan_a && nan_b ? 0 : std::numeric_limits<std::uint64_t>::max();
  const std::int64_t pa = L::position(a), pb = L::position(b);
  // The true difference is at most 2 * kInfinity < 2^64, so unsigned wrap-around gives it
  // exactly without any signed overflow.
  const std::uint64_t d = pa >= pb ? static_cast<std::uint64_t>(pa) - static_cast<std::uint64_t>(pb)
                                   : static_cast<std::uint64_t>(pb) - static_cast<std::uint64_t>(pa);
  if (d == 0 && mode == ZeroMode::Bits && L::negative(a) != L::negative(b)) return 1;
  return d;
}

}  // namespace

std::uint64_t ulp_distance(float a, float b, ZeroMode mode) {
  return distance<float, std::uint32_t>(a, b, mode);
}

std::uint64_t ulp_distance(double a, double b, ZeroMode mode) {
  return distance<double, std::uint64_t>(a, b, mode);
}

double relative_error(double computed, double ref) {
  constexpr double kInf = std::numeric_limits<double>::infinity();
  const bool nan_c = std::isnan(computed), nan_r = std::isnan(ref);
  if (nan_c || nan_r) return nan_c && nan_r ? 0.0 : kInf;
  if (std::isinf(computed) || std::isinf(ref)) return computed == ref ? 0.0 : kInf;
  if (ref == 0) return computed == 0 ? 0.0 : kInf;
  // long double has the range for any difference of two doubles and 11 more bits.
  const long double c = computed, r = ref;
  return static_cast<double>(std::fabs(c - r) / std::fabs(r));
}

}  // namespace zerolr
