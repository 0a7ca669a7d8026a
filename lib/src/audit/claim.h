#pragma once
// Private to lib/src/audit: the claimed rule's run on a vector case's inputs, the exact
// reference the vector properties judge an implementation's trajectory against.

#include <optional>
#include <vector>

#include "zerolr/audit/case.h"
#include "zerolr/optim/spec.h"
#include "zerolr/scalar/reference.h"

namespace zerolr {

/// The claimed rule on a vector case: the reference run (double-double, or float128 where
/// double-double's range ends: reference/oracle.h) from the case's inputs
/// rounded to the case's scalar, zerolr's own run in that scalar, and the trajectory budget
/// (reference/budget.h): per step the rounding term of the absolute run and the step's
/// condition, times the rule's amplification, summed over the steps, plus the formula term
/// of the same run in the next wider type.
struct ClaimRun {
  /// Claims present and every gradient finite in the case's scalar. Otherwise nothing else
  /// is filled in.
  bool available = false;
  std::vector<Vector<Float128>> ref;        ///< reference parameters after each step
  std::vector<std::vector<double>> lib;     ///< zerolr's own parameters after each step
  std::vector<std::vector<double>> budget;  ///< trajectory budget after each step, per entry
  /// From this step on, an exact intermediate has left the scalar's normal range (g*g
  /// overflowing in float, a subnormal state): the budget no longer applies, and the scalar
  /// itself cannot follow the rule.
  std::vector<bool> range_limited;

  /// Whether the reference moved entry i at step k (0-based).
  bool moved(std::size_t k, Index i, const std::vector<double>& initial) const;
};

/// Runs the claimed rule (at base lr 1: each step carries its lr) on the case.
ClaimRun claim_run(const VectorCase& vc, const std::optional<OptimizerSpec>& claims);

}  // namespace zerolr
