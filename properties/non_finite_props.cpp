// Non-finite data under each policy.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "gen/case_gen.h"

using zerolr::gen::genNonFiniteCase;
using zerolr::gen::judge;

/// With NaN and infinite features, each policy does what it says: Raise stops the run,
/// Skip leaves parameters and state as they were, Apply propagates.
RC_GTEST_PROP(NonFinite, EachPolicyDoesWhatItSays, ()) {
  judge("non_finite", *genNonFiniteCase());
}
