// Cases as data: tokens round-trip exactly, bad tokens are rejected with a reason, the data
// regimes produce what they promise, and the freeze property judges a run.
#include "zerolr/audit/case.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "zerolr/audit/properties.h"
#include "zerolr/optim/rules/adam.h"

namespace zerolr {
namespace {

using ::testing::HasSubstr;

Case small_case(Scalar scalar, Regime regime, const std::string& arch = "input(3),dense(4),tanh,dense(1)") {
  Case c;
  c.scalar = scalar;
  c.arch = Architecture::parse(arch);
  c.loss = LossSpec::parse("mse");
  c.optimizer = parse_optimizer_spec("adam(amsgrad=1)");
  c.lrs = {0.0};
  c.epochs = 2;
  c.batch_size = 2;
  c.shuffle = true;
  c.model_seed = 7;
  c.shuffle_seed = 8;
  c.regime = regime;
  c.train = make_data(regime, 5, 3, c.loss, c.arch.outputs(), scalar, 1);
  c.test = make_data(regime, 3, 3, c.loss, c.arch.outputs(), scalar, 2);
  return c;
}

bool same_bits(const Matrix<double>& a, const Matrix<double>& b) {
  return a.rows() == b.rows() && a.cols() == b.cols() &&
         std::memcmp(a.data(), b.data(), sizeof(double) * static_cast<std::size_t>(a.size())) == 0;
}

TEST(CaseToken, EveryRegimeRoundTripsBitForBit) {
  for (Regime r : {Regime::Uniform, Regime::Normal, Regime::HeavyTailed, Regime::WideRange, Regime::Zeros,
                   Regime::Subnormal, Regime::NotFloat, Regime::NonFinite}) {
    for (Scalar s : {Scalar::Float, Scalar::Double}) {
      Case c = small_case(s, r);
      c.lrs = {0.0, 1e-3, 0x1.fffffffffffffp-1};
      const std::string token = to_token(c);
      const Case back = parse_token(token);
      EXPECT_EQ(to_token(back), token) << to_string(r);
      EXPECT_TRUE(same_bits(back.train.x, c.train.x)) << to_string(r);
      EXPECT_TRUE(same_bits(back.test.y, c.test.y)) << to_string(r);
      EXPECT_EQ(back.lrs, c.lrs);
      EXPECT_EQ(back.arch, c.arch);
      EXPECT_EQ(back.optimizer, c.optimizer);
    }
  }
}

TEST(CaseToken, MalformedTokensAreRejectedNamingTheField) {
  const std::string good = to_token(small_case(Scalar::Double, Regime::Normal));
  auto error_of = [](const std::string& token) {
    try {
      parse_token(token);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_THAT(error_of("garbage"), HasSubstr("must start with"));
  EXPECT_THAT(error_of(good + "|extra=1"), HasSubstr("unknown field 'extra'"));
  EXPECT_THAT(error_of(good + "|epochs=2"), HasSubstr("'epochs' appears twice"));
  std::string no_lrs = good;
  no_lrs.replace(no_lrs.find("|lrs="), no_lrs.find('|', no_lrs.find("|lrs=") + 1) - no_lrs.find("|lrs="), "");
  EXPECT_THAT(error_of(no_lrs), HasSubstr("'lrs' is missing"));
  std::string bad_matrix = good;
  bad_matrix.replace(bad_matrix.find("|x=5x3:"), 7, "|x=5x4:");
  EXPECT_THAT(error_of(bad_matrix), HasSubstr("values for a 5x4 matrix"));
  std::string bad_opt = good;
  bad_opt.replace(bad_opt.find("opt=adam("), 9, "opt=adum(");
  EXPECT_THAT(error_of(bad_opt), HasSubstr("unknown optimizer"));
  std::string bad_scalar = good;
  bad_scalar.replace(bad_scalar.find("scalar=double"), 13, "scalar=half");
  EXPECT_THAT(error_of(bad_scalar), HasSubstr("scalar must be float or double"));
}

TEST(CaseValidate, InconsistentCasesAreRejected) {
  Case c = small_case(Scalar::Double, Regime::Normal);
  c.lrs = {};
  EXPECT_THROW(c.validate(), SpecError);
  c = small_case(Scalar::Double, Regime::Normal);
  c.lrs = {-1.0};
  EXPECT_THROW(c.validate(), SpecError);
  c = small_case(Scalar::Double, Regime::Normal, "input(4),dense(1)");
  EXPECT_THROW(c.validate(), ShapeError);  // 3 features in the data
  c = small_case(Scalar::Double, Regime::Normal, "input(3),dense(4),batchnorm,dense(1)");
  c.batch_size = 4;  // 5 samples: a last batch of 1
  try {
    c.validate();
    FAIL();
  } catch (const ShapeError& e) {
    EXPECT_THAT(e.what(), HasSubstr("at least 2 samples"));
  }
}

TEST(CaseData, RegimesProduceWhatTheyPromise) {
  const LossSpec mse = LossSpec::parse("mse");
  const auto sub = make_data(Regime::Subnormal, 200, 2, mse, 1, Scalar::Float, 3);
  int subnormals = 0;
  for (Index i = 0; i < sub.x.size(); ++i) {
    const float f = static_cast<float>(sub.x.data()[i]);
    EXPECT_EQ(static_cast<double>(f), sub.x.data()[i]) << "float data must be representable in float";
    subnormals += std::fpclassify(f) == FP_SUBNORMAL;
  }
  EXPECT_GT(subnormals, 200);
  const auto nf = make_data(Regime::NotFloat, 200, 2, mse, 1, Scalar::Double, 3);
  for (Index i = 0; i < nf.x.size(); ++i)
    EXPECT_NE(static_cast<double>(static_cast<float>(nf.x.data()[i])), nf.x.data()[i]);
  const auto z = make_data(Regime::Zeros, 200, 2, mse, 1, Scalar::Double, 3);
  int neg_zero = 0;
  for (Index i = 0; i < z.x.size(); ++i) neg_zero += z.x.data()[i] == 0 && std::signbit(z.x.data()[i]);
  EXPECT_GT(neg_zero, 50);
  const auto bad = make_data(Regime::NonFinite, 200, 2, mse, 1, Scalar::Double, 3);
  EXPECT_FALSE(bad.x.allFinite());
  const auto wide = make_data(Regime::WideRange, 200, 2, mse, 1, Scalar::Double, 3);
  EXPECT_GT(wide.x.cwiseAbs().maxCoeff(), 1e20);
  EXPECT_LT(wide.x.cwiseAbs().minCoeff(), 1e-20);
  const auto ce = make_data(Regime::Normal, 50, 2, LossSpec::parse("cross_entropy"), 4, Scalar::Double, 3);
  EXPECT_EQ(ce.y.cols(), 1);
  EXPECT_GE(ce.y.minCoeff(), 0);
  EXPECT_LE(ce.y.maxCoeff(), 3);
}

// AdamW whose decay ignores lr: p *= 1 - weight_decay. Test-only, the bug of
// tensorflow/addons#2282 in zerolr's terms.
struct LrBlindDecay {
  template <class T>
  static void apply(double wd, T, rule::VecMap<T> p, Vector<T>&) {
    if (wd != 0) p.array() = p.array() * static_cast<T>(1 - wd);
  }
};
using LrBlindAdamWRule = AdamFamilyRule<AdamWSettings, LrBlindDecay>;

TEST(FreezeProperty, HoldsForTheLibraryAndFailsForADecayThatIgnoresLr) {
  Case c = small_case(Scalar::Float, Regime::Normal);
  c.optimizer = parse_optimizer_spec("adamw(weight_decay=0.01)");
  const Verdict ok = prop_freeze(c);
  EXPECT_TRUE(ok.applicable);
  EXPECT_TRUE(ok.holds()) << ok.first_violation();
  Factories broken = Factories::library();
  broken.f32 = [](const OptimizerSpec& s) {
    return std::make_unique<RuleOptimizer<float, LrBlindAdamWRule>>(std::get<AdamWSettings>(s));
  };
  const Verdict bad = prop_freeze(c, broken);
  EXPECT_FALSE(bad.holds());
  EXPECT_THAT(bad.first_violation(), HasSubstr("0.weight["));
  EXPECT_THAT(bad.first_violation(), HasSubstr("at lr = 0 at step 1"));
}

// Freeze covers every step at lr = 0, also after steps at lr > 0 (a schedule that decays to
// zero): the library holds; a decay that ignores lr breaks it at the first zero step.
TEST(FreezeProperty, JudgesZeroStepsThatFollowPositiveOnes) {
  Case c = small_case(Scalar::Double, Regime::Normal);
  c.optimizer = parse_optimizer_spec("adamw(weight_decay=0.01)");
  c.lrs = {0.01, 0.005, 0.0};
  const Verdict ok = prop_freeze(c);
  EXPECT_TRUE(ok.applicable);
  EXPECT_TRUE(ok.holds()) << ok.first_violation();
  EXPECT_THAT(ok.tags, ::testing::Contains("lr reaches 0 after lr > 0"));
  Factories broken = Factories::library();
  broken.f64 = [](const OptimizerSpec& s) {
    return std::make_unique<RuleOptimizer<double, LrBlindAdamWRule>>(std::get<AdamWSettings>(s));
  };
  const Verdict bad = prop_freeze(c, broken);
  EXPECT_FALSE(bad.holds());
  EXPECT_THAT(bad.first_violation(), HasSubstr("at lr = 0 at step 3"));
}

TEST(FreezeProperty, IsNotApplicableWithoutAZeroStepOrWithANonFiniteGradient) {
  Case c = small_case(Scalar::Double, Regime::Normal);
  c.lrs = {0.1};
  EXPECT_FALSE(prop_freeze(c).applicable);
  c = small_case(Scalar::Double, Regime::NonFinite);
  const Verdict v = prop_freeze(c);
  EXPECT_FALSE(v.applicable);
  EXPECT_THAT(v.tags, ::testing::Contains("non-finite gradient"));
}

TEST(FreezeProperty, HoldsOnEveryFiniteRegimeForEveryOptimizer) {
  int judged = 0;
  for (const char* opt : {"sgd(momentum=0.9,nesterov=1,weight_decay=0.1)", "adam(weight_decay=0.1,amsgrad=1)",
                          "adamw(weight_decay=1)", "rmsprop(centered=1,momentum=0.9,weight_decay=0.1)",
                          "adagrad(lr_decay=1,weight_decay=0.1,eps=0)"})
    for (Regime r : kFiniteRegimes)
      for (Scalar s : {Scalar::Float, Scalar::Double}) {
        Case c = small_case(s, r, "input(3),dense(4),batchnorm,relu,layernorm,dense(1)");
        c.batch_size = 3;  // 5 samples: batches of 3 and 2
        c.optimizer = parse_optimizer_spec(opt);
        const Verdict v = prop_freeze(c);
        if (!v.applicable) continue;  // a gradient overflowed (wide range in float)
        ++judged;
        EXPECT_TRUE(v.holds()) << opt << " " << to_string(r) << " " << to_string(s) << ": "
                               << v.first_violation();
      }
  EXPECT_GE(judged, 60) << "of 70 cases";
}

TEST(Properties, AnUnknownPropertyNameIsRejectedListingTheKnownOnes) {
  try {
    run_property("frieze", small_case(Scalar::Double, Regime::Normal));
    FAIL();
  } catch (const SpecError& e) {
    EXPECT_THAT(e.what(), HasSubstr("unknown property 'frieze'"));
    EXPECT_THAT(e.what(), HasSubstr("freeze"));
  }
}

}  // namespace
}  // namespace zerolr
