// The test loss at lr = 0: constant without running statistics, and explained by them with.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "gen/case_gen.h"

using zerolr::gen::CaseOptions;
using zerolr::gen::genFrozenCase;
using zerolr::gen::judge;

/// When every lr is 0 and the model has no running statistics, the test loss after every
/// epoch equals the test loss of the initial model.
RC_GTEST_PROP(TestLoss, StaysAtItsInitialValueWhenFrozen, ()) {
  CaseOptions o;
  o.allow_batchnorm = false;
  judge("test_loss_frozen", *genFrozenCase(o));
}

/// When every lr is 0, whatever change the test loss shows is the one the batchnorm running
/// statistics alone explain.
RC_GTEST_PROP(TestLoss, ChangesOnlyThroughRunningStatisticsWhenFrozen, ()) {
  CaseOptions o;
  o.require_batchnorm = true;
  judge("test_loss_tracks_buffers", *genFrozenCase(o));
}
