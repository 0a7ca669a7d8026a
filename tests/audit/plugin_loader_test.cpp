// Loading plug-ins (zerolr/plugin.h): the example AdamW loads and steps exactly as zerolr's
// own AdamW; every malformed plug-in is refused with a reason; clone() replays; a refusal
// that changed the parameters is reported. The plug-ins are built from examples/plugins
// and tests/audit/bad_plugins; their paths arrive as compile definitions.
#include "zerolr/audit/plugin_loader.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <limits>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <variant>
#include <vector>

#include "zerolr/optim/spec.h"

namespace zerolr {
namespace {

using ::testing::HasSubstr;

template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), sizeof(T) * a.size()) == 0;
}

std::shared_ptr<const Plugin> load(const char* path) {
  return std::make_shared<const Plugin>(path);
}

TEST(PluginLoader, LoadsTheExampleAdamW) {
  const Plugin p(ZLR_EXAMPLE_ADAMW);
  EXPECT_EQ(p.name(), "example-adamw");
  EXPECT_TRUE(p.has_f32());
  EXPECT_EQ(p.origin(), ZLR_EXAMPLE_ADAMW);
  ASSERT_TRUE(p.claims().has_value());
  ASSERT_TRUE(std::holds_alternative<AdamWSettings>(*p.claims()));
  const auto& s = std::get<AdamWSettings>(*p.claims());
  EXPECT_EQ(s.beta1, 0.9);
  EXPECT_EQ(s.beta2, 0.999);
  EXPECT_EQ(s.eps, 1e-8);
  EXPECT_EQ(s.weight_decay, 0.01);
  EXPECT_FALSE(s.amsgrad);
}

TEST(PluginLoader, TheBrokenExampleLoadsAndClaimsAdamWToo) {
  const Plugin p(ZLR_EXAMPLE_BROKEN_ADAMW);
  EXPECT_EQ(p.name(), "example-broken-adamw");
  ASSERT_TRUE(p.claims().has_value());
  EXPECT_TRUE(std::holds_alternative<AdamWSettings>(*p.claims()));
}

struct BadPlugin {
  const char* name;
  const char* path;
  const char* reason;
};

void PrintTo(const BadPlugin& b, std::ostream* os) {
  *os << b.name;
}

class PluginLoaderRejects : public ::testing::TestWithParam<BadPlugin> {};

TEST_P(PluginLoaderRejects, WithAReasonNamingTheProblem) {
  const BadPlugin& bad = GetParam();
  try {
    Plugin p(bad.path);
    ADD_FAILURE() << bad.path << " was accepted";
  } catch (const PluginError& e) {
    EXPECT_THAT(e.what(), HasSubstr(bad.reason));
    EXPECT_THAT(e.what(), HasSubstr(bad.path)) << "the message names the plug-in";
  }
}

INSTANTIATE_TEST_SUITE_P(
    BadPlugins, PluginLoaderRejects,
    ::testing::Values(
        BadPlugin{"no_entry", ZLR_BAD_PLUGIN_NO_ENTRY, "does not export zlr_optimizer_plugin_v1"},
        BadPlugin{"wrong_abi", ZLR_BAD_PLUGIN_WRONG_ABI, "unknown abi_version 99"},
        BadPlugin{"null_step", ZLR_BAD_PLUGIN_NULL_STEP, "step is NULL"},
        BadPlugin{"bad_claims", ZLR_BAD_PLUGIN_BAD_CLAIMS, "malformed claims"},
        BadPlugin{"null_name", ZLR_BAD_PLUGIN_NULL_NAME, "has no name"},
        BadPlugin{"returns_null", ZLR_BAD_PLUGIN_RETURNS_NULL, "zlr_optimizer_plugin_v1 returned NULL"}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(PluginLoader, MalformedClaimsSayWhatIsWrongWithThem) {
  EXPECT_THAT([] { Plugin p(ZLR_BAD_PLUGIN_BAD_CLAIMS); },
              ::testing::ThrowsMessage<PluginError>(HasSubstr("beta1")));
}

TEST(PluginLoader, RejectsAMissingFile) {
  const std::string path = std::string(ZLR_EXAMPLE_ADAMW) + ".missing";
  EXPECT_THAT([&] { Plugin p(path); }, ::testing::ThrowsMessage<PluginError>(HasSubstr("no such file")));
}

TEST(PluginLoader, RejectsADirectory) {
  const std::string dir = std::filesystem::path(ZLR_EXAMPLE_ADAMW).parent_path().string();
  EXPECT_THAT([&] { Plugin p(dir); }, ::testing::ThrowsMessage<PluginError>(HasSubstr("is a directory")));
}

TEST(PluginLoader, RejectsAFileThatIsNotASharedLibrary) {
  EXPECT_THAT([] { Plugin p(__FILE__); },
              ::testing::ThrowsMessage<PluginError>(HasSubstr("cannot be loaded")));
}

TEST(PluginLoader, PluginsThatMisbehaveOnlyWhenSteppedStillLoad) {
  EXPECT_NO_THROW(Plugin p(ZLR_BAD_PLUGIN_CRASH_ON_STEP));
  EXPECT_NO_THROW(Plugin p(ZLR_BAD_PLUGIN_HANG_ON_STEP));
  EXPECT_NO_THROW(Plugin p(ZLR_BAD_PLUGIN_LYING_REFUSAL));
}

TEST(ExampleAdamW, CreateRefusesAnEmptyVector) {
  const Plugin p(ZLR_EXAMPLE_ADAMW);
  EXPECT_EQ(p.descriptor().create(0), nullptr);
}

TEST(ExampleAdamW, RefusesANegativeOrNonFiniteLrWithoutTouchingParams) {
  const Plugin p(ZLR_EXAMPLE_ADAMW);
  const auto& d = p.descriptor();
  zlr_state* st = d.create(3);
  ASSERT_NE(st, nullptr);
  const std::vector<double> before{1.0, -2.0, 3.0};
  const std::vector<double> grad{0.5, 0.25, -1.0};
  for (double lr : {-1e-3, -1e-300, std::nan(""), std::numeric_limits<double>::infinity()}) {
    std::vector<double> params = before;
    EXPECT_EQ(d.step(st, lr, params.data(), grad.data(), 3), 1) << "lr " << lr;
    EXPECT_TRUE(same_bits(params, before)) << "lr " << lr;
  }
  std::vector<float> pf{1.0f, -2.0f, 3.0f};
  const std::vector<float> gf{0.5f, 0.25f, -1.0f};
  const std::vector<float> pf_before = pf;
  EXPECT_EQ(d.step_f32(st, -1.0f, pf.data(), gf.data(), 3), 1);
  EXPECT_EQ(d.step_f32(st, std::nanf(""), pf.data(), gf.data(), 3), 1);
  EXPECT_TRUE(same_bits(pf, pf_before));
  d.destroy(st);
}

// The example computes exactly what zerolr's AdamW computes: the same IEEE operations
// (each correctly rounded, so Eigen's vectorized sqrt and division give the scalar results)
// in the same order, the scalar coefficients in double with the same expm1 bias
// corrections, and no contraction into FMA on either side. So the comparison is bit for
// bit, not within ulps; any difference is a bug in one of them.
template <class T>
class ExampleAgainstZerolr : public ::testing::Test {};
using Precisions = ::testing::Types<double, float>;
TYPED_TEST_SUITE(ExampleAgainstZerolr, Precisions);

template <class T>
std::vector<T> random_vector(std::mt19937_64& rng, std::size_t n, double scale) {
  std::normal_distribution<double> normal(0.0, scale);
  std::vector<T> v(n);
  for (auto& x : v) x = static_cast<T>(normal(rng));
  return v;
}

TYPED_TEST(ExampleAgainstZerolr, MatchesZerolrsAdamWBitForBitForTenSteps) {
  using T = TypeParam;
  const std::uint64_t seed = 0x5eed9a11;
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::printf("MatchesZerolrsAdamWBitForBitForTenSteps seed %llu\n", static_cast<unsigned long long>(seed));
  std::mt19937_64 rng(seed);
  const auto plugin = load(ZLR_EXAMPLE_ADAMW);
  PluginOptimizer<T> theirs(plugin);
  auto ours = make_optimizer<T>(*plugin->claims());
  const std::size_t n = 37;
  // Two tensors of different sizes, so that states are kept per tensor.
  std::vector<T> p0 = random_vector<T>(rng, n, 1.0), q0 = p0;
  std::vector<T> p1 = random_vector<T>(rng, 5, 3.0), q1 = p1;
  const T lrs[] = {T(1e-3), T(0.1), T(0), T(0.5), T(3e-4), T(1), T(0), T(2e-2), T(7), T(1e-3)};
  for (int step = 0; step < 10; ++step) {
    SCOPED_TRACE("step " + std::to_string(step));
    const std::vector<T> g0 = random_vector<T>(rng, n, step % 3 == 0 ? 1e-3 : 2.0);
    const std::vector<T> g1 = random_vector<T>(rng, 5, 1.0);
    theirs.step_tensor(0, p0.data(), g0.data(), static_cast<Index>(n), lrs[step]);
    ours->step_tensor(0, q0.data(), g0.data(), static_cast<Index>(n), lrs[step]);
    theirs.step_tensor(1, p1.data(), g1.data(), 5, lrs[step]);
    ours->step_tensor(1, q1.data(), g1.data(), 5, lrs[step]);
    ASSERT_TRUE(same_bits(p0, q0));
    ASSERT_TRUE(same_bits(p1, q1));
  }
  EXPECT_EQ(theirs.step_count(0), 10);
  EXPECT_EQ(theirs.tensor_count(), 2u);
  EXPECT_EQ(theirs.state_size(1), 5);
}

TYPED_TEST(ExampleAgainstZerolr, ACloneReplaysToTheSameState) {
  using T = TypeParam;
  const std::uint64_t seed = 0x5eedc10e;
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937_64 rng(seed);
  const auto plugin = load(ZLR_EXAMPLE_ADAMW);
  PluginOptimizer<T> original(plugin);
  std::vector<T> p = random_vector<T>(rng, 11, 1.0);
  for (int step = 0; step < 4; ++step) {
    const std::vector<T> g = random_vector<T>(rng, 11, 1.0);
    original.step_tensor(0, p.data(), g.data(), 11, T(0.01));
  }
  auto copy = original.clone();
  EXPECT_EQ(copy->step_count(0), 4);
  // The next steps of both, from the same params with the same gradients, agree exactly;
  // they would not if the moments or the step counter had been lost.
  std::vector<T> q = p;
  for (int step = 0; step < 3; ++step) {
    const std::vector<T> g = random_vector<T>(rng, 11, 1.0);
    original.step_tensor(0, p.data(), g.data(), 11, T(0.01));
    copy->step_tensor(0, q.data(), g.data(), 11, T(0.01));
    ASSERT_TRUE(same_bits(p, q)) << "step " << step;
  }
  // A fresh state would step differently (Adam's first step has size lr per coordinate).
  PluginOptimizer<T> fresh(plugin);
  std::vector<T> r = q;
  const std::vector<T> g = random_vector<T>(rng, 11, 1.0);
  copy->step_tensor(0, q.data(), g.data(), 11, T(0.01));
  fresh.step_tensor(0, r.data(), g.data(), 11, T(0.01));
  EXPECT_FALSE(same_bits(q, r));
}

TYPED_TEST(ExampleAgainstZerolr, AZeroLrLeavesParamsUnchangedOnlyInTheCorrectOne) {
  using T = TypeParam;
  std::mt19937_64 rng(0x5eed0000);
  PluginOptimizer<T> correct(load(ZLR_EXAMPLE_ADAMW));
  PluginOptimizer<T> broken(load(ZLR_EXAMPLE_BROKEN_ADAMW));
  const std::vector<T> start = random_vector<T>(rng, 9, 1.0);
  std::vector<T> p = start, q = start;
  for (int step = 0; step < 3; ++step) {
    const std::vector<T> g = random_vector<T>(rng, 9, 1.0);
    correct.step_tensor(0, p.data(), g.data(), 9, T(0));
    broken.step_tensor(0, q.data(), g.data(), 9, T(0));
  }
  EXPECT_TRUE(same_bits(p, start)) << "lr = 0 must leave the parameters as they were";
  EXPECT_FALSE(same_bits(q, start)) << "the broken decay shrinks them by 1 - weight_decay";
  for (std::size_t i = 0; i < start.size(); ++i) EXPECT_LT(std::abs(q[i]), std::abs(start[i]));
}

TYPED_TEST(ExampleAgainstZerolr, ALyingRefusalIsReportedAsARefusal) {
  using T = TypeParam;
  PluginOptimizer<T> liar(load(ZLR_BAD_PLUGIN_LYING_REFUSAL));
  std::vector<T> p{T(1), T(2)};
  const std::vector<T> g{T(1), T(1)};
  // An honest small step first.
  EXPECT_EQ(liar.try_step(0, p.data(), g.data(), 2, T(0.25)), 0);
  EXPECT_EQ(p, (std::vector<T>{T(0.75), T(1.75)}));
  const std::vector<T> kept = p;
  EXPECT_EQ(liar.try_step(0, p.data(), g.data(), 2, T(1)), 7);
  EXPECT_FALSE(same_bits(p, kept)) << "the liar changed the parameters although it refused";
  EXPECT_THROW(liar.step_tensor(0, p.data(), g.data(), 2, T(1)), StepRefused);
  EXPECT_THAT([&] { liar.step_tensor(0, p.data(), g.data(), 2, T(1)); },
              ::testing::ThrowsMessage<StepRefused>(HasSubstr("status 7")));
}

TEST(HangOnStep, IsPlainSgdBelowItsThreshold) {
  PluginOptimizer<double> sgd(load(ZLR_BAD_PLUGIN_HANG_ON_STEP));
  std::vector<double> p{1.0, -1.0};
  const std::vector<double> g{0.5, 2.0};
  sgd.step_tensor(0, p.data(), g.data(), 2, 0.5);
  EXPECT_EQ(p, (std::vector<double>{0.75, -2.0}));
}

TEST(PluginOptimizer, ItsSpecIsTheClaim) {
  const auto plugin = load(ZLR_EXAMPLE_ADAMW);
  const PluginOptimizer<double> opt(plugin);
  EXPECT_EQ(opt.spec(), *plugin->claims());
}

}  // namespace
}  // namespace zerolr
