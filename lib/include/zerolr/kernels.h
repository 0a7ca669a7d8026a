#pragma once
/// \file
/// The inner loops of a training step in float and double: the matrix products of Dense and
/// Adam's elementwise update. Each is compiled for several instruction sets and picked at run
/// time, and every version gives the same bits:
///
/// - a product's entry C(i,j) is the chain s = fma(A(i,p), B(p,j), s) over p = 0, 1, ..., k-1,
///   from s = +0: one rounding per term, in order of p (no reassociation, no blocking of the
///   sum); vectors only compute several (i,j) at once;
/// - Adam's loop evaluates the torch.optim formula on each entry, every operation rounded
///   separately (no fusion), exactly as the Eigen expression it replaced.
///
/// fma and the basic operations are correctly rounded on every IEEE 754 machine, so a result
/// depends neither on the CPU, nor on the instruction set chosen, nor on cache sizes (Eigen's
/// GEMM splits sums by cache-sized blocks and rounds a*b before adding unless built with FMA,
/// so its bits change with both). The FMA is a deliberate choice, not compiler contraction:
/// everything else in zerolr is built with -ffp-contract=off. The products' error bounds
/// (reference/bounds.h, Higham's gamma_n) hold for it: FMA only removes roundings.
///
/// "The same bits" means for every number: a NaN result is a NaN on every set, but IEEE 754
/// leaves its sign and payload open and x86's FMA forms propagate different operands' NaNs,
/// so those may differ (properties/isa_props.cpp compares whole training runs that way).
///
/// The instruction set is the best this CPU supports, unless the environment variable
/// ZEROLR_ISA (generic, avx2 or avx512) or set_isa() asks for another. tests/nn/kernels_test.cpp
/// checks every supported version against a scalar loop, bit for bit.

#include <string>
#include <vector>

#include "zerolr/core.h"
#include "zerolr/scalar/double_double.h"

namespace zerolr::kernels {

/// generic: one lane at a time and the C library's fma (any CPU; slow without hardware FMA);
/// avx2: 256-bit vectors with FMA3 (needs AVX2 and FMA); avx512: 512-bit vectors (AVX-512F).
enum class Isa { Generic, Avx2, Avx512 };

/// "generic", "avx2" or "avx512".
std::string to_string(Isa isa);

/// The inverse of to_string; throws SpecError naming the accepted values.
Isa parse_isa(const std::string& text);

/// Whether this CPU (and its operating system) can run code for `isa`.
bool supported(Isa isa);

/// Every instruction set this CPU supports, from generic up.
std::vector<Isa> supported_isas();

/// The instruction set in use. Decided at the first call: ZEROLR_ISA if set (SpecError if it
/// is malformed or names an unsupported set), otherwise the best supported.
Isa active_isa();

/// Use `isa` from now on, in every thread. Throws SpecError if this CPU cannot run it.
void set_isa(Isa isa);

/// Scratch space, in elements of T, that gemm needs for an m x n x k product.
Index gemm_scratch_size(Index m, Index n, Index k);

/// C = op(A) op(B), all column-major: op(A) is m x k, op(B) is k x n, C is m x n with leading
/// dimension ldc and is overwritten (never read). A(i,p) is a[i + p*lda], or a[p + i*lda] if
/// trans_a; B(p,j) is b[p + j*ldb], or b[j + p*ldb] if trans_b. `scratch` holds at least
/// gemm_scratch_size(m, n, k) elements. No two of a, b, c and scratch may overlap (C holds
/// partial sums while A and B are still read).
/// Instantiated for float and double.
template <class T>
void gemm(Index m, Index n, Index k, const T* a, Index lda, bool trans_a, const T* b, Index ldb, bool trans_b,
          T* c, Index ldc, T* scratch);

/// The same product in double-double (the oracle's reference scalar): each entry is
/// s = ((+0 + A(i,0) B(0,j)) + A(i,1) B(1,j)) + ... in order of p, with DoubleDouble's own *
/// and + (scalar/double_double.h), so the result is that loop's, bit for bit, on every
/// instruction set (AVX2 and AVX-512 machines run four entries at once; generic runs the loop).
/// One range exit is counted when a finite operand is nonzero and outside [2^-484, 2^497], or
/// max|A| max|B| k > 2^995 over the finite ones: otherwise no product or sum can leave the
/// safe range where it matters for the product's error bound (lib/src/kernels/dd_gemm.cpp).
/// Non-finite operands follow IEEE (inf + x = inf) through the scalar loop. An entry of C that
/// cancels to a nonzero magnitude below 2^-968 counts one too.
/// Same layout conventions as gemm; no scratch argument.
void gemm_dd(Index m, Index n, Index k, const DoubleDouble* a, Index lda, bool trans_a, const DoubleDouble* b,
             Index ldb, bool trans_b, DoubleDouble* c, Index ldc);

/// Adam's moment update and step, entry by entry (the torch.optim algorithm box, with the
/// scalars already formed by the caller):
///   m = beta1*m + omb1*g;  v = beta2*v + omb2*(g*g);
///   if vmax: vmax = (vmax < v || v is NaN) ? v : vmax (torch.maximum: NaN wins), and vmax
///   replaces v below;
///   p = p - step_size * (m / (sqrt(v) / bc2_sqrt + eps)).
/// `vmax` may be null (no amsgrad). The arrays must not overlap. Instantiated for float and
/// double.
template <class T>
struct AdamScalars {
  T beta1, one_minus_beta1, beta2, one_minus_beta2, bias_correction2_sqrt, eps, step_size;
};
template <class T>
void adam_update(Index n, T* p, const T* g, T* m, T* v, T* vmax, const AdamScalars<T>& s);

/// ReLU as zerolr's layer defines it: y = (x <= 0) ? 0 : x, so NaN stays NaN and -0 gives +0.
/// x and y must not overlap. Instantiated for float and double.
template <class T>
void relu_forward(Index n, const T* x, T* y);

/// ReLU's backward as PyTorch's threshold_backward defines it: dx = (x <= 0) ? +0 : dy, a
/// selection, so a NaN or infinite dy where x <= 0 gives 0 (not 0 * NaN), and a NaN x passes
/// dy through. dx overlaps neither dy nor x. Instantiated for float and double.
template <class T>
void relu_backward(Index n, const T* dy, const T* x, T* dx);

/// The index of the first NaN or infinite entry of x[0, n), or n if every entry is finite.
/// Instantiated for float and double.
template <class T>
Index first_non_finite(Index n, const T* x);

}  // namespace zerolr::kernels
