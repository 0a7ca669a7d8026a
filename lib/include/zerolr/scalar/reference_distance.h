#pragma once
/// \file
/// Distances between a computed float or double and a zerolr::Reference value: the ulp
/// distance to the reference rounded to the working type, the relative error evaluated in
/// the reference type, and both summarised over a matrix. Conventions for signed zeros, NaN
/// and infinities are those of zerolr/scalar/distance.h.
///
/// T is float or double; the bodies are compiled once, in the zerolr::reference library.

#include <concepts>
#include <cstdint>

#include "zerolr/core.h"
#include "zerolr/scalar/distance.h"
#include "zerolr/scalar/reference.h"

namespace zerolr {

/// The working scalars the reference replays.
template <class T>
concept WorkingScalar = std::same_as<T, float> || std::same_as<T, double>;

/// ulp_distance(computed, static_cast<T>(ref), mode): the reference is first rounded to
/// the nearest T (ties to even; overflow to +-inf, underflow to a signed zero).
/// requires: nothing.
/// ensures: 0 when computed is the correctly rounded reference (in Bits mode also with the
///          rounded zero's sign); UINT64_MAX iff exactly one of computed, ref is NaN.
template <WorkingScalar T>
std::uint64_t ulp_distance_to_reference(T computed, const Reference& ref, ZeroMode mode);

/// |computed - ref| / |ref|, evaluated in Reference (computed lifts exactly, so only the
/// subtraction and the division round, each by at most 2^-113 relative) and rounded to the
/// nearest double. Conventions:
///   both NaN -> 0; exactly one NaN -> +inf;
///   either infinite -> 0 if both are infinities of the same sign, else +inf;
///   ref == 0 (either sign) -> 0 if computed == 0 (either sign), else +inf.
/// requires: nothing.
/// ensures: result >= 0, never NaN; a result too large for double is +inf.
template <WorkingScalar T>
double relative_error(T computed, const Reference& ref);

/// The ulp distances (in `mode`) and relative errors of computed against ref, entry by
/// entry, summarised as in ErrorSummary. signed_zero_flips counts the entries where
/// computed and the reference rounded to T are both zero with different signs: exactly the
/// entries whose Bits distance exceeds their Value distance.
/// requires: computed and ref have the same shape (else ShapeError).
/// ensures: count == computed.size(); nan_mismatches <= count; signed_zero_flips <= count.
template <WorkingScalar T>
ErrorSummary summarize_errors(const Matrix<T>& computed, const Matrix<Reference>& ref, ZeroMode mode);

}  // namespace zerolr
