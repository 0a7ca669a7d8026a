#pragma once
/// \file
/// A Case: one training run as plain data. Drivers (RapidCheck, libFuzzer, the audit tool)
/// only generate Cases; properties (audit/properties.h) judge them. A Case prints, and
/// serialises to a reproduce token from which the identical run is rebuilt.
///
/// The run: build `arch` in `scalar` from `model_seed`; train for `epochs` epochs over the
/// training data in batches of `batch_size` (shuffled with `shuffle_seed` if `shuffle`),
/// with the optimizer `optimizer` whose learning rate at step t is lrs[min(t, last)]
/// (the spec's own lr is ignored); the non-finite policy is `policy`; the test loss is
/// evaluated in Eval mode on the test data after every epoch.

#include <cstdint>
#include <string>
#include <vector>

#include "zerolr/nn/layer.h"
#include "zerolr/nn/loss.h"
#include "zerolr/optim/spec.h"
#include "zerolr/optim/step.h"
#include "zerolr/random.h"
#include "zerolr/train/dataset.h"
#include "zerolr/train/trainer.h"

namespace zerolr {

enum class Scalar { Float, Double };
std::string to_string(Scalar s);  ///< "float", "double"

/// Where feature values come from. NonFinite adds NaN and +-inf entries; every other regime
/// is finite (after rounding to the case's scalar).
enum class Regime {
  Uniform,      ///< U[0, 1)
  Normal,       ///< N(0, 1)
  HeavyTailed,  ///< Cauchy-like: N(0,1) / U(0,1)
  WideRange,    ///< random sign, magnitude 10^U(-30, 30)
  Zeros,        ///< exact +0 and -0, some normal values
  Subnormal,    ///< subnormals of the case's scalar, some zeros
  NotFloat,     ///< doubles that are not representable in float (float rounds them)
  NonFinite     ///< normal values with some NaN, +inf and -inf
};
std::string to_string(Regime r);
Regime parse_regime(const std::string& text);  ///< SpecError on an unknown name
inline constexpr Regime kFiniteRegimes[] = {Regime::Uniform,   Regime::Normal, Regime::HeavyTailed,
                                            Regime::WideRange, Regime::Zeros,  Regime::Subnormal,
                                            Regime::NotFloat};

struct Case {
  Scalar scalar = Scalar::Double;
  Architecture arch;
  LossSpec loss;
  OptimizerSpec optimizer = SgdSettings{};
  std::vector<double> lrs{0.0};  ///< lr of each step; the last repeats
  int epochs = 1;
  Index batch_size = 1;
  bool shuffle = false;
  std::uint64_t model_seed = 0;
  std::uint64_t shuffle_seed = 0;
  NonFinitePolicy policy = NonFinitePolicy::Raise;
  Regime regime = Regime::Normal;  ///< recorded for statistics; the data below is what counts
  /// Training and test data in double, row-major by sample; rounded to `scalar` when run.
  Dataset<double> train;
  Dataset<double> test;

  /// Steps per epoch (ceil(n / batch_size)) times epochs.
  std::int64_t total_steps() const;
  /// Whether every lr is exactly 0.
  bool all_lr_zero() const;
  /// Throws SpecError or ShapeError if the parts do not fit together.
  void validate() const;
};

/// One value from a regime (as make_data draws features), rounded to float for Scalar::Float
/// except in the NotFloat regime.
double draw_value(Regime regime, Scalar scalar, Rng& rng);

/// Makes a dataset of n samples for `arch` and `loss` with features from `regime`:
/// targets fit the loss (class indices for cross_entropy, 0/1 for bce, normal otherwise).
Dataset<double> make_data(Regime regime, Index n, Index features, const LossSpec& loss, Index outputs,
                          Scalar scalar, std::uint64_t seed);

/// "zerolr-case-v1|key=value|..." with every double written exactly (hexadecimal floats).
std::string to_token(const Case& c);
/// The inverse of to_token; SpecError naming the offending field on anything malformed.
Case parse_token(const std::string& token);
/// A short readable summary (architecture, optimizer, lrs, sizes, regime, scalar).
std::string describe(const Case& c);

/// A vector case: an optimizer run on a flat parameter vector, with one gradient and one lr
/// per step, fed to the implementation directly (the audit's cases, audit/audit.h).
/// `check` names the check the case was generated for (it shapes the lrs); `split`, when
/// not empty, gives the sizes of the tensors the vector is held as (their sum is n), so that
/// implementations that step lists of tensors (foreach) see real lists.
struct VectorCase {
  Scalar scalar = Scalar::Double;
  std::string check = "freeze";
  std::vector<double> params;              ///< initial values (n >= 1)
  std::vector<std::vector<double>> grads;  ///< one gradient of n values per step
  std::vector<double> lrs;                 ///< one lr per step
  std::vector<std::size_t> split;          ///< tensor sizes; empty means one tensor

  /// The tensor sizes: `split`, or {n} when it is empty.
  std::vector<std::size_t> tensors() const;
  /// "zerolr-vec-v1|scalar=...|check=...|params=...|lrs=...|grads=...[|split=...]" with exact
  /// hexadecimal floats.
  std::string token() const;
  /// The inverse of token(); SpecError naming the field on anything malformed.
  static VectorCase parse(const std::string& token);
  /// Throws SpecError unless params is not empty, there is one gradient of n values per lr,
  /// every lr is finite and >= 0, and split (if any) holds positive sizes summing to n.
  void validate() const;
};

/// The checks a vector case can be generated for.
const std::vector<std::string>& vector_checks();

/// The trainer options a case stands for: lr(t) = lrs[min(t, last)] through a base lr of 1
/// and a sequence schedule (1 * x == x exactly), with the case's epochs, batches, shuffling
/// and non-finite policy. Every run of a case (properties, audit, zerolr-claims) uses these.
TrainOptions train_options(const Case& c);

}  // namespace zerolr
