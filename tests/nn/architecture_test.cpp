// The architecture spec: parsing, printing, widths, and every error with its message.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "zerolr/nn/layer.h"

namespace zerolr {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

/// The message of the SpecError that parsing `text` throws, or a failure.
std::string parse_error(const std::string& text) {
  try {
    const Architecture a = Architecture::parse(text);
    ADD_FAILURE() << "\"" << text << "\" parsed as " << a.to_string();
  } catch (const SpecError& e) {
    return e.what();
  }
  return "";
}

TEST(Architecture, EveryLayerKindRoundTripsWithoutSettings) {
  const std::vector<std::string> texts{"input(4),dense(3)", "input(4),relu",      "input(4),leaky_relu",
                                       "input(4),tanh",     "input(4),sigmoid",   "input(4),softplus",
                                       "input(4),dropout",  "input(4),batchnorm", "input(4),layernorm",
                                       "input(7)"};
  for (const auto& text : texts) {
    SCOPED_TRACE(text);
    const Architecture a = Architecture::parse(text);
    EXPECT_EQ(a.to_string(), text);
    EXPECT_EQ(Architecture::parse(a.to_string()), a);
  }
}

TEST(Architecture, EveryLayerKindRoundTripsWithSettings) {
  const std::vector<std::string> texts{
      "input(4),dense(3,init=xavier_uniform)",
      "input(4),dense(3,init=xavier_normal)",
      "input(4),dense(3,init=he_uniform)",
      "input(4),dense(3,init=he_normal)",
      "input(4),leaky_relu(slope=0.2)",
      "input(4),softplus(beta=2,threshold=10)",
      "input(4),softplus(threshold=0.5)",
      "input(4),dropout(p=0.25)",
      "input(4),batchnorm(momentum=0.3,eps=0.001)",
      "input(4),batchnorm(eps=1e-08)",
      "input(4),layernorm(eps=1e-06)",
      "input(16),dense(8,init=he_normal),batchnorm(momentum=0.01),leaky_relu(slope=0.1),"
      "dropout(p=0.1),dense(4),layernorm,tanh,dense(2),sigmoid,softplus(beta=0.5),dense(1)"};
  for (const auto& text : texts) {
    SCOPED_TRACE(text);
    const Architecture a = Architecture::parse(text);
    EXPECT_EQ(a.to_string(), text);
    EXPECT_EQ(Architecture::parse(a.to_string()), a);
  }
}

TEST(Architecture, ParsesSettingsIntoTheRightFieldsAndBindsAPositionalValueToTheFirstKey) {
  const Architecture a = Architecture::parse(
      "input(5), dense(units=6, init=he_uniform), leaky_relu(0.3), softplus(2, threshold=7),"
      " dropout(0.4), batchnorm(0.2, eps=1e-3), layernorm(1e-4), dense(2)");
  EXPECT_EQ(a.inputs, 5);
  ASSERT_EQ(a.layers.size(), 7u);
  EXPECT_EQ(a.layers[0].kind, LayerKind::Dense);
  EXPECT_EQ(a.layers[0].units, 6);
  EXPECT_EQ(a.layers[0].init, Init::HeUniform);
  EXPECT_EQ(a.layers[1].kind, LayerKind::LeakyReLU);
  EXPECT_EQ(a.layers[1].slope, 0.3);
  EXPECT_EQ(a.layers[2].kind, LayerKind::Softplus);
  EXPECT_EQ(a.layers[2].beta, 2.0);
  EXPECT_EQ(a.layers[2].threshold, 7.0);
  EXPECT_EQ(a.layers[3].kind, LayerKind::Dropout);
  EXPECT_EQ(a.layers[3].p, 0.4);
  EXPECT_EQ(a.layers[4].kind, LayerKind::BatchNorm1d);
  EXPECT_EQ(a.layers[4].momentum, 0.2);
  EXPECT_EQ(a.layers[4].eps, 1e-3);
  EXPECT_EQ(a.layers[5].kind, LayerKind::LayerNorm);
  EXPECT_EQ(a.layers[5].eps, 1e-4);
  EXPECT_EQ(a.layers[6].units, 2);
  // Spaces are not part of the printed form; defaults are not printed; reals print in the
  // shortest form that reads back exactly (1e-04 is shorter than 0.0001).
  EXPECT_EQ(a.to_string(),
            "input(5),dense(6,init=he_uniform),leaky_relu(slope=0.3),softplus(beta=2,threshold=7),"
            "dropout(p=0.4),batchnorm(momentum=0.2,eps=0.001),layernorm(eps=1e-04),dense(2)");
}

TEST(Architecture, TheExampleInTheHeaderParses) {
  const Architecture a = Architecture::parse("input(4),dense(16),batchnorm,relu,dense(1)");
  EXPECT_EQ(a.inputs, 4);
  ASSERT_EQ(a.layers.size(), 4u);
  EXPECT_EQ(a.layers[1].kind, LayerKind::BatchNorm1d);
  EXPECT_EQ(a.outputs(), 1);
}

TEST(Architecture, ExplicitDefaultsParseToTheSameSpecAsOmittedOnes) {
  EXPECT_EQ(Architecture::parse("input(3),dense(2,init=torch),leaky_relu(slope=0.01),dropout(p=0.5),"
                                "batchnorm(momentum=0.1,eps=1e-5),softplus(beta=1,threshold=20)"),
            Architecture::parse("input(3),dense(2),leaky_relu,dropout,batchnorm,softplus"));
  EXPECT_EQ(Architecture::parse("input(3),relu()"), Architecture::parse("input(3),relu"));
}

TEST(Architecture, PrintsAndReadsBackARealThatNeedsAllSeventeenDigits) {
  Architecture a;
  a.inputs = 2;
  LayerSpec s;
  s.kind = LayerKind::LeakyReLU;
  s.slope = 0.1 + 0.2;  // 0.30000000000000004
  a.layers.push_back(s);
  EXPECT_EQ(a.to_string(), "input(2),leaky_relu(slope=0.30000000000000004)");
  EXPECT_EQ(Architecture::parse(a.to_string()), a);
}

TEST(Architecture, OutputWidthIsTheLastDenseLayersUnitsOrTheInputWidth) {
  EXPECT_EQ(Architecture::parse("input(4)").outputs(), 4);
  EXPECT_EQ(Architecture::parse("input(4),relu,tanh,batchnorm").outputs(), 4);
  EXPECT_EQ(Architecture::parse("input(4),dense(16),relu,dense(3)").outputs(), 3);
  EXPECT_EQ(Architecture::parse("input(4),dense(16),relu,dense(3),layernorm,sigmoid").outputs(), 3);
  EXPECT_EQ(Architecture::parse("input(1),dense(16777216)").outputs(), 16777216);
}

TEST(Architecture, HasBuffersOnlyWithBatchNormAndHasDropoutOnlyWithARandomDropout) {
  EXPECT_TRUE(Architecture::parse("input(4),dense(3),batchnorm,relu").has_buffers());
  EXPECT_FALSE(Architecture::parse("input(4),dense(3),layernorm,relu,dropout").has_buffers());
  EXPECT_TRUE(Architecture::parse("input(4),dense(3),dropout,relu").has_dropout());
  EXPECT_TRUE(Architecture::parse("input(4),dropout(p=1)").has_dropout());
  EXPECT_FALSE(Architecture::parse("input(4),dense(3),batchnorm").has_dropout());
  // p = 0 draws nothing: such a model is deterministic in Train mode.
  EXPECT_FALSE(Architecture::parse("input(4),dropout(p=0)").has_dropout());
  EXPECT_FALSE(Architecture::parse("input(4)").has_buffers());
}

TEST(Architecture, LayerKindsPrintUnderTheirSpecNames) {
  EXPECT_EQ(to_string(LayerKind::Dense), "dense");
  EXPECT_EQ(to_string(LayerKind::ReLU), "relu");
  EXPECT_EQ(to_string(LayerKind::LeakyReLU), "leaky_relu");
  EXPECT_EQ(to_string(LayerKind::Tanh), "tanh");
  EXPECT_EQ(to_string(LayerKind::Sigmoid), "sigmoid");
  EXPECT_EQ(to_string(LayerKind::Softplus), "softplus");
  EXPECT_EQ(to_string(LayerKind::Dropout), "dropout");
  EXPECT_EQ(to_string(LayerKind::BatchNorm1d), "batchnorm");
  EXPECT_EQ(to_string(LayerKind::LayerNorm), "layernorm");
}

TEST(ArchitectureErrors, MissingInputWidthIsRejected) {
  EXPECT_THAT(parse_error("dense(4),relu"), HasSubstr("must start with the input width"));
  EXPECT_THAT(parse_error("relu,input(4)"), HasSubstr("must start with the input width"));
  EXPECT_THAT(parse_error("input,dense(2)"), HasSubstr("must start with the input width"));
  EXPECT_THAT(parse_error("input(in=4),dense(2)"), HasSubstr("must start with the input width"));
  EXPECT_THAT(parse_error("input(4,5)"), HasSubstr("must start with the input width"));
}

TEST(ArchitectureErrors, InputWidthMustBeAPositiveInteger) {
  EXPECT_THAT(parse_error("input(0)"), HasSubstr("input(0) is out of range"));
  EXPECT_THAT(parse_error("input(-3)"), HasSubstr("out of range"));
  EXPECT_THAT(parse_error("input(2.5)"), HasSubstr("not an integer"));
}

TEST(ArchitectureErrors, UnknownLayerListsTheKnownOnes) {
  EXPECT_THAT(
      parse_error("input(4),conv2d(3)"),
      AllOf(HasSubstr("unknown layer 'conv2d'"),
            HasSubstr("dense, relu, leaky_relu, tanh, sigmoid, softplus, dropout, batchnorm, layernorm")));
  EXPECT_THAT(parse_error("input(4),Dense(3)"), HasSubstr("unknown layer 'Dense'"));
}

TEST(ArchitectureErrors, UnknownKeyListsTheValidKeys) {
  EXPECT_THAT(parse_error("input(4),dense(3,bias=0)"),
              AllOf(HasSubstr("dense has no key 'bias'"), HasSubstr("valid keys: units, init")));
  EXPECT_THAT(parse_error("input(4),batchnorm(eps=1e-5,affine=0)"), HasSubstr("valid keys: momentum, eps"));
  EXPECT_THAT(parse_error("input(4),softplus(alpha=1)"), HasSubstr("valid keys: beta, threshold"));
  EXPECT_THAT(parse_error("input(4),leaky_relu(negative_slope=0.1)"), HasSubstr("valid keys: slope"));
  EXPECT_THAT(parse_error("input(4),dropout(rate=0.1)"), HasSubstr("valid keys: p"));
  EXPECT_THAT(parse_error("input(4),layernorm(momentum=0.1)"), HasSubstr("valid keys: eps"));
  EXPECT_THAT(parse_error("input(4),relu(inplace=1)"), HasSubstr("it has no settings"));
}

TEST(ArchitectureErrors, RepeatedKeyIsRejected) {
  EXPECT_THAT(parse_error("input(4),dropout(p=0.1,p=0.2)"), HasSubstr("dropout repeats key 'p'"));
  EXPECT_THAT(parse_error("input(4),dense(3,units=4)"), HasSubstr("dense repeats key 'units'"));
}

TEST(ArchitectureErrors, DenseNeedsAPositiveNumberOfUnits) {
  EXPECT_THAT(parse_error("input(4),dense"), HasSubstr("dense needs its number of units"));
  EXPECT_THAT(parse_error("input(4),dense(init=he_normal)"), HasSubstr("dense needs its number of units"));
  EXPECT_THAT(parse_error("input(4),dense(0)"), HasSubstr("dense units=0 is out of range"));
  EXPECT_THAT(parse_error("input(4),dense(-2)"), HasSubstr("out of range"));
  EXPECT_THAT(parse_error("input(4),dense(16777217)"), HasSubstr("out of range"));
  EXPECT_THAT(parse_error("input(4),dense(1.5)"), HasSubstr("not an integer"));
}

TEST(ArchitectureErrors, OutOfRangeRealSettingsNameTheKeyAndTheRange) {
  EXPECT_THAT(parse_error("input(4),dropout(p=1.5)"),
              AllOf(HasSubstr("dropout p=1.5 is out of range"), HasSubstr("[0, 1]")));
  EXPECT_THAT(parse_error("input(4),dropout(p=-0.1)"), HasSubstr("dropout p=-0.1 is out of range"));
  EXPECT_THAT(parse_error("input(4),batchnorm(eps=0)"),
              AllOf(HasSubstr("batchnorm eps=0 is out of range"), HasSubstr("(0, inf)")));
  EXPECT_THAT(parse_error("input(4),batchnorm(momentum=1.1)"),
              HasSubstr("batchnorm momentum=1.1 is out of range"));
  EXPECT_THAT(parse_error("input(4),layernorm(eps=-1)"), HasSubstr("layernorm eps=-1 is out of range"));
  EXPECT_THAT(parse_error("input(4),softplus(beta=0)"), HasSubstr("softplus beta=0 is out of range"));
  EXPECT_THAT(parse_error("input(4),dropout(p=abc)"), HasSubstr("p=abc is not a number"));
  EXPECT_THAT(parse_error("input(4),leaky_relu(slope=inf)"), HasSubstr("slope=inf"));
}

TEST(ArchitectureErrors, BadInitNameListsTheKnownInits) {
  EXPECT_THAT(parse_error("input(4),dense(3,init=kaiming)"),
              AllOf(HasSubstr("init=kaiming is unknown"),
                    HasSubstr("torch, xavier_uniform, xavier_normal, he_uniform, he_normal")));
}

TEST(ArchitectureErrors, PositionalValueForALayerWithoutSettingsIsRejected) {
  EXPECT_THAT(parse_error("input(4),relu(3)"),
              AllOf(HasSubstr("relu takes no positional value '3'"), HasSubstr("no settings")));
  EXPECT_THAT(parse_error("input(4),tanh(1)"), HasSubstr("tanh takes no positional value"));
  // Only the first value may be positional.
  EXPECT_THAT(parse_error("input(4),dense(3,4)"), HasSubstr("dense takes no positional value '4'"));
}

TEST(ArchitectureErrors, MalformedTextIsASpecError) {
  EXPECT_THAT(parse_error(""), HasSubstr("architecture spec"));
  EXPECT_THAT(parse_error("input(4),"), HasSubstr("expected a name"));
  EXPECT_THAT(parse_error("input(4),dense(3"), HasSubstr("missing ')'"));
  EXPECT_THAT(parse_error("input(4) dense(3)"), HasSubstr("expected ','"));
}

TEST(ArchitectureErrors, OutputsValidatesAHandBuiltArchitecture) {
  Architecture a;
  a.inputs = 3;
  LayerSpec d;
  d.kind = LayerKind::Dropout;
  d.p = 2;
  a.layers.push_back(d);
  EXPECT_THROW(a.outputs(), SpecError);
  Architecture zero_inputs;
  zero_inputs.inputs = 0;
  EXPECT_THROW(zero_inputs.outputs(), SpecError);
  Architecture zero_units;
  zero_units.inputs = 2;
  zero_units.layers.push_back(LayerSpec{});  // dense with units = 1 is fine
  EXPECT_EQ(zero_units.outputs(), 1);
  zero_units.layers[0].units = 0;
  EXPECT_THROW(zero_units.outputs(), SpecError);
}

}  // namespace
}  // namespace zerolr
