#pragma once
/// \file
/// The oracle's two reference scalars and the rule that picks one.
///
/// Every exact computation of the oracle (the drift replay, check_step, the claimed rule's
/// run of an audit case, the exact losses of the properties) is written once as a template
/// over its reference scalar R and run through with_reference():
///
///   1. in DoubleDouble (about 106 bits, double's exponent range; 10-40x faster), and
///   2. again from scratch in Float128 (113 bits, exponent range to 1e4932) if any
///      double-double value of the first run left the safe range (scalar/double_double.h:
///      a nonzero magnitude below 2^-968 or above 2^995, or a non-finite value).
///
/// So a case whose numbers double-double cannot carry (1e200 * 1e200, a subnormal input, an
/// intermediate that underflows, anything infinite or NaN) is judged exactly as before, by
/// float128; every other case by double-double. The results that leave the oracle are
/// Float128 values either way (to_float128: within 2^-113 of the double-double value).
///
/// The error bounds that account for the reference's own rounding use kUnit, which covers
/// both scalars: every double-double operation errs by at most 15u^2 + 56u^3 < 2^-101
/// relative and every function by 2^-100 (scalar/double_double.h); float128 by 2^-113 and
/// about 2^-111.
///
/// ZEROLR_ORACLE=float128 in the environment (read once) makes every run use float128 only:
/// how the verdicts of both oracles are compared (docs/notes/HANDOFF.md).

#include <cstdint>
#include <string>
#include <utility>

#include "zerolr/core.h"
#include "zerolr/scalar/reference.h"

namespace zerolr::oracle {

/// The reference's unit roundoff for error bounds: any one basic operation of either
/// reference errs by at most kUnit relative, any function (exp, log, tanh, ...) by 2 kUnit.
inline constexpr double kUnit = 0x1p-101;

/// On this thread: runs that started in double-double, how many of those fell back to
/// float128, and runs made in float128 only (ZEROLR_ORACLE=float128, ScopedFloat128).
struct Counts {
  std::uint64_t runs = 0;
  std::uint64_t fallbacks = 0;
  std::uint64_t float128_only = 0;
};
Counts& counts();

/// True when ZEROLR_ORACLE=float128 (float128 only) or a ScopedFloat128 is alive on this
/// thread; throws SpecError when ZEROLR_ORACLE is set to another value than double_double or
/// float128.
bool float128_only();

/// While alive, with_reference on this thread uses float128 only: how tests and the oracle
/// property compare the two references' verdicts on the same case.
class ScopedFloat128 {
 public:
  ScopedFloat128();
  ~ScopedFloat128();
  ScopedFloat128(const ScopedFloat128&) = delete;
  ScopedFloat128& operator=(const ScopedFloat128&) = delete;

 private:
  bool saved_;
};

/// Runs f.template operator()<R>() with R = DoubleDouble, and again with R = Float128 if the
/// first run counted a range exit (or always with Float128 under ZEROLR_ORACLE=float128).
/// f must compute from its captures without side effects it cannot repeat.
template <class F>
auto with_reference(F&& f) {
  if (float128_only()) {
    ++counts().float128_only;
    return f.template operator()<Float128>();
  }
  ++counts().runs;
  const std::uint64_t before = dd_range_exits();
  auto result = f.template operator()<DoubleDouble>();
  if (dd_range_exits() == before) return result;
  ++counts().fallbacks;
  // The rerun is float128 throughout: an oracle computation nested in this one (check_step
  // inside a drift replay) goes straight to float128 rather than trying double-double again.
  ScopedFloat128 rerun;
  return f.template operator()<Float128>();
}

/// v as R without counting a range exit: for thresholds (DBL_MAX, DBL_MIN) that code
/// compares against but never computes with.
template <class R>
R constant(double v) {
  if constexpr (std::is_same_v<R, DoubleDouble>)
    return DoubleDouble::raw(v, 0.0);
  else
    return R(v);
}

}  // namespace zerolr::oracle

namespace zerolr {

/// The value as float128: exact for float128, hi + lo rounded once for double-double.
inline Float128 to_float128(const Float128& x) { return x; }
inline Float128 to_float128(const DoubleDouble& x) {
  if (x.hi() == 0 || !std::isfinite(x.hi())) return Float128(x.hi());  // keeps -0
  return Float128(x.hi()) + Float128(x.lo());
}

template <class R>
Matrix<Float128> to_float128(const Matrix<R>& m) {
  return m.unaryExpr([](const R& x) { return to_float128(x); });
}
template <class R>
Vector<Float128> to_float128(const Vector<R>& m) {
  return m.unaryExpr([](const R& x) { return to_float128(x); });
}

}  // namespace zerolr
