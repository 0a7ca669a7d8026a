#pragma once
/// \file
/// Replay of a working-precision training run in the reference type, step for step, and the
/// drift between the two.
///
/// A DriftCase is plain data. replay_drift<T> builds the model in T from the seed, makes the
/// data in T, lifts both exactly into zerolr::Reference, and then trains both in lockstep
/// through the same Trainer::step code (no formula is written twice): the same batches, and
/// learning rates rounded to T first so that both runs see the same numbers. After each step
/// it records the loss of both and the distance of every parameter from the reference.

#include <cstdint>
#include <string>
#include <vector>

#include "zerolr/nn/layer.h"
#include "zerolr/nn/loss.h"
#include "zerolr/optim/spec.h"

namespace zerolr {

struct DriftCase {
  Architecture arch = Architecture::parse("input(8),dense(32),tanh,dense(32),tanh,dense(1)");
  std::uint64_t seed = 1;
  LossSpec loss;  ///< mse
  OptimizerSpec optimizer = AdamSettings{};
  std::vector<double> lrs;  ///< lr of step k is lrs[min(k, size-1)]; empty: the spec's lr
  std::int64_t steps = 100;
  Index samples = 64;     ///< regression toy samples
  Index batch_size = 64;  ///< batches are consecutive blocks, cycled, not shuffled
};

/// One step of the drift record. Errors are relative errors against the reference rounded to
/// nothing (computed in the reference type); ulps are measured after rounding the reference
/// to T. Zeros count as exact.
struct DriftPoint {
  std::int64_t step = 0;  ///< 1-based: the state after this many steps
  double lr = 0;
  double loss = 0;  ///< the working-precision batch loss of this step
  double loss_reference = 0;
  double loss_rel_error = 0;
  double weight_max_rel_error = 0;
  double weight_median_rel_error = 0;
  std::uint64_t weight_max_ulp = 0;
  std::uint64_t weight_median_ulp = 0;
  /// This step's loss against the exact loss of the same (working) weights, over the
  /// rigorous forward bound (reference/bounds.h): at most 1 for a correct forward pass.
  double loss_bound_ratio = 0;
  /// This step's update against the reference step from the same state, over the per-step
  /// budget (reference/step_check.h): max and median over all weights.
  double step_max_ratio = 0;
  double step_median_ratio = 0;
};

struct DriftRun {
  std::string scalar;  ///< "float32" or "float64"
  std::vector<DriftPoint> points;
};

/// requires: a valid case (SpecError / ShapeError otherwise).
template <class T>
DriftRun replay_drift(const DriftCase& c);

/// A readable table (every `every`-th step, and the last).
std::string drift_text(const DriftCase& c, const std::vector<DriftRun>& runs, std::int64_t every = 10);

/// An SVG plot of relative error (log scale) against step, one line per run and quantity.
std::string drift_svg(const DriftCase& c, const std::vector<DriftRun>& runs);

}  // namespace zerolr
