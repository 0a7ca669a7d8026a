// zerolr/kernels.h: every instruction set this CPU supports gives the bits of a plain scalar
// loop, for products of every shape and transposition and for Adam's update, including
// NaN, infinities, signed zeros, subnormals and overflow, for ReLU and for the non-finite
// screen; the ISA switch rejects bad values.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <array>
#include <limits>
#include <string>
#include <vector>

#include "zerolr/kernels.h"
#include "zerolr/nn/sequential.h"
#include "zerolr/optim/optimizer.h"
#include "zerolr/optim/spec.h"
#include "zerolr/random.h"

namespace zerolr::kernels {
namespace {

// Restores the ISA in use when a test ends.
class IsaGuard {
 public:
  IsaGuard() : saved_(active_isa()) {}
  ~IsaGuard() { set_isa(saved_); }
  IsaGuard(const IsaGuard&) = delete;
  IsaGuard& operator=(const IsaGuard&) = delete;

 private:
  Isa saved_;
};

template <class T>
bool same_bits(T x, T y) {
  if (std::isnan(x) && std::isnan(y)) return true;  // NaN payloads are not specified
  return std::memcmp(&x, &y, sizeof(T)) == 0;
}

// Ordinary values mostly; on request also the values that break sloppy kernels.
template <class T>
T draw(Rng& rng, bool special) {
  if (special) {
    switch (rng.below(12)) {
      case 0:
        return std::numeric_limits<T>::quiet_NaN();
      case 1:
        return std::numeric_limits<T>::infinity();
      case 2:
        return -std::numeric_limits<T>::infinity();
      case 3:
        return T(-0.0);
      case 4:
        return T(0);
      case 5:
        return std::numeric_limits<T>::denorm_min() * static_cast<T>(1 + rng.below(1000));
      case 6:
        return std::numeric_limits<T>::max() / static_cast<T>(1 + rng.below(4));  // products overflow
      case 7:
        return std::numeric_limits<T>::min() * static_cast<T>(rng.uniform(-4, 4));  // products underflow
      default:
        break;
    }
  }
  return static_cast<T>(rng.uniform(-2, 2));
}

// The definition: C(i,j) = fma(A(i,k-1), B(k-1,j), ... fma(A(i,1), B(1,j), fma(A(i,0), B(0,j), 0))).
template <class T>
void naive(Index m, Index n, Index k, const T* a, Index lda, bool ta, const T* b, Index ldb, bool tb, T* c,
           Index ldc) {
  for (Index j = 0; j < n; ++j)
    for (Index i = 0; i < m; ++i) {
      T s = T(0);
      for (Index p = 0; p < k; ++p) {
        const T x = ta ? a[p + i * lda] : a[i + p * lda];
        const T y = tb ? b[j + p * ldb] : b[p + j * ldb];
        s = std::fma(x, y, s);
      }
      c[i + j * ldc] = s;
    }
}

template <class T>
void check_gemm_shape(Rng& rng, Index m, Index n, Index k, bool ta, bool tb, bool special, Index pad) {
  const Index a_rows = ta ? k : m, a_cols = ta ? m : k;
  const Index b_rows = tb ? n : k, b_cols = tb ? k : n;
  const Index lda = a_rows + pad, ldb = b_rows + pad, ldc = m + pad;
  std::vector<T> a(static_cast<std::size_t>(lda * std::max<Index>(a_cols, 1)));
  std::vector<T> b(static_cast<std::size_t>(ldb * std::max<Index>(b_cols, 1)));
  for (T& x : a) x = draw<T>(rng, special);
  for (T& x : b) x = draw<T>(rng, special);
  const T sentinel = T(12345.5);
  std::vector<T> expect(static_cast<std::size_t>(ldc * std::max<Index>(n, 1)), sentinel);
  naive(m, n, k, a.data(), lda, ta, b.data(), ldb, tb, expect.data(), ldc);
  for (Isa isa : supported_isas()) {
    set_isa(isa);
    std::vector<T> c(expect.size(), sentinel);
    std::vector<T> scratch(static_cast<std::size_t>(gemm_scratch_size(m, n, k)), T(-7));
    gemm<T>(m, n, k, a.data(), lda, ta, b.data(), ldb, tb, c.data(), ldc, scratch.data());
    for (std::size_t e = 0; e < c.size(); ++e) {
      const Index i = static_cast<Index>(e) % ldc, j = static_cast<Index>(e) / ldc;
      ASSERT_TRUE(same_bits(c[e], expect[e]))
          << to_string(isa) << " " << m << "x" << n << "x" << k << " ta=" << ta << " tb=" << tb
          << " special=" << special << " pad=" << pad << ": C(" << i << "," << j << ") = " << c[e]
          << ", the scalar loop gives " << expect[e] << (i >= m ? " (outside C: must be untouched)" : "");
    }
  }
}

template <class T>
void check_gemm_all() {
  IsaGuard guard;
  Rng rng(std::is_same_v<T, float> ? 11 : 12);
  // Edges around every lane count (2, 4, 8, 16) and panel width (2W, NR = 4 or 8).
  const std::vector<Index> sizes = {0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 64, 65};
  int shapes = 0;
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (int trial = 0; trial < 60; ++trial) {
        const Index m = sizes[rng.below(sizes.size())];
        const Index n = sizes[rng.below(sizes.size())];
        const Index k = sizes[rng.below(sizes.size())];
        check_gemm_shape<T>(rng, m, n, k, ta, tb, trial % 3 == 0, trial % 4 == 1 ? 3 : 0);
        if (::testing::Test::HasFatalFailure()) return;
        ++shapes;
      }
  // Sums longer than one pass of the kernel (256 terms): the chains continue across passes.
  for (const auto& [m, n, k] : std::vector<std::array<Index, 3>>{{17, 9, 257}, {33, 5, 600}, {8, 16, 512}, {1, 1, 513}})
    for (bool ta : {false, true})
      for (bool tb : {false, true}) {
        check_gemm_shape<T>(rng, m, n, k, ta, tb, true, 0);
        check_gemm_shape<T>(rng, m, n, k, ta, tb, false, 2);
        if (::testing::Test::HasFatalFailure()) return;
        shapes += 2;
      }
  // The model shapes of the benchmark (bench/train_bench.cpp), forward and both gradients.
  for (const auto& [batch, in, out] : std::vector<std::array<Index, 3>>{{8, 16, 32}, {32, 128, 128}, {128, 784, 256}}) {
    check_gemm_shape<T>(rng, batch, out, in, false, true, false, 0);  // y = x W^T
    check_gemm_shape<T>(rng, out, in, batch, true, false, false, 0);  // dW = dy^T x
    check_gemm_shape<T>(rng, batch, in, out, false, false, false, 0);  // dx = dy W
    if (::testing::Test::HasFatalFailure()) return;
    shapes += 3;
  }
  EXPECT_EQ(shapes, 281);
}

TEST(Kernels, GemmMatchesTheScalarLoopBitForBitOnEveryIsaFloat) { check_gemm_all<float>(); }
TEST(Kernels, GemmMatchesTheScalarLoopBitForBitOnEveryIsaDouble) { check_gemm_all<double>(); }

// gemm_dd: the scalar loop of DoubleDouble's * and + on every ISA, bit for bit in both words,
// and a range exit exactly when the operands ask for one (kernels.h).
DoubleDouble draw_dd(Rng& rng, bool special) {
  if (special) {
    switch (rng.below(14)) {
      case 0:
        return DoubleDouble(std::numeric_limits<double>::quiet_NaN());
      case 1:
        return DoubleDouble(std::numeric_limits<double>::infinity());
      case 2:
        return DoubleDouble(-0.0);
      case 3:
        return DoubleDouble(0.0);
      case 4:
        return DoubleDouble::raw(0x1p-980 * rng.uniform(-4, 4), 0);  // below the safe range
      case 5:
        return DoubleDouble::raw(0x1p600 * rng.uniform(-4, 4), 0);  // products above it
      case 6:
        return DoubleDouble::raw(0x1p-500 * rng.uniform(-4, 4), 0);  // products below it
      default:
        break;
    }
  }
  const double hi = rng.uniform(-2, 2);
  return DoubleDouble::from_sum(hi, hi * 0x1p-54 * rng.uniform(-1, 1));
}

void check_gemm_dd_shape(Rng& rng, Index m, Index n, Index k, bool ta, bool tb, bool special, Index pad) {
  using DD = DoubleDouble;
  const Index a_rows = ta ? k : m, a_cols = ta ? m : k;
  const Index b_rows = tb ? n : k, b_cols = tb ? k : n;
  const Index lda = a_rows + pad, ldb = b_rows + pad, ldc = m + pad;
  std::vector<DD> a(static_cast<std::size_t>(lda * std::max<Index>(a_cols, 1)));
  std::vector<DD> b(static_cast<std::size_t>(ldb * std::max<Index>(b_cols, 1)));
  for (DD& x : a) x = draw_dd(rng, special && rng.below(4) == 0);
  for (DD& x : b) x = draw_dd(rng, special && rng.below(4) == 0);
  const DD sentinel(12345.5);
  std::vector<DD> expect(static_cast<std::size_t>(ldc * std::max<Index>(n, 1)), sentinel);
  double max_a = 0, max_b = 0;
  bool operands_ok = true;
  for (Index j = 0; j < n; ++j)
    for (Index i = 0; i < m; ++i) {
      DD s(0.0);
      for (Index p = 0; p < k; ++p) {
        const DD& x = ta ? a[p + i * lda] : a[i + p * lda];
        const DD& y = tb ? b[j + p * ldb] : b[p + j * ldb];
        s = s + x * y;
        for (double v : {std::fabs(x.hi()), std::fabs(y.hi())})
          operands_ok = operands_ok && (!std::isfinite(v) || (v <= 0x1p497 && (v == 0 || v >= 0x1p-484)));
        if (std::isfinite(x.hi())) max_a = std::max(max_a, std::fabs(x.hi()));
        if (std::isfinite(y.hi())) max_b = std::max(max_b, std::fabs(y.hi()));
      }
      expect[static_cast<std::size_t>(i + j * ldc)] = s;
    }
  bool tiny_entry = false;
  for (Index j = 0; j < n; ++j)
    for (Index i = 0; i < m; ++i) {
      const double v = std::fabs(expect[static_cast<std::size_t>(i + j * ldc)].hi());
      tiny_entry = tiny_entry || (v != 0 && v < 0x1p-968);
    }
  const bool loop_exits =
      m > 0 && n > 0 && (!operands_ok || max_a * max_b * static_cast<double>(k) > 0x1p995 || tiny_entry);
  for (Isa isa : supported_isas()) {
    set_isa(isa);
    std::vector<DD> c(expect.size(), sentinel);
    const std::uint64_t start = dd_range_exits();
    gemm_dd(m, n, k, a.data(), lda, ta, b.data(), ldb, tb, c.data(), ldc);
    ASSERT_EQ(dd_range_exits() != start, loop_exits) << to_string(isa) << " " << m << "x" << n << "x" << k;
    for (std::size_t e = 0; e < c.size(); ++e)
      ASSERT_TRUE(same_bits(c[e].hi(), expect[e].hi()) && same_bits(c[e].lo(), expect[e].lo()))
          << to_string(isa) << " " << m << "x" << n << "x" << k << " ta=" << ta << " tb=" << tb
          << " special=" << special << " entry " << e << ": (" << c[e].hi() << ", " << c[e].lo()
          << "), the loop gives (" << expect[e].hi() << ", " << expect[e].lo() << ")";
  }
}

TEST(Kernels, DoubleDoubleGemmMatchesTheLoopBitForBitOnEveryIsa) {
  IsaGuard guard;
  Rng rng(13);
  const std::vector<Index> sizes = {0, 1, 2, 3, 4, 5, 15, 16, 17, 31, 33};
  int special_exits = 0;
  for (bool ta : {false, true})
    for (bool tb : {false, true})
      for (int trial = 0; trial < 40; ++trial) {
        check_gemm_dd_shape(rng, sizes[rng.below(sizes.size())], sizes[rng.below(sizes.size())],
                            sizes[rng.below(sizes.size())], ta, tb, trial % 3 == 0, trial % 4 == 1 ? 3 : 0);
        if (::testing::Test::HasFatalFailure()) return;
      }
  // The oracle benchmark's shapes (32 -> 128 -> 64), forward and both gradients.
  for (const auto& [batch, in, out] : std::vector<std::array<Index, 3>>{{32, 32, 128}, {32, 128, 64}}) {
    check_gemm_dd_shape(rng, batch, out, in, false, true, false, 0);
    check_gemm_dd_shape(rng, out, in, batch, true, false, false, 0);
    check_gemm_dd_shape(rng, batch, in, out, false, false, true, 0);
    if (::testing::Test::HasFatalFailure()) return;
  }
  // Each range edge alone, in an entry that is not the first: the kernel must see it.
  for (const double edge : {0x1p600, 0x1p-500, 0x1p-980, 0x1p400}) {
    std::vector<DoubleDouble> a(6 * 3, DoubleDouble(1.0)), b(3 * 2, DoubleDouble(1.0)), c(6 * 2);
    a[5] = DoubleDouble::raw(edge, 0);
    b[0] = DoubleDouble::raw(edge == 0x1p400 ? 0x1p596 : 1.0, 0);  // 2^400 alone is fine; times 2^596 k is not
    for (Isa isa : supported_isas()) {
      set_isa(isa);
      const std::uint64_t start = dd_range_exits();
      gemm_dd(6, 2, 3, a.data(), 6, false, b.data(), 3, false, c.data(), 6);
      EXPECT_NE(dd_range_exits(), start) << to_string(isa) << " edge " << edge;
      special_exits += dd_range_exits() != start;
    }
  }
  EXPECT_GT(special_exits, 0);
  // Two in-range products that cancel to below 2^-968: the entry counts, on every ISA.
  {
    std::vector<DoubleDouble> a2 = {DoubleDouble(0x1p-484 * (1 + 0x1p-52)), DoubleDouble(-0x1p-484)};
    std::vector<DoubleDouble> b2 = {DoubleDouble(0x1p-484), DoubleDouble(0x1p-484)}, c2(1);
    for (Isa isa : supported_isas()) {
      set_isa(isa);
      const std::uint64_t start = dd_range_exits();
      gemm_dd(1, 1, 2, a2.data(), 1, false, b2.data(), 2, false, c2.data(), 1);
      EXPECT_NE(dd_range_exits(), start) << to_string(isa);
      EXPECT_EQ(c2[0].hi(), 0x1p-1020) << to_string(isa);
    }
  }
  // An infinite operand follows IEEE through the loop (inf, not the NaN the error-free
  // transformations would give) and counts nothing.
  std::vector<DoubleDouble> a(2 * 2, DoubleDouble(1.0)), b(2, DoubleDouble(1.0)), c(2);
  a[0] = DoubleDouble(std::numeric_limits<double>::infinity());
  for (Isa isa : supported_isas()) {
    set_isa(isa);
    const std::uint64_t start = dd_range_exits();
    gemm_dd(2, 1, 2, a.data(), 2, false, b.data(), 2, false, c.data(), 2);
    EXPECT_EQ(dd_range_exits(), start) << to_string(isa);
    EXPECT_TRUE(std::isinf(c[0].hi()) && c[0].hi() > 0) << to_string(isa);
    EXPECT_EQ(c[1], DoubleDouble(2.0)) << to_string(isa);
  }
}

TEST(Kernels, GemmHandlesNonFiniteOperandsLikeTheLoop) {
  // One entry each: inf*0 = NaN, NaN + anything = NaN, overflow to inf, -0*x + -0*y is +0
  // (the sum starts at +0), and a NaN anywhere in the row makes the entry NaN.
  IsaGuard guard;
  const double inf = std::numeric_limits<double>::infinity();
  const double nan = std::numeric_limits<double>::quiet_NaN();
  const double big = std::numeric_limits<double>::max();
  // A is 5 x 2 (column-major), B is 2 x 1.
  const std::vector<double> a = {inf, inf, big, -0.0, nan, 0.0, -inf, big, -0.0, 1.0};
  const std::vector<double> b = {0.0, 2.0};
  for (Isa isa : supported_isas()) {
    set_isa(isa);
    std::vector<double> c(5, 99.0), scratch(static_cast<std::size_t>(gemm_scratch_size(5, 1, 2)));
    gemm<double>(5, 1, 2, a.data(), 5, false, b.data(), 2, false, c.data(), 5, scratch.data());
    EXPECT_TRUE(std::isnan(c[0])) << to_string(isa) << ": inf*0 must give NaN";
    EXPECT_TRUE(std::isnan(c[1])) << to_string(isa) << ": inf*0 + (-inf)*2 must give NaN";
    EXPECT_EQ(c[2], inf) << to_string(isa) << ": big*0 + big*2 overflows";
    EXPECT_FALSE(std::signbit(c[3])) << to_string(isa) << ": the sum starts at +0";
    EXPECT_TRUE(std::isnan(c[4])) << to_string(isa);
  }
}

template <class T>
void check_adam() {
  IsaGuard guard;
  Rng rng(std::is_same_v<T, float> ? 21 : 22);
  for (int trial = 0; trial < 200; ++trial) {
    const Index n = static_cast<Index>(rng.below(70));
    const bool special = trial % 3 == 0;
    const bool amsgrad = trial % 2 == 0;
    std::vector<T> p0(n), g(n), m0(n), v0(n), vmax0(n);
    for (Index i = 0; i < n; ++i) {
      p0[i] = draw<T>(rng, special);
      g[i] = draw<T>(rng, special);
      m0[i] = draw<T>(rng, special);
      v0[i] = std::abs(draw<T>(rng, special));
      vmax0[i] = std::abs(draw<T>(rng, special));
    }
    const AdamScalars<T> s{T(0.9), T(0.1), T(0.999), static_cast<T>(0.001), static_cast<T>(std::sqrt(0.002)),
                           static_cast<T>(1e-8), static_cast<T>(trial % 5 == 0 ? 0.0 : 0.01)};
    // The torch.optim box in scalars, as zerolr/kernels.h states it.
    std::vector<T> pe = p0, me = m0, ve = v0, vmaxe = vmax0;
    for (Index i = 0; i < n; ++i) {
      me[i] = s.beta1 * me[i] + s.one_minus_beta1 * g[i];
      ve[i] = s.beta2 * ve[i] + s.one_minus_beta2 * (g[i] * g[i]);
      T used = ve[i];
      if (amsgrad) {
        // torch.maximum: NaN if either side is.
        vmaxe[i] = (std::isnan(vmaxe[i]) || std::isnan(ve[i])) ? std::numeric_limits<T>::quiet_NaN()
                                                               : std::max(vmaxe[i], ve[i]);
        used = vmaxe[i];
      }
      const T denom = std::sqrt(used) / s.bias_correction2_sqrt + s.eps;
      pe[i] = pe[i] - s.step_size * (me[i] / denom);
    }
    for (Isa isa : supported_isas()) {
      set_isa(isa);
      std::vector<T> p = p0, m = m0, v = v0, vmax = vmax0;
      adam_update<T>(n, p.data(), g.data(), m.data(), v.data(), amsgrad ? vmax.data() : nullptr, s);
      for (Index i = 0; i < n; ++i) {
        ASSERT_TRUE(same_bits(p[i], pe[i]) && same_bits(m[i], me[i]) && same_bits(v[i], ve[i]) &&
                    same_bits(vmax[i], amsgrad ? vmaxe[i] : vmax0[i]))
            << to_string(isa) << " trial " << trial << " entry " << i << " of " << n << ": p " << p[i]
            << " vs " << pe[i] << ", m " << m[i] << " vs " << me[i] << ", v " << v[i] << " vs " << ve[i];
      }
    }
  }
}

TEST(Kernels, AdamMatchesTheScalarFormulaBitForBitOnEveryIsaFloat) { check_adam<float>(); }
TEST(Kernels, AdamMatchesTheScalarFormulaBitForBitOnEveryIsaDouble) { check_adam<double>(); }

template <class T>
void check_relu() {
  IsaGuard guard;
  Rng rng(std::is_same_v<T, float> ? 31 : 32);
  for (int trial = 0; trial < 200; ++trial) {
    const Index n = static_cast<Index>(rng.below(100));
    const bool special = trial % 2 == 0;
    std::vector<T> x(n), dy(n), y_expect(n), dx_expect(n);
    for (Index i = 0; i < n; ++i) {
      x[i] = draw<T>(rng, special);
      dy[i] = draw<T>(rng, special);
      y_expect[i] = x[i] <= T(0) ? T(0) : x[i];
      dx_expect[i] = x[i] <= T(0) ? T(0) : dy[i];
    }
    for (Isa isa : supported_isas()) {
      set_isa(isa);
      std::vector<T> y(n, T(7)), dx(n, T(7));
      relu_forward<T>(n, x.data(), y.data());
      relu_backward<T>(n, dy.data(), x.data(), dx.data());
      for (Index i = 0; i < n; ++i)
        ASSERT_TRUE(same_bits(y[i], y_expect[i]) && same_bits(dx[i], dx_expect[i]))
            << to_string(isa) << " trial " << trial << " entry " << i << ": x " << x[i] << " dy " << dy[i]
            << " gives y " << y[i] << " (want " << y_expect[i] << "), dx " << dx[i] << " (want " << dx_expect[i]
            << ")";
    }
  }
  // What PyTorch's relu and threshold_backward give (libtorch 1.13, checked by hand):
  // relu(-0) = +0; where x <= 0 the gradient is +0 whatever dy is, NaN and inf included;
  // where x is NaN, dy passes.
  const T nan = std::numeric_limits<T>::quiet_NaN(), inf = std::numeric_limits<T>::infinity();
  for (Isa isa : supported_isas()) {
    set_isa(isa);
    std::vector<T> x(20, T(-0.0)), dy(20, T(-1));
    x[17] = T(-1);
    dy[17] = nan;
    x[18] = T(0);
    dy[18] = -inf;
    x[19] = nan;
    dy[19] = T(3);
    x[3] = T(-2);
    dy[3] = nan;  // inside the vector part
    std::vector<T> y(20), dx(20);
    relu_forward<T>(20, x.data(), y.data());
    relu_backward<T>(20, dy.data(), x.data(), dx.data());
    for (int i = 0; i < 19; ++i) {
      EXPECT_FALSE(std::signbit(y[i])) << to_string(isa) << " entry " << i;
      EXPECT_TRUE(dx[i] == T(0) && !std::signbit(dx[i])) << to_string(isa) << " entry " << i << ": " << dx[i];
    }
    EXPECT_TRUE(std::isnan(y[19])) << to_string(isa);
    EXPECT_EQ(dx[19], T(3)) << to_string(isa);
  }
}

TEST(Kernels, ReluMatchesTheScalarFormulaBitForBitOnEveryIsaFloat) { check_relu<float>(); }
TEST(Kernels, ReluMatchesTheScalarFormulaBitForBitOnEveryIsaDouble) { check_relu<double>(); }

template <class T>
void check_first_non_finite() {
  IsaGuard guard;
  Rng rng(std::is_same_v<T, float> ? 41 : 42);
  const T bad[] = {std::numeric_limits<T>::quiet_NaN(), std::numeric_limits<T>::infinity(),
                   -std::numeric_limits<T>::infinity()};
  for (int trial = 0; trial < 300; ++trial) {
    const Index n = static_cast<Index>(rng.below(trial < 150 ? 40 : 700));
    std::vector<T> x(n);
    for (T& v : x) {
      v = draw<T>(rng, false);
      if (rng.below(4) == 0) v = rng.below(2) ? std::numeric_limits<T>::max() : std::numeric_limits<T>::denorm_min();
    }
    const int nbad = static_cast<int>(rng.below(3));  // 0, 1 or 2 bad entries
    for (int b = 0; b < nbad && n > 0; ++b) x[rng.below(static_cast<std::uint64_t>(n))] = bad[rng.below(3)];
    Index expect = n;
    for (Index i = 0; i < n; ++i)
      if (!std::isfinite(x[i])) {
        expect = i;
        break;
      }
    for (Isa isa : supported_isas()) {
      set_isa(isa);
      ASSERT_EQ(first_non_finite<T>(n, x.data()), expect) << to_string(isa) << " trial " << trial << " n " << n;
    }
  }
}

TEST(Kernels, FirstNonFiniteFindsTheFirstNanOrInfinityOnEveryIsaFloat) { check_first_non_finite<float>(); }
TEST(Kernels, FirstNonFiniteFindsTheFirstNanOrInfinityOnEveryIsaDouble) { check_first_non_finite<double>(); }

// End to end: ten Adam steps of a model with every supported ISA end on the same bits.
template <class T>
void check_training_is_isa_independent() {
  IsaGuard guard;
  Rng rng(5);
  Matrix<T> x(32, 20), y(32, 3);
  for (Index i = 0; i < x.size(); ++i) x.data()[i] = static_cast<T>(rng.uniform(-1, 1));
  for (Index i = 0; i < y.size(); ++i) y.data()[i] = static_cast<T>(rng.uniform(-1, 1));
  std::vector<std::vector<T>> finals;
  for (Isa isa : supported_isas()) {
    set_isa(isa);
    Sequential<T> model(Architecture::parse("input(20),dense(40),tanh,dense(24),relu,dense(3)"), 7);
    auto opt = make_optimizer<T>(parse_optimizer_spec("adam(lr=0.01,amsgrad=1)"));
    const auto params = model.parameters();
    for (int step = 0; step < 10; ++step) {
      const Matrix<T>& out = model.forward(x, Mode::Train);
      const Matrix<T> dy = (out - y) * T(2) / static_cast<T>(out.size());
      model.backward(dy);
      opt->step(params, T(0.01));
    }
    std::vector<T> flat;
    for (const auto& p : params) flat.insert(flat.end(), p.value->data(), p.value->data() + p.value->size());
    finals.push_back(flat);
  }
  for (std::size_t i = 1; i < finals.size(); ++i) {
    ASSERT_EQ(finals[i].size(), finals[0].size());
    for (std::size_t e = 0; e < finals[0].size(); ++e)
      ASSERT_TRUE(same_bits(finals[i][e], finals[0][e]))
          << to_string(supported_isas()[i]) << " differs from generic at parameter entry " << e;
  }
}

TEST(Kernels, TrainingEndsOnTheSameBitsOnEveryIsaFloat) { check_training_is_isa_independent<float>(); }
TEST(Kernels, TrainingEndsOnTheSameBitsOnEveryIsaDouble) { check_training_is_isa_independent<double>(); }

TEST(Kernels, IsaNamesRoundTripAndBadNamesAreRejected) {
  for (Isa isa : {Isa::Generic, Isa::Avx2, Isa::Avx512}) EXPECT_EQ(parse_isa(to_string(isa)), isa);
  try {
    parse_isa("sse9");
    FAIL() << "parse_isa accepted sse9";
  } catch (const SpecError& e) {
    EXPECT_NE(std::string(e.what()).find("\"sse9\" is not one of generic, avx2, avx512"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(parse_isa(""), SpecError);
  EXPECT_THROW(parse_isa("AVX2"), SpecError);
}

TEST(Kernels, TheActiveIsaIsSupportedAndGenericAlwaysIs) {
  EXPECT_TRUE(supported(Isa::Generic));
  EXPECT_TRUE(supported(active_isa()));
  const std::vector<Isa> all = supported_isas();
  ASSERT_FALSE(all.empty());
  EXPECT_EQ(all.front(), Isa::Generic);
  // Without ZEROLR_ISA the best one is chosen (ctest runs this binary with it unset).
  if (std::getenv("ZEROLR_ISA") == nullptr) {
    EXPECT_EQ(active_isa(), all.back());
  }
}

TEST(Kernels, SettingAnUnsupportedIsaThrowsAndChangesNothing) {
  IsaGuard guard;
  const Isa before = active_isa();
  for (Isa isa : {Isa::Generic, Isa::Avx2, Isa::Avx512}) {
    if (supported(isa)) continue;
    EXPECT_THROW(set_isa(isa), SpecError);
    EXPECT_EQ(active_isa(), before);
  }
  // On a CPU with every set there is nothing to reject here; ctest's kernels.bad_isa_env
  // checks the environment variable's error path with a name no CPU supports.
  set_isa(Isa::Generic);
  EXPECT_EQ(active_isa(), Isa::Generic);
}

}  // namespace
}  // namespace zerolr::kernels
