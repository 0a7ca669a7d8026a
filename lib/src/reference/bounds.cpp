// Running forward-error bounds; every formula is derived in docs/notes/forward-bounds.md,
// under the section named in the comment above its code. Working precision only: this file
// is compiled once, with float and double instantiations written out below.
#include "zerolr/reference/bounds.h"

#include "nn/formulas.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

namespace zerolr {

namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kDmin = std::numeric_limits<double>::denorm_min();
constexpr double kUd = 0x1.0p-53;  // double's unit roundoff

// ---------------------------------------------------------------------------------------
// Safe bound arithmetic ("Bound arithmetic" in the notes). Every bound is a sum of products
// of nonnegative doubles; a chain of at most k round-to-nearest operations computes at least
// exact * (1 - u_d)^k - k * dmin_d, so up(b, k) >= exact.
double up(double b, double k) {
  if (std::isnan(b)) return kInf;
  return b * (1.0 + (k + 2.0) * 0x1.0p-51) + (k + 2.0) * kDmin;
}
// exp(t) rounded up: libm within 4 ulps (2^-50 relative) plus the multiplication.
double exp_up(double t) {
  if (std::isnan(t)) return kInf;
  return std::exp(t) * (1.0 + 0x1.0p-44) + kDmin;
}
// An upper bound on a + b and on a * b for nonnegative a, b; zero times anything is zero
// (a zero bound means an exactly zero quantity).
double add_up(double a, double b) {
  return up(a + b, 1);
}
double mul_up(double a, double b) {
  return (a == 0 || b == 0) ? 0.0 : up(a * b, 1);
}
// An upward rounding of a signed double that was computed with a few roundings
// (relative 2^-50 covers four of them; the absolute term covers underflow).
double hi(double v) {
  return v + std::abs(v) * 0x1.0p-50 + kDmin;
}
// A lower bound on a - b (a, b exact doubles), clamped at 0.
double sub_lo(double a, double b) {
  const double d = a - b;
  return d > 0 ? d * (1.0 - 0x1.0p-50) : 0.0;
}

// Working precision: u = 2^-p, mu = the smallest subnormal.
struct Prec {
  double u;
  double mu;
  double gamma(double k) const { return k * u / (1.0 - k * u) * (1.0 + 0x1.0p-50); }
  // libm: |fl(f) - f| <= 4 ulp(f) <= 8u|f| + 4mu, written against the computed |fl(f)|.
  double libm(double yabs) const {
    const double c = 2.0 * kLibmUlps;
    return (c * u * yabs + kLibmUlps * mu) / (1.0 - c * u) * (1.0 + 0x1.0p-50);
  }
  // One correctly rounded op with computed result r: |r - exact| <= (u|r| + mu)/(1 - u).
  double op(double rabs) const { return (u * rabs + mu) / (1.0 - u) * (1.0 + 0x1.0p-50); }
};

template <class T>
Prec prec_of() {
  return {static_cast<double>(std::numeric_limits<T>::epsilon()) / 2,
          static_cast<double>(std::numeric_limits<T>::denorm_min())};
}

template <class T>
bool finite(const T& v) {
  return std::isfinite(v);
}

// A bound matrix: non-finite computed values get +inf, NaN bounds become +inf.
template <class T>
void finish(Matrix<double>& b, const Matrix<T>& y) {
  for (Index k = 0; k < b.size(); ++k)
    if (!finite(y.data()[k]) || std::isnan(b.data()[k])) b.data()[k] = kInf;
}

// |x - x*| <= e: a lower bound on min |x| over [x - e, x + e].
double min_abs_lo(double x, double e) {
  return sub_lo(std::abs(x), e);
}

// ---------------------------------------------------------------------------------------
// Dense ("Dense" in the notes):
//   |y - y*| <= gamma_{n+1} (|x||W|^T + |b|) + E |W|^T + (n+1) mu.
template <class T>
Matrix<double> dense_bound(const Matrix<T>& w, const Matrix<T>& b, const Matrix<T>& x,
                           const Matrix<double>& ex, const Prec& p) {
  const Index n = x.rows(), in = w.cols(), out = w.rows();
  const Matrix<double> aw = w.template cast<double>().cwiseAbs();
  const Matrix<double> ax = x.template cast<double>().cwiseAbs();
  const double g = p.gamma(static_cast<double>(in + 1));
  Matrix<double> r(n, out);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < out; ++j) {
      double mag = std::abs(static_cast<double>(b(j, 0))), prop = 0;
      for (Index k = 0; k < in; ++k) {
        mag += ax(i, k) * aw(j, k);
        prop += mul_up(ex(i, k), aw(j, k));
      }
      r(i, j) = up(g * mag + prop + static_cast<double>(in + 1) * p.mu, 2.0 * static_cast<double>(in) + 6);
    }
  return r;
}

// ---------------------------------------------------------------------------------------
// Elementwise activations ("Activations" in the notes).
template <class T>
double relu_entry(T, double e, T, const Prec&) {
  return e;
}

template <class T>
double leaky_entry(T x, double e, T y, double slope, const Prec& p) {
  const double s = slope, sa = std::abs(s);
  const double ds = std::abs(static_cast<double>(static_cast<T>(s)) - s);  // exact (Sterbenz)
  double round = 0;
  if (x <= 0) round = p.op(std::abs(static_cast<double>(y))) + mul_up(ds, std::abs(static_cast<double>(x)));
  const double xd = static_cast<double>(x);
  // The sign of a difference of two doubles is exact, so these tests are too.
  double lip = std::max(1.0, sa);
  if (xd - e > 0)
    lip = 1.0;
  else if (xd + e <= 0)
    lip = sa;
  return up(round + mul_up(lip, e), 6);
}

template <class T>
double tanh_entry(T x, double e, T y, const Prec& p) {
  const double m = min_abs_lo(static_cast<double>(x), e);
  const double lip = std::min(1.0, 4.0 * exp_up(-2.0 * m));
  return up(p.libm(std::abs(static_cast<double>(y))) + mul_up(lip, e), 4);
}

template <class T>
double sigmoid_entry(T x, double e, T y, const Prec& p) {
  const double ya = std::abs(static_cast<double>(y));
  const double round = (24.0 * p.u * ya + 6.0 * p.mu) / (1.0 - 24.0 * p.u);
  const double m = min_abs_lo(static_cast<double>(x), e);
  const double lip = std::min(0.25, exp_up(-m));
  return up(round + mul_up(lip, e), 6);
}

template <class T>
double softplus_entry(T x, double e, T y, const LayerSpec& spec, const Prec& p) {
  const double beta = spec.beta, thr = spec.threshold;
  // The layer's own formula and its intermediates (nn/formulas.h): y is sp.y.
  const formula::SoftplusParts<T> sp = formula::softplus(x, beta, thr);
  const T bT = sp.beta, bx = sp.bx;
  const bool lin = sp.linear;
  if (!finite(y)) return kInf;
  const double xd = static_cast<double>(x), bTd = static_cast<double>(bT);
  const double dbeta = std::abs(bTd - beta);  // exact: bT and beta are within a factor 2, or bT = 0
  // beta*[x - e, x + e], widened (it also covers the reference replay's own rounding).
  const double zlo = beta * (xd - e), zhi = beta * (xd + e);
  const double zlo_w = zlo - std::abs(zlo) * 0x1.0p-48 - 1e-300;
  const double zhi_w = zhi + std::abs(zhi) * 0x1.0p-48 + 1e-300;
  double total = 0;
  if (lin) {
    total = e;
    if (!(zlo_w > thr)) total = add_up(total, up(exp_up(-zlo_w) / beta, 2));
    return up(total, 4);
  }
  // Branch log1p(exp(beta x)) / beta.
  const double zc = static_cast<double>(bx), ya = std::abs(static_cast<double>(y));
  const double dz = add_up(p.op(std::abs(zc)), mul_up(dbeta, std::abs(xd)));
  const double ez = exp_up(hi(zc + dz));  // max(z_c, beta x) <= z_c + dz
  const double term1 = std::min(mul_up(std::min(1.0, ez), dz), ez);
  const T ehat = sp.e;
  const T lhat = sp.l;
  const double ed = static_cast<double>(ehat), ld = static_cast<double>(lhat);
  const double de = p.libm(ed);
  const double term2 = up(de / (1.0 + std::max(0.0, ed - de)), 4);
  const double term3 = p.libm(ld);
  const double term4 = p.op(ya);
  const double h = up(term1 + term2 + term3, 2);
  const double round = up(term4 + h / bTd + (ld + h) * dbeta / (bTd * beta), 8);
  const double lip = std::min(1.0, exp_up(hi(beta * hi(xd + e))));  // sigma(beta (x + e))
  total = add_up(round, mul_up(lip, e));
  if (zhi_w > thr) total = add_up(total, up(exp_up(-thr) / beta, 2));
  return up(total, 4);
}

// ---------------------------------------------------------------------------------------
// Normalisation over one group of m values ("Normalisation" in the notes). Evaluates the
// layer's own formulas (nn/formulas.h) for their intermediates, and bounds
//   |y_k - (gamma_k (x*_k - mu(x*)) / sqrt(v(x*) + eps) + beta_k)|          (batch statistics)
//   |y_k - (gamma_k (x*_k - mean) / sqrt(var + eps) + beta_k)|               (fixed statistics)
template <class T>
void norm_group(const std::vector<T>& x, const std::vector<double>& ex, const std::vector<T>& gamma,
                const std::vector<T>& beta, const std::vector<T>& y, bool batch_stats, T fixed_mean,
                T fixed_var, double eps, const Prec& p, std::vector<double>& out) {
  const std::size_t m = x.size();
  const T epsT = static_cast<T>(eps);
  // The layer's own formulas and their intermediates (nn/formulas.h); y is what they give.
  T mean, var;
  if (batch_stats) {
    const formula::Moments<T> mo =
        formula::moments<T>(static_cast<Index>(m), [&](Index k) { return x[static_cast<std::size_t>(k)]; });
    mean = mo.mean;
    var = mo.var;
  } else {
    mean = fixed_mean;
    var = fixed_var;
  }
  const T wc = var + epsT;  // inverse_std's own first operation
  const T invstd = formula::inverse_std(var, epsT);
  std::vector<T> dh(m), xh(m), t(m);
  for (std::size_t k = 0; k < m; ++k) {
    const formula::Normalized<T> nk = formula::normalize(x[k], mean, invstd, gamma[k], beta[k]);
    dh[k] = nk.d;
    xh[k] = nk.xhat;
    t[k] = nk.t;
  }
  out.assign(m, kInf);
  bool ok = finite(invstd) && finite(wc);
  for (std::size_t k = 0; k < m; ++k) ok = ok && finite(x[k]) && finite(y[k]) && ex[k] < kInf;
  if (!ok) return;

  const double md_ = static_cast<double>(m), u = p.u, mu = p.mu;
  // Mean and centred values.
  double dmu = 0;
  if (batch_stats) {
    double a = 0;
    for (std::size_t k = 0; k < m; ++k) a += std::abs(static_cast<double>(x[k]));
    dmu = up(p.gamma(md_) * a / md_ + mu, md_ + 6);
  }
  std::vector<double> e(m), da(m);
  double q = 0, cross = 0;
  for (std::size_t k = 0; k < m; ++k) {
    da[k] = std::abs(static_cast<double>(dh[k]));
    e[k] = up(u / (1 - u) * da[k] + dmu, 4);
    q += da[k] * da[k];
    cross += e[k] * (2 * da[k] + e[k]);
  }
  // Variance and denominator.
  double dv = 0;
  if (batch_stats) dv = up(p.gamma(md_ + 1) * q / md_ + cross / md_ + 2 * mu, 2 * md_ + 10);
  const double wcd = static_cast<double>(wc);
  const double dw = up(dv + u * eps + mu / 2 + u / (1 - u) * wcd, 8);
  const double rho = up(dw / wcd, 1);
  if (!(rho <= 0.5)) return;  // the analysis does not resolve the denominator
  const double kappa = up(rho + 3 * u, 1);
  const double inv = static_cast<double>(invstd);
  const double kfac = up(kappa / (1 - kappa), 3);
  // Propagation through the exact map (mean value theorem over the box |xi - x| <= E).
  double ebar = 0, e2 = 0;
  for (std::size_t k = 0; k < m; ++k) {
    ebar += ex[k];
    e2 += ex[k] * ex[k];
  }
  ebar = up(ebar / md_, md_ + 2);
  e2 = up(std::sqrt(up(e2, md_ + 2)), 2);
  double inv_s = 0;
  std::vector<double> zup(m, 0.0);
  double c = 0;
  if (batch_stats) {
    const double sd_lo = std::sqrt(sub_lo(static_cast<double>(var), dv)) * (1 - 0x1.0p-50);
    const double sig_lo = sub_lo(sd_lo, up(e2 / std::sqrt(md_), 3));
    const double s2_lo = (sig_lo * sig_lo + eps) * (1 - 0x1.0p-49);
    inv_s = up(1.0 / std::sqrt(s2_lo), 3);
    const double sqm = up(std::sqrt(md_), 2);
    double c1 = 0;
    for (std::size_t k = 0; k < m; ++k) {
      zup[k] = std::min(sqm, up((da[k] + e[k] + ex[k] + ebar) * inv_s, 5));
      c1 += zup[k] * ex[k];
    }
    c = std::min(up(c1 / md_, md_ + 3), up(e2 / std::sqrt(md_), 3));
  } else {
    inv_s = up(inv / (1 - kappa), 3);
  }
  for (std::size_t k = 0; k < m; ++k) {
    const double g = std::abs(static_cast<double>(gamma[k]));
    const double xha = std::abs(static_cast<double>(xh[k]));
    const double dxh = u / (1 - u) * xha + mu + e[k] * inv + (da[k] + e[k]) * inv * kfac;
    const double round =
        g * dxh + p.op(std::abs(static_cast<double>(t[k]))) + p.op(std::abs(static_cast<double>(y[k])));
    double prop;
    if (batch_stats)
      prop = mul_up(g, inv_s * (ex[k] + ebar + zup[k] * c));
    else
      prop = mul_up(g, mul_up(inv_s, ex[k]));
    out[k] = up(round + prop, 20);
  }
}

template <class T>
Matrix<double> norm_bound(Layer<T>& layer, const Matrix<T>& x, const Matrix<double>& ex, const Matrix<T>& y,
                          bool per_row, bool batch_stats, const Prec& p) {
  std::vector<ParamRef<T>> params;
  layer.collect_parameters(params, "");
  std::vector<BufferRef<T>> bufs;
  layer.collect_buffers(bufs, "");
  const Matrix<T>& gam = *params.at(0).value;
  const Matrix<T>& bet = *params.at(1).value;
  const double eps = layer.spec().eps;
  Matrix<double> r(y.rows(), y.cols());
  std::vector<T> gx, gg, gb, gy;
  std::vector<double> ge, out;
  if (per_row) {  // LayerNorm: one group per sample, over the features
    for (Index i = 0; i < x.rows(); ++i) {
      gx.clear(), gg.clear(), gb.clear(), gy.clear(), ge.clear();
      for (Index j = 0; j < x.cols(); ++j) {
        gx.push_back(x(i, j)), ge.push_back(ex(i, j)), gg.push_back(gam(j, 0)), gb.push_back(bet(j, 0));
        gy.push_back(y(i, j));
      }
      norm_group<T>(gx, ge, gg, gb, gy, true, T(0), T(0), eps, p, out);
      for (Index j = 0; j < x.cols(); ++j) r(i, j) = out[static_cast<std::size_t>(j)];
    }
  } else {  // BatchNorm1d: one group per feature, over the batch
    for (Index j = 0; j < x.cols(); ++j) {
      gx.clear(), gg.clear(), gb.clear(), gy.clear(), ge.clear();
      for (Index i = 0; i < x.rows(); ++i) {
        gx.push_back(x(i, j)), ge.push_back(ex(i, j)), gg.push_back(gam(j, 0)), gb.push_back(bet(j, 0));
        gy.push_back(y(i, j));
      }
      const T rm = batch_stats ? T(0) : (*bufs.at(0).value)(j, 0);
      const T rv = batch_stats ? T(0) : (*bufs.at(1).value)(j, 0);
      norm_group<T>(gx, ge, gg, gb, gy, batch_stats, rm, rv, eps, p, out);
      for (Index i = 0; i < x.rows(); ++i) r(i, j) = out[static_cast<std::size_t>(i)];
    }
  }
  return r;
}

// ---------------------------------------------------------------------------------------
// Dropout ("Dropout" in the notes): kept entries y = fl(x s_T), dropped entries y = 0 = y*.
template <class T>
Matrix<double> dropout_bound(const LayerSpec& spec, const Matrix<T>& x, const Matrix<double>& ex,
                             const Matrix<T>& y, const Prec& p) {
  Matrix<double> r(y.rows(), y.cols());
  const double sT = spec.p >= 1 ? 0.0 : static_cast<double>(static_cast<T>(1.0 / (1.0 - spec.p)));
  const double rel = 2 * p.u + 8 * kUd;  // |s_T - s| <= rel s_T for s = 1/(1-p) and s = fl64(1/fl64(1-p))
  for (Index k = 0; k < y.size(); ++k) {
    const T xv = x.data()[k], yv = y.data()[k];
    const bool kept = sT > 0 && (yv != 0 || xv == 0);
    if (!kept) {
      r.data()[k] = 0;
      continue;
    }
    const double xa = std::abs(static_cast<double>(xv));
    r.data()[k] =
        up(p.op(std::abs(static_cast<double>(yv))) + xa * sT * rel + sT * (1 + rel) * ex.data()[k], 10);
  }
  return r;
}

// ---------------------------------------------------------------------------------------
// Losses ("Losses" in the notes).
template <class T>
double loss_bound_impl(const LossSpec& spec, const Matrix<T>& y, const Matrix<double>& ey, const Matrix<T>& t,
                       T computed, const Prec& p) {
  using std::exp;
  using std::log;
  using std::log1p;
  if (!finite(computed)) return kInf;
  for (Index k = 0; k < ey.size(); ++k)
    if (!(ey.data()[k] < kInf)) return kInf;
  const Index n = y.rows(), kc = y.cols();
  const double u = p.u, mu = p.mu;
  switch (spec.kind) {
    case LossKind::Mse: {
      const double N = static_cast<double>(n * kc);
      double sq = 0, prop = 0;
      for (Index k = 0; k < y.size(); ++k) {
        const T d = y.data()[k] - t.data()[k];
        const double da = std::abs(static_cast<double>(d)) / (1 - u);
        sq += da * da;
        prop += ey.data()[k] * (2 * da + ey.data()[k]);
      }
      return up((p.gamma(N + 3) * sq + prop) / N + 2 * mu, 3 * N + 12);
    }
    case LossKind::BceWithLogits: {
      const double N = static_cast<double>(n * kc);
      double mags = 0, rounds = 0, prop = 0;
      for (Index k = 0; k < y.size(); ++k) {
        const double x = static_cast<double>(y.data()[k]), z = static_cast<double>(t.data()[k]);
        const double ax = std::abs(x);
        const double tau3 =
            std::min(0.6931471805599454, exp_up(-ax));  // log1p(exp(-|x|)) <= min(ln 2, e^-|x|)
        const double mag = (x > 0 ? ax : 0.0) + ax * std::abs(z) + tau3;
        // exp then log1p: (8u e + 4mu) + (8u l + 4mu), e <= 1.45 l, all inflated by gamma_3
        const double lib = 8 * u * (1 + 8 * u) * exp_up(-ax) + 24 * u * tau3 + 9 * mu;
        rounds += p.gamma(3) * mag + lib * (1 + p.gamma(3)) + 2 * mu;
        mags += mag + lib;
        prop += std::max(std::abs(z), std::abs(1 - z)) * ey.data()[k];
      }
      return up((p.gamma(N + 1) * (mags + rounds) + rounds + prop) / N + 2 * mu, 3 * N + 20);
    }
    case LossKind::CrossEntropy: {
      const double nd = static_cast<double>(n);
      double mags = 0, rounds = 0, prop = 0;
      for (Index i = 0; i < n; ++i) {
        const Index c = static_cast<Index>(static_cast<long long>(t(i, 0)));
        // Row sum s = sum exp(y_j - m), the loss's own formula (nn/formulas.h): each term's
        // error from the subtraction (argument relative error u, exp(d) <= exp(d_hat / (1 + u))
        // for d_hat <= 0) and libm.
        double ds = 0, emax = 0;
        const formula::LogSumExp<T> row = formula::log_sum_exp<T>(
            kc, [&](Index j) { return y(i, j); },
            [&](Index j, const T& dj, const T& ej) {
              const double dd = static_cast<double>(dj);
              ds += exp_up(hi(dd / (1 + u))) * (u * std::abs(dd) / (1 - u)) + p.libm(static_cast<double>(ej));
              emax = std::max(emax, ey(i, j));
            });
        const T m = row.m;
        const T sT = row.s;
        const double shat = static_cast<double>(sT);
        const double gk = p.gamma(static_cast<double>(kc));
        ds = up(ds + gk * shat / (1 - gk), 3 * static_cast<double>(kc) + 6);
        if (!(ds < 0.5)) return kInf;
        const double dlog = up(ds / (1 - ds), 2);  // |log(s_hat) - log(s)|, using s >= 1
        const T lT = row.log_s;
        const double lg = up((std::abs(static_cast<double>(lT)) + kLibmUlps * mu) / (1 - 8 * u), 3);
        const double e1 = up(dlog + p.libm(std::abs(static_cast<double>(lT))), 2);
        const double mag =
            std::abs(static_cast<double>(m)) + lg + e1 + std::abs(static_cast<double>(y(i, c)));
        const double r = up(e1 + p.gamma(3) * mag, 4);
        rounds += r;
        mags += mag + r;
        prop += emax + ey(i, c);
      }
      return up((p.gamma(nd + 1) * mags + rounds + prop) / nd + 2 * mu, 3 * nd + 20);
    }
    case LossKind::Huber: {
      const double N = static_cast<double>(n * kc);
      const double delta = spec.delta;
      const double dT = static_cast<double>(static_cast<T>(delta));
      const double ddelta = std::abs(dT - delta);
      const double dmax = std::max(delta, dT);
      double mags = 0, rounds = 0, prop = 0;
      for (Index k = 0; k < y.size(); ++k) {
        const T d = y.data()[k] - t.data()[k];
        const double a = std::abs(static_cast<double>(d));
        const double ae = a / (1 - u);  // >= |y - t|
        double r;
        double mag;
        if (static_cast<T>(a) < static_cast<T>(delta)) {
          mag = 0.5 * a * a;
          r = p.gamma(2) * mag + 2 * mu;
        } else {
          mag = dT * (a + 0.5 * dT);
          r = p.gamma(3) * mag + 2 * mu;
        }
        r += dmax * u * ae + ddelta * ae;  // the subtraction y - t, and delta_T against delta
        rounds += r;
        mags += mag + r;
        prop += std::min(dmax, ae + ey.data()[k]) * ey.data()[k];
      }
      return up((p.gamma(N + 1) * mags + rounds + prop) / N + 2 * mu, 3 * N + 20);
    }
  }
  return kInf;
}

}  // namespace

template <class T>
Matrix<double> layer_error_bound(Layer<T>& layer, const Matrix<T>& x, const Matrix<double>& ex,
                                 const Matrix<T>& y, Mode mode) {
  const Prec p = prec_of<T>();
  const LayerSpec spec = layer.spec();
  Matrix<double> r(y.rows(), y.cols());
  auto each = [&](auto f) {
    for (Index k = 0; k < y.size(); ++k) r.data()[k] = f(x.data()[k], ex.data()[k], y.data()[k]);
  };
  switch (spec.kind) {
    case LayerKind::Dense: {
      std::vector<ParamRef<T>> params;
      layer.collect_parameters(params, "");
      r = dense_bound<T>(*params.at(0).value, *params.at(1).value, x, ex, p);
      break;
    }
    case LayerKind::ReLU:
      each([&](T xv, double e, T yv) { return relu_entry(xv, e, yv, p); });
      break;
    case LayerKind::LeakyReLU:
      each([&](T xv, double e, T yv) { return leaky_entry(xv, e, yv, spec.slope, p); });
      break;
    case LayerKind::Tanh:
      each([&](T xv, double e, T yv) { return tanh_entry(xv, e, yv, p); });
      break;
    case LayerKind::Sigmoid:
      each([&](T xv, double e, T yv) { return sigmoid_entry(xv, e, yv, p); });
      break;
    case LayerKind::Softplus:
      each([&](T xv, double e, T yv) { return softplus_entry(xv, e, yv, spec, p); });
      break;
    case LayerKind::Dropout:
      if (mode == Mode::Train && spec.p > 0)
        r = dropout_bound<T>(spec, x, ex, y, p);
      else
        r = ex;
      break;
    case LayerKind::BatchNorm1d:
      r = norm_bound<T>(layer, x, ex, y, false, mode == Mode::Train, p);
      break;
    case LayerKind::LayerNorm:
      r = norm_bound<T>(layer, x, ex, y, true, true, p);
      break;
  }
  finish(r, y);
  return r;
}

template <class T>
double loss_error_bound(const LossSpec& spec, const Matrix<T>& y, const Matrix<double>& ey,
                        const Matrix<T>& t, T computed) {
  return loss_bound_impl<T>(spec, y, ey, t, computed, prec_of<T>());
}

template <class T>
BoundedForward<T> bounded_forward(Sequential<T>& model, const Matrix<T>& x, Mode mode, const LossSpec* loss,
                                  const Matrix<T>* target) {
  if ((loss == nullptr) != (target == nullptr))
    throw Error("bounded_forward: give both a loss and a target, or neither");
  if (x.cols() != model.inputs())
    throw ShapeError("bounded_forward: expected " + std::to_string(model.inputs()) +
                     " input features but got " + std::to_string(x.cols()));
  if (x.rows() < 1) throw ShapeError("bounded_forward: the batch is empty");
  BoundedForward<T> out;
  Matrix<double> e = Matrix<double>::Zero(x.rows(), x.cols());
  for (Index k = 0; k < x.size(); ++k)
    if (!finite(x.data()[k])) e.data()[k] = kInf;
  const Matrix<T>* cur = &x;
  for (Index i = 0; i < model.size(); ++i) {
    Layer<T>& l = model.layer(i);
    const Matrix<T>& y = l.forward(*cur, mode);
    e = layer_error_bound<T>(l, *cur, e, y, mode);
    cur = &y;
  }
  out.value = *cur;
  out.bound = std::move(e);
  if (loss) {
    out.loss = loss_value<T>(*loss, out.value, *target);
    out.loss_bound = loss_error_bound<T>(*loss, out.value, out.bound, *target, out.loss);
  }
  return out;
}

template struct BoundedForward<float>;
template struct BoundedForward<double>;
#define ZEROLR_BOUNDS_INST(T)                                                                            \
  template BoundedForward<T> bounded_forward<T>(Sequential<T>&, const Matrix<T>&, Mode, const LossSpec*, \
                                                const Matrix<T>*);                                       \
  template Matrix<double> layer_error_bound<T>(Layer<T>&, const Matrix<T>&, const Matrix<double>&,       \
                                               const Matrix<T>&, Mode);                                  \
  template double loss_error_bound<T>(const LossSpec&, const Matrix<T>&, const Matrix<double>&,          \
                                      const Matrix<T>&, T);
ZEROLR_BOUNDS_INST(float)
ZEROLR_BOUNDS_INST(double)
#undef ZEROLR_BOUNDS_INST

}  // namespace zerolr
