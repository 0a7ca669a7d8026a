#include "zerolr/train/trainer.h"

#include <numeric>

#include "instantiate.h"

namespace zerolr {

// The non-template functions are compiled once, not again in the reference build.
#ifndef ZEROLR_REFERENCE_TU
void epoch_order(std::vector<Index>& order, Index n, bool shuffle, Rng& rng) {
  order.resize(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), Index(0));
  if (shuffle)
    for (Index i = n - 1; i > 0; --i)
      std::swap(order[static_cast<std::size_t>(i)],
                order[static_cast<std::size_t>(rng.below(static_cast<std::uint64_t>(i) + 1))]);
}

std::vector<std::vector<Index>> epoch_orders(const TrainOptions& options, Index n, int epochs) {
  Rng rng(options.seed);
  std::vector<std::vector<Index>> out(static_cast<std::size_t>(epochs < 0 ? 0 : epochs));
  for (auto& o : out) epoch_order(o, n, options.shuffle, rng);
  return out;
}
#endif

template <class T>
Trainer<T>::Trainer(Sequential<T>& model, LossSpec loss, Optimizer<T>& optimizer, TrainOptions options)
    : model_(model),
      loss_(loss),
      opt_(optimizer),
      options_(std::move(options)),
      rng_(options_.seed),
      params_(model.parameters()) {
  if (options_.batch_size < 1)
    throw SpecError("trainer: batch_size must be at least 1, got " + std::to_string(options_.batch_size));
  if (options_.epochs < 0)
    throw SpecError("trainer: epochs must be at least 0, got " + std::to_string(options_.epochs));
  if (options_.step.clip_norm < 0 || !(options_.step.clip_norm == options_.step.clip_norm))
    throw SpecError("trainer: clip_norm must be >= 0 (0 disables clipping)");
  if (loss_.kind == LossKind::CrossEntropy && model_.outputs() < 2)
    throw ShapeError("trainer: cross_entropy needs a model with at least 2 outputs");
}

template <class T>
void Trainer<T>::check(const Dataset<T>& data, const char* which) const {
  data.validate();
  if (data.size() < 1) throw ShapeError(std::string("trainer: the ") + which + " set is empty");
  if (data.features() != model_.inputs())
    throw ShapeError(std::string("trainer: the ") + which + " set has " + std::to_string(data.features()) +
                     " features but the model takes " + std::to_string(model_.inputs()));
  const Index want = loss_target_columns(loss_, model_.outputs());
  if (data.y.cols() != want)
    throw ShapeError(std::string("trainer: the ") + which + " set has " + std::to_string(data.y.cols()) +
                     " target columns but loss " + loss_.to_string() + " needs " + std::to_string(want));
}

template <class T>
T Trainer<T>::step(const Matrix<T>& x, const Matrix<T>& y, T lr) {
  const Matrix<T>& out = model_.forward(x, Mode::Train);
  const T loss = loss_and_grad(loss_, out, y, grad_);
  // The step discards dL/dx of the model: the first layer may skip that product (for a
  // 784-256-10 MLP the largest of the step).
  model_.backward(grad_, /*input_gradient=*/false);
  last_ = apply_step(opt_, params_, lr, options_.step);
  ++steps_;
  return loss;
}

template <class T>
void Trainer<T>::epoch(const Dataset<T>& train, const Dataset<T>* test, History<T>& history) {
  check(train, "training");
  if (test) check(*test, "test");
  const Index n = train.size();
  epoch_order(order_, n, options_.shuffle, rng_);

  const double base = base_lr(opt_.spec());
  const Index bs = options_.batch_size;
  T weighted(0);
  Index used = 0;
  std::int64_t skipped = 0, non_finite = 0;
  double lr_used = 0;
  for (Index start = 0; start < n; start += bs) {
    const Index rows = std::min(bs, n - start);
    if (rows < bs && options_.drop_last && start > 0) break;
    xb_.resize(rows, train.x.cols());
    yb_.resize(rows, train.y.cols());
    for (Index r = 0; r < rows; ++r) {
      const Index src = order_[static_cast<std::size_t>(start + r)];
      xb_.row(r) = train.x.row(src);
      yb_.row(r) = train.y.row(src);
    }
    lr_used = options_.schedule.lr(base, steps_);
    const T loss = step(xb_, yb_, static_cast<T>(lr_used));
    if (!last_.stepped) ++skipped;
    if (last_.non_finite) ++non_finite;
    weighted += loss * T(rows);
    used += rows;
  }
  history.train_loss.push_back(weighted / T(used));
  history.last_lr.push_back(lr_used);
  history.skipped_steps.push_back(skipped);
  history.non_finite_steps.push_back(non_finite);
  if (test) history.test_loss.push_back(evaluate(*test));
}

template <class T>
History<T> Trainer<T>::fit(const Dataset<T>& train, const Dataset<T>* test) {
  History<T> h;
  for (int e = 0; e < options_.epochs; ++e) epoch(train, test, h);
  return h;
}

template <class T>
T Trainer<T>::evaluate(const Dataset<T>& data) {
  check(data, "evaluation");
  return loss_value(loss_, model_.forward(data.x, Mode::Eval), data.y);
}

ZEROLR_INSTANTIATE_CLASS(Trainer)

}  // namespace zerolr
