#pragma once
/// \file
/// Exact lifting of a working-precision run into a wider scalar, and rounding back.
///
/// Every float and double is representable in zerolr::Reference, so lift() never rounds:
/// the lifted model, data and optimizer state hold exactly the same numbers. round_to()
/// rounds to nearest (static_cast of a Boost.Multiprecision number is correctly rounded).

#include "zerolr/nn/sequential.h"
#include "zerolr/optim/optimizer.h"
#include "zerolr/train/dataset.h"

namespace zerolr {

/// Each entry converted to R. requires: every T value is representable in R.
template <class R, class T>
Matrix<R> lift(const Matrix<T>& m) {
  return m.template cast<R>();
}

/// Each entry rounded to the nearest T.
template <class T, class R>
Matrix<T> round_to(const Matrix<R>& m) {
  return m.template cast<T>();
}

/// The same architecture with the same parameters, buffers and random-stream positions.
template <class R, class T>
Sequential<R> lift(Sequential<T>& model) {
  Sequential<R> out(model.architecture(), model.seed());
  auto src_p = model.parameters();
  auto dst_p = out.parameters();
  for (std::size_t i = 0; i < src_p.size(); ++i) {
    *dst_p[i].value = src_p[i].value->template cast<R>();
    *dst_p[i].grad = src_p[i].grad->template cast<R>();
  }
  auto src_b = model.buffers();
  auto dst_b = out.buffers();
  for (std::size_t i = 0; i < src_b.size(); ++i) *dst_b[i].value = src_b[i].value->template cast<R>();
  for (Index i = 0; i < model.size(); ++i) out.layer(i).set_random_state(model.layer(i).random_state());
  return out;
}

template <class R, class T>
Dataset<R> lift(const Dataset<T>& d) {
  Dataset<R> out;
  out.x = d.x.template cast<R>();
  out.y = d.y.template cast<R>();
  out.feature_names = d.feature_names;
  out.target_name = d.target_name;
  return out;
}

/// An optimizer of `spec` (by default opt's own) whose per-tensor state (vectors, scalars and
/// step counters) equals `opt`'s, lifted. The state is created by a step at lr = 0 on zero
/// gradients and then overwritten, so nothing of that step survives. requires: spec names
/// opt's rule (its state has the same layout).
template <class R, class T>
std::unique_ptr<Optimizer<R>> lift(Optimizer<T>& opt, const OptimizerSpec& spec) {
  auto out = make_optimizer<R>(spec);
  for (std::size_t t = 0; t < opt.tensor_count(); ++t) {
    const Index n = opt.state_size(t);
    if (n == 0) continue;
    Vector<R> p = Vector<R>::Zero(n), g = Vector<R>::Zero(n);
    out->step_tensor(t, p.data(), g.data(), n, R(0));
    auto src = opt.state(t);
    auto dst = out->state(t);
    for (std::size_t k = 0; k < src.size() && k < dst.size(); ++k)
      *dst[k].value = src[k].value->template cast<R>();
    auto src_s = opt.scalar_state(t);
    auto dst_s = out->scalar_state(t);
    for (std::size_t k = 0; k < src_s.size() && k < dst_s.size(); ++k)
      *dst_s[k].value = static_cast<rule::Wide<R>>(*src_s[k].value);
    out->set_step_count(t, opt.step_count(t));
  }
  return out;
}

template <class R, class T>
std::unique_ptr<Optimizer<R>> lift(Optimizer<T>& opt) {
  return lift<R>(opt, opt.spec());
}

}  // namespace zerolr
