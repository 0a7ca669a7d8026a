// Adam against torch.optim.Adam's algorithm box, written out below in scalar long double.

#include "zerolr/optim/rules/adam.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "optim/test_util.h"
#include "zerolr/optim/spec.h"

namespace zerolr {
namespace {

using test::LVec;

/// torch.optim.Adam, one scalar at a time (t counts from 1):
///   g <- g + wd * p
///   m <- b1 m + (1 - b1) g;  v <- b2 v + (1 - b2) g^2
///   m_hat <- m / (1 - b1^t)
///   amsgrad: v_max <- max(v_max, v); v_hat <- v_max / (1 - b2^t)   else v_hat <- v / (1 - b2^t)
///   p <- p - lr m_hat / (sqrt(v_hat) + eps)
struct AdamReference {
  long double lr, beta1, beta2, eps, weight_decay;
  bool amsgrad;
  LVec m, v, v_max;
  int t = 0;

  explicit AdamReference(const AdamSettings& s)
      : lr(s.lr),
        beta1(s.beta1),
        beta2(s.beta2),
        eps(s.eps),
        weight_decay(s.weight_decay),
        amsgrad(s.amsgrad) {}

  void step(LVec& p, const LVec& grad) {
    ++t;
    m.resize(p.size());
    v.resize(p.size());
    v_max.resize(p.size());
    for (std::size_t i = 0; i < p.size(); ++i) {
      long double g = grad[i];
      if (weight_decay != 0) g = g + weight_decay * p[i];
      m[i] = beta1 * m[i] + (1 - beta1) * g;
      v[i] = beta2 * v[i] + (1 - beta2) * g * g;
      const long double m_hat = m[i] / (1 - std::pow(beta1, static_cast<long double>(t)));
      long double v_hat;
      if (amsgrad) {
        v_max[i] = (std::isnan(v_max[i]) || std::isnan(v[i])) ? std::nanl("") : std::max(v_max[i], v[i]);
        v_hat = v_max[i] / (1 - std::pow(beta2, static_cast<long double>(t)));
      } else {
        v_hat = v[i] / (1 - std::pow(beta2, static_cast<long double>(t)));
      }
      p[i] = p[i] - lr * m_hat / (std::sqrt(v_hat) + eps);
    }
  }
};

AdamSettings adam(double lr, double beta1 = 0.9, double beta2 = 0.999, double eps = 1e-8,
                  double weight_decay = 0, bool amsgrad = false) {
  AdamSettings s;
  s.lr = lr;
  s.beta1 = beta1;
  s.beta2 = beta2;
  s.eps = eps;
  s.weight_decay = weight_decay;
  s.amsgrad = amsgrad;
  return s;
}

/// Gradients that shrink fast, so that v falls and amsgrad's maximum matters.
std::vector<LVec> shrinking_gradients() {
  return {{2.0L, -4.0L, 1.0L, 8.0L, -0.5L},
          {0.5L, -1.0L, 0.25L, -1.0L, -0.125L},
          {0.125L, -0.25L, 0.0625L, 0.5L, -0.03125L}};
}

TEST(Adam, FirstStepIsTheLearningRateTimesTheGradientsSign) {
  // m_hat = g, v_hat = g^2: p = 1 - 0.1 * 2 / (2 + 1e-8) = 0.9 + 5e-10 (to 1e-17).
  const auto p = test::run_optimizer<double>(adam(0.1), {1.0L}, {{2.0L}});
  EXPECT_NEAR(p[0][0], 0.9000000005, 1e-15);
  const auto q = test::run_optimizer<double>(adam(0.1, 0.9, 0.999, 0), {1.0L, -1.0L}, {{-3.0L, 0.5L}});
  EXPECT_DOUBLE_EQ(q[0][0], 1.1);
  EXPECT_DOUBLE_EQ(q[0][1], -1.1);
}

TEST(Adam, DefaultFirstThreeStepsMatchTheAlgorithmBox) {
  const AdamSettings s = adam(0.01);
  test::expect_matches_reference(s, AdamReference(s));
}

TEST(Adam, OtherBetasAndEpsMatchTheAlgorithmBox) {
  const AdamSettings s = adam(0.005, 0.5, 0.75, 0.125);
  test::expect_matches_reference(s, AdamReference(s));
}

TEST(Adam, WeightDecayFirstThreeStepsMatchTheAlgorithmBox) {
  const AdamSettings s = adam(0.01, 0.9, 0.999, 1e-8, 0.1);
  test::expect_matches_reference(s, AdamReference(s));
}

TEST(Adam, AmsgradFirstThreeStepsMatchTheAlgorithmBox) {
  const AdamSettings s = adam(0.01, 0.9, 0.5, 1e-8, 0, true);
  test::expect_matches_reference(s, AdamReference(s), test::start_params(), shrinking_gradients());
  // The maximum is in use: it differs from the running average once v has fallen.
  std::unique_ptr<Optimizer<double>> opt;
  test::run_optimizer<double>(s, test::start_params(), shrinking_gradients(), &opt);
  EXPECT_NE(*test::state_named(*opt, 0, "max_exp_avg_sq"), *test::state_named(*opt, 0, "exp_avg_sq"));
}

TEST(Adam, AmsgradWithWeightDecayMatchesTheAlgorithmBox) {
  const AdamSettings s = adam(0.01, 0.8, 0.5, 1e-6, 0.05, true);
  test::expect_matches_reference(s, AdamReference(s), test::start_params(), shrinking_gradients());
}

TEST(Adam, ZeroLearningRateLeavesParametersButAdvancesMomentsAndCounter) {
  const AdamSettings s = adam(0, 0.9, 0.999, 1e-8, 0, true);
  std::unique_ptr<Optimizer<double>> opt;
  const auto traj = test::run_optimizer<double>(s, test::start_params(), test::three_gradients(), &opt);
  for (const auto& p : traj)
    for (std::size_t i = 0; i < p.size(); ++i) EXPECT_EQ(p[i], static_cast<double>(test::start_params()[i]));
  EXPECT_EQ(opt->step_count(0), 3);
  AdamReference ref(s);
  test::reference_trajectory(ref, test::start_params(), test::three_gradients());
  const Vector<double>& m = *test::state_named(*opt, 0, "exp_avg");
  const Vector<double>& v = *test::state_named(*opt, 0, "exp_avg_sq");
  for (Index i = 0; i < m.size(); ++i) {
    EXPECT_LE(test::ulp_distance(m(i), static_cast<double>(ref.m[i])), 4u) << i;
    EXPECT_LE(test::ulp_distance(v(i), static_cast<double>(ref.v[i])), 4u) << i;
  }
}

TEST(Adam, StateNamesFollowPyTorch) {
  std::unique_ptr<Optimizer<float>> plain, ams;
  test::run_optimizer<float>(adam(0.1), {1.0L}, {{1.0L}}, &plain);
  test::run_optimizer<float>(adam(0.1, 0.9, 0.999, 1e-8, 0, true), {1.0L}, {{1.0L}}, &ams);
  EXPECT_EQ(test::state_names(*plain, 0), (std::vector<std::string>{"exp_avg", "exp_avg_sq"}));
  EXPECT_EQ(test::state_names(*ams, 0),
            (std::vector<std::string>{"exp_avg", "exp_avg_sq", "max_exp_avg_sq"}));
  EXPECT_EQ(plain->step_count(0), 1);
}

TEST(Adam, CloneIsDeepAndIndependent) {
  test::expect_clone_is_deep_and_independent(adam(0.01, 0.9, 0.99, 1e-8, 0.01, true));
}

TEST(Adam, EachTensorHasItsOwnBiasCorrectionClock) {
  // Tensor 1 joins at the second step: its first update must use t = 1, not t = 2.
  const AdamSettings s = adam(0.1);
  auto opt = make_optimizer<double>(s);
  Matrix<double> a = test::column<double>({1}), ga = test::column<double>({1});
  Matrix<double> b = test::column<double>({1}), gb = test::column<double>({2});
  opt->step({{"a", &a, &ga}}, 0.1);
  opt->step({{"a", &a, &ga}, {"b", &b, &gb}}, 0.1);
  EXPECT_EQ(opt->step_count(0), 2);
  EXPECT_EQ(opt->step_count(1), 1);
  const auto alone = test::run_optimizer<double>(s, {1.0L}, {{2.0L}});
  EXPECT_EQ(b(0), alone[0][0]);
}

// amsgrad's running maximum is torch.maximum, which propagates NaN: libtorch 1.13, asked for
// steps with gradients [1, 1] then [NaN, 1], holds max_exp_avg_sq = [NaN, 0.001999]. (A plain
// max would keep the first step's 0.001 in entry 0.) Float, double, both ways of stepping.
template <class T>
void check_amsgrad_max_propagates_nan() {
  auto opt = make_optimizer<T>(parse_optimizer_spec("adam(lr=0.1,amsgrad=1)"));
  std::vector<T> p{T(1), T(2)};
  std::vector<T> g{T(1), T(1)};
  opt->step_tensor(0, p.data(), g.data(), 2, T(0.1));
  g[0] = std::numeric_limits<T>::quiet_NaN();
  opt->step_tensor(0, p.data(), g.data(), 2, T(0.1));
  const Vector<T>* vmax = nullptr;
  for (const auto& s : opt->state(0))
    if (s.name == "max_exp_avg_sq") vmax = s.value;
  ASSERT_NE(vmax, nullptr);
  EXPECT_TRUE(std::isnan((*vmax)(0)));
  EXPECT_NEAR(static_cast<double>((*vmax)(1)), 0.001999, 1e-9);
}

TEST(Adam, AmsgradMaximumPropagatesNanAsTorchMaximumDoes) {
  check_amsgrad_max_propagates_nan<float>();
  check_amsgrad_max_propagates_nan<double>();
}

// PyTorch's defaults (torch.optim, 1.13), every key printed in the documented order.
TEST(Adam, DefaultsArePyTorchsInTheDocumentedOrder) {
  EXPECT_EQ(to_string(OptimizerSpec(AdamSettings{})), "adam(lr=0.001,beta1=0.9,beta2=0.999,eps=1e-08,weight_decay=0,amsgrad=0)");
  EXPECT_EQ(parse_optimizer_spec("adam"), OptimizerSpec(AdamSettings{}));
}

}  // namespace
}  // namespace zerolr
