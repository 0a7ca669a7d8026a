#pragma once
// Explicit instantiation of zerolr's templates. Every template body lives in a .cpp under
// lib/src and ends with ZEROLR_INSTANTIATE_*; the library compiles each such file once for
// float and double. The reference build (lib/CMakeLists.txt) compiles the same file again
// with ZEROLR_REFERENCE_TU defined, for both reference scalars (double-double, the default,
// and float128, its fallback), so that Boost.Multiprecision stays out of the ordinary
// translation units and no formula is written twice.

#ifdef ZEROLR_REFERENCE_TU
#include "zerolr/scalar/reference.h"
#define ZEROLR_INSTANTIATE_CLASS(C) \
  template class C<::zerolr::DoubleDouble>; \
  template class C<::zerolr::Float128>;
#define ZEROLR_FOR_EACH_SCALAR(M) M(::zerolr::DoubleDouble) M(::zerolr::Float128)
#else
#define ZEROLR_INSTANTIATE_CLASS(C) \
  template class C<float>;          \
  template class C<double>;
#define ZEROLR_FOR_EACH_SCALAR(M) M(float) M(double)
#endif
