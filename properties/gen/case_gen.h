#pragma once
/// \file
/// RapidCheck generators of zerolr::Case, built from small generators so that a failing
/// case shrinks towards the smallest model (no hidden layers, one dense to the output),
/// the fewest steps (one sample, one epoch), the simplest optimizer (plain SGD) and the
/// simplest data regime.
///
/// Every generated case passes Case::validate(). Sizes follow RapidCheck's size parameter,
/// so the first cases of a run are small and the largest appear near max_size.

#include <rapidcheck.h>

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "zerolr/audit/case.h"
#include "zerolr/audit/properties.h"

namespace zerolr::gen {

/// Which learning-rate sequences a generator produces.
enum class LrShape {
  Any,       ///< any of the below
  Frozen,    ///< every lr exactly 0
  Warmup,    ///< one or more zeros, then positive values
  ToZero,    ///< positive values decaying to a final 0 that repeats
  Positive,  ///< every lr in [1e-8, 1]
};

/// Options of genCase. The defaults give the full space the suite explores.
struct CaseOptions {
  LrShape lrs = LrShape::Any;
  /// Data regimes to draw from; empty means every finite regime (kFiniteRegimes).
  std::vector<Regime> regimes;
  /// Only NonFinite data (genNonFiniteCase); the policy is then drawn too.
  bool non_finite = false;
  /// Draw the non-finite policy (raise, skip, apply) instead of using Raise.
  bool any_policy = false;
  int max_hidden = 6;     ///< hidden layers: 0..max_hidden
  Index max_width = 64;   ///< dense width: 1..max_width
  Index max_inputs = 8;   ///< input features: 1..max_inputs
  Index max_outputs = 4;  ///< outputs: 1..max_outputs
  Index max_train = 24;   ///< training samples: 1..max_train (2.. with batchnorm)
  Index max_test = 6;     ///< test samples: 1..max_test
  int max_epochs = 3;     ///< epochs: 1..max_epochs
  bool allow_batchnorm = true;
  /// Put a batchnorm first (on the inputs) when the drawn layers have none.
  bool require_batchnorm = false;
  int min_epochs = 1;  ///< epochs: min_epochs..max_epochs (2.. for Warmup)
  bool always_shuffle = false;
  bool allow_dropout = true;
};

/// Hidden layers and the final dense for `inputs` features and `outputs` outputs.
rc::Gen<Architecture> genArchitecture(Index inputs, Index outputs, const CaseOptions& o = {});
/// A loss that fits `outputs` (cross_entropy only with at least 2).
rc::Gen<LossSpec> genLoss(Index outputs);
/// Any optimizer with valid hyperparameters, edges included; shrinks towards plain SGD.
rc::Gen<OptimizerSpec> genOptimizer();
/// A learning-rate sequence of the given shape for a run of `steps` steps.
rc::Gen<std::vector<double>> genLrs(LrShape shape, std::int64_t steps);

/// The general case: any lr shape, finite data.
rc::Gen<Case> genCase(const CaseOptions& o = {});
/// Every lr is 0 (the freeze family).
rc::Gen<Case> genFrozenCase(CaseOptions o = {});
/// Zeros first, then positive lrs.
rc::Gen<Case> genWarmupCase(CaseOptions o = {});
/// Every lr positive.
rc::Gen<Case> genPositiveLrCase(CaseOptions o = {});
/// NonFinite data with any policy and any lr shape.
rc::Gen<Case> genNonFiniteCase(CaseOptions o = {});

/// Judges `c` by the property called `name` inside a RapidCheck property: tags the case
/// with the verdict's coverage labels (optimizer, scalar, regime, batchnorm, ...), discards
/// it (RC_PRE) if the property does not apply, and fails (RC_FAIL) with the property, the
/// case, the first violation and the replay token otherwise. Returns the verdict.
Verdict judge(const std::string& name, const Case& c, const Factories& f = Factories::library());

/// RC_PARAMS with the suite's defaults filled in: every key of `defaults` that `user`
/// does not set is appended to `user`. Keys are the words before '='.
std::string merge_rc_params(const std::string& user, const std::string& defaults);

}  // namespace zerolr::gen

namespace zerolr {
/// How RapidCheck prints a Case in a counterexample: the summary, then the replay token.
void showValue(const Case& c, std::ostream& os);
}  // namespace zerolr
