#pragma once
/// \file
/// DoubleDouble: an unevaluated sum hi + lo of two doubles with |lo| <= ulp(hi)/2, about 106
/// significant bits, with double's exponent range. It is the oracle's default reference
/// scalar (zerolr::Reference, scalar/reference.h); float128 stays as the fallback for what
/// double-double cannot represent. Why our own and not QD's dd_real, measured side by side:
/// docs/notes/double-double-choice.md.
///
/// Arithmetic (u = 2^-53; bounds from Joldes, Muller & Popescu, "Tight and rigorous error
/// bounds for basic building blocks of double-word arithmetic", ACM TOMS 44(2), 2017):
///   a + b, a - b   AccurateDWPlusDW (Alg. 6)            relative error <= 3u^2 / (1 - 4u)
///   a + double     DWPlusFP (Alg. 4)                    relative error <= 2u^2
///   a * double     DWTimesFP (exact high product)       relative error <= 2u^2
///   a * b          DWTimesDW1 (Alg. 10: no FMA outside
///                  the exact product, so every CPU gives the same bits)  relative error <= 7u^2
///   a / b          DWDivDW2 (Alg. 17)                    relative error <= 15u^2 + 56u^3
///   sqrt(a)        one Newton correction of sqrt(hi)     relative error <= 4u^2 (measured <= 1.1u^2)
/// Every basic operation therefore errs by less than kOpError = 2^-101 relative (16u^2 =
/// 2^-102 covers division's bound with room). The functions (exp, expm1, log, log1p, tanh,
/// pow; lib/src/scalar/double_double.cpp) are documented there; each errs by less than
/// kFunctionError = 2^-100 relative (pow: times 1 + |b log a|), measured against float128
/// and MPFR in tests/scalar/double_double_test.cpp.
///
/// Those bounds hold while every value stays in the safe range: zero, or a magnitude in
/// [kSafeMin, kSafeMax] = [2^-968, 2^995]. Below kSafeMin the low word would lose bits to
/// double's subnormals (an exact product error term needs 106 bits of exponent room); above
/// kSafeMax the error-free product (Dekker's split scales by 2^27 + 1) and the reference's
/// 1e200 * 1e200 would overflow. An operation on finite operands whose result leaves the safe
/// range (or underflows to zero, or overflows) counts one range exit on this thread
/// (dd_range_exits()), and so does a converted input that is finite and outside it: the
/// oracle then replays the case in float128 (reference/oracle.h).
///
/// Non-finite values follow IEEE, as float128 does: an operation with an infinite or NaN
/// operand returns the double operation's answer on the high words (inf + 1 = inf, inf * 0 =
/// NaN; the error-free transformations alone would turn inf into NaN), and so do x/0 and
/// sqrt of a negative. These count no range exit: float128 gives the same answer.

/// Signed zeros follow IEEE: a zero result has the sign a double operation on the high words
/// would give (-0 * 1 = -0, -0 + -0 = -0, x - x = +0). Conversions from float, double, long
/// double (64-bit significand) and integers up to 64 bits are exact; conversion to double
/// and to float is correctly rounded (to float without double rounding).
///
/// The products are exact with or without hardware FMA: two_prod uses an FMA instruction when
/// the translation unit is compiled for one (__FMA__), and Dekker's exact split otherwise,
/// and both give the same two doubles. So results do not depend on the instruction set.

#include <Eigen/Core>
#include <bit>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "zerolr/scalar/num_traits.h"

namespace zerolr {

namespace dd {

inline constexpr double kSafeMin = 0x1p-968;
inline constexpr double kSafeMax = 0x1p995;
/// Relative error bound of one basic operation (+, -, *, /, sqrt) in the safe range.
inline constexpr double kOpError = 0x1p-101;
/// Relative error bound of exp, expm1, log, log1p, tanh in the safe range (pow: times
/// 1 + |b log a|).
inline constexpr double kFunctionError = 0x1p-100;

/// Range exits counted on this thread (see the file comment). Initial-exec TLS: one load from
/// the thread pointer, no call, in the hot path.
inline thread_local constinit std::uint64_t range_exit_count __attribute__((tls_model("initial-exec"))) = 0;

/// s + e = a + b exactly, |e| <= ulp(s)/2.
inline void two_sum(double a, double b, double& s, double& e) {
  s = a + b;
  const double bb = s - a;
  e = (a - (s - bb)) + (b - bb);
}
/// The same when |a| >= |b| (or a == 0).
inline void fast_two_sum(double a, double b, double& s, double& e) {
  s = a + b;
  e = b - (s - a);
}
/// p + e = a * b exactly (no overflow, |p| >= 2^-969 or p == 0).
inline void two_prod(double a, double b, double& p, double& e) {
  p = a * b;
#if defined(__FMA__)
  e = __builtin_fma(a, b, -p);
#else
  // Dekker's split: a = ah + al with 26-bit halves; exact for |a| < 2^996.
  constexpr double kSplit = 134217729.0;  // 2^27 + 1
  const double ta = kSplit * a, ah = ta - (ta - a), al = a - ah;
  const double tb = kSplit * b, bh = tb - (tb - b), bl = b - bh;
  e = ((ah * bh - p) + ah * bl + al * bh) + al * bl;
#endif
}

/// Zero, or a magnitude in [kSafeMin, kSafeMax]: where the error bounds hold. False for NaN
/// and infinity.
inline bool in_safe_range(double hi) {
  const double a = std::fabs(hi);
  return a <= kSafeMax && (a >= kSafeMin || a == 0);
}

inline void note_range(double hi) {
  if (!in_safe_range(hi)) ++range_exit_count;
}
/// A converted input: a finite value outside the safe range counts (operations on it, such as
/// sqrt of a subnormal, would lose bits without leaving the range); NaN and infinity count
/// only once an operation computes with them (a NaN gradient that a forward pass never reads
/// needs no float128).
inline void note_input(double hi) {
  if (std::isfinite(hi) && !in_safe_range(hi)) ++range_exit_count;
}

}  // namespace dd

/// Range exits counted on this thread so far.
inline std::uint64_t dd_range_exits() { return dd::range_exit_count; }

class DoubleDouble {
 public:
  constexpr DoubleDouble() = default;
  /// Exact from float, double, long double (in double's range) and integers.
  template <class U, class = std::enable_if_t<std::is_arithmetic_v<U>>>
  DoubleDouble(U v) {  // NOLINT: implicit, like the built-in types
    if constexpr (std::is_same_v<U, long double>) {
      hi_ = static_cast<double>(v);
      lo_ = std::isfinite(hi_) ? static_cast<double>(v - static_cast<long double>(hi_)) : 0.0;
      // A long double that double-double cannot hold (1e400 becoming inf, bits lost to
      // subnormals) counts, whatever happens to it next.
      if (std::isfinite(v) && (!std::isfinite(hi_) || static_cast<long double>(hi_) + lo_ != v)) ++dd::range_exit_count;
    } else if constexpr (std::is_integral_v<U> && sizeof(U) >= 8) {
      const long double w = static_cast<long double>(v);  // exact: 64-bit significand
      hi_ = static_cast<double>(w);
      lo_ = static_cast<double>(w - static_cast<long double>(hi_));
    } else {
      hi_ = static_cast<double>(v);
      lo_ = 0;
    }
    dd::note_input(hi_);
  }
  /// hi + lo, normalised. requires nothing; counts a range exit as every operation does.
  static DoubleDouble from_sum(double a, double b) {
    DoubleDouble r;
    dd::two_sum(a, b, r.hi_, r.lo_);
    if (r.hi_ == 0) r.hi_ = a + b, r.lo_ = 0;
    dd::note_range(r.hi_);
    return r;
  }

  double hi() const { return hi_; }
  double lo() const { return lo_; }

  /// Correctly rounded: hi is hi + lo rounded to nearest for a normalised pair.
  explicit operator double() const { return hi_; }
  /// Correctly rounded, without double rounding: hi rounds to float correctly unless it lies
  /// exactly halfway between two floats, and then lo decides.
  explicit operator float() const {
    const float f = static_cast<float>(hi_);
    if (lo_ == 0 || !std::isfinite(hi_)) return f;
    if (!std::isfinite(f)) {
      // hi rounded up to infinity: only hi exactly at the overflow threshold (FLT_MAX plus
      // half its ulp, a tie) with lo pointing back toward zero rounds to FLT_MAX instead.
      constexpr double kThreshold = 0x1.ffffffp127;
      if (std::fabs(hi_) == kThreshold && (lo_ < 0) == (hi_ > 0)) return std::copysign(FLT_MAX, static_cast<float>(hi_));
      return f;
    }
    const double back = static_cast<double>(f);
    const double other = static_cast<double>(hi_ > back ? std::nextafter(f, INFINITY) : std::nextafter(f, -INFINITY));
    if (back != hi_ && hi_ - back == other - hi_) {  // hi is a tie; the exact value is not
      const bool toward_other = (other > back) == (lo_ > 0);
      return toward_other ? static_cast<float>(other) : f;
    }
    return f;
  }
  explicit operator long double() const { return static_cast<long double>(hi_) + static_cast<long double>(lo_); }
  template <class I, class = std::enable_if_t<std::is_integral_v<I>>>
  explicit operator I() const {
    // Truncation of hi + lo toward zero: a non-integral hi decides alone (|lo| is below its
    // distance to the next integer); an integral one moves by lo's integral part toward zero.
    const double t = std::trunc(hi_);
    if (t != hi_ || lo_ == 0) return static_cast<I>(t);
    const double adjust = (hi_ > 0) == (lo_ > 0) ? std::trunc(lo_) : (lo_ > 0 ? std::ceil(lo_) : std::floor(lo_));
    return static_cast<I>(static_cast<long double>(hi_) + static_cast<long double>(adjust));
  }

  DoubleDouble& operator+=(const DoubleDouble& o) { return *this = *this + o; }
  DoubleDouble& operator-=(const DoubleDouble& o) { return *this = *this - o; }
  DoubleDouble& operator*=(const DoubleDouble& o) { return *this = *this * o; }
  DoubleDouble& operator/=(const DoubleDouble& o) { return *this = *this / o; }

  friend DoubleDouble operator-(const DoubleDouble& a) { return raw(-a.hi_, -a.lo_); }
  friend DoubleDouble operator+(const DoubleDouble& a) { return a; }

  /// AccurateDWPlusDW.
  friend DoubleDouble operator+(const DoubleDouble& a, const DoubleDouble& b) {
    double s, e, t, f;
    dd::two_sum(a.hi_, b.hi_, s, e);
    dd::two_sum(a.lo_, b.lo_, t, f);
    e += t;
    dd::fast_two_sum(s, e, s, e);
    e += f;
    double hi, lo;
    dd::fast_two_sum(s, e, hi, lo);
    if (hi == 0) return raw(a.hi_ + b.hi_, 0.0);  // IEEE's sign of an exact zero sum
    return result(hi, lo, a.hi_ + b.hi_, a.hi_, b.hi_);
  }
  friend DoubleDouble operator-(const DoubleDouble& a, const DoubleDouble& b) { return a + (-b); }
  /// DWPlusFP (Alg. 4): a double-double plus a double, relative error <= 2u^2.
  /// (Only for double itself: an int, a float or a long double goes through the exact
  /// conversion to DoubleDouble instead of a conversion to double.)
  template <class D>
    requires std::is_same_v<D, double>
  friend DoubleDouble operator+(const DoubleDouble& a, D b) {
    double s, e;
    dd::two_sum(a.hi_, b, s, e);
    e += a.lo_;
    double hi, lo;
    dd::fast_two_sum(s, e, hi, lo);
    if (hi == 0) return raw(a.hi_ + b, 0.0);
    return result(hi, lo, a.hi_ + b, a.hi_, b);
  }
  template <class D>
    requires std::is_same_v<D, double>
  friend DoubleDouble operator+(D b, const DoubleDouble& a) {
    return a + b;
  }
  /// DWTimesFP1 (Alg. 7 with the exact product): relative error <= 1.5u^2.
  template <class D>
    requires std::is_same_v<D, double>
  friend DoubleDouble operator*(const DoubleDouble& a, D b) {
    double p, e;
    dd::two_prod(a.hi_, b, p, e);
    e += a.lo_ * b;
    double hi, lo;
    dd::fast_two_sum(p, e, hi, lo);
    return product(hi, lo, p, a.hi_, b);
  }
  template <class D>
    requires std::is_same_v<D, double>
  friend DoubleDouble operator*(D b, const DoubleDouble& a) {
    return a * b;
  }

  /// DWTimesDW1: the high product exact, the cross terms rounded and summed.
  friend DoubleDouble operator*(const DoubleDouble& a, const DoubleDouble& b) {
    double p, e;
    dd::two_prod(a.hi_, b.hi_, p, e);
    const double t = a.hi_ * b.lo_ + a.lo_ * b.hi_;
    e += t;
    double hi, lo;
    dd::fast_two_sum(p, e, hi, lo);
    return product(hi, lo, p, a.hi_, b.hi_);
  }

  /// DWDivDW2.
  friend DoubleDouble operator/(const DoubleDouble& a, const DoubleDouble& b) {
    const double th = a.hi_ / b.hi_;
    if (!std::isfinite(th) || th == 0) {
      // x/0, 0/0, 0/y, anything with an infinity or NaN: IEEE's answer, which float128 gives
      // too. A finite nonzero quotient of finite operands that overflows or underflows
      // counts.
      if (std::isfinite(a.hi_) && std::isfinite(b.hi_) && b.hi_ != 0 && a.hi_ != 0) ++dd::range_exit_count;
      return raw(th, 0.0);
    }
    // r = b * th (DWTimesFP, exact product of the high words)
    double rh, rl;
    dd::two_prod(b.hi_, th, rh, rl);
    rl += b.lo_ * th;
    dd::fast_two_sum(rh, rl, rh, rl);
    const double pi_h = a.hi_ - rh;  // exact (Sterbenz)
    const double delta_l = a.lo_ - rl;
    const double delta = pi_h + delta_l;
    const double tl = delta / b.hi_;
    double hi, lo;
    dd::fast_two_sum(th, tl, hi, lo);
    return result(hi, lo, th, a.hi_, b.hi_);
  }

  friend DoubleDouble sqrt(const DoubleDouble& a) {
    if (!(a.hi_ > 0)) return raw(std::sqrt(a.hi_), 0.0);  // +-0, negative (NaN), NaN: IEEE's
    const double s = std::sqrt(a.hi_);
    if (!std::isfinite(s)) return raw(s, 0.0);  // +inf
    double p, e;
    dd::two_prod(s, s, p, e);
    // a - s^2 = (a.hi - p) - e + a.lo; a.hi - p is exact (p is within an ulp of a.hi).
    const double r = ((a.hi_ - p) - e + a.lo_) / (2 * s);
    double hi, lo;
    dd::fast_two_sum(s, r, hi, lo);
    return result(hi, lo, s, a.hi_, 1.0);
  }

  friend DoubleDouble abs(const DoubleDouble& a) { return std::signbit(a.hi_) ? -a : a; }
  friend DoubleDouble fabs(const DoubleDouble& a) { return abs(a); }
  friend bool isnan(const DoubleDouble& a) { return std::isnan(a.hi_) || std::isnan(a.lo_); }
  friend bool isinf(const DoubleDouble& a) { return std::isinf(a.hi_); }
  friend bool isfinite(const DoubleDouble& a) { return std::isfinite(a.hi_) && std::isfinite(a.lo_); }
  friend bool signbit(const DoubleDouble& a) { return std::signbit(a.hi_); }
  /// x * 2^e, exact unless the result leaves the safe range.
  friend DoubleDouble ldexp(const DoubleDouble& a, int e) {
    if (!std::isfinite(a.hi_) || a.hi_ == 0) return a;
    double hi, lo;
    if (e >= -1022 && e <= 1023) {  // a product with 2^e: the same, without a libm call
      const double scale = std::bit_cast<double>(static_cast<std::uint64_t>(e + 1023) << 52);
      hi = a.hi_ * scale, lo = a.lo_ * scale;
    } else {
      hi = std::ldexp(a.hi_, e), lo = std::ldexp(a.lo_, e);
    }
    if (hi == 0 || !std::isfinite(hi)) {  // underflow to zero or overflow: IEEE's value, counted
      ++dd::range_exit_count;
      return raw(hi, 0.0);
    }
    return checked(hi, lo);
  }
  friend DoubleDouble floor(const DoubleDouble& a) {
    const double h = std::floor(a.hi_);
    if (h != a.hi_ || a.lo_ == 0 || !std::isfinite(h)) return raw(h, 0.0);  // keeps -0, inf
    return from_sum(h, std::floor(a.lo_));
  }
  friend DoubleDouble ceil(const DoubleDouble& a) { return -floor(-a); }

  // Functions, in lib/src/scalar/double_double.cpp.
  friend DoubleDouble exp(const DoubleDouble& a);
  friend DoubleDouble expm1(const DoubleDouble& a);
  friend DoubleDouble log(const DoubleDouble& a);
  friend DoubleDouble log1p(const DoubleDouble& a);
  friend DoubleDouble tanh(const DoubleDouble& a);
  friend DoubleDouble pow(const DoubleDouble& a, const DoubleDouble& b);

  friend bool operator==(const DoubleDouble& a, const DoubleDouble& b) { return a.hi_ == b.hi_ && a.lo_ == b.lo_; }
  friend bool operator!=(const DoubleDouble& a, const DoubleDouble& b) { return !(a == b); }
  friend bool operator<(const DoubleDouble& a, const DoubleDouble& b) {
    return a.hi_ < b.hi_ || (a.hi_ == b.hi_ && a.lo_ < b.lo_);
  }
  friend bool operator>(const DoubleDouble& a, const DoubleDouble& b) { return b < a; }
  friend bool operator<=(const DoubleDouble& a, const DoubleDouble& b) {
    return a.hi_ < b.hi_ || (a.hi_ == b.hi_ && a.lo_ <= b.lo_);
  }
  friend bool operator>=(const DoubleDouble& a, const DoubleDouble& b) { return b <= a; }

  /// A pair taken as is (already normalised), without a range check.
  static constexpr DoubleDouble raw(double hi, double lo) {
    DoubleDouble r;
    r.hi_ = hi;
    r.lo_ = lo;
    return r;
  }
  /// A normalised pair, range-checked: a non-finite value counts too.
  static DoubleDouble checked(double hi, double lo) {
    dd::note_range(hi);
    return raw(hi, lo);
  }
  /// The result (hi, lo) of an operation on operands with high words x and y, whose plain
  /// double form on the high words gave `plain`. In the safe range: (hi, lo). Otherwise
  /// (edge): with a non-finite operand, IEEE's answer `plain` (inf + 1 = inf, where the
  /// error-free transformations would give NaN), as float128 gives it, without a range exit;
  /// from finite operands, a range exit, and `plain` if the result is not finite (overflow:
  /// IEEE's infinity) or (hi, lo) if it is.
  static DoubleDouble result(double hi, double lo, double plain, double x, double y) {
    if (dd::in_safe_range(hi)) [[likely]]
      return raw(hi, lo);
    return edge(hi, lo, plain, x, y);
  }
  /// The result of a product with factors' high words x and y and plain product p: a zero
  /// takes p's IEEE sign, and is an underflow (a range exit) when both factors are nonzero.
  static DoubleDouble product(double hi, double lo, double p, double x, double y) {
    if (hi == 0) {
      if (x != 0 && y != 0) ++dd::range_exit_count;
      return raw(p, 0.0);
    }
    return result(hi, lo, p, x, y);
  }
  [[gnu::cold]] [[gnu::noinline]] static DoubleDouble edge(double hi, double lo, double plain, double x, double y) {
    if (!std::isfinite(x) || !std::isfinite(y)) return raw(plain, 0.0);
    ++dd::range_exit_count;
    if (!std::isfinite(hi)) return raw(plain, 0.0);
    return raw(hi, lo);
  }

 private:
  double hi_ = 0;
  double lo_ = 0;
};

}  // namespace zerolr

namespace std {

template <>
class numeric_limits<zerolr::DoubleDouble> {
  using R = zerolr::DoubleDouble;

 public:
  static constexpr bool is_specialized = true;
  static constexpr bool is_signed = true;
  static constexpr bool is_integer = false;
  static constexpr bool is_exact = false;
  static constexpr bool has_infinity = true;
  static constexpr bool has_quiet_NaN = true;
  static constexpr bool has_signaling_NaN = false;
  static constexpr int radix = 2;
  static constexpr int digits = 106;
  static constexpr int digits10 = 31;
  static constexpr int max_digits10 = 33;
  static constexpr int min_exponent = -967;
  static constexpr int max_exponent = 996;
  /// The relative spacing that every operation resolves: 2^-104 (4u^2).
  static constexpr R epsilon() { return R::raw(0x1p-104, 0); }
  static constexpr R round_error() { return R::raw(0.5, 0); }
  /// The safe range's ends (the double-double file comment): smaller or larger magnitudes
  /// exist as values but count as range exits.
  static constexpr R min() { return R::raw(zerolr::dd::kSafeMin, 0); }
  static constexpr R max() { return R::raw(zerolr::dd::kSafeMax, 0); }
  static constexpr R lowest() { return R::raw(-zerolr::dd::kSafeMax, 0); }
  static constexpr R denorm_min() { return R::raw(zerolr::dd::kSafeMin, 0); }
  static constexpr R infinity() { return R::raw(__builtin_inf(), 0); }
  static constexpr R quiet_NaN() { return R::raw(__builtin_nan(""), 0); }
};

}  // namespace std

namespace Eigen {

template <>
struct NumTraits<zerolr::DoubleDouble> : zerolr::ReferenceNumTraits<zerolr::DoubleDouble, 20, 10> {};

}  // namespace Eigen
