// Optimizer specs: parsing, printing, defaults and every error path.

#include "zerolr/optim/spec.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>

#include "zerolr/core.h"
#include "zerolr/random.h"

namespace zerolr {
namespace {

using testing::AllOf;
using testing::HasSubstr;

/// The SpecError message parse_optimizer_spec gives for `text`, or a marker if none.
std::string spec_error(const std::string& text) {
  try {
    parse_optimizer_spec(text);
  } catch (const SpecError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no SpecError for \"" << text << "\"";
  return "<no error>";
}

template <class S>
S parse_as(const std::string& text) {
  const OptimizerSpec spec = parse_optimizer_spec(text);
  EXPECT_TRUE(std::holds_alternative<S>(spec)) << text;
  return std::holds_alternative<S>(spec) ? std::get<S>(spec) : S{};
}

TEST(OptimizerSpec, ParsesEveryKeyOfSgd) {
  const auto s = parse_as<SgdSettings>("sgd(lr=0.5,momentum=0.9,dampening=0,weight_decay=1e-4,nesterov=1)");
  EXPECT_EQ(s.lr, 0.5);
  EXPECT_EQ(s.momentum, 0.9);
  EXPECT_EQ(s.dampening, 0.0);
  EXPECT_EQ(s.weight_decay, 1e-4);
  EXPECT_TRUE(s.nesterov);
  const auto d = parse_as<SgdSettings>("sgd(dampening=0.25,momentum=3)");
  EXPECT_EQ(d.dampening, 0.25);
  EXPECT_EQ(d.momentum, 3.0);
}

TEST(OptimizerSpec, ParsesEveryKeyOfAdam) {
  const auto s =
      parse_as<AdamSettings>("adam(lr=2e-3,beta1=0.8,beta2=0.99,eps=1e-6,weight_decay=0.5,amsgrad=1)");
  EXPECT_EQ(s.lr, 2e-3);
  EXPECT_EQ(s.beta1, 0.8);
  EXPECT_EQ(s.beta2, 0.99);
  EXPECT_EQ(s.eps, 1e-6);
  EXPECT_EQ(s.weight_decay, 0.5);
  EXPECT_TRUE(s.amsgrad);
}

TEST(OptimizerSpec, ParsesEveryKeyOfAdamW) {
  const auto s =
      parse_as<AdamWSettings>("adamw(lr=1e-4,beta1=0,beta2=0.5,eps=0,weight_decay=0.1,amsgrad=true)");
  EXPECT_EQ(s.lr, 1e-4);
  EXPECT_EQ(s.beta1, 0.0);
  EXPECT_EQ(s.beta2, 0.5);
  EXPECT_EQ(s.eps, 0.0);
  EXPECT_EQ(s.weight_decay, 0.1);
  EXPECT_TRUE(s.amsgrad);
}

TEST(OptimizerSpec, ParsesEveryKeyOfRmsprop) {
  const auto s = parse_as<RmspropSettings>(
      "rmsprop(lr=0.02,alpha=0.9,eps=1e-7,weight_decay=0.25,momentum=0.5,centered=1)");
  EXPECT_EQ(s.lr, 0.02);
  EXPECT_EQ(s.alpha, 0.9);
  EXPECT_EQ(s.eps, 1e-7);
  EXPECT_EQ(s.weight_decay, 0.25);
  EXPECT_EQ(s.momentum, 0.5);
  EXPECT_TRUE(s.centered);
}

TEST(OptimizerSpec, ParsesEveryKeyOfAdagrad) {
  const auto s = parse_as<AdagradSettings>(
      "adagrad(lr=0.1,lr_decay=0.01,weight_decay=0.001,initial_accumulator_value=0.1,eps=1e-9)");
  EXPECT_EQ(s.lr, 0.1);
  EXPECT_EQ(s.lr_decay, 0.01);
  EXPECT_EQ(s.weight_decay, 0.001);
  EXPECT_EQ(s.initial_accumulator_value, 0.1);
  EXPECT_EQ(s.eps, 1e-9);
}

TEST(OptimizerSpec, MissingKeysTakePyTorchsDefaults) {
  EXPECT_EQ(parse_optimizer_spec("sgd"), OptimizerSpec(SgdSettings{}));
  EXPECT_EQ(parse_optimizer_spec("adam()"), OptimizerSpec(AdamSettings{}));
  EXPECT_EQ(parse_optimizer_spec("adamw"), OptimizerSpec(AdamWSettings{}));
  EXPECT_EQ(parse_optimizer_spec("rmsprop"), OptimizerSpec(RmspropSettings{}));
  EXPECT_EQ(parse_optimizer_spec("adagrad"), OptimizerSpec(AdagradSettings{}));
  EXPECT_EQ(parse_as<SgdSettings>("sgd").lr, 1e-3);
  EXPECT_EQ(parse_as<AdamWSettings>("adamw").weight_decay, 1e-2);
  EXPECT_EQ(parse_as<AdamSettings>("adam(lr=0.1)").beta2, 0.999);
  EXPECT_EQ(parse_as<RmspropSettings>("rmsprop").alpha, 0.99);
  EXPECT_EQ(parse_as<AdagradSettings>("adagrad").eps, 1e-10);
}

TEST(OptimizerSpec, ABareValueBindsToTheLearningRate) {
  EXPECT_EQ(parse_as<AdamSettings>("adam(0.01)").lr, 0.01);
  const auto s = parse_as<SgdSettings>("sgd(0.1,momentum=0.9)");
  EXPECT_EQ(s.lr, 0.1);
  EXPECT_EQ(s.momentum, 0.9);
  EXPECT_EQ(parse_as<AdagradSettings>("adagrad(weight_decay=0.5, 0x1p-3)").lr, 0.125);
}

TEST(OptimizerSpec, BooleansAreZeroOneTrueOrFalse) {
  EXPECT_TRUE(parse_as<AdamSettings>("adam(amsgrad=1)").amsgrad);
  EXPECT_TRUE(parse_as<AdamSettings>("adam(amsgrad=true)").amsgrad);
  EXPECT_FALSE(parse_as<AdamSettings>("adam(amsgrad=0)").amsgrad);
  EXPECT_FALSE(parse_as<AdamSettings>("adam(amsgrad=false)").amsgrad);
  EXPECT_TRUE(parse_as<RmspropSettings>("rmsprop(centered=true)").centered);
  EXPECT_THAT(spec_error("adam(amsgrad=yes)"), AllOf(HasSubstr("amsgrad=yes"), HasSubstr("boolean")));
  EXPECT_THAT(spec_error("adam(amsgrad=2)"), HasSubstr("not a boolean"));
}

TEST(OptimizerSpec, WhitespaceAroundNamesKeysAndValuesIsIgnored) {
  const auto s = parse_as<AdamSettings>("  adam ( lr = 0.01 ,\tamsgrad = true , beta1= 0.5 )  ");
  EXPECT_EQ(s.lr, 0.01);
  EXPECT_EQ(s.beta1, 0.5);
  EXPECT_TRUE(s.amsgrad);
  EXPECT_EQ(parse_optimizer_spec(" sgd "), OptimizerSpec(SgdSettings{}));
}

// One line per registered rule, in the registry's order, each the rule's defaults (each rule's
// own test checks them against PyTorch's), printed with every key and read back exactly.
TEST(OptimizerSpec, ToStringPrintsEveryKeyInTheDocumentedOrder) {
  const auto lines = optimizer_defaults();
  const auto names = optimizer_names();
  ASSERT_EQ(lines.size(), Rules::size);
  ASSERT_EQ(names.size(), Rules::size);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i].rfind(names[i] + "(lr=", 0), 0u) << lines[i];
    EXPECT_EQ(to_string(parse_optimizer_spec(names[i])), lines[i]);
  }
  EXPECT_EQ(names.front(), "sgd");
  EXPECT_EQ(to_string(parse_optimizer_spec("sgd(0.5,nesterov=true,momentum=0.25)")),
            "sgd(lr=0.5,momentum=0.25,dampening=0,weight_decay=0,nesterov=1)");
}

// Every registered rule: random values over each key's whole range (its generators' draw,
// a zero now and then, and log-uniform magnitudes for the shortest-decimal printing) survive
// printing and parsing exactly.
TEST(OptimizerSpec, RandomSettingsRoundTripExactlyThroughText) {
  const std::uint64_t seed = 0x5eed0001;
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::printf("RandomSettingsRoundTripExactlyThroughText seed %llu\n", static_cast<unsigned long long>(seed));
  Rng rng(seed);
  const auto draw = [&rng](const Draw& d, const RealRange& range) {
    double v = 0;
    switch (rng.below(4)) {
      case 0:
        v = d.n_edges > 0 ? d.edges[rng.below(d.n_edges)] : 0.0;
        break;
      case 1:
        v = std::pow(10.0, rng.uniform(-9, 2));
        break;
      default:
        v = d.scale == Draw::Scale::Log ? std::pow(10.0, rng.uniform(d.lo, d.hi)) : rng.uniform(d.lo, d.hi);
    }
    return range.contains(v) ? v : d.edges[0];
  };
  int checked = 0;
  for (int i = 0; i < 200; ++i)
    Rules::for_each([&]<class R>() {
      using S = typename R::Settings;
      S settings;
      for (const auto& k : S::keys()) {
        if (k.kind == Key<S>::Kind::Bool)
          settings.*k.flag = rng.below(2) == 1;
        else
          settings.*k.real = draw(k.draw, k.range);
      }
      if constexpr (requires { R::repair(settings); }) R::repair(settings);
      const OptimizerSpec spec(settings);
      const std::string text = to_string(spec);
      ASSERT_EQ(parse_optimizer_spec(text), spec) << text;
      ASSERT_EQ(to_string(parse_optimizer_spec(text)), text);
      ++checked;
    });
  EXPECT_EQ(checked, 200 * static_cast<int>(Rules::size));
}

TEST(OptimizerSpec, NameBaseLrAndWithLrReadAndReplaceTheLearningRate) {
  const OptimizerSpec s = parse_optimizer_spec("rmsprop(lr=0.05,momentum=0.5)");
  EXPECT_EQ(optimizer_name(s), "rmsprop");
  EXPECT_EQ(base_lr(s), 0.05);
  const OptimizerSpec t = with_lr(s, 0.25);
  EXPECT_EQ(base_lr(t), 0.25);
  EXPECT_EQ(std::get<RmspropSettings>(t).momentum, 0.5);
  EXPECT_EQ(base_lr(with_lr(s, 0)), 0.0);
  EXPECT_THROW(with_lr(s, -1e-9), SpecError);
  EXPECT_THROW(with_lr(s, std::nan("")), SpecError);
  EXPECT_THROW(with_lr(s, INFINITY), SpecError);
  EXPECT_EQ(optimizer_name(AdamWSettings{}), "adamw");
}

TEST(OptimizerSpec, ValidateRejectsSettingsBuiltInCode) {
  EXPECT_NO_THROW(validate(AdamSettings{}));
  AdamSettings a;
  a.beta1 = 1;
  EXPECT_THROW(validate(a), SpecError);
  AdamWSettings w;
  w.eps = std::nan("");
  EXPECT_THROW(validate(w), SpecError);
  RmspropSettings r;
  r.alpha = 1.5;
  EXPECT_THROW(validate(r), SpecError);
  SgdSettings s;
  s.nesterov = true;
  EXPECT_THROW(validate(s), SpecError);
  AdagradSettings g;
  g.lr = INFINITY;
  EXPECT_THROW(validate(g), SpecError);
}

// ---- error paths -------------------------------------------------------------------------

TEST(OptimizerSpecErrors, UnknownOptimizerListsTheKnownOnes) {
  std::string known;
  for (const auto& name : optimizer_names()) known += (known.empty() ? "" : ", ") + name;
  EXPECT_THAT(spec_error("lbfgs(lr=0.1)"), AllOf(HasSubstr("unknown optimizer 'lbfgs'"), HasSubstr(known)));
  EXPECT_THAT(known, HasSubstr("sgd, adam, adamw, rmsprop, adagrad"));
  EXPECT_THAT(spec_error("Adam"), HasSubstr("unknown optimizer 'Adam'"));
}

TEST(OptimizerSpecErrors, UnknownKeyListsTheOptimizersValidKeys) {
  EXPECT_THAT(spec_error("adam(betas=0.9)"),
              AllOf(HasSubstr("unknown key 'betas'"), HasSubstr("for adam"),
                    HasSubstr("lr, beta1, beta2, eps, weight_decay, amsgrad")));
  EXPECT_THAT(spec_error("sgd(amsgrad=1)"),
              AllOf(HasSubstr("unknown key 'amsgrad'"),
                    HasSubstr("lr, momentum, dampening, weight_decay, nesterov")));
}

TEST(OptimizerSpecErrors, ARepeatedKeyIsRejected) {
  EXPECT_THAT(spec_error("adam(lr=0.1,lr=0.2)"), HasSubstr("key 'lr' is given twice"));
  EXPECT_THAT(spec_error("adam(0.1,lr=0.2)"),
              AllOf(HasSubstr("key 'lr' is given twice"), HasSubstr("a bare value binds to 'lr'")));
  EXPECT_THAT(spec_error("sgd(0.1,0.2)"), HasSubstr("given twice"));
}

TEST(OptimizerSpecErrors, AValueThatIsNotANumberIsNamed) {
  EXPECT_THAT(spec_error("adam(lr=fast)"), AllOf(HasSubstr("lr=fast"), HasSubstr("not a number")));
  EXPECT_THAT(spec_error("adam(eps=1e-8x)"), AllOf(HasSubstr("eps=1e-8x"), HasSubstr("not a number")));
  EXPECT_THAT(spec_error("sgd(abc)"), AllOf(HasSubstr("lr=abc"), HasSubstr("not a number")));
}

TEST(OptimizerSpecErrors, NanAndInfinityAreRejected) {
  EXPECT_THAT(spec_error("adam(lr=nan)"), AllOf(HasSubstr("lr=nan"), HasSubstr("finite")));
  EXPECT_THAT(spec_error("adam(eps=inf)"), AllOf(HasSubstr("eps=inf"), HasSubstr("finite")));
  EXPECT_THAT(spec_error("sgd(momentum=-inf)"), HasSubstr("momentum=-inf"));
  EXPECT_THAT(spec_error("sgd(lr=1e999)"), HasSubstr("lr=1e999"));
}

TEST(OptimizerSpecErrors, EveryRangedKeyReportsItsRange) {
  const std::pair<const char*, const char*> cases[] = {
      {"sgd(lr=-0.1)", "lr=-0.1 is out of range [0, inf)"},
      {"sgd(momentum=-1)", "momentum=-1 is out of range [0, inf)"},
      {"sgd(dampening=1.5)", "dampening=1.5 is out of range [0, 1]"},
      {"sgd(dampening=-0.5)", "dampening=-0.5 is out of range [0, 1]"},
      {"sgd(weight_decay=-1e-3)", "weight_decay=-1e-3 is out of range [0, inf)"},
      {"adam(lr=-1)", "lr=-1 is out of range [0, inf)"},
      {"adam(beta1=1)", "beta1=1 is out of range [0, 1)"},
      {"adam(beta1=-0.1)", "beta1=-0.1 is out of range [0, 1)"},
      {"adam(beta2=1.0)", "beta2=1.0 is out of range [0, 1)"},
      {"adam(eps=-1e-8)", "eps=-1e-8 is out of range [0, inf)"},
      {"adam(weight_decay=-2)", "weight_decay=-2 is out of range [0, inf)"},
      {"adamw(beta1=1)", "beta1=1 is out of range [0, 1)"},
      {"adamw(beta2=2)", "beta2=2 is out of range [0, 1)"},
      {"adamw(eps=-1)", "eps=-1 is out of range [0, inf)"},
      {"adamw(weight_decay=-0.01)", "weight_decay=-0.01 is out of range [0, inf)"},
      {"adamw(-0.5)", "lr=-0.5 is out of range [0, inf)"},
      {"rmsprop(alpha=1.01)", "alpha=1.01 is out of range [0, 1]"},
      {"rmsprop(alpha=-0.5)", "alpha=-0.5 is out of range [0, 1]"},
      {"rmsprop(eps=-1)", "eps=-1 is out of range [0, inf)"},
      {"rmsprop(momentum=-0.9)", "momentum=-0.9 is out of range [0, inf)"},
      {"rmsprop(weight_decay=-1)", "weight_decay=-1 is out of range [0, inf)"},
      {"rmsprop(lr=-1)", "lr=-1 is out of range [0, inf)"},
      {"adagrad(lr_decay=-1)", "lr_decay=-1 is out of range [0, inf)"},
      {"adagrad(initial_accumulator_value=-0.1)", "initial_accumulator_value=-0.1 is out of range [0, inf)"},
      {"adagrad(eps=-1e-10)", "eps=-1e-10 is out of range [0, inf)"},
      {"adagrad(weight_decay=-1)", "weight_decay=-1 is out of range [0, inf)"},
      {"adagrad(lr=-0.01)", "lr=-0.01 is out of range [0, inf)"},
  };
  for (const auto& [text, message] : cases) EXPECT_THAT(spec_error(text), HasSubstr(message)) << text;
  // The edges that are in range parse.
  EXPECT_NO_THROW(parse_optimizer_spec("adam(beta1=0,beta2=0.9999999999999999,eps=0,lr=0)"));
  EXPECT_NO_THROW(parse_optimizer_spec("rmsprop(alpha=1)"));
  EXPECT_NO_THROW(parse_optimizer_spec("sgd(dampening=1)"));
}

TEST(OptimizerSpecErrors, NesterovNeedsMomentumAndNoDampening) {
  EXPECT_THAT(spec_error("sgd(nesterov=1)"),
              AllOf(HasSubstr("nesterov"), HasSubstr("requires momentum > 0")));
  EXPECT_THAT(spec_error("sgd(nesterov=true,momentum=0)"), HasSubstr("requires momentum > 0"));
  EXPECT_THAT(spec_error("sgd(nesterov=1,momentum=0.9,dampening=0.1)"),
              AllOf(HasSubstr("requires dampening=0"), HasSubstr("dampening=0.1")));
  EXPECT_NO_THROW(parse_optimizer_spec("sgd(nesterov=1,momentum=0.9,dampening=0)"));
}

TEST(OptimizerSpecErrors, MalformedTextIsReportedWithTheText) {
  EXPECT_THAT(spec_error("adam(lr=0.1"), AllOf(HasSubstr("missing ')'"), HasSubstr("adam(lr=0.1")));
  EXPECT_THAT(spec_error("adam(lr=0.1) x"), HasSubstr("unexpected 'x' after the spec"));
  EXPECT_THAT(spec_error("adam(lr=0.1))"), HasSubstr("unexpected ')'"));
  EXPECT_THAT(spec_error(""), HasSubstr("expected a name but the text ended"));
  EXPECT_THAT(spec_error("   "), HasSubstr("expected a name"));
  EXPECT_THAT(spec_error("adam(lr=)"), HasSubstr("missing value for 'lr'"));
  EXPECT_THAT(spec_error("adam(lr=0.1,)"), HasSubstr("empty argument"));
  EXPECT_THAT(spec_error("adam(=0.1)"), HasSubstr("missing key"));
}

// The budget's coefficient term perturbs each nonzero real coefficient but lr, one at a
// time, inside its range.
TEST(CoefficientPerturbations, EachNonzeroCoefficientButLrOnceWithinItsRange) {
  const double h = 0x1p-40;
  const auto adam = std::get<AdamSettings>(parse_optimizer_spec("adam(lr=0.5,weight_decay=0)"));
  const auto moved = coefficient_perturbations(OptimizerSpec(adam), h);
  ASSERT_EQ(moved.size(), 3u);  // beta1, beta2, eps; weight_decay is 0
  const auto& b1 = std::get<AdamSettings>(moved[0]);
  EXPECT_EQ(b1.beta1, adam.beta1 * (1 + h));
  EXPECT_EQ(b1.beta2, adam.beta2);
  EXPECT_EQ(b1.lr, adam.lr);
  EXPECT_EQ(std::get<AdamSettings>(moved[1]).beta2, adam.beta2 * (1 + h));
  EXPECT_EQ(std::get<AdamSettings>(moved[2]).eps, adam.eps * (1 + h));
  // A beta whose 1 + h leaves [0, 1) moves down instead.
  const auto edge = std::get<AdamSettings>(parse_optimizer_spec("adam(beta2=0.99999999999999989)"));
  const auto down = coefficient_perturbations(OptimizerSpec(edge), h);
  ASSERT_EQ(down.size(), 3u);
  EXPECT_EQ(std::get<AdamSettings>(down[1]).beta2, edge.beta2 * (1 - h));
  EXPECT_LT(std::get<AdamSettings>(down[1]).beta2, 1.0);
  EXPECT_TRUE(coefficient_perturbations(parse_optimizer_spec("sgd(lr=0.1)"), h).empty());
}

}  // namespace
}  // namespace zerolr
