// The training loss and how far parameters move.
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "gen/case_gen.h"
#include "zerolr/audit/properties.h"
#include "zerolr/reference/oracle.h"

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

/// Every step's loss and update stay within their rigorous bounds of the exact reference
/// (double-double, float128 where double-double's range ends) from the same state, whatever
/// the lr sequence (at most 48 steps here).
RC_GTEST_PROP(Drift, EveryStepStaysWithinItsBoundOfTheReference, ()) {
  CaseOptions o;
  o.max_train = 16;
  judge("drift", *genCase(o));
}

namespace {

// What decides a verdict: applicability, the findings' classes in order, and the tags
// (range-limited, unbounded loss, ...). Messages quote measured numbers, which the two
// references may differ in by their own rounding, so they are not compared.
std::string decision(const zerolr::Verdict& v) {
  std::string out = v.applicable ? "applicable;" : "not applicable;";
  for (const auto& f : v.findings) out += zerolr::to_string(f.cls) + ",";
  out += ";";
  for (const auto& t : v.tags) out += t + ",";
  return out;
}

}  // namespace

/// The double-double oracle gives the float128 oracle's verdict (reference/oracle.h): every
/// property that consults the reference, on the same case, judged under both references.
RC_GTEST_PROP(Oracle, DoubleDoubleGivesFloat128sVerdicts, ()) {
  CaseOptions o;
  o.max_train = 16;
  const zerolr::Case c = *rc::gen::oneOf(genCase(o), genFrozenCase(o), zerolr::gen::genNonFiniteCase(o));
  const zerolr::oracle::Counts before = zerolr::oracle::counts();
  for (const char* name : {"drift", "state_advances", "non_finite", "continuity", "train_loss_order"}) {
    const zerolr::Verdict dd = zerolr::run_property(name, c);
    zerolr::Verdict q;
    {
      zerolr::oracle::ScopedFloat128 only;
      q = zerolr::run_property(name, c);
    }
    RC_TAG(name + std::string(!dd.applicable ? " not applicable" : dd.holds() ? " holds" : " violated"));
    if (decision(dd) != decision(q))
      RC_FAIL(std::string("property '") + name + "' decides differently under the two references\n  double-double: " +
              decision(dd) + " " + dd.first_violation() + "\n  float128:      " + decision(q) + " " +
              q.first_violation() + "\n  token: " + zerolr::to_token(c));
  }
  // Coverage: how often a case needed float128 (counted before the float128-only runs).
  const zerolr::oracle::Counts after = zerolr::oracle::counts();
  const auto runs = after.runs - before.runs, fallbacks = after.fallbacks - before.fallbacks;
  RC_TAG(runs == 0 ? "no oracle run" : fallbacks == 0 ? "double-double only" : "some runs fell back to float128");
}
