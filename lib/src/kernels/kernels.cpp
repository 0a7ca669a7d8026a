// The step's inner loops, compiled once per instruction set and chosen at run time
// (zerolr/kernels.h says what they compute and why every version gives the same bits).
//
// Each loop is written once, in body.inc, as templates over an Ops type (vector type, load,
// store, broadcast, FMA). The file includes body.inc three times, each inside its own
// namespace and, for avx2 and avx512, inside a target pragma, so every function of that copy
// is compiled for that instruction set. Those functions live in an anonymous namespace: no
// other translation unit can emit a symbol of the same name, so the linker can never pick
// an AVX-512 copy for a caller elsewhere (the hazard of compiling shared inline code, such
// as Eigen's, with different flags). The file is compiled with -ffp-contract=off: the only
// fused operations are the GEMM's explicit FMAs. -fno-math-errno lets sqrt vectorize; it
// changes no value.
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <type_traits>

#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "zerolr/kernels.h"

namespace zerolr::kernels {

namespace {

#define ZEROLR_KERNEL_INLINE inline __attribute__((always_inline))
#define ZEROLR_GEMM_ARGS(T)                                                                            \
  Index m, Index n, Index k, const T *a, Index lda, bool trans_a, const T *b, Index ldb, bool trans_b, \
      T *c, Index ldc, T *scratch
#define ZEROLR_GEMM_PASS m, n, k, a, lda, trans_a, b, ldb, trans_b, c, ldc, scratch
#define ZEROLR_ADAM_ARGS(T) Index n, T *p, const T *g, T *m, T *v, T *vmax, const AdamScalars<T> &s
#define ZEROLR_ADAM_PASS n, p, g, m, v, vmax, s

constexpr Index kMaxLanes = 16;  // float under AVX-512
constexpr Index kMaxNr = 8;
constexpr Index kKc = 256;  // terms of a sum per pass (body.inc, gemm_impl)

ZEROLR_KERNEL_INLINE float sqrt_of(float x) { return __builtin_sqrtf(x); }
ZEROLR_KERNEL_INLINE double sqrt_of(double x) { return __builtin_sqrt(x); }

// ---------------------------------------------------------------------------------------
// generic: one lane and the C library's fma, which is exact everywhere (and slow on a CPU
// without FMA, such as an x86-64 without AVX2, the only place this path runs by default).
namespace generic {
template <class T>
struct Ops {
  using Vec = T;
  static constexpr int kLanes = 1;
  static ZEROLR_KERNEL_INLINE Vec zero() { return T(0); }
  static ZEROLR_KERNEL_INLINE Vec load(const T* p) { return *p; }
  static ZEROLR_KERNEL_INLINE void store(T* p, Vec v) { *p = v; }
  static ZEROLR_KERNEL_INLINE void store_first(T*, Vec, int) {}  // one lane: never short
  static ZEROLR_KERNEL_INLINE Vec load_first(const T*, int) { return T(0); }
  static ZEROLR_KERNEL_INLINE Vec broadcast(T x) { return x; }
  static ZEROLR_KERNEL_INLINE Vec fma(Vec a, Vec b, Vec c) {
    if constexpr (std::is_same_v<T, float>)
      return __builtin_fmaf(a, b, c);
    else
      return __builtin_fma(a, b, c);
  }
  static ZEROLR_KERNEL_INLINE Vec add(Vec a, Vec b) { return a + b; }
  static ZEROLR_KERNEL_INLINE Vec sub(Vec a, Vec b) { return a - b; }
  static ZEROLR_KERNEL_INLINE bool any_nan(Vec a) { return a != a; }
  static ZEROLR_KERNEL_INLINE Vec relu(Vec x) { return x <= T(0) ? T(0) : x; }
  static ZEROLR_KERNEL_INLINE Vec relu_grad(Vec dy, Vec x) { return x <= T(0) ? T(0) : dy; }
};
constexpr int kNr = 4;  // columns of C per register block
#include "body.inc"
}  // namespace generic

#if defined(__x86_64__)
#define ZEROLR_HAVE_X86_ISAS 1

// ---------------------------------------------------------------------------------------
// avx2: 256-bit vectors and FMA3; 16 registers hold a (2W x 4) block and its operands.
#ifdef __clang__
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif
namespace avx2 {
template <class T>
struct Ops;
template <>
struct Ops<float> {
  using Vec = __m256;
  static constexpr int kLanes = 8;
  static ZEROLR_KERNEL_INLINE Vec zero() { return _mm256_setzero_ps(); }
  static ZEROLR_KERNEL_INLINE Vec load(const float* p) { return _mm256_loadu_ps(p); }
  static ZEROLR_KERNEL_INLINE void store(float* p, Vec v) { _mm256_storeu_ps(p, v); }
  // The first `lanes` entries only (0 < lanes < 8).
  static ZEROLR_KERNEL_INLINE void store_first(float* p, Vec v, int lanes) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    _mm256_maskstore_ps(p, _mm256_cmpgt_epi32(_mm256_set1_epi32(lanes), lane), v);
  }
  static ZEROLR_KERNEL_INLINE Vec load_first(const float* p, int lanes) {
    const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    return _mm256_maskload_ps(p, _mm256_cmpgt_epi32(_mm256_set1_epi32(lanes), lane));
  }
  static ZEROLR_KERNEL_INLINE Vec broadcast(float x) { return _mm256_set1_ps(x); }
  static ZEROLR_KERNEL_INLINE Vec fma(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
  static ZEROLR_KERNEL_INLINE Vec add(Vec a, Vec b) { return _mm256_add_ps(a, b); }
  static ZEROLR_KERNEL_INLINE Vec sub(Vec a, Vec b) { return _mm256_sub_ps(a, b); }
  static ZEROLR_KERNEL_INLINE bool any_nan(Vec a) { return _mm256_movemask_ps(_mm256_cmp_ps(a, a, _CMP_UNORD_Q)) != 0; }
  // (x <= 0) ? 0 : x, and (x <= 0) ? 0 : dy; an ordered compare, so a NaN x is "not <= 0",
  // as in the scalar formulas.
  static ZEROLR_KERNEL_INLINE Vec relu(Vec x) {
    return _mm256_andnot_ps(_mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LE_OQ), x);
  }
  static ZEROLR_KERNEL_INLINE Vec relu_grad(Vec dy, Vec x) {
    return _mm256_andnot_ps(_mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LE_OQ), dy);
  }
};
template <>
struct Ops<double> {
  using Vec = __m256d;
  static constexpr int kLanes = 4;
  static ZEROLR_KERNEL_INLINE Vec zero() { return _mm256_setzero_pd(); }
  static ZEROLR_KERNEL_INLINE Vec load(const double* p) { return _mm256_loadu_pd(p); }
  static ZEROLR_KERNEL_INLINE void store(double* p, Vec v) { _mm256_storeu_pd(p, v); }
  static ZEROLR_KERNEL_INLINE void store_first(double* p, Vec v, int lanes) {
    const __m256i lane = _mm256_setr_epi64x(0, 1, 2, 3);
    _mm256_maskstore_pd(p, _mm256_cmpgt_epi64(_mm256_set1_epi64x(lanes), lane), v);
  }
  static ZEROLR_KERNEL_INLINE Vec load_first(const double* p, int lanes) {
    const __m256i lane = _mm256_setr_epi64x(0, 1, 2, 3);
    return _mm256_maskload_pd(p, _mm256_cmpgt_epi64(_mm256_set1_epi64x(lanes), lane));
  }
  static ZEROLR_KERNEL_INLINE Vec broadcast(double x) { return _mm256_set1_pd(x); }
  static ZEROLR_KERNEL_INLINE Vec fma(Vec a, Vec b, Vec c) { return _mm256_fmadd_pd(a, b, c); }
  static ZEROLR_KERNEL_INLINE Vec add(Vec a, Vec b) { return _mm256_add_pd(a, b); }
  static ZEROLR_KERNEL_INLINE Vec sub(Vec a, Vec b) { return _mm256_sub_pd(a, b); }
  static ZEROLR_KERNEL_INLINE bool any_nan(Vec a) { return _mm256_movemask_pd(_mm256_cmp_pd(a, a, _CMP_UNORD_Q)) != 0; }
  static ZEROLR_KERNEL_INLINE Vec relu(Vec x) {
    return _mm256_andnot_pd(_mm256_cmp_pd(x, _mm256_setzero_pd(), _CMP_LE_OQ), x);
  }
  static ZEROLR_KERNEL_INLINE Vec relu_grad(Vec dy, Vec x) {
    return _mm256_andnot_pd(_mm256_cmp_pd(x, _mm256_setzero_pd(), _CMP_LE_OQ), dy);
  }
};
constexpr int kNr = 4;  // columns of C per register block
#include "body.inc"
}  // namespace avx2
#ifdef __clang__
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif

// ---------------------------------------------------------------------------------------
// avx512: 512-bit vectors (AVX-512F, FMA included); 32 registers hold a (2W x 8) block.
#ifdef __clang__
#pragma clang attribute push(__attribute__((target("avx512f"))), apply_to = function)
#else
#pragma GCC push_options
#pragma GCC target("avx512f")
#endif
namespace avx512 {
template <class T>
struct Ops;
template <>
struct Ops<float> {
  using Vec = __m512;
  static constexpr int kLanes = 16;
  static ZEROLR_KERNEL_INLINE Vec zero() { return _mm512_setzero_ps(); }
  static ZEROLR_KERNEL_INLINE Vec load(const float* p) { return _mm512_loadu_ps(p); }
  static ZEROLR_KERNEL_INLINE void store(float* p, Vec v) { _mm512_storeu_ps(p, v); }
  static ZEROLR_KERNEL_INLINE void store_first(float* p, Vec v, int lanes) {
    _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << lanes) - 1u), v);
  }
  static ZEROLR_KERNEL_INLINE Vec load_first(const float* p, int lanes) {
    return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << lanes) - 1u), p);
  }
  static ZEROLR_KERNEL_INLINE Vec broadcast(float x) { return _mm512_set1_ps(x); }
  static ZEROLR_KERNEL_INLINE Vec fma(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
  static ZEROLR_KERNEL_INLINE Vec add(Vec a, Vec b) { return _mm512_add_ps(a, b); }
  static ZEROLR_KERNEL_INLINE Vec sub(Vec a, Vec b) { return _mm512_sub_ps(a, b); }
  static ZEROLR_KERNEL_INLINE bool any_nan(Vec a) { return _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q) != 0; }
  static ZEROLR_KERNEL_INLINE Vec relu(Vec x) {
    const __mmask16 le = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LE_OQ);
    return _mm512_maskz_mov_ps(static_cast<__mmask16>(~le), x);
  }
  static ZEROLR_KERNEL_INLINE Vec relu_grad(Vec dy, Vec x) {
    const __mmask16 le = _mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LE_OQ);
    return _mm512_maskz_mov_ps(static_cast<__mmask16>(~le), dy);
  }
};
template <>
struct Ops<double> {
  using Vec = __m512d;
  static constexpr int kLanes = 8;
  static ZEROLR_KERNEL_INLINE Vec zero() { return _mm512_setzero_pd(); }
  static ZEROLR_KERNEL_INLINE Vec load(const double* p) { return _mm512_loadu_pd(p); }
  static ZEROLR_KERNEL_INLINE void store(double* p, Vec v) { _mm512_storeu_pd(p, v); }
  static ZEROLR_KERNEL_INLINE void store_first(double* p, Vec v, int lanes) {
    _mm512_mask_storeu_pd(p, static_cast<__mmask8>((1u << lanes) - 1u), v);
  }
  static ZEROLR_KERNEL_INLINE Vec load_first(const double* p, int lanes) {
    return _mm512_maskz_loadu_pd(static_cast<__mmask8>((1u << lanes) - 1u), p);
  }
  static ZEROLR_KERNEL_INLINE Vec broadcast(double x) { return _mm512_set1_pd(x); }
  static ZEROLR_KERNEL_INLINE Vec fma(Vec a, Vec b, Vec c) { return _mm512_fmadd_pd(a, b, c); }
  static ZEROLR_KERNEL_INLINE Vec add(Vec a, Vec b) { return _mm512_add_pd(a, b); }
  static ZEROLR_KERNEL_INLINE Vec sub(Vec a, Vec b) { return _mm512_sub_pd(a, b); }
  static ZEROLR_KERNEL_INLINE bool any_nan(Vec a) { return _mm512_cmp_pd_mask(a, a, _CMP_UNORD_Q) != 0; }
  static ZEROLR_KERNEL_INLINE Vec relu(Vec x) {
    const __mmask8 le = _mm512_cmp_pd_mask(x, _mm512_setzero_pd(), _CMP_LE_OQ);
    return _mm512_maskz_mov_pd(static_cast<__mmask8>(~le), x);
  }
  static ZEROLR_KERNEL_INLINE Vec relu_grad(Vec dy, Vec x) {
    const __mmask8 le = _mm512_cmp_pd_mask(x, _mm512_setzero_pd(), _CMP_LE_OQ);
    return _mm512_maskz_mov_pd(static_cast<__mmask8>(~le), dy);
  }
};
constexpr int kNr = 8;
#include "body.inc"
}  // namespace avx512
#ifdef __clang__
#pragma clang attribute pop
#else
#pragma GCC pop_options
#endif
#endif  // __x86_64__

// ---------------------------------------------------------------------------------------
// Dispatch.

std::atomic<int> g_isa{-1};

Isa detect_best() {
#ifdef ZEROLR_HAVE_X86_ISAS
  if (supported(Isa::Avx512)) return Isa::Avx512;
  if (supported(Isa::Avx2)) return Isa::Avx2;
#endif
  return Isa::Generic;
}

Isa current() {
  const int cached = g_isa.load(std::memory_order_acquire);
  if (cached >= 0) return static_cast<Isa>(cached);
  Isa chosen = detect_best();
  if (const char* env = std::getenv("ZEROLR_ISA"); env != nullptr && *env != '\0') {
    chosen = parse_isa(env);
    if (!supported(chosen))
      throw SpecError("ZEROLR_ISA=" + std::string(env) + ": this CPU does not support " + to_string(chosen) +
                      " (unset ZEROLR_ISA, or use one it supports: " + to_string(detect_best()) + " or below)");
  }
  int expected = -1;
  g_isa.compare_exchange_strong(expected, static_cast<int>(chosen), std::memory_order_acq_rel);
  return static_cast<Isa>(g_isa.load(std::memory_order_acquire));
}

}  // namespace

std::string to_string(Isa isa) {
  switch (isa) {
    case Isa::Generic:
      return "generic";
    case Isa::Avx2:
      return "avx2";
    case Isa::Avx512:
      return "avx512";
  }
  throw SpecError("instruction set: invalid enumerator " + std::to_string(static_cast<int>(isa)));
}

Isa parse_isa(const std::string& text) {
  for (Isa isa : {Isa::Generic, Isa::Avx2, Isa::Avx512})
    if (text == to_string(isa)) return isa;
  throw SpecError("instruction set \"" + text + "\" is not one of generic, avx2, avx512");
}

bool supported(Isa isa) {
  switch (isa) {
    case Isa::Generic:
      return true;
#ifdef ZEROLR_HAVE_X86_ISAS
    case Isa::Avx2:
      __builtin_cpu_init();
      return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case Isa::Avx512:
      __builtin_cpu_init();
      return __builtin_cpu_supports("avx512f");
#else
    case Isa::Avx2:
    case Isa::Avx512:
      return false;
#endif
  }
  return false;
}

std::vector<Isa> supported_isas() {
  std::vector<Isa> out;
  for (Isa isa : {Isa::Generic, Isa::Avx2, Isa::Avx512})
    if (supported(isa)) out.push_back(isa);
  return out;
}

Isa active_isa() { return current(); }

void set_isa(Isa isa) {
  if (!supported(isa)) throw SpecError("set_isa: this CPU does not support " + to_string(isa));
  g_isa.store(static_cast<int>(isa), std::memory_order_release);
}

Index gemm_scratch_size(Index m, Index n, Index k) {
  if (m <= 0 || n <= 0 || k <= 0) return 0;
  const Index kc = k < kKc ? k : kKc;
  return (n + kMaxNr) * kc + (m + 2 * kMaxLanes) * kc;
}

namespace {

template <class T>
struct Entry {
  void (*gemm)(ZEROLR_GEMM_ARGS(T));
  void (*adam)(ZEROLR_ADAM_ARGS(T));
  void (*relu_forward)(Index, const T*, T*);
  void (*relu_backward)(Index, const T*, const T*, T*);
  Index (*first_non_finite)(Index, const T*);
};

template <class T>
Entry<T> entry(Isa isa) {
  switch (isa) {
#ifdef ZEROLR_HAVE_X86_ISAS
    case Isa::Avx512:
      return {avx512::gemm_entry<T>, avx512::adam_entry<T>, avx512::relu_forward_entry<T>,
              avx512::relu_backward_entry<T>, avx512::first_non_finite_entry<T>};
    case Isa::Avx2:
      return {avx2::gemm_entry<T>, avx2::adam_entry<T>, avx2::relu_forward_entry<T>,
              avx2::relu_backward_entry<T>, avx2::first_non_finite_entry<T>};
#endif
    default:
      return {generic::gemm_entry<T>, generic::adam_entry<T>, generic::relu_forward_entry<T>,
              generic::relu_backward_entry<T>, generic::first_non_finite_entry<T>};
  }
}

}  // namespace

template <class T>
void gemm(ZEROLR_GEMM_ARGS(T)) {
  entry<T>(current()).gemm(ZEROLR_GEMM_PASS);
}

template <class T>
void adam_update(ZEROLR_ADAM_ARGS(T)) {
  entry<T>(current()).adam(ZEROLR_ADAM_PASS);
}

template <class T>
void relu_forward(Index n, const T* x, T* y) {
  entry<T>(current()).relu_forward(n, x, y);
}

template <class T>
void relu_backward(Index n, const T* dy, const T* x, T* dx) {
  entry<T>(current()).relu_backward(n, dy, x, dx);
}

template <class T>
Index first_non_finite(Index n, const T* x) {
  return entry<T>(current()).first_non_finite(n, x);
}

template void gemm<float>(ZEROLR_GEMM_ARGS(float));
template void gemm<double>(ZEROLR_GEMM_ARGS(double));
template void adam_update<float>(ZEROLR_ADAM_ARGS(float));
template void adam_update<double>(ZEROLR_ADAM_ARGS(double));
template void relu_forward<float>(Index, const float*, float*);
template void relu_forward<double>(Index, const double*, double*);
template void relu_backward<float>(Index, const float*, const float*, float*);
template void relu_backward<double>(Index, const double*, const double*, double*);
template Index first_non_finite<float>(Index, const float*);
template Index first_non_finite<double>(Index, const double*);

}  // namespace zerolr::kernels
