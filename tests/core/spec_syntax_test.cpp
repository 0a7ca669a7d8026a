#include "zerolr/spec_syntax.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

#include "zerolr/core.h"
#include "zerolr/random.h"

namespace zerolr {
namespace {

using ::testing::HasSubstr;

/// The message of the SpecError that `f` throws; a test failure if it throws none.
template <class F>
std::string spec_error(F f) {
  try {
    f();
  } catch (const SpecError& e) {
    return e.what();
  }
  ADD_FAILURE() << "no SpecError was thrown";
  return "";
}

SpecArg value(const std::string& v, const std::string& key = "lr") {
  return SpecArg{key, v, 0};
}

std::string call_error(const std::string& text) {
  return spec_error([&] { parse_call(text, "optimizer spec"); });
}

TEST(ParseCall, ReadsABareName) {
  const SpecCall c = parse_call("relu", "layer");
  EXPECT_EQ(c.name, "relu");
  EXPECT_TRUE(c.args.empty());
  EXPECT_EQ(c.offset, 0u);
}

TEST(ParseCall, ReadsEmptyParenthesesAsNoArguments) {
  const SpecCall c = parse_call("relu()", "layer");
  EXPECT_EQ(c.name, "relu");
  EXPECT_TRUE(c.args.empty());
}

TEST(ParseCall, ReadsPositionalAndKeyedArgumentsWithTheirOffsets) {
  const SpecCall c = parse_call("adamw(1e-3, weight_decay=0.01)", "optimizer spec");
  EXPECT_EQ(c.name, "adamw");
  ASSERT_EQ(c.args.size(), 2u);
  EXPECT_EQ(c.args[0].key, "");
  EXPECT_EQ(c.args[0].value, "1e-3");
  EXPECT_EQ(c.args[0].offset, 6u);
  EXPECT_EQ(c.args[1].key, "weight_decay");
  EXPECT_EQ(c.args[1].value, "0.01");
  EXPECT_EQ(c.args[1].offset, 12u);
}

TEST(ParseCall, IgnoresWhitespaceAroundEveryToken) {
  const SpecCall c = parse_call("  sgd ( lr = 0.1 ,\tmomentum=0.9 , nesterov = true )  ", "optimizer spec");
  EXPECT_EQ(c.name, "sgd");
  EXPECT_EQ(c.offset, 2u);
  ASSERT_EQ(c.args.size(), 3u);
  EXPECT_EQ(c.args[0].key, "lr");
  EXPECT_EQ(c.args[0].value, "0.1");
  EXPECT_EQ(c.args[1].key, "momentum");
  EXPECT_EQ(c.args[1].value, "0.9");
  EXPECT_EQ(c.args[2].key, "nesterov");
  EXPECT_EQ(c.args[2].value, "true");
}

TEST(ParseCallList, SplitsOnCommasOutsideParenthesesOnly) {
  const auto calls = parse_call_list("dense(16, bias=false),relu, dense(1)", "architecture");
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[0].name, "dense");
  ASSERT_EQ(calls[0].args.size(), 2u);
  EXPECT_EQ(calls[0].args[0].value, "16");
  EXPECT_EQ(calls[0].args[1].key, "bias");
  EXPECT_EQ(calls[1].name, "relu");
  EXPECT_TRUE(calls[1].args.empty());
  EXPECT_EQ(calls[2].name, "dense");
  EXPECT_EQ(calls[2].offset, 28u);
  ASSERT_EQ(calls[2].args.size(), 1u);
  EXPECT_EQ(calls[2].args[0].value, "1");
}

TEST(ParseCallList, AcceptsASingleCall) {
  const auto calls = parse_call_list("huber(delta=0.5)", "loss");
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].name, "huber");
}

TEST(ParseCall, ReportsAMissingClosingParenthesis) {
  const std::string m = call_error("adam(lr=0.1");
  EXPECT_THAT(m, HasSubstr("optimizer spec \"adam(lr=0.1\""));
  EXPECT_THAT(m, HasSubstr("missing ')' after the arguments of 'adam'"));
  EXPECT_THAT(call_error("adam("), HasSubstr("missing ')'"));
  EXPECT_THAT(call_error("adam(lr=0.1, "), HasSubstr("missing ')'"));
}

TEST(ParseCall, ReportsAnEmptyArgumentWithItsOffset) {
  EXPECT_THAT(call_error("adam(0.1,,b=2)"), HasSubstr("empty argument (at offset 9)"));
  EXPECT_THAT(call_error("adam(0.1,)"), HasSubstr("empty argument"));
}

TEST(ParseCall, ReportsAMissingKey) {
  EXPECT_THAT(call_error("adam(=0.1)"), HasSubstr("missing key before '='"));
}

TEST(ParseCall, ReportsAMissingValue) {
  EXPECT_THAT(call_error("adam(lr=)"), HasSubstr("missing value for 'lr'"));
  EXPECT_THAT(call_error("adam(lr= ,eps=1)"), HasSubstr("missing value for 'lr'"));
}

TEST(ParseCall, ReportsTrailingGarbage) {
  EXPECT_THAT(call_error("adam(lr=0.1) x"), HasSubstr("unexpected 'x' after the spec"));
  EXPECT_THAT(call_error("adam(lr=0.1))"), HasSubstr("unexpected ')' after the spec"));
  EXPECT_THAT(call_error("adam,sgd"), HasSubstr("unexpected ',' after the spec"));
}

TEST(ParseCall, ReportsBadKeyCharacters) {
  EXPECT_THAT(call_error("adam(l-r=0.1)"), HasSubstr("'l-r' is not a valid key"));
  EXPECT_THAT(call_error("adam(l r=0.1)"), HasSubstr("'l r' is not a valid key"));
}

TEST(ParseCall, ReportsMisplacedParenthesesAndEqualSigns) {
  EXPECT_THAT(call_error("adam(f(1))"), HasSubstr("unexpected '(' inside an argument list"));
  EXPECT_THAT(call_error("adam(x=1=2)"), HasSubstr("unexpected '=' in the value of 'x'"));
  EXPECT_THAT(call_error("adam(1 x"), HasSubstr("missing ')'"));
}

TEST(ParseCall, ReportsAMissingName) {
  EXPECT_THAT(call_error(""), HasSubstr("expected a name but the text ended"));
  EXPECT_THAT(call_error("  (lr=1)"), HasSubstr("expected a name but found '(' (at offset 2)"));
}

TEST(ParseCallList, ReportsEmptyEntriesAndMissingCommas) {
  auto list_error = [](const std::string& text) {
    return spec_error([&] { parse_call_list(text, "architecture"); });
  };
  EXPECT_THAT(list_error("relu,,dense(1)"), HasSubstr("expected a name but found ','"));
  EXPECT_THAT(list_error("relu,"), HasSubstr("expected a name but the text ended"));
  EXPECT_THAT(list_error("relu dense(1)"), HasSubstr("expected ',' between entries but found 'd'"));
  EXPECT_THAT(list_error("dense(1"), HasSubstr("architecture \"dense(1\": missing ')'"));
}

TEST(ParseReal, ReadsDecimalLiterals) {
  EXPECT_EQ(parse_real(value("0.001"), "sgd"), 0.001);
  EXPECT_EQ(parse_real(value("1e-3"), "sgd"), 1e-3);
  EXPECT_EQ(parse_real(value("-2.5"), "sgd"), -2.5);
  EXPECT_EQ(parse_real(value("+3"), "sgd"), 3.0);
  EXPECT_EQ(parse_real(value(".5"), "sgd"), 0.5);
  EXPECT_EQ(parse_real(value("1E2"), "sgd"), 100.0);
  EXPECT_EQ(parse_real(value("0.1"), "sgd"), 0.1);
}

TEST(ParseReal, ReadsHexadecimalLiterals) {
  EXPECT_EQ(parse_real(value("0x1p-3"), "sgd"), 0.125);
  EXPECT_EQ(parse_real(value("-0x1.8p1"), "sgd"), -3.0);
  EXPECT_EQ(parse_real(value("0X1P3"), "sgd"), 8.0);
  EXPECT_EQ(parse_real(value("+0x10"), "sgd"), 16.0);
  EXPECT_EQ(parse_real(value("0x1.999999999999ap-4"), "sgd"), 0.1);
}

TEST(ParseReal, KeepsTheSignOfNegativeZero) {
  EXPECT_TRUE(std::signbit(parse_real(value("-0"), "sgd")));
  EXPECT_TRUE(std::signbit(parse_real(value("-0x0p0"), "sgd")));
  EXPECT_FALSE(std::signbit(parse_real(value("0"), "sgd")));
}

TEST(ParseReal, RejectsNanAndInfinity) {
  for (const char* s : {"nan", "NaN", "-nan", "inf", "-inf", "+inf", "infinity"}) {
    EXPECT_THAT(spec_error([&] { parse_real(value(s), "adam"); }), HasSubstr("must be finite")) << s;
  }
}

TEST(ParseReal, RejectsValuesOutOfTheRangeOfADouble) {
  const std::string m = spec_error([] { parse_real(value("1e400"), "adam"); });
  EXPECT_THAT(m, HasSubstr("adam: lr=1e400 is out of the range of a double"));
  EXPECT_THAT(spec_error([] { parse_real(value("-0x1p2000"), "adam"); }), HasSubstr("out of the range"));
}

TEST(ParseReal, RejectsJunkAndDoubledSigns) {
  for (const char* s : {"abc", "1.0x", "", "1e", "0x", "++1", "+-1", "-+1", "0x-1", "-0x-1", "0x+1", "+", "-",
                        " 1", "1 ", "1,5"}) {
    EXPECT_THAT(spec_error([&] { parse_real(value(s), "adam"); }), HasSubstr("is not a number"))
        << "'" << s << "'";
  }
  EXPECT_THAT(spec_error([] { parse_real(value("x", ""), "adam"); }), HasSubstr("adam: value=x"));
}

TEST(ParseBool, AcceptsExactlyZeroOneTrueAndFalse) {
  EXPECT_TRUE(parse_bool(value("1", "nesterov"), "sgd"));
  EXPECT_TRUE(parse_bool(value("true", "nesterov"), "sgd"));
  EXPECT_FALSE(parse_bool(value("0", "nesterov"), "sgd"));
  EXPECT_FALSE(parse_bool(value("false", "nesterov"), "sgd"));
  for (const char* s : {"yes", "True", "2", "", "on"}) {
    EXPECT_THAT(spec_error([&] { parse_bool(value(s, "nesterov"), "sgd"); }),
                HasSubstr("sgd: nesterov=" + std::string(s) + " is not a boolean"));
  }
}

TEST(ParseInt, ReadsSignedIntegersUpToTheInt64Limits) {
  EXPECT_EQ(parse_int(value("42", "units"), "dense"), 42);
  EXPECT_EQ(parse_int(value("-7", "units"), "dense"), -7);
  EXPECT_EQ(parse_int(value("+5", "units"), "dense"), 5);
  EXPECT_EQ(parse_int(value("9223372036854775807", "units"), "dense"),
            std::numeric_limits<std::int64_t>::max());
  EXPECT_EQ(parse_int(value("-9223372036854775808", "units"), "dense"),
            std::numeric_limits<std::int64_t>::min());
}

TEST(ParseInt, RejectsFractionsJunkAndDoubledSigns) {
  for (const char* s : {"1.5", "1e3", "", "+", "+-1", "++1", "abc", "0x10", "7 "}) {
    EXPECT_THAT(spec_error([&] { parse_int(value(s, "units"), "dense"); }),
                HasSubstr("dense: units=" + std::string(s) + " is not an integer"))
        << "'" << s << "'";
  }
}

TEST(ParseInt, RejectsValuesBeyondInt64) {
  EXPECT_THAT(spec_error([] { parse_int(value("9223372036854775808", "units"), "dense"); }),
              HasSubstr("units=9223372036854775808 is out of the range of a 64-bit integer"));
}

TEST(FormatReal, WritesTheShortestDecimal) {
  EXPECT_EQ(format_real(0.1), "0.1");
  EXPECT_EQ(format_real(0.001), "0.001");
  EXPECT_EQ(format_real(1.0), "1");
  EXPECT_EQ(format_real(-0.0), "-0");
  EXPECT_EQ(format_real(1e300), "1e+300");
}

TEST(FormatReal, RoundTripsRandomDoublesBitForBit) {
  const std::uint64_t seed = 20240601;
  Rng rng(seed);
  int checked = 0, subnormals = 0;
  for (int i = 0; i < 100000; ++i) {
    std::uint64_t bits = rng.next_u64();
    if (i % 4 == 0) bits &= 0x800FFFFFFFFFFFFFULL;  // a zero exponent: subnormal (or zero)
    const double x = std::bit_cast<double>(bits);
    if (!std::isfinite(x)) continue;
    subnormals += std::fpclassify(x) == FP_SUBNORMAL;
    const double back = parse_real(value(format_real(x)), "round trip");
    ASSERT_EQ(std::bit_cast<std::uint64_t>(back), bits) << format_real(x) << " seed " << seed;
    ++checked;
  }
  EXPECT_GT(checked, 99000);
  EXPECT_GT(subnormals, 20000);
  for (double x :
       {0.0, -0.0, std::numeric_limits<double>::denorm_min(), -std::numeric_limits<double>::denorm_min(),
        std::numeric_limits<double>::min(), std::numeric_limits<double>::max(),
        -std::numeric_limits<double>::max(), std::numeric_limits<double>::epsilon()}) {
    const double back = parse_real(value(format_real(x)), "round trip");
    EXPECT_EQ(std::bit_cast<std::uint64_t>(back), std::bit_cast<std::uint64_t>(x)) << format_real(x);
  }
}

TEST(RealRange, ContainsRespectsOpenAndClosedBounds) {
  const RealRange closed{0.0, 1.0};
  EXPECT_TRUE(closed.contains(0.0));
  EXPECT_TRUE(closed.contains(1.0));
  EXPECT_TRUE(closed.contains(0.5));
  EXPECT_FALSE(closed.contains(-1e-300));
  EXPECT_FALSE(closed.contains(std::nextafter(1.0, 2.0)));
  const RealRange open{0.0, 1.0, true, true};
  EXPECT_FALSE(open.contains(0.0));
  EXPECT_FALSE(open.contains(1.0));
  EXPECT_TRUE(open.contains(std::numeric_limits<double>::denorm_min()));
  EXPECT_TRUE(open.contains(std::nextafter(1.0, 0.0)));
}

TEST(RealRange, ContainsRejectsNanAndHandlesInfiniteBounds) {
  const double inf = std::numeric_limits<double>::infinity();
  const RealRange half{0.0, inf, false, true};
  EXPECT_FALSE(half.contains(std::numeric_limits<double>::quiet_NaN()));
  EXPECT_TRUE(half.contains(1e308));
  EXPECT_FALSE(half.contains(inf));
  const RealRange all{-inf, inf};
  EXPECT_TRUE(all.contains(-inf));
  EXPECT_FALSE(all.contains(std::numeric_limits<double>::quiet_NaN()));
}

TEST(RealRange, DescribesItselfInIntervalNotation) {
  EXPECT_EQ((RealRange{0.0, 1.0, false, true}).describe(), "[0, 1)");
  EXPECT_EQ((RealRange{0.0, std::numeric_limits<double>::infinity(), false, true}).describe(), "[0, inf)");
  EXPECT_EQ((RealRange{-std::numeric_limits<double>::infinity(), 1.0, true, false}).describe(), "(-inf, 1]");
  EXPECT_EQ((RealRange{0.5, 2.0, true, false}).describe(), "(0.5, 2]");
  EXPECT_EQ((RealRange{1e-8, 0.1}).describe(), "[1e-08, 0.1]");
}

}  // namespace
}  // namespace zerolr
