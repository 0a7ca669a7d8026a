// Freeze: what a zero learning rate must leave unchanged in the trainable parameters.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "gen/case_gen.h"

using zerolr::gen::genFrozenCase;
using zerolr::gen::judge;

/// Over every optimizer, architecture, finite data regime and both scalars: when every lr
/// is 0 and every gradient is finite, every trainable parameter ends with exactly the value
/// it started with. A parameter that turns NaN where the exact rule fails too (Adagrad with
/// eps = 0 on a zero gradient) or where float's range gives out (g*g overflowing) is a
/// Hazard of the rule, tagged "rule hazard", not a violation (see prop_freeze).
RC_GTEST_PROP(Freeze, EveryParameterKeepsItsValueAtLrZero, ()) {
  judge("freeze", *genFrozenCase());
}
