// Optimizer state: what advances at lr = 0, and what stays per tensor.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "gen/case_gen.h"

using zerolr::gen::CaseOptions;
using zerolr::gen::genCase;
using zerolr::gen::genWarmupCase;
using zerolr::gen::judge;

/// After a zero warm-up, parameters are untouched, every later step matches the reference
/// from the state the zero steps advanced, and step counters count every step, lr = 0 included.
RC_GTEST_PROP(State, AdvancesOnEveryStepIncludingLrZero, ()) {
  CaseOptions o;
  o.max_train = 16;
  judge("state_advances", *genWarmupCase(o));
}

/// Each tensor's optimizer state depends on that tensor's gradients only.
RC_GTEST_PROP(Independence, EachTensorsStateDependsOnItsOwnGradientsOnly, ()) {
  CaseOptions o;
  o.max_train = 16;
  judge("independence", *genCase(o));
}
