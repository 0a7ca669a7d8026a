#pragma once
/// \file
/// The oracle's two reference scalars.
///
/// - zerolr::DoubleDouble (scalar/double_double.h): about 106 bits, double's exponent range,
///   its own vectorized matrix product; the oracle's default (reference/oracle.h).
/// - zerolr::Float128: Boost.Multiprecision's float128 (IEEE binary128, 113-bit significand,
///   exponent range to 1e4932) without expression templates; the oracle replays in it every
///   case that leaves double-double's safe range. Why float128 among the Boost types
///   (docs/notes/reference-scalar-measurements.md): the fastest in a matrix product,
///   trivially copyable, every float and double converts into it exactly and back correctly
///   rounded, and its libm (libquadmath) is accurate to about 2 ulps of 2^-113.
///
/// zerolr::Reference names Float128: the type in which exact results leave the oracle
/// (to_float128 in reference/oracle.h) and tests compare exactly.
///
/// Only translation units that need float128 include this header: it pulls in Boost. It needs
/// GNU extensions (-std=gnu++20: CMake's default CXX_EXTENSIONS) and -lquadmath.

#include <Eigen/Core>
#include <boost/multiprecision/float128.hpp>
#include <limits>

#include "zerolr/scalar/double_double.h"
#include "zerolr/scalar/num_traits.h"

namespace zerolr {

using Float128 =
    boost::multiprecision::number<boost::multiprecision::float128_backend, boost::multiprecision::et_off>;
using Reference = Float128;

}  // namespace zerolr

namespace Eigen {

template <>
struct NumTraits<zerolr::Float128> : zerolr::ReferenceNumTraits<zerolr::Float128, 4, 8> {};

}  // namespace Eigen
