#pragma once
/// \file
/// How far a computed float or double is from another value: the distance in units in the
/// last place (ulps) and the relative error, with every special value given a fixed answer.
///
/// The ulp distance counts steps along the ordered line of representable values
///
///   -inf, -max, ..., -denorm_min, 0, +denorm_min, ..., +max, +inf
///
/// obtained by mapping each bit pattern to an integer that increases with the value (the
/// magnitude bits, negated for negative numbers). Infinities are the ends of the line, one
/// step beyond +-max. The distance is symmetric and 0 exactly when the two values are equal
/// (or both NaN). std::nextafter walks this line: k steps of nextafter from a, in one
/// direction and without reaching an infinity, land at distance k from a.
///
/// Signed zeros (ZeroMode):
///   - Value: +0 and -0 are the same point of the line; their distance is 0. nextafter
///     agrees: nextafter(+denorm_min, -inf) is +0 and the next step is -denorm_min, one zero
///     and two steps in all.
///   - Bits: the distance between +0 and -0 is 1, so that a sign flip of a zero is seen.
///     Every other pair has the same distance as in Value mode (in particular
///     ulp_distance(-denorm_min, +denorm_min) is 2 and ulp_distance(-0, +denorm_min) is 1
///     in both modes). The zeros are not a step apart on the line: Bits mode is Value mode
///     plus one for a pair of zeros of opposite signs.
///
/// NaN: all NaNs (any sign or payload) are at distance 0 from each other, and at distance
/// UINT64_MAX from every non-NaN value, infinities included. No finite or infinite pair gets
/// that far (-inf to +inf is 2 * 0x7ff0000000000000 for double), so UINT64_MAX always
/// means "exactly one is NaN".
///
/// The distances to a zerolr::Reference value live in zerolr/scalar/reference_distance.h,
/// which pulls in Boost; this header does not.

#include <cstdint>

namespace zerolr {

/// Whether +0 and -0 count as one point (Value) or as one ulp apart (Bits). See the file
/// comment for the exact convention.
enum class ZeroMode { Value, Bits };

/// The number of steps between a and b on the ordered line of floats.
/// requires: nothing (every bit pattern is accepted).
/// ensures: result == ulp_distance(b, a, mode) (symmetric);
///          result == 0 iff both are NaN or a == b, and in Bits mode also
///          signbit(a) == signbit(b);
///          result == UINT64_MAX iff exactly one of a, b is NaN;
///          no overflow and no undefined behaviour for any input.
std::uint64_t ulp_distance(float a, float b, ZeroMode mode);

/// The same for double.
std::uint64_t ulp_distance(double a, double b, ZeroMode mode);

/// The relative error |computed - ref| / |ref| of plain doubles, with the conventions of
/// the reference overload (reference_distance.h):
///   both NaN -> 0; exactly one NaN -> +inf;
///   either infinite -> 0 if both are infinities of the same sign, else +inf;
///   ref == 0 (either sign) -> 0 if computed == 0 (either sign), else +inf.
/// requires: nothing.
/// ensures: result >= 0, never NaN. Outside the special cases the quotient is evaluated in
///          long double (so the difference cannot overflow: relative_error(1e308, -1e308)
///          == 2) and rounded to double: on x86-64 within a few units of 2^-64 of the exact
///          quotient before that rounding; a quotient beyond double's range is +inf.
double relative_error(double computed, double ref);

/// Entry-by-entry errors of a computed matrix against its reference (summarize_errors in
/// reference_distance.h). The medians are lower medians: element (count - 1) / 2 of the
/// sorted values, so always an observed value. Entries where exactly one side is NaN are
/// included (ulp distance UINT64_MAX, relative error +inf) and also counted apart. All
/// fields are 0 for empty matrices.
struct ErrorSummary {
  std::uint64_t max_ulp = 0;
  std::uint64_t median_ulp = 0;
  double max_rel = 0;
  double median_rel = 0;
  std::int64_t count = 0;              ///< number of entries compared
  std::int64_t nan_mismatches = 0;     ///< entries where exactly one side is NaN
  std::int64_t signed_zero_flips = 0;  ///< both zero after rounding the reference, signs differ

  friend bool operator==(const ErrorSummary&, const ErrorSummary&) = default;
};

}  // namespace zerolr
