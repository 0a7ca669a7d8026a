#pragma once
// Shared helpers of the optimizer tests: ULP distance, running an optimizer on a small
// vector, and comparing a trajectory with an independent long double reference.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "zerolr/core.h"
#include "zerolr/optim/optimizer.h"
#include "zerolr/optim/spec.h"

namespace zerolr::test {

using LVec = std::vector<long double>;

/// Distance in units in the last place between two doubles: the number of representable
/// doubles between them (0 for equal values, +0 and -0 included). NaN is infinitely far.
inline std::uint64_t ulp_distance(double a, double b) {
  if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<std::uint64_t>::max();
  const auto ordered = [](double x) {
    std::int64_t bits;
    std::memcpy(&bits, &x, sizeof bits);
    // Negative doubles count down from zero so that the integer order is the real order.
    return bits < 0 ? std::numeric_limits<std::int64_t>::min() - bits : bits;
  };
  const std::int64_t ia = ordered(a), ib = ordered(b);
  return ia > ib ? static_cast<std::uint64_t>(ia) - static_cast<std::uint64_t>(ib)
                 : static_cast<std::uint64_t>(ib) - static_cast<std::uint64_t>(ia);
}

/// A column vector holding `values` rounded to T.
template <class T>
Matrix<T> column(const LVec& values) {
  Matrix<T> m(static_cast<Index>(values.size()), 1);
  for (std::size_t i = 0; i < values.size(); ++i) m(static_cast<Index>(i)) = static_cast<T>(values[i]);
  return m;
}

/// Runs make_optimizer<T>(spec) on one tensor starting at p0, one step per gradient, at
/// learning rate `lr` (the spec's own lr by default). Returns the parameters after each step.
template <class T>
std::vector<std::vector<T>> run_optimizer(const OptimizerSpec& spec, const LVec& p0,
                                          const std::vector<LVec>& grads,
                                          std::unique_ptr<Optimizer<T>>* keep = nullptr, double lr = -1) {
  auto opt = make_optimizer<T>(spec);
  Matrix<T> value = column<T>(p0);
  Matrix<T> grad(value.rows(), 1);
  const std::vector<ParamRef<T>> params{{"w", &value, &grad}};
  const T step_lr = static_cast<T>(lr < 0 ? base_lr(spec) : lr);
  std::vector<std::vector<T>> out;
  for (const LVec& g : grads) {
    grad = column<T>(g);
    opt->step(params, step_lr);
    out.emplace_back(value.data(), value.data() + value.size());
  }
  if (keep != nullptr) *keep = std::move(opt);
  return out;
}

/// Steps a scalar reference model (anything with step(LVec& p, const LVec& g)) and returns
/// the parameters after each step.
template <class Ref>
std::vector<LVec> reference_trajectory(Ref& ref, LVec p, const std::vector<LVec>& grads) {
  std::vector<LVec> out;
  for (const LVec& g : grads) {
    ref.step(p, g);
    out.push_back(p);
  }
  return out;
}

/// Every entry within `ulps` of the reference rounded to double.
inline void expect_within_ulps(const std::vector<LVec>& expected, const std::vector<std::vector<double>>& got,
                               std::uint64_t ulps) {
  ASSERT_EQ(expected.size(), got.size());
  for (std::size_t s = 0; s < expected.size(); ++s) {
    ASSERT_EQ(expected[s].size(), got[s].size());
    for (std::size_t i = 0; i < got[s].size(); ++i) {
      const double want = static_cast<double>(expected[s][i]);
      EXPECT_LE(ulp_distance(want, got[s][i]), ulps)
          << "step " << s + 1 << " entry " << i << ": got " << got[s][i] << ", want " << want;
    }
  }
}

/// Every entry within a relative tolerance of the reference (with an absolute floor for
/// entries near zero).
inline void expect_close_relative(const std::vector<LVec>& expected,
                                  const std::vector<std::vector<float>>& got, double rel,
                                  double floor = 1e-4) {
  ASSERT_EQ(expected.size(), got.size());
  for (std::size_t s = 0; s < expected.size(); ++s) {
    ASSERT_EQ(expected[s].size(), got[s].size());
    for (std::size_t i = 0; i < got[s].size(); ++i) {
      const double want = static_cast<double>(expected[s][i]);
      EXPECT_NEAR(got[s][i], want, rel * std::max(std::fabs(want), floor))
          << "step " << s + 1 << " entry " << i;
    }
  }
}

/// The test vector: a negative, a zero and values of very different magnitudes, all exact
/// in float.
inline LVec start_params() {
  return {1.5L, -0.75L, 0.0L, 8.0L, 0.03125L};
}

/// Three different gradients, one per step (exact in float). Each entry keeps its sign
/// where the parameter is small, so the expected values are well conditioned.
inline std::vector<LVec> three_gradients() {
  return {{0.5L, -2.0L, 0.25L, 3.0L, -0.0625L},
          {-0.25L, -1.0L, 0.75L, 4.0L, -0.125L},
          {0.125L, -0.5L, 1.5L, -2.0L, -0.03125L}};
}

/// Runs the spec in double and float and compares both with the reference trajectory:
/// double within 4 ULPs, float within a relative 2e-5.
template <class Ref>
void expect_matches_reference(const OptimizerSpec& spec, Ref ref, const LVec& p0 = start_params(),
                              const std::vector<LVec>& grads = three_gradients()) {
  SCOPED_TRACE(to_string(spec));
  const std::vector<LVec> expected = reference_trajectory(ref, p0, grads);
  expect_within_ulps(expected, run_optimizer<double>(spec, p0, grads), 4);
  expect_close_relative(expected, run_optimizer<float>(spec, p0, grads), 2e-5);
}

/// The named state vector of a tensor, or nullptr.
template <class T>
Vector<T>* state_named(Optimizer<T>& opt, std::size_t tensor, const std::string& name) {
  for (const StateRef<T>& r : opt.state(tensor))
    if (r.name == name) return r.value;
  return nullptr;
}

/// The names of a tensor's state vectors, in order.
template <class T>
std::vector<std::string> state_names(Optimizer<T>& opt, std::size_t tensor) {
  std::vector<std::string> names;
  for (const StateRef<T>& r : opt.state(tensor)) names.push_back(r.name);
  return names;
}

/// clone() is deep: stepping the copy changes neither the original's state nor its
/// counter, and the copy continues exactly as the original would.
inline void expect_clone_is_deep_and_independent(const OptimizerSpec& spec) {
  SCOPED_TRACE(to_string(spec));
  const LVec p0 = start_params();
  const std::vector<LVec> grads = three_gradients();
  std::unique_ptr<Optimizer<double>> original;
  run_optimizer<double>(spec, p0, {grads[0]}, &original);
  ASSERT_EQ(original->step_count(0), 1);
  std::unique_ptr<Optimizer<double>> copy = original->clone();

  std::vector<Vector<double>> before;
  for (const auto& r : original->state(0)) before.push_back(*r.value);

  Matrix<double> value = column<double>(p0);
  Matrix<double> grad = column<double>(grads[1]);
  copy->step({{"w", &value, &grad}}, 0.5);

  EXPECT_EQ(copy->step_count(0), 2);
  EXPECT_EQ(original->step_count(0), 1);
  const auto after = original->state(0);
  ASSERT_EQ(after.size(), before.size());
  for (std::size_t k = 0; k < after.size(); ++k) {
    EXPECT_EQ(*after[k].value, before[k]) << "original's " << after[k].name << " changed";
    EXPECT_NE(after[k].value, copy->state(0)[k].value) << after[k].name << " is shared";
  }

  // The copy and the original, given the same step, land on the same values.
  Matrix<double> value2 = column<double>(p0);
  original->step({{"w", &value2, &grad}}, 0.5);
  EXPECT_EQ(value, value2);
}

}  // namespace zerolr::test
