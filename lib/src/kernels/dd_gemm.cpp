// The double-double matrix product (zerolr/kernels.h, gemm_dd): a scalar loop of
// DoubleDouble's own * and +, and AVX2 and AVX-512 versions of exactly the same operations
// on four or eight entries of C at once (dd_gemm_body.inc, included once per set). Both compute every entry as s = ((+0 + A(i,0)B(0,j)) + A(i,1)B(1,j))
// + ... in order of p, so they give the same bits (tests/nn/kernels_test.cpp checks it). The
// only FMA is two_prod's exact product, which Dekker's split computes identically.
//
// Range: instead of checking every product and partial sum, both paths check the operands
// once (check_operands): when every finite entry is zero or of magnitude in [2^-484, 2^497],
// and max|A| max|B| k <= 2^995, every product is exact where it must be (its magnitude is
// >= 2^-968 or it is zero) and no sum can leave the safe range; otherwise one range exit is
// counted. A partial sum may still cancel to below 2^-968: its error comes from the rounded
// cross terms, about 2^-106 of the |products| it cancels, and the dot product's error bound
// is stated relative to the sum of |products|, so it still holds. Non-finite operands follow
// IEEE (the scalar loop) and count nothing, as elsewhere in double-double.
#include <cmath>
#include <cstring>
#include <vector>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "zerolr/kernels.h"
#include "zerolr/scalar/double_double.h"

namespace zerolr::kernels {
namespace {

using DD = DoubleDouble;

constexpr double kOperandMin = 0x1p-484, kOperandMax = 0x1p497;

// What the operands allow: the largest finite magnitude among op(X)'s entries, whether one is
// not finite, and whether a finite one is nonzero below kOperandMin or above kOperandMax.
struct OperandScan {
  double top = 0;
  bool non_finite = false;
  bool out_of_range = false;
};
OperandScan scan(const DD* x, Index rows, Index cols, Index ld) {
  OperandScan s;
  for (Index j = 0; j < cols; ++j)
    for (Index i = 0; i < rows; ++i) {
      const double a = std::fabs(x[i + j * ld].hi());
      if (!std::isfinite(a)) {
        s.non_finite = true;
        continue;
      }
      if (a > kOperandMax || (a != 0 && a < kOperandMin)) s.out_of_range = true;
      s.top = a > s.top ? a : s.top;
    }
  return s;
}

// exit: finite operands that may leave the safe range (one range exit); vector: every
// operand finite as well (the vector versions do not carry IEEE's non-finite rules).
struct OperandCheck {
  bool exit = false;
  bool vector = false;
};
OperandCheck check_operands(Index m, Index n, Index k, const DD* a, Index lda, bool trans_a, const DD* b, Index ldb,
                            bool trans_b) {
  const OperandScan sa = trans_a ? scan(a, k, m, lda) : scan(a, m, k, lda);
  const OperandScan sb = trans_b ? scan(b, n, k, ldb) : scan(b, k, n, ldb);
  OperandCheck c;
  c.exit = sa.out_of_range || sb.out_of_range || sa.top * sb.top * static_cast<double>(k) > dd::kSafeMax;
  c.vector = !c.exit && !sa.non_finite && !sb.non_finite;
  return c;
}

void gemm_dd_scalar(Index m, Index n, Index k, const DD* a, Index lda, bool trans_a, const DD* b, Index ldb,
                    bool trans_b, DD* c, Index ldc) {
  for (Index j = 0; j < n; ++j)
    for (Index i = 0; i < m; ++i) {
      DD s(0.0);
      for (Index p = 0; p < k; ++p) {
        const DD& x = trans_a ? a[p + i * lda] : a[i + p * lda];
        const DD& y = trans_b ? b[j + p * ldb] : b[p + j * ldb];
        s = s + x * y;
      }
      c[i + j * ldc] = s;
    }
}

#if defined(__x86_64__)
#define ZEROLR_HAVE_DD_AVX2 1
#ifdef __clang__
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif

#define ZEROLR_DD_INLINE inline __attribute__((always_inline))

namespace avx2 {
struct O {
  using Vec = __m256d;
  static constexpr int kLanes = 4;
  static ZEROLR_DD_INLINE Vec zero() { return _mm256_setzero_pd(); }
  static ZEROLR_DD_INLINE Vec broadcast(double x) { return _mm256_set1_pd(x); }
  static ZEROLR_DD_INLINE Vec load(const double* p) { return _mm256_loadu_pd(p); }
  static ZEROLR_DD_INLINE void store(double* p, Vec v) { _mm256_storeu_pd(p, v); }
  static ZEROLR_DD_INLINE Vec add(Vec a, Vec b) { return _mm256_add_pd(a, b); }
  static ZEROLR_DD_INLINE Vec sub(Vec a, Vec b) { return _mm256_sub_pd(a, b); }
  static ZEROLR_DD_INLINE Vec mul(Vec a, Vec b) { return _mm256_mul_pd(a, b); }
  static ZEROLR_DD_INLINE Vec fmsub(Vec a, Vec b, Vec c) { return _mm256_fmsub_pd(a, b, c); }
  static ZEROLR_DD_INLINE Vec is_zero(Vec a) { return _mm256_cmp_pd(a, _mm256_setzero_pd(), _CMP_EQ_OQ); }
  // where m: a, else b
  static ZEROLR_DD_INLINE Vec select(Vec m, Vec a, Vec b) { return _mm256_blendv_pd(b, a, m); }
};
using Vec = O::Vec;
#include "dd_gemm_body.inc"
}  // namespace avx2

#ifdef __clang__
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

#define ZEROLR_HAVE_DD_AVX512 1
#ifdef __clang__
#pragma clang attribute push(__attribute__((target("avx512f"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f")
#endif
namespace avx512 {
struct O {
  using Vec = __m512d;
  static constexpr int kLanes = 8;
  static ZEROLR_DD_INLINE Vec zero() { return _mm512_setzero_pd(); }
  static ZEROLR_DD_INLINE Vec broadcast(double x) { return _mm512_set1_pd(x); }
  static ZEROLR_DD_INLINE Vec load(const double* p) { return _mm512_loadu_pd(p); }
  static ZEROLR_DD_INLINE void store(double* p, Vec v) { _mm512_storeu_pd(p, v); }
  static ZEROLR_DD_INLINE Vec add(Vec a, Vec b) { return _mm512_add_pd(a, b); }
  static ZEROLR_DD_INLINE Vec sub(Vec a, Vec b) { return _mm512_sub_pd(a, b); }
  static ZEROLR_DD_INLINE Vec mul(Vec a, Vec b) { return _mm512_mul_pd(a, b); }
  static ZEROLR_DD_INLINE Vec fmsub(Vec a, Vec b, Vec c) { return _mm512_fmsub_pd(a, b, c); }
  static ZEROLR_DD_INLINE __mmask8 is_zero(Vec a) { return _mm512_cmp_pd_mask(a, _mm512_setzero_pd(), _CMP_EQ_OQ); }
  static ZEROLR_DD_INLINE Vec select(__mmask8 m, Vec a, Vec b) { return _mm512_mask_blend_pd(m, b, a); }
};
using Vec = O::Vec;
#include "dd_gemm_body.inc"
}  // namespace avx512
#ifdef __clang__
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif  // __x86_64__

}  // namespace

void gemm_dd(Index m, Index n, Index k, const DoubleDouble* a, Index lda, bool trans_a, const DoubleDouble* b,
             Index ldb, bool trans_b, DoubleDouble* c, Index ldc) {
  if (m <= 0 || n <= 0) return;
  const OperandCheck check = check_operands(m, n, k, a, lda, trans_a, b, ldb, trans_b);
  const std::uint64_t exits = dd::range_exit_count;
#ifdef ZEROLR_HAVE_DD_AVX2
  // With a non-finite operand the loop's IEEE handling decides (inf + x = inf, as float128
  // gives it, in any order of summation): the vector versions only run where no operand or
  // result can be non-finite.
  if (check.vector && active_isa() != Isa::Generic && k > 0) {
#ifdef ZEROLR_HAVE_DD_AVX512
    if (active_isa() == Isa::Avx512)
      avx512::gemm_dd_vec(m, n, k, a, lda, trans_a, b, ldb, trans_b, c, ldc);
    else
#endif
      avx2::gemm_dd_vec(m, n, k, a, lda, trans_a, b, ldb, trans_b, c, ldc);
  } else
#endif
  {
    gemm_dd_scalar(m, n, k, a, lda, trans_a, b, ldb, trans_b, c, ldc);
  }
  // The operands decide (file comment), on every path alike; and an entry that cancelled to
  // a nonzero magnitude below the safe range counts too, as any other operation's result
  // would: it is accurate relative to the products, but not to itself, and an operation
  // downstream (a square root) would inherit that.
  bool tiny = false;
  for (Index j = 0; j < n && !tiny; ++j)
    for (Index i = 0; i < m; ++i) {
      const double v = std::fabs(c[i + j * ldc].hi());
      if (v != 0 && v < dd::kSafeMin) {
        tiny = true;
        break;
      }
    }
  dd::range_exit_count = exits + ((check.exit || tiny) ? 1 : 0);
}

}  // namespace zerolr::kernels
