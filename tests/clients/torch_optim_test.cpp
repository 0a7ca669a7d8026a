// zerolr's rules against Debian's python3-torch 1.13 itself: every first-order torch.optim
// algorithm, with its single-tensor (foreach=False) and foreach paths, in float64 and
// float32, run through zerolr's Python worker on generated trajectories (varying lrs, zero
// warm-ups, vectors split into several tensors) and compared with zerolr's rule of the same
// settings.
//
// What is asserted, per row and precision:
// - agrees: the audit's trajectory budget holds on every case (no agreement violation). The
//   bits agree only where the formulas are evaluated alike: Rprop is bit-identical
//   everywhere (asserted). The others differ in last bits for a documented reason: torch's
//   CPU kernels fuse a + alpha * b (add with alpha, addcmul) into one FMA on their vectorized
//   paths, and compute 1 - beta^t with pow where zerolr uses -expm1(t log beta); zerolr
//   rounds every operation of the algorithm box.
// - deviates: torch 1.13 differs from the documented algorithm in a known place, and the
//   comparison must show exactly that: agreement violations against zerolr's rule, AND
//   agreement to within a few ulps of scale with an emulation of 1.13's code written below
//   (so the difference is that deviation and nothing else):
//   * NAdam single-tensor: mu_t enters the next product twice (pytorch#92699), and
//     mu_product is a float32 tensor;
//   * NAdam foreach, float64: mu_product is a float32 tensor;
//   * ASGD, float64: eta and mu are float32 tensors;
//   * Adagrad foreach, float64: the decayed lr is computed from the float32 step tensor;
//   * RAdam foreach: its denominator sqrt(v) / sqrt(1 - beta2^t) has no eps, and it is
//     divided by even in the un-rectified phase (coefficient 0): 0 * 0 / 0 = NaN wherever
//     a gradient entry has been 0 so far. (Found by this test: not in the list.)
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "audit/parts.h"
#include "zerolr/audit/worker.h"

namespace zerolr {
namespace {

// ---- PyTorch 1.13's code, where it departs from the algorithm box ---------------------------

float f32(double v) {
  return static_cast<float>(v);
}
double one_minus_pow(double beta, double t) {
  return 1 - std::pow(beta, t);  // 1.13: 1 - beta ** step, in Python floats
}

/// torch.optim.NAdam in 1.13, single-tensor (twice = true: mu_t multiplied into the next
/// product twice) or foreach; mu_product a float32 tensor in both.
template <bool kTwice>
struct Nadam113 {
  using Settings = NadamSettings;
  template <class T>
  struct State {
    std::int64_t step = 0;
    float mu_product = 1;
    Vector<T> m, v;
  };
  template <class T>
  static State<T> init(const Settings&, Index n) {
    return {0, 1.0f, Vector<T>::Zero(n), Vector<T>::Zero(n)};
  }
  template <class T>
  static std::vector<StateRef<T>> refs(State<T>&) {
    return {};
  }
  template <class T>
  static void update(const Settings& s, State<T>& st, T* p, const T* g_in, Index n, T lr_t) {
    const double lr = static_cast<double>(lr_t), t = static_cast<double>(++st.step);
    const double bc2 = one_minus_pow(s.beta2, t);
    const double mu = s.beta1 * (1. - 0.5 * std::pow(0.96, t * s.momentum_decay));
    const double mu_next = s.beta1 * (1. - 0.5 * std::pow(0.96, (t + 1) * s.momentum_decay));
    st.mu_product = f32(st.mu_product * f32(mu));
    const double next = kTwice ? static_cast<double>(f32(f32(st.mu_product * f32(mu)) * f32(mu_next)))
                               : static_cast<double>(st.mu_product) * mu_next;
    const T c_g = static_cast<T>(-lr * (1. - mu) / (1. - st.mu_product));
    const T c_m = static_cast<T>(-lr * mu_next / (1. - next));
    for (Index i = 0; i < n; ++i) {
      const T g = s.weight_decay != 0 ? g_in[i] + static_cast<T>(s.weight_decay) * p[i] : g_in[i];
      st.m(i) = st.m(i) * static_cast<T>(s.beta1) + static_cast<T>(1 - s.beta1) * g;
      st.v(i) = st.v(i) * static_cast<T>(s.beta2) + static_cast<T>(1 - s.beta2) * g * g;
      using std::sqrt;
      const T denom = kTwice ? sqrt(st.v(i) / static_cast<T>(bc2)) + static_cast<T>(s.eps)
                             : sqrt(st.v(i)) / static_cast<T>(std::sqrt(bc2)) + static_cast<T>(s.eps);
      p[i] = p[i] + c_g * g / denom;
      p[i] = p[i] + c_m * st.m(i) / denom;
    }
  }
};

/// torch.optim.ASGD in 1.13: eta and mu are float32 tensors.
struct Asgd113 {
  using Settings = AsgdSettings;
  template <class T>
  struct State {
    std::int64_t step = 0;
    float eta = 0, mu = 1;
    Vector<T> ax;
  };
  template <class T>
  static State<T> init(const Settings&, Index n) {
    return {0, 0.0f, 1.0f, Vector<T>::Zero(n)};
  }
  template <class T>
  static std::vector<StateRef<T>> refs(State<T>&) {
    return {};
  }
  template <class T>
  static void update(const Settings& s, State<T>& st, T* p, const T* g_in, Index n, T lr_t) {
    const double lr = static_cast<double>(lr_t);
    if (st.step == 0) st.eta = f32(lr);
    const double t = static_cast<double>(++st.step);
    const T decay = static_cast<T>(1 - s.lambd * static_cast<double>(st.eta));
    const T neg_eta = static_cast<T>(-static_cast<double>(st.eta));
    for (Index i = 0; i < n; ++i) {
      const T g = s.weight_decay != 0 ? g_in[i] + static_cast<T>(s.weight_decay) * p[i] : g_in[i];
      p[i] = p[i] * decay;
      p[i] = p[i] + neg_eta * g;
    }
    st.eta = f32(lr / std::pow(1 + s.lambd * lr * t, s.alpha));
    st.mu = f32(1 / std::max(1.0, t - s.t0));
  }
};

/// torch.optim.Adagrad(foreach=True) in 1.13: -lr / (1 + (step - 1) lr_decay) with step a
/// float32 tensor, so the decayed lr is computed in float32 (and a Python number divided by a
/// tensor is Tensor.__rdiv__: the tensor's reciprocal times the number).
struct Adagrad113Foreach {
  using Settings = AdagradSettings;
  template <class T>
  struct State {
    std::int64_t step = 0;
    Vector<T> sum;
  };
  template <class T>
  static State<T> init(const Settings& s, Index n) {
    return {0, Vector<T>::Constant(n, static_cast<T>(s.initial_accumulator_value))};
  }
  template <class T>
  static std::vector<StateRef<T>> refs(State<T>&) {
    return {};
  }
  template <class T>
  static void update(const Settings& s, State<T>& st, T* p, const T* g_in, Index n, T lr_t) {
    const float step = f32(static_cast<double>(++st.step));
    const float decayed = f32(1 + f32(f32(step - 1) * f32(s.lr_decay)));
    const float minus_clr = f32(f32(1.0f / decayed) * f32(-static_cast<double>(lr_t)));
    for (Index i = 0; i < n; ++i) {
      const T g = s.weight_decay != 0 ? g_in[i] + static_cast<T>(s.weight_decay) * p[i] : g_in[i];
      st.sum(i) = st.sum(i) + g * g;
      using std::sqrt;
      p[i] = p[i] + (g * static_cast<T>(minus_clr)) / (sqrt(st.sum(i)) + static_cast<T>(s.eps));
    }
  }
};

/// torch.optim.RAdam(foreach=True) in 1.13: no eps in the denominator, which is divided by
/// in both phases (with coefficient 0 in the un-rectified one).
struct Radam113Foreach {
  using Settings = RadamSettings;
  template <class T>
  struct State {
    std::int64_t step = 0;
    Vector<T> m, v;
  };
  template <class T>
  static State<T> init(const Settings&, Index n) {
    return {0, Vector<T>::Zero(n), Vector<T>::Zero(n)};
  }
  template <class T>
  static std::vector<StateRef<T>> refs(State<T>&) {
    return {};
  }
  template <class T>
  static void update(const Settings& s, State<T>& st, T* p, const T* g_in, Index n, T lr_t) {
    const double lr = static_cast<double>(lr_t), t = static_cast<double>(++st.step);
    const double rho_inf = 2 / (1 - s.beta2) - 1;
    const double rho_t = rho_inf - 2 * t * std::pow(s.beta2, t) / (1 - std::pow(s.beta2, t));
    const double bc1 = one_minus_pow(s.beta1, t), bc2 = one_minus_pow(s.beta2, t);
    const double rect =
        rho_t > 5 ? std::sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
                  : 0;
    const double unrectified = rect > 0 ? 0 : 1.;
    const T size1 = static_cast<T>((lr * rect / bc1) * -1),
            size2 = static_cast<T>((lr * unrectified / bc1) * -1);
    for (Index i = 0; i < n; ++i) {
      const T g = s.weight_decay != 0 ? g_in[i] + static_cast<T>(s.weight_decay) * p[i] : g_in[i];
      st.m(i) = st.m(i) * static_cast<T>(s.beta1) + static_cast<T>(1 - s.beta1) * g;
      st.v(i) = st.v(i) * static_cast<T>(s.beta2) + static_cast<T>(1 - s.beta2) * g * g;
      using std::sqrt;
      const T denom = sqrt(st.v(i)) / static_cast<T>(std::sqrt(bc2));
      p[i] = p[i] + size1 * st.m(i) / denom;
      p[i] = p[i] + size2 * st.m(i) / T(1);
    }
  }
};

// ---- the comparison ---------------------------------------------------------------------------

using Emulator = std::function<std::unique_ptr<Optimizer<double>>(const OptimizerSpec&)>;
using EmulatorF = std::function<std::unique_ptr<Optimizer<float>>(const OptimizerSpec&)>;

template <class Rule>
std::pair<Emulator, EmulatorF> emulate() {
  return {[](const OptimizerSpec& s) {
            return std::make_unique<RuleOptimizer<double, Rule>>(std::get<typename Rule::Settings>(s));
          },
          [](const OptimizerSpec& s) {
            return std::make_unique<RuleOptimizer<float, Rule>>(std::get<typename Rule::Settings>(s));
          }};
}

enum class Expect { Agrees, Deviates };

struct Row {
  const char* torch;
  Expect f64, f32;
  std::function<std::pair<Emulator, EmulatorF>()> emulation;  ///< 1.13's code, for a deviation
  bool bit_identical;                                         ///< the formulas are evaluated alike
};

void PrintTo(const Row& r, std::ostream* os) {
  *os << r.torch;
}

/// How far a trajectory is from another, in ulps of each coordinate's scale (the largest
/// magnitude it has held): a rounding difference where an update nearly cancels a parameter
/// is hundreds of ulps of the small result, but a fraction of an ulp of the scale.
template <class T>
double scale_ulps(const std::vector<std::vector<double>>& a, const std::vector<std::vector<double>>& b,
                  const std::vector<double>& start) {
  double worst = 0;
  std::vector<double> scale(start.size());
  for (std::size_t i = 0; i < start.size(); ++i) scale[i] = std::fabs(start[i]);
  for (std::size_t k = 0; k < a.size(); ++k)
    for (std::size_t i = 0; i < start.size(); ++i) {
      scale[i] = std::max({scale[i], std::fabs(a[k][i]), std::fabs(b[k][i])});
      if (std::isnan(a[k][i]) && std::isnan(b[k][i])) continue;
      if (std::isnan(a[k][i]) != std::isnan(b[k][i])) return std::numeric_limits<double>::infinity();
      if (a[k][i] == b[k][i]) continue;
      const double ulp = std::max(scale[i], static_cast<double>(std::numeric_limits<T>::min())) *
                         static_cast<double>(std::numeric_limits<T>::epsilon());
      worst = std::max(worst, std::fabs(a[k][i] - b[k][i]) / ulp);
    }
  return worst;
}

/// An optimizer's trajectory on the case (each tensor of the split stepped in turn).
template <class T>
std::vector<std::vector<double>> run_rule(Optimizer<T>& opt, const VectorCase& vc) {
  std::vector<T> p;
  for (double v : vc.params) p.push_back(static_cast<T>(v));
  std::vector<std::vector<double>> out;
  for (std::size_t k = 0; k < vc.lrs.size(); ++k) {
    std::vector<T> g;
    for (double v : vc.grads[k]) g.push_back(static_cast<T>(v));
    std::size_t off = 0, t = 0;
    for (std::size_t n : vc.tensors()) {
      opt.step_tensor(t++, p.data() + off, g.data() + off, static_cast<Index>(n), static_cast<T>(vc.lrs[k]));
      off += n;
    }
    out.emplace_back(p.begin(), p.end());
  }
  return out;
}

class TorchOptim : public ::testing::TestWithParam<Row> {};

TEST_P(TorchOptim, AgreesWithZerolrsRuleOrDeviatesExactlyAsPyTorch113Does) {
  const Row& row = GetParam();
  const AuditTarget target = worker_target(python_worker_command(row.torch, {}, std::nullopt));
  ASSERT_TRUE(target.claims.has_value()) << "no claims derived for " << row.torch;
  ASSERT_TRUE(target.f32) << row.torch << " serves no float32";
  const OptimizerSpec spec = with_lr(*target.claims, 1.0);
  for (Scalar scalar : {Scalar::Double, Scalar::Float}) {
    const bool f32_case = scalar == Scalar::Float;
    const Expect expect = f32_case ? row.f32 : row.f64;
    SCOPED_TRACE(std::string(row.torch) + (f32_case ? " float32" : " float64"));
    Rng rng(20261130);
    int violations = 0, cases = 0;
    long same_bits = 0, entries = 0;
    double emulation_ulps = 0;
    std::string first_violation;
    for (int i = 0; i < 40; ++i) {
      const VectorCase vc = generate_vector(rng, i % 3 == 0 ? "warmup" : "agreement", scalar, 6, true);
      const Trajectory tr = target.remote->run(vc, 20000);
      ASSERT_TRUE(tr.failure.empty()) << tr.failure;
      ASSERT_EQ(tr.steps.size(), vc.lrs.size());
      std::vector<std::vector<double>> got;
      for (const auto& s : tr.steps) {
        ASSERT_EQ(s.status, StepRecord::Status::Stepped) << s.message;
        got.push_back(s.params);
      }
      ++cases;
      for (const auto& v : judge_vector_case(vc, tr, target.subject()))
        for (const auto& f : v.findings)
          if (f.cls == FindingClass::Violation) {
            ++violations;
            if (first_violation.empty()) first_violation = f.message + " [" + vc.token() + "]";
          }
      // The bits against zerolr's own rule in the same precision.
      std::vector<std::vector<double>> ours;
      if (f32_case) {
        auto opt = make_optimizer<float>(spec);
        ours = run_rule(*opt, vc);
      } else {
        auto opt = make_optimizer<double>(spec);
        ours = run_rule(*opt, vc);
      }
      for (std::size_t k = 0; k < got.size(); ++k)
        for (std::size_t j = 0; j < got[k].size(); ++j) {
          ++entries;
          same_bits += std::memcmp(&got[k][j], &ours[k][j], sizeof(double)) == 0 ||
                       (std::isnan(got[k][j]) && std::isnan(ours[k][j]));
        }
      if (expect == Expect::Deviates) {
        const auto [e64, e32] = row.emulation();
        std::vector<std::vector<double>> emulated;
        std::vector<double> start;
        for (double v : vc.params) start.push_back(f32_case ? static_cast<double>(static_cast<float>(v)) : v);
        if (f32_case) {
          auto opt = e32(spec);
          emulated = run_rule(*opt, vc);
          emulation_ulps = std::max(emulation_ulps, scale_ulps<float>(got, emulated, start));
        } else {
          auto opt = e64(spec);
          emulated = run_rule(*opt, vc);
          emulation_ulps = std::max(emulation_ulps, scale_ulps<double>(got, emulated, start));
        }
      }
    }
    std::printf("%-58s %s: %ld/%ld entries bit-identical to zerolr's rule, %d/%d cases with a violation%s\n",
                row.torch, f32_case ? "float32" : "float64", same_bits, entries, violations, cases,
                expect == Expect::Deviates
                    ? (", 1.13 emulation within " + std::to_string(emulation_ulps) + " ulps of scale").c_str()
                    : "");
    if (expect == Expect::Agrees) {
      EXPECT_EQ(violations, 0) << first_violation;
      if (row.bit_identical) {
        EXPECT_EQ(same_bits, entries) << "the formulas are evaluated alike";
      }
    } else {
      EXPECT_GT(violations, 0) << "the known 1.13 deviation did not show";
      EXPECT_LE(emulation_ulps, 64) << "torch does not follow the emulation of 1.13's code either";
    }
  }
}

// PyTorch 1.13's torch.optim, each with non-default options, on both code paths.
const Row kRows[] = {
    {"torch.optim.SGD(lr=0.01,momentum=0.9,weight_decay=0.01,foreach=False)",
     Expect::Agrees,
     Expect::Agrees,
     {},
     false},
    {"torch.optim.SGD(lr=0.01,momentum=0.9,weight_decay=0.01,foreach=True)",
     Expect::Agrees,
     Expect::Agrees,
     {},
     false},
    {"torch.optim.Adam(weight_decay=0.01,amsgrad=True,foreach=False)",
     Expect::Agrees,
     Expect::Agrees,
     {},
     false},
    {"torch.optim.Adam(weight_decay=0.01,amsgrad=True,foreach=True)",
     Expect::Agrees,
     Expect::Agrees,
     {},
     false},
    {"torch.optim.AdamW(weight_decay=0.1,foreach=False)", Expect::Agrees, Expect::Agrees, {}, false},
    {"torch.optim.AdamW(weight_decay=0.1,foreach=True)", Expect::Agrees, Expect::Agrees, {}, false},
    {"torch.optim.RMSprop(momentum=0.5,centered=True,foreach=False)",
     Expect::Agrees,
     Expect::Agrees,
     {},
     false},
    {"torch.optim.RMSprop(momentum=0.5,centered=True,foreach=True)",
     Expect::Agrees,
     Expect::Agrees,
     {},
     false},
    {"torch.optim.Adagrad(lr_decay=0.01,weight_decay=0.01,foreach=False)",
     Expect::Agrees,
     Expect::Agrees,
     {},
     false},
    {"torch.optim.Adagrad(lr_decay=0.01,weight_decay=0.01,foreach=True)", Expect::Deviates, Expect::Agrees,
     emulate<Adagrad113Foreach>, false},
    {"torch.optim.NAdam(weight_decay=0.01,foreach=False)", Expect::Deviates, Expect::Deviates,
     emulate<Nadam113<true>>, false},
    {"torch.optim.NAdam(weight_decay=0.01,foreach=True)", Expect::Deviates, Expect::Agrees,
     emulate<Nadam113<false>>, false},
    {"torch.optim.RAdam(weight_decay=0.01,foreach=False)", Expect::Agrees, Expect::Agrees, {}, false},
    {"torch.optim.RAdam(weight_decay=0.01,foreach=True)", Expect::Deviates, Expect::Deviates,
     emulate<Radam113Foreach>, false},
    {"torch.optim.Adamax(weight_decay=0.01,foreach=False)", Expect::Agrees, Expect::Agrees, {}, false},
    {"torch.optim.Adamax(weight_decay=0.01,foreach=True)", Expect::Agrees, Expect::Agrees, {}, false},
    {"torch.optim.Adadelta(weight_decay=0.01,foreach=False)", Expect::Agrees, Expect::Agrees, {}, false},
    {"torch.optim.Adadelta(weight_decay=0.01,foreach=True)", Expect::Agrees, Expect::Agrees, {}, false},
    {"torch.optim.ASGD(t0=2,lambd=0.01,foreach=False)", Expect::Deviates, Expect::Agrees, emulate<Asgd113>,
     false},
    {"torch.optim.ASGD(t0=2,lambd=0.01,foreach=True)", Expect::Deviates, Expect::Agrees, emulate<Asgd113>,
     false},
    {"torch.optim.Rprop(etas=(0.4,1.5),step_sizes=(1e-05,10),foreach=False)",
     Expect::Agrees,
     Expect::Agrees,
     {},
     true},
    {"torch.optim.Rprop(etas=(0.4,1.5),step_sizes=(1e-05,10),foreach=True)",
     Expect::Agrees,
     Expect::Agrees,
     {},
     true},
};

INSTANTIATE_TEST_SUITE_P(Torch113, TorchOptim, ::testing::ValuesIn(kRows));

}  // namespace
}  // namespace zerolr
