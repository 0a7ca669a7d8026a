#pragma once
/// \file
/// Shared by the fuzz targets: decoding values, Cases and VectorCases from the input bytes
/// with FuzzedDataProvider, and failing so that libFuzzer (or the replay driver) records it.
///
/// The decoders only build data; judging is left to the library's own property code
/// (run_property, prop_freeze, check_vector_case), never copied here.

#include <fuzzer/FuzzedDataProvider.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "zerolr/audit/audit.h"
#include "zerolr/audit/case.h"
#include "zerolr/audit/worker.h"
#include "zerolr/spec_syntax.h"

namespace zerolr::fuzz {

/// Prints what failed and how to reproduce it, then aborts: libFuzzer saves the input.
[[noreturn]] inline void fail(const std::string& what, const std::string& detail = "") {
  std::fprintf(stderr, "\n==zerolr-fuzz== FINDING: %s\n", what.c_str());
  if (!detail.empty()) std::fprintf(stderr, "==zerolr-fuzz== %s\n", detail.c_str());
  std::fflush(stderr);
  std::abort();
}

/// Edge values the generators also use: zeros of both signs, tiny and huge magnitudes,
/// subnormals of float and double, doubles that float cannot represent, NaN and infinities.
inline double edge_value(FuzzedDataProvider& p, bool allow_non_finite) {
  static constexpr double kEdges[] = {0.0,
                                      -0.0,
                                      1.0,
                                      -1.0,
                                      0.5,
                                      -2.0,
                                      1e-3,
                                      -1e-8,
                                      1e30,
                                      -1e30,
                                      1e-30,
                                      0.1,
                                      1.0 + 0x1p-30,
                                      3.4e38,
                                      -3.5e38,
                                      1e300,
                                      1e-310,
                                      -1e-310,
                                      0x1p-149,
                                      0x1p-126,
                                      0x1.fffffep127,
                                      4.9e-324,
                                      2.2250738585072014e-308,
                                      65504.0,
                                      -7.25};
  constexpr std::size_t n_edges = sizeof(kEdges) / sizeof(kEdges[0]);
  const std::size_t k = p.ConsumeIntegralInRange<std::size_t>(0, n_edges - 1 + (allow_non_finite ? 3 : 0));
  if (k < n_edges) return kEdges[k];
  if (k == n_edges) return std::numeric_limits<double>::quiet_NaN();
  if (k == n_edges + 1) return std::numeric_limits<double>::infinity();
  return -std::numeric_limits<double>::infinity();
}

/// One value: an edge value, a moderate one, any finite double, or m * 2^e with small m.
/// Rounded to float for a float case unless `keep_double` (the NotFloat regime's values);
/// finite unless `allow_non_finite` (NaN and infinities then come from the edge values).
inline double consume_value(FuzzedDataProvider& p, Scalar scalar, bool allow_non_finite,
                            bool keep_double = false) {
  double v = 0;
  switch (p.ConsumeIntegralInRange<int>(0, 3)) {
    case 0:
      v = edge_value(p, allow_non_finite);
      break;
    case 1:
      v = p.ConsumeFloatingPointInRange<double>(-4.0, 4.0);
      break;
    case 2:
      v = p.ConsumeFloatingPoint<double>();
      break;
    default: {
      const int m = p.ConsumeIntegralInRange<int>(-64, 64);
      const int e = p.ConsumeIntegralInRange<int>(-160, 140);
      v = std::ldexp(static_cast<double>(m), e);
    }
  }
  if (scalar == Scalar::Float && !keep_double) v = static_cast<double>(static_cast<float>(v));
  // Rounding to float can overflow: a finite value was asked for, so the largest finite one.
  if (!allow_non_finite && std::isinf(v))
    v = std::copysign(scalar == Scalar::Float ? static_cast<double>(std::numeric_limits<float>::max())
                                              : std::numeric_limits<double>::max(),
                      v);
  return v;
}

/// A hyperparameter: one of `edges` or a value drawn in [lo, hi].
inline double consume_setting(FuzzedDataProvider& p, std::initializer_list<double> edges, double lo,
                              double hi) {
  const std::size_t k = p.ConsumeIntegralInRange<std::size_t>(0, edges.size());
  if (k < edges.size()) return *(edges.begin() + k);
  return p.ConsumeFloatingPointInRange<double>(lo, hi);
}

/// 10^u for u in [lo, hi]: a positive value over many magnitudes.
inline double consume_log(FuzzedDataProvider& p, double lo_exp, double hi_exp) {
  return std::pow(10.0, p.ConsumeFloatingPointInRange<double>(lo_exp, hi_exp));
}

/// A value as a key's Draw describes it (optim/rule.h): an edge value or one from its
/// continuous range.
inline double consume_draw(FuzzedDataProvider& p, const Draw& d) {
  const std::size_t k = p.ConsumeIntegralInRange<std::size_t>(0, d.n_edges);
  if (k < d.n_edges) return d.edges[k];
  return d.scale == Draw::Scale::Log ? consume_log(p, d.lo, d.hi)
                                     : p.ConsumeFloatingPointInRange<double>(d.lo, d.hi);
}

/// Settings of rule R, every key but the lr (which runs replace) from the bytes.
template <class R>
OptimizerSpec consume_settings(FuzzedDataProvider& p) {
  using S = typename R::Settings;
  S s;
  for (const auto& k : S::keys()) {
    if (k.kind == Key<S>::Kind::Bool)
      s.*k.flag = p.ConsumeBool();
    else if (std::string(k.name) != "lr")
      s.*k.real = consume_draw(p, k.draw);
  }
  if constexpr (requires { R::repair(s); }) R::repair(s);
  return s;
}

/// An optimizer spec of any registered rule, with settings anywhere in (and at the edges of)
/// their valid ranges; SpecError if the combination is invalid (the caller discards the input).
inline OptimizerSpec consume_optimizer(FuzzedDataProvider& p) {
  const std::size_t which = p.ConsumeIntegralInRange<std::size_t>(0, Rules::size - 1);
  std::size_t i = 0;
  OptimizerSpec spec;
  Rules::for_each([&]<class R>() {
    if (i++ == which) spec = consume_settings<R>(p);
  });
  validate(spec);
  return spec;
}

/// A learning rate: mostly 0 (the property under test), else a positive lr up to `max_lr`.
inline double consume_lr(FuzzedDataProvider& p, Scalar scalar, double max_lr) {
  double lr = 0;
  switch (p.ConsumeIntegralInRange<int>(0, 5)) {
    case 0:
    case 1:
      lr = 0;
      break;
    case 2:
      lr = consume_setting(p, {1e-3, 0.1, 1.0, 1e-8, 0x1p-40, 1e-300, 4.9e-324}, 0.0, max_lr);
      break;
    case 3:
      lr = consume_log(p, -12, std::log10(max_lr));
      break;
    default:
      lr = p.ConsumeFloatingPointInRange<double>(0.0, max_lr);
  }
  if (scalar == Scalar::Float) lr = static_cast<double>(static_cast<float>(lr));
  return lr;
}

/// A whole Case (architecture, loss, optimizer, lrs, data, scalar), small enough to run
/// quickly: at most 8 training and 4 test samples, 3 epochs, 6 lrs.
/// Throws zerolr::Error when the bytes describe an invalid case (the caller discards it).
inline Case consume_case(FuzzedDataProvider& p) {
  Case c;
  c.scalar = p.ConsumeBool() ? Scalar::Float : Scalar::Double;
  // Architecture: input width, up to five hidden layers of any kind, a dense output layer.
  c.arch.inputs = p.ConsumeIntegralInRange<Index>(1, 4);
  const int hidden = p.ConsumeIntegralInRange<int>(0, 5);
  for (int i = 0; i < hidden; ++i) {
    LayerSpec l;
    l.kind = static_cast<LayerKind>(p.ConsumeIntegralInRange<int>(0, 8));
    switch (l.kind) {
      case LayerKind::Dense:
        l.units = p.ConsumeIntegralInRange<Index>(1, 6);
        l.init = static_cast<Init>(p.ConsumeIntegralInRange<int>(0, 4));
        break;
      case LayerKind::LeakyReLU:
        l.slope = consume_setting(p, {0.01, 0.0, 1.0, 0.2}, 0.0, 1.0);
        break;
      case LayerKind::Softplus:
        l.beta = consume_setting(p, {1.0, 0.5, 2.0, 100.0}, 0.01, 100.0);
        l.threshold = consume_setting(p, {20.0, 1.0, 0.0}, 0.0, 50.0);
        break;
      case LayerKind::Dropout:
        l.p = consume_setting(p, {0.5, 0.0, 0.2, 0.9}, 0.0, 0.99);
        break;
      case LayerKind::BatchNorm1d:
        l.momentum = consume_setting(p, {0.1, 0.0, 1.0}, 0.0, 1.0);
        l.eps = consume_setting(p, {1e-5, 1e-3, 1e-12}, 1e-12, 1.0);
        break;
      case LayerKind::LayerNorm:
        l.eps = consume_setting(p, {1e-5, 1e-3, 1e-12}, 1e-12, 1.0);
        break;
      default:
        break;
    }
    c.arch.layers.push_back(l);
  }
  LayerSpec out;
  out.units = p.ConsumeIntegralInRange<Index>(1, 3);
  out.init = static_cast<Init>(p.ConsumeIntegralInRange<int>(0, 4));
  c.arch.layers.push_back(out);
  const Index outputs = c.arch.outputs();  // SpecError on a setting out of range

  switch (p.ConsumeIntegralInRange<int>(0, 3)) {
    case 0:
      c.loss.kind = LossKind::Mse;
      break;
    case 1:
      c.loss.kind = LossKind::BceWithLogits;
      break;
    case 2:
      c.loss.kind = outputs >= 2 ? LossKind::CrossEntropy : LossKind::Mse;
      break;
    default:
      c.loss.kind = LossKind::Huber;
      c.loss.delta = consume_setting(p, {1.0, 0.5, 1e-3, 100.0}, 1e-6, 1e6);
  }
  c.optimizer = consume_optimizer(p);
  c.policy = static_cast<NonFinitePolicy>(p.ConsumeIntegralInRange<int>(0, 2));
  c.regime = static_cast<Regime>(p.ConsumeIntegralInRange<int>(0, 7));

  // The lrs: all zero (the freeze properties) or a mix.
  const int n_lrs = p.ConsumeIntegralInRange<int>(1, 6);
  const bool all_zero = p.ConsumeIntegralInRange<int>(0, 9) < 6;
  c.lrs.clear();
  for (int i = 0; i < n_lrs; ++i) c.lrs.push_back(all_zero ? 0.0 : consume_lr(p, c.scalar, 1.0));

  c.epochs = p.ConsumeIntegralInRange<int>(1, 3);
  c.shuffle = p.ConsumeBool();
  c.model_seed = p.ConsumeIntegral<std::uint32_t>();
  c.shuffle_seed = p.ConsumeIntegral<std::uint32_t>();
  Index n_train = p.ConsumeIntegralInRange<Index>(1, 8);
  const Index n_test = p.ConsumeIntegralInRange<Index>(1, 4);
  c.batch_size = p.ConsumeIntegralInRange<Index>(1, 8);
  if (c.arch.has_buffers()) {  // BatchNorm needs every training batch to hold >= 2 samples
    c.batch_size = std::max<Index>(c.batch_size, 2);
    n_train = std::max<Index>(n_train, 2);
    if (n_train % c.batch_size == 1) ++n_train;
  }

  // The data: generated from the regime, or every value from the bytes.
  if (p.ConsumeBool()) {
    c.train = make_data(c.regime, n_train, c.arch.inputs, c.loss, outputs, c.scalar,
                        p.ConsumeIntegral<std::uint32_t>());
    c.test = make_data(c.regime, n_test, c.arch.inputs, c.loss, outputs, c.scalar,
                       p.ConsumeIntegral<std::uint32_t>());
  } else {
    const bool non_finite = c.regime == Regime::NonFinite;
    const bool keep_double = c.regime == Regime::NotFloat;
    const Index k = loss_target_columns(c.loss, outputs);
    for (Dataset<double>* d : {&c.train, &c.test}) {
      const Index n = d == &c.train ? n_train : n_test;
      d->x.resize(n, c.arch.inputs);
      d->y.resize(n, k);
      for (Index i = 0; i < n; ++i)
        for (Index j = 0; j < c.arch.inputs; ++j)
          d->x(i, j) = consume_value(p, c.scalar, non_finite, keep_double);
      for (Index i = 0; i < n; ++i)
        for (Index j = 0; j < k; ++j) {
          double t = 0;
          if (c.loss.kind == LossKind::CrossEntropy)
            t = static_cast<double>(p.ConsumeIntegralInRange<Index>(0, outputs - 1));
          else if (c.loss.kind == LossKind::BceWithLogits)
            t = p.ConsumeBool() ? 1.0 : 0.0;
          else
            t = consume_value(p, c.scalar, false);
          d->y(i, j) = t;
        }
    }
  }
  c.validate();
  return c;
}

/// The vector-case checks of the audit engine (audit.h).
inline constexpr const char* kVectorChecks[] = {"freeze",     "agreement",   "warmup",
                                                "non_finite", "signed_zero", "run"};

/// A VectorCase: a flat parameter vector, one gradient and one lr per step. The check named
/// shapes the lrs as the audit's generator does (zeros for freeze, a zero warm-up, ...), but
/// every value comes from the bytes.
inline VectorCase consume_vector_case(FuzzedDataProvider& p, bool has_f32, bool tensor_lists = false) {
  VectorCase vc;
  vc.check = kVectorChecks[p.ConsumeIntegralInRange<std::size_t>(0, std::size(kVectorChecks) - 1)];
  vc.scalar = has_f32 && p.ConsumeBool() ? Scalar::Float : Scalar::Double;
  const std::size_t n = p.ConsumeIntegralInRange<std::size_t>(1, 8);
  const int steps = p.ConsumeIntegralInRange<int>(1, 8);
  const int warm = p.ConsumeIntegralInRange<int>(1, steps);
  const bool non_finite = vc.check == "non_finite" || vc.check == "run";
  for (std::size_t i = 0; i < n; ++i) vc.params.push_back(consume_value(p, vc.scalar, false));
  for (int s = 0; s < steps; ++s) {
    std::vector<double> g;
    for (std::size_t i = 0; i < n; ++i) g.push_back(consume_value(p, vc.scalar, non_finite));
    vc.grads.push_back(g);
    double lr = 0;
    if (vc.check == "agreement" || vc.check == "run")
      lr = consume_lr(p, vc.scalar, vc.check == "run" ? 3.0 : 1.0);
    if (vc.check == "warmup") lr = s < warm ? 0.0 : consume_lr(p, vc.scalar, 0.1);
    vc.lrs.push_back(lr);
  }
  // A target that steps lists of tensors (a worker) may get the vector split in two.
  if (tensor_lists && n >= 2 && p.ConsumeBool()) {
    const std::size_t first = p.ConsumeIntegralInRange<std::size_t>(1, n - 1);
    vc.split = {first, n - first};
  }
  return vc;
}

}  // namespace zerolr::fuzz
