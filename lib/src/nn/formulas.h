#pragma once
// The layers' and losses' formulas that the rigorous forward bounds (lib/src/reference/bounds.cpp) must
// see step by step, written once. layers.cpp computes its outputs with these functions and
// bounds.cpp bounds the same functions' intermediates, so the two cannot drift apart: before
// session 4 bounds.cpp replayed each formula "operation for operation as in layers.cpp" and
// only a runtime comparison caught a difference. Private to lib/src; templates over any
// scalar (the working types and the references).

#include "zerolr/core.h"

namespace zerolr::formula {

// ---- normalisation (BatchNorm1d, LayerNorm) ---------------------------------------------

/// Batch statistics of m values x(0), ..., x(m-1), in this order:
///   mean = (x(0) + ... + x(m-1)) / m,   ss = sum of (x(k) - mean)^2,   var = ss / m.
template <class T>
struct Moments {
  T mean, ss, var;
};
template <class T, class X>
Moments<T> moments(Index m, X&& x) {
  T s(0);
  for (Index k = 0; k < m; ++k) s += x(k);
  Moments<T> out;
  out.mean = s / T(m);
  T ss(0);
  for (Index k = 0; k < m; ++k) {
    const T d = x(k) - out.mean;
    ss += d * d;
  }
  out.ss = ss;
  out.var = ss / T(m);
  return out;
}

/// 1 / sqrt(var + eps).
template <class T>
T inverse_std(const T& var, const T& eps) {
  using std::sqrt;
  return T(1) / sqrt(var + eps);
}

/// One normalised entry: d = x - mean, xhat = d * invstd, t = xhat * gamma, y = t + beta.
template <class T>
struct Normalized {
  T d, xhat, t, y;
};
template <class T>
Normalized<T> normalize(const T& x, const T& mean, const T& invstd, const T& gamma, const T& beta) {
  Normalized<T> out;
  out.d = x - mean;
  out.xhat = out.d * invstd;
  out.t = out.xhat * gamma;
  out.y = out.t + beta;
  return out;
}

// ---- Softplus ------------------------------------------------------------------------------

/// PyTorch's Softplus: x where beta x > threshold, else log1p(exp(beta x)) / beta, with beta
/// and threshold rounded to T. Every intermediate, for the bound.
template <class T>
struct SoftplusParts {
  T beta, bx;
  bool linear = false;
  T e, l;  ///< exp(bx) and log1p(e) on the curved branch (zero on the linear one)
  T y;
};
template <class T>
SoftplusParts<T> softplus(const T& x, double beta, double threshold) {
  using std::exp;
  using std::log1p;
  SoftplusParts<T> p;
  p.beta = static_cast<T>(beta);
  p.bx = p.beta * x;
  p.linear = p.bx > static_cast<T>(threshold);
  if (p.linear) {
    p.e = p.l = T(0);
    p.y = x;
    return p;
  }
  p.e = exp(p.bx);
  p.l = log1p(p.e);
  p.y = p.l / p.beta;
  return p;
}

// ---- cross-entropy ------------------------------------------------------------------------

/// One row's log-sum-exp, as cross-entropy computes it: m = the first largest of y(0..k-1),
/// then for j in order d_j = y(j) - m, e_j = exp(d_j), s = e_0 + e_1 + ..., and
/// lse = m + log(s). `each(j, d_j, e_j)` sees every term (the bound accumulates their errors).
template <class T>
struct LogSumExp {
  T m, s, log_s, lse;
};
template <class T, class Y, class Each>
LogSumExp<T> log_sum_exp(Index k, Y&& y, Each&& each) {
  using std::exp;
  using std::log;
  LogSumExp<T> out;
  out.m = y(0);
  for (Index j = 1; j < k; ++j)
    if (y(j) > out.m) out.m = y(j);
  T s(0);
  for (Index j = 0; j < k; ++j) {
    const T d = y(j) - out.m;
    const T e = exp(d);
    s += e;
    each(j, d, e);
  }
  out.s = s;
  out.log_s = log(s);
  out.lse = out.m + out.log_s;
  return out;
}

}  // namespace zerolr::formula
