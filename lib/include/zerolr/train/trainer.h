#pragma once
/// \file
/// The trainer: epochs over an in-memory dataset in minibatches, with seeded shuffling.

#include <cstdint>
#include <memory>
#include <vector>

#include "zerolr/nn/loss.h"
#include "zerolr/nn/sequential.h"
#include "zerolr/optim/optimizer.h"
#include "zerolr/optim/schedule.h"
#include "zerolr/optim/step.h"
#include "zerolr/random.h"
#include "zerolr/train/dataset.h"

namespace zerolr {

struct TrainOptions {
  int epochs = 1;
  Index batch_size = 32;
  bool shuffle = true;
  std::uint64_t seed = 0;  ///< shuffling and dropout draws
  Schedule schedule;       ///< lr(t) = optimizer base lr * schedule.factor(t)
  StepOptions step;
  /// Drop a last batch smaller than batch_size (needed with BatchNorm when it would be 1).
  bool drop_last = false;
};

/// The order in which one epoch visits n samples: 0, 1, ..., n-1, shuffled (Fisher-Yates,
/// from the last index down, j drawn with rng.below(i + 1)) when `shuffle` is set. A Trainer
/// calls it once per epoch with its own generator, seeded with TrainOptions::seed at
/// construction and carried from epoch to epoch.
void epoch_order(std::vector<Index>& order, Index n, bool shuffle, Rng& rng);

/// The orders of the first `epochs` epochs of a new Trainer with these options on n samples:
/// what it will visit, without training (the audit's lockstep walks replay them).
std::vector<std::vector<Index>> epoch_orders(const TrainOptions& options, Index n, int epochs);

/// Per epoch: the training loss, the test loss, and what happened to the steps.
///
/// train_loss is the sample-weighted mean of the batch losses, sum_b n_b L_b / N, which is
/// mathematically the mean per-sample loss whatever the batching; at lr = 0 without
/// BatchNorm or Dropout it can change across epochs only through rounding (summation order).
/// test_loss is evaluated in Eval mode on the whole test set in one forward pass.
template <class T>
struct History {
  std::vector<T> train_loss;
  std::vector<T> test_loss;                 ///< empty when no test set was given
  std::vector<double> last_lr;              ///< the lr of each epoch's last step
  std::vector<std::int64_t> skipped_steps;     ///< steps skipped by the Skip policy, per epoch
  std::vector<std::int64_t> non_finite_steps;  ///< steps whose gradient had a NaN or inf, per epoch
};

/// requires (checked, ShapeError or SpecError): the model's inputs match the data's
/// features; the targets fit the loss; batch_size >= 1; epochs >= 0.
template <class T>
class Trainer {
 public:
  Trainer(Sequential<T>& model, LossSpec loss, Optimizer<T>& optimizer, TrainOptions options);

  /// One optimizer step on one batch with the given lr. Returns the batch loss (before the step).
  T step(const Matrix<T>& x, const Matrix<T>& y, T lr);
  /// One epoch over `train`, then the test loss on `test` if given.
  void epoch(const Dataset<T>& train, const Dataset<T>* test, History<T>& history);
  /// options.epochs epochs.
  History<T> fit(const Dataset<T>& train, const Dataset<T>* test = nullptr);

  /// The Eval-mode loss of the model on `data` (deterministic; one forward pass).
  T evaluate(const Dataset<T>& data);

  /// Steps taken so far (the schedule's t).
  std::int64_t steps_taken() const { return steps_; }
  /// The outcome of the last step.
  const StepOutcome& last_outcome() const { return last_; }

 private:
  void check(const Dataset<T>& data, const char* which) const;

  Sequential<T>& model_;
  LossSpec loss_;
  Optimizer<T>& opt_;
  TrainOptions options_;
  Rng rng_;
  std::int64_t steps_ = 0;
  std::vector<ParamRef<T>> params_;
  StepOutcome last_;
  Matrix<T> xb_, yb_, grad_;
  std::vector<Index> order_;
};

}  // namespace zerolr
