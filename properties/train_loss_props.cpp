// The training loss and how far parameters move.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "gen/case_gen.h"

using zerolr::gen::CaseOptions;
using zerolr::gen::genCase;
using zerolr::gen::genFrozenCase;
using zerolr::gen::judge;

/// At lr 0 with shuffling, every epoch's training loss equals epoch 1's within the rigorous
/// bounds of summing the same per-sample losses in another order.
RC_GTEST_PROP(TrainLoss, EveryEpochMatchesTheFirstWhenFrozenAndShuffled, ()) {
  CaseOptions o;
  o.allow_batchnorm = false;
  o.allow_dropout = false;
  o.always_shuffle = true;
  o.min_epochs = 2;
  judge("train_loss_order", *genFrozenCase(o));
}

/// Every step's loss and update stay within their rigorous bounds of the float128 reference
/// from the same state, whatever the lr sequence (at most 48 steps here).
RC_GTEST_PROP(Drift, EveryStepStaysWithinItsBoundOfTheReference, ()) {
  CaseOptions o;
  o.max_train = 16;
  judge("drift", *genCase(o));
}
