#pragma once
/// \file
/// Eigen's traits for the reference scalars (DoubleDouble, scalar/double_double.h; Float128,
/// scalar/reference.h), written once from std::numeric_limits.

#include <Eigen/Core>
#include <cmath>
#include <limits>

namespace zerolr {

/// Eigen's traits for a reference scalar R (double-double here, float128 in
/// scalar/reference.h), from std::numeric_limits<R>, on GenericNumTraits rather than Boost's
/// boost/multiprecision/eigen.hpp, whose 1.74 version breaks blueNorm() and returns a
/// positive lowest().
template <class R, int kAddCost, int kMulCost>
struct ReferenceNumTraits : Eigen::GenericNumTraits<R> {
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
    AddCost = kAddCost,
    MulCost = kMulCost
  };
  static inline R epsilon() { return std::numeric_limits<R>::epsilon(); }
  /// epsilon^0.9, as Eigen's own types have it.
  static inline R dummy_precision() {
    return R(std::exp2(0.9 * std::log2(static_cast<double>(std::numeric_limits<R>::epsilon()))));
  }
  static inline R highest() { return (std::numeric_limits<R>::max)(); }
  static inline R lowest() { return -(std::numeric_limits<R>::max)(); }
  static inline R infinity() { return std::numeric_limits<R>::infinity(); }
  static inline R quiet_NaN() { return std::numeric_limits<R>::quiet_NaN(); }
  static inline int digits10() { return std::numeric_limits<R>::digits10; }
  static inline int digits() { return std::numeric_limits<R>::digits; }
};

}  // namespace zerolr
