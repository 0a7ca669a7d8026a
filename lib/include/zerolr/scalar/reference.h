#pragma once
/// \file
/// The reference scalar: the type in which the oracle replays a float or double run.
///
/// zerolr::Reference is Boost.Multiprecision's float128 (IEEE binary128, 113-bit significand)
/// without expression templates. Why this one, measured on the project's machine (see
/// docs/notes/reference-scalar-measurements.md): it is the fastest Boost candidate in a
/// matrix product (about 1.7x faster than mpfr_float with 30-40 digits, 1.5x faster than
/// cpp_bin_float<113>), trivially copyable and allocation-free, it compiles fastest, every
/// float and double converts into it exactly and back correctly rounded, and its libm
/// (libquadmath) is accurate to about 2 ulps of 2^-113 — some 2^58 below double's unit
/// roundoff, which is what the oracle's bounds are about.
///
/// Only translation units that need the reference include this header: it pulls in Boost.
/// It needs GNU extensions (-std=gnu++20: CMake's default CXX_EXTENSIONS) and -lquadmath.

#include <Eigen/Core>
#include <boost/multiprecision/float128.hpp>
#include <limits>

namespace zerolr {

using Reference =
    boost::multiprecision::number<boost::multiprecision::float128_backend, boost::multiprecision::et_off>;

}  // namespace zerolr

namespace Eigen {

/// Eigen's traits for the reference scalar, written on GenericNumTraits rather than taken
/// from boost/multiprecision/eigen.hpp: Boost 1.74's version breaks blueNorm() and returns a
/// positive lowest().
template <>
struct NumTraits<zerolr::Reference> : GenericNumTraits<zerolr::Reference> {
  using R = zerolr::Reference;
  typedef R Real;
  typedef R NonInteger;
  typedef R Literal;
  typedef R Nested;
  enum {
    IsComplex = 0,
    IsInteger = 0,
    IsSigned = 1,
    RequireInitialization = 1,
    ReadCost = 1,
    AddCost = 4,
    MulCost = 8
  };
  static inline R epsilon() { return std::numeric_limits<R>::epsilon(); }
  static inline R dummy_precision() {
    using std::pow;
    return pow(epsilon(), R(0.9));
  }
  static inline R highest() { return (std::numeric_limits<R>::max)(); }
  static inline R lowest() { return -(std::numeric_limits<R>::max)(); }
  static inline R infinity() { return std::numeric_limits<R>::infinity(); }
  static inline R quiet_NaN() { return std::numeric_limits<R>::quiet_NaN(); }
  static inline int digits10() { return std::numeric_limits<R>::digits10; }
  static inline int digits() { return std::numeric_limits<R>::digits; }
};

}  // namespace Eigen
