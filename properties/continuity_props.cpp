// lr -> 0 and the relations between runs.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "gen/case_gen.h"

using zerolr::gen::genCase;
using zerolr::gen::judge;

/// As the lr shrinks towards 0, the run approaches the frozen run.
RC_GTEST_PROP(Continuity, TheRunApproachesTheFrozenRunAsLrShrinks, ()) {
  judge("continuity", *genCase());
}

/// Relations between runs hold: a run and its transformed twin (a zero warm-up prepended,
/// say) agree where the transformation says they must.
RC_GTEST_PROP(Metamorphic, RelatedRunsAgree, ()) {
  judge("metamorphic", *genCase());
}
