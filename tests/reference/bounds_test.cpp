// Running forward-error bounds (zerolr/reference/bounds.h): every computed output and loss
// lies within its bound of the exact value, which the lifted reference replay (113-bit)
// stands in for; the bounds are not vacuous (error/bound ratios are reported); a hand-worked
// Dense bound; a wrong computation is caught; libm stays within the assumed 4 ulps.

#include "zerolr/reference/bounds.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <limits>
#include <map>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include "zerolr/random.h"
#include "zerolr/reference/lift.h"
#include "zerolr/scalar/reference.h"

namespace zerolr {
namespace {

using R = Reference;
constexpr double kInf = std::numeric_limits<double>::infinity();

std::uint64_t base_seed() {
  if (const char* s = std::getenv("ZEROLR_BOUNDS_SEED")) return std::strtoull(s, nullptr, 0);
  return 0x5EED0B0D5ULL;
}

/// |a - b| for a working value against the reference, in double (rounded up is not needed:
/// the test's allowance covers it).
template <class T>
double distance(T a, const R& b) {
  const R d = abs(R(a) - b);
  return static_cast<double>(d);
}

/// Whether a claimed bound holds: |computed - reference| <= bound, with an allowance of
/// 2^-40 of the bound for the reference's own (~2^-100 relative) error. Nothing is claimed
/// where the bound is +inf.
template <class T>
bool holds(T computed, double bound, const R& ref, double* err = nullptr) {
  if (bound == kInf) return true;
  if (!std::isfinite(computed) || std::isnan(bound)) return false;
  const double e = distance(computed, ref);
  if (err) *err = e;
  return e <= bound * (1 + 0x1.0p-40);
}

/// The number of entries of `value` whose bound does not hold against `ref`.
template <class T>
Index count_violations(const Matrix<T>& value, const Matrix<double>& bound, const Matrix<R>& ref) {
  Index bad = 0;
  for (Index k = 0; k < value.size(); ++k)
    if (!holds(value.data()[k], bound.data()[k], ref.data()[k])) ++bad;
  return bad;
}

// ---------------------------------------------------------------------------------------
// Random cases.

LayerSpec random_nonlinear(Rng& rng, bool allow_norm) {
  LayerSpec s;
  const int pick = static_cast<int>(rng.below(allow_norm ? 9 : 7));
  switch (pick) {
    case 0:
      s.kind = LayerKind::ReLU;
      break;
    case 1:
      s.kind = LayerKind::LeakyReLU;
      s.slope = rng.below(2) ? 0.01 : rng.uniform(-2, 2);
      break;
    case 2:
      s.kind = LayerKind::Tanh;
      break;
    case 3:
      s.kind = LayerKind::Sigmoid;
      break;
    case 4:
      s.kind = LayerKind::Softplus;
      s.beta = rng.below(2) ? 1.0 : std::exp(rng.uniform(-2.5, 2.5));
      s.threshold = rng.below(2) ? 20.0 : rng.uniform(-5, 30);
      break;
    case 5:
    case 6: {
      s.kind = LayerKind::Dropout;
      const double ps[] = {0.0, 0.1, 0.5, 0.9, 1.0 / 3.0};
      s.p = ps[rng.below(5)];
      break;
    }
    case 7:
      s.kind = LayerKind::BatchNorm1d;
      s.eps = rng.below(2) ? 1e-5 : std::pow(10.0, rng.uniform(-12, 0));
      s.momentum = rng.uniform(0, 1);
      break;
    default:
      s.kind = LayerKind::LayerNorm;
      s.eps = rng.below(2) ? 1e-5 : std::pow(10.0, rng.uniform(-12, 0));
      break;
  }
  return s;
}

struct Case {
  Architecture arch;
  Mode mode = Mode::Eval;
  Index batch = 1;
  int regime = 0;
  LossSpec loss;
  std::string describe() const {
    static const char* regimes[] = {"uniform", "normal", "cauchy", "wide", "zeros", "subnormal", "mixed"};
    std::ostringstream o;
    o << arch.to_string() << " mode=" << (mode == Mode::Train ? "train" : "eval") << " batch=" << batch
      << " regime=" << regimes[regime] << " loss=" << loss.to_string();
    return o.str();
  }
};

Case random_case(Rng& rng) {
  Case c;
  c.arch.inputs = 1 + static_cast<Index>(rng.below(rng.below(2) ? 4 : 32));
  c.mode = rng.below(2) ? Mode::Train : Mode::Eval;
  const int hidden = static_cast<int>(rng.below(5));
  const bool tiny = rng.below(4) == 0;  // narrow models keep the runtime down
  for (int h = 0; h < hidden; ++h) {
    LayerSpec d;
    d.kind = LayerKind::Dense;
    d.units = 1 + static_cast<Index>(rng.below(tiny ? 4 : 32));
    d.init = static_cast<Init>(rng.below(5));
    if (rng.below(6) != 0) c.arch.layers.push_back(d);
    const int extra = static_cast<int>(rng.below(3));
    for (int k = 0; k < extra; ++k) c.arch.layers.push_back(random_nonlinear(rng, true));
  }
  const int lk = static_cast<int>(rng.below(4));
  c.loss.kind = static_cast<LossKind>(lk);
  if (c.loss.kind == LossKind::Huber) c.loss.delta = rng.below(2) ? 1.0 : std::exp(rng.uniform(-3, 3));
  LayerSpec out;
  out.kind = LayerKind::Dense;
  out.units = (c.loss.kind == LossKind::CrossEntropy ? 2 : 1) + static_cast<Index>(rng.below(4));
  c.arch.layers.push_back(out);
  if (rng.below(4) == 0) c.arch.layers.push_back(random_nonlinear(rng, true));
  bool bn = false;
  for (const auto& l : c.arch.layers) bn = bn || l.kind == LayerKind::BatchNorm1d;
  c.batch = 1 + static_cast<Index>(rng.below(16));
  if (bn && c.mode == Mode::Train && c.batch < 2) c.batch = 2;
  c.regime = static_cast<int>(rng.below(7));
  if (c.loss.kind == LossKind::CrossEntropy && c.arch.outputs() < 2) c.loss.kind = LossKind::Mse;
  return c;
}

template <class T>
T random_entry(Rng& rng, int regime) {
  const double sign = rng.below(2) ? 1.0 : -1.0;
  const double tiny = std::is_same_v<T, float> ? 1e-40 : 1e-310;
  switch (regime) {
    case 0:
      return static_cast<T>(rng.uniform(-1, 1));
    case 1:
      return static_cast<T>(rng.normal());
    case 2:
      return static_cast<T>(std::tan(3.141592653589793 * (rng.uniform() - 0.5)));
    case 3:
      return static_cast<T>(sign * std::pow(10.0, rng.uniform(-30, 30)));
    case 4: {
      const int k = static_cast<int>(rng.below(3));
      return k == 0 ? T(0) : k == 1 ? T(-0.0) : static_cast<T>(rng.uniform(-1, 1));
    }
    case 5:
      return rng.below(2) ? static_cast<T>(sign * tiny * rng.uniform()) : static_cast<T>(rng.uniform(-1, 1));
    default:
      return random_entry<T>(rng, static_cast<int>(rng.below(6)));
  }
}

template <class T>
void randomise_state(Sequential<T>& model, Rng& rng, int regime) {
  for (Index i = 0; i < model.size(); ++i) {
    auto& l = model.layer(i);
    const LayerSpec s = l.spec();
    std::vector<ParamRef<T>> ps;
    l.collect_parameters(ps, "");
    std::vector<BufferRef<T>> bs;
    l.collect_buffers(bs, "");
    if (s.kind == LayerKind::Dense && regime == 3 && rng.below(2)) {
      const double scale = std::pow(10.0, rng.uniform(-10, 10));
      for (auto& p : ps) *p.value = (*p.value * static_cast<T>(scale)).eval();
    }
    if (s.kind == LayerKind::BatchNorm1d || s.kind == LayerKind::LayerNorm) {
      if (rng.below(2))
        for (auto& p : ps)
          for (Index k = 0; k < p.value->size(); ++k) p.value->data()[k] = static_cast<T>(rng.normal());
      if (!bs.empty() && rng.below(2)) {
        for (Index k = 0; k < bs[0].value->size(); ++k) bs[0].value->data()[k] = static_cast<T>(rng.normal());
        for (Index k = 0; k < bs[1].value->size(); ++k)
          bs[1].value->data()[k] = static_cast<T>(std::exp(2 * rng.normal()));
      }
    }
    if (s.kind == LayerKind::Dropout) l.set_random_state(rng.below(100));
  }
}

template <class T>
Matrix<T> random_target(Rng& rng, const LossSpec& loss, Index n, Index k) {
  Matrix<T> t(n, loss_target_columns(loss, k));
  for (Index i = 0; i < t.size(); ++i) {
    switch (loss.kind) {
      case LossKind::BceWithLogits:
        t.data()[i] = rng.below(2) ? static_cast<T>(rng.below(2)) : static_cast<T>(rng.uniform());
        break;
      case LossKind::CrossEntropy:
        t.data()[i] = static_cast<T>(rng.below(static_cast<std::uint64_t>(k)));
        break;
      default:
        t.data()[i] = static_cast<T>(rng.normal());
    }
  }
  return t;
}

struct Stats {
  std::vector<double> ratios, loss_ratios;
  std::map<std::string, std::vector<double>> by_last;  ///< output ratios by the last layer's kind
  std::map<std::string, Index> unclaimed_by_last;
  Index entries = 0, unclaimed = 0, failures = 0, cases = 0;
  double worst = 0;
  std::string worst_case;
};

double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[static_cast<std::size_t>(q * static_cast<double>(v.size() - 1))];
}

template <class T>
void run_case(std::uint64_t seed, Stats& st) {
  Rng rng(seed);
  const Case c = random_case(rng);
  Sequential<T> model(c.arch, rng.next_u64());
  randomise_state(model, rng, c.regime);
  Matrix<T> x(c.batch, c.arch.inputs);
  for (Index k = 0; k < x.size(); ++k) x.data()[k] = random_entry<T>(rng, c.regime);
  const Matrix<T> t = random_target<T>(rng, c.loss, c.batch, c.arch.outputs());
  // Lift before the working forward: Train mode moves running statistics and Dropout streams.
  Sequential<R> ref = lift<R>(model);
  const Matrix<R> xr = lift<R>(x), tr = lift<R>(t);
  const BoundedForward<T> bf = bounded_forward(model, x, c.mode, &c.loss, &t);
  const Matrix<R>& yr = ref.forward(xr, c.mode);
  const R lr = loss_value<R>(c.loss, yr, tr);
  ++st.cases;
  auto record = [&](T v, double b, const R& r, std::vector<double>& ratios, const char* what, Index k) {
    ++st.entries;
    double err = 0;
    if (b == kInf) {
      ++st.unclaimed;
      return;
    }
    if (!holds(v, b, r, &err)) {
      ++st.failures;
      const double over = std::isfinite(err) && b > 0 ? err / b : kInf;
      if (over >= st.worst) {
        st.worst = over;
        std::ostringstream o;
        o << "seed=" << seed << " " << what << "[" << k << "] computed=" << static_cast<double>(v)
          << " reference=" << static_cast<double>(r) << " bound=" << b << " err=" << err << "  "
          << c.describe();
        st.worst_case = o.str();
      }
      return;
    }
    if (b > 0) ratios.push_back(err / b);
  };
  const std::string last = to_string(c.arch.layers.back().kind);
  for (Index k = 0; k < bf.value.size(); ++k) {
    record(bf.value.data()[k], bf.bound.data()[k], yr.data()[k], st.ratios, "output", k);
    const double b = bf.bound.data()[k];
    double err = 0;
    if (b == kInf)
      ++st.unclaimed_by_last[last];
    else if (b > 0 && holds(bf.value.data()[k], b, yr.data()[k], &err))
      st.by_last[last].push_back(err / b);
  }
  record(bf.loss, bf.loss_bound, lr, st.loss_ratios, "loss", 0);
}

template <class T>
Stats run_many(std::uint64_t base, int cases) {
  Stats st;
  for (int i = 0; i < cases; ++i) run_case<T>(mix_seed(base, static_cast<std::uint64_t>(i)), st);
  return st;
}

void report(const char* name, const Stats& st) {
  std::cout << "[bounds] " << name << ": " << st.cases << " cases, " << st.entries << " entries, "
            << st.unclaimed << " unclaimed (+inf), " << st.failures << " failures; error/bound median "
            << quantile(st.ratios, 0.5) << " p90 " << quantile(st.ratios, 0.9) << " max "
            << quantile(st.ratios, 1.0) << "; loss median " << quantile(st.loss_ratios, 0.5) << " max "
            << quantile(st.loss_ratios, 1.0) << "\n";
  for (const auto& [kind, r] : st.by_last)
    std::cout << "[bounds]   " << name << " ending in " << kind << ": " << r.size() << " entries, median "
              << quantile(r, 0.5) << " max " << quantile(r, 1.0) << ", unclaimed "
              << (st.unclaimed_by_last.count(kind) ? st.unclaimed_by_last.at(kind) : 0) << "\n";
  if (st.failures) std::cout << "[bounds] worst violation: " << st.worst_case << "\n";
  const std::string p = std::string(name) + "_";
  ::testing::Test::RecordProperty(p + "median_ratio", std::to_string(quantile(st.ratios, 0.5)));
  ::testing::Test::RecordProperty(p + "max_ratio", std::to_string(quantile(st.ratios, 1.0)));
  ::testing::Test::RecordProperty(p + "loss_median_ratio", std::to_string(quantile(st.loss_ratios, 0.5)));
  ::testing::Test::RecordProperty(p + "failures", std::to_string(st.failures));
}

TEST(BoundedForward, EveryOutputAndLossIsWithinItsBoundOfTheReference) {
  const std::uint64_t base = base_seed();
  std::cout << "[bounds] base seed " << base << " (set ZEROLR_BOUNDS_SEED to replay)\n";
  const auto t0 = std::chrono::steady_clock::now();
  const Stats f = run_many<float>(mix_seed(base, 1), 5000);
  const Stats d = run_many<double>(mix_seed(base, 2), 5000);
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  report("float", f);
  report("double", d);
  std::cout << "[bounds] 10000 cases in " << secs << " s\n";
  EXPECT_EQ(f.failures, 0) << f.worst_case;
  EXPECT_EQ(d.failures, 0) << d.worst_case;
  // Not vacuous: the typical error is a visible fraction of the bound.
  EXPECT_GT(quantile(f.ratios, 0.5), 1e-6);
  EXPECT_GT(quantile(d.ratios, 0.5), 1e-6);
}

TEST(BoundedForward, ValueIsTheModelsOwnForwardBitForBit) {
  Rng rng(base_seed() ^ 7);
  for (int i = 0; i < 200; ++i) {
    const Case c = random_case(rng);
    Sequential<double> a(c.arch, rng.next_u64());
    randomise_state(a, rng, c.regime);
    Sequential<double> b(a);
    Matrix<double> x(c.batch, c.arch.inputs);
    for (Index k = 0; k < x.size(); ++k) x.data()[k] = random_entry<double>(rng, c.regime);
    const Matrix<double> want = a.forward(x, c.mode);
    const auto got = bounded_forward(b, x, c.mode);
    ASSERT_EQ(want.rows(), got.value.rows());
    for (Index k = 0; k < want.size(); ++k) {
      const double w = want.data()[k], g = got.value.data()[k];
      ASSERT_TRUE((std::isnan(w) && std::isnan(g)) || std::memcmp(&w, &g, sizeof w) == 0) << c.describe();
    }
  }
}

// y = x W^T + b with W = [1 2], b = 0.5, x = [3 4] (float): y = 11.5, and
// bound = gamma_3 (|x||W|^T + |b|) + E|W|^T + 3 mu = gamma_3 * 11.5 + (0.1 + 0.4) + 3 mu.
TEST(BoundedForward, DenseBoundMatchesTheHandWorkedExample) {
  Architecture arch;
  arch.inputs = 2;
  LayerSpec d;
  d.units = 1;
  arch.layers.push_back(d);
  Sequential<float> model(arch, 1);
  auto ps = model.parameters();
  *ps[0].value << 1.0f, 2.0f;
  *ps[1].value << 0.5f;
  Matrix<float> x(1, 2);
  x << 3.0f, 4.0f;
  Matrix<double> ex(1, 2);
  ex << 0.1, 0.2;
  const Matrix<float>& y = model.layer(0).forward(x, Mode::Eval);
  ASSERT_EQ(y(0, 0), 11.5f);
  const double u = 0x1.0p-24, g3 = 3 * u / (1 - 3 * u), mu = std::numeric_limits<float>::denorm_min();
  const Matrix<double> b0 =
      layer_error_bound<float>(model.layer(0), x, Matrix<double>::Zero(1, 2), y, Mode::Eval);
  EXPECT_GE(b0(0, 0), g3 * 11.5 + 3 * mu);
  EXPECT_LE(b0(0, 0), (g3 * 11.5 + 3 * mu) * (1 + 1e-12));
  const Matrix<double> b1 = layer_error_bound<float>(model.layer(0), x, ex, y, Mode::Eval);
  EXPECT_GE(b1(0, 0), g3 * 11.5 + 0.5);
  EXPECT_LE(b1(0, 0), (g3 * 11.5 + 0.5) * (1 + 1e-12));
}

TEST(BoundedForward, AWrongComputationIsCaught) {
  Rng rng(base_seed() ^ 11);
  int caught = 0, tried = 0;
  for (int i = 0; i < 50; ++i) {
    Case c = random_case(rng);
    c.regime = 0;
    Sequential<double> model(c.arch, rng.next_u64());
    Matrix<double> x(c.batch, c.arch.inputs);
    for (Index k = 0; k < x.size(); ++k) x.data()[k] = random_entry<double>(rng, 0);
    Sequential<R> ref = lift<R>(model);
    auto bf = bounded_forward(model, x, c.mode);
    const Matrix<R>& yr = ref.forward(lift<R>(x), c.mode);
    ASSERT_EQ(count_violations(bf.value, bf.bound, yr), 0) << c.describe();
    const Index k = static_cast<Index>(rng.below(static_cast<std::uint64_t>(bf.value.size())));
    if (!(bf.bound.data()[k] < kInf)) continue;
    ++tried;
    bf.value.data()[k] += 4 * bf.bound.data()[k] + std::abs(bf.value.data()[k]) * 0x1.0p-50;
    if (count_violations(bf.value, bf.bound, yr) == 1) ++caught;
  }
  ASSERT_GT(tried, 25);
  ASSERT_EQ(caught, tried);
}

// ---------------------------------------------------------------------------------------
// libm: the bounds assume exp, log, log1p and tanh within kLibmUlps ulps.

template <class T>
double ulps(T computed, const R& exact) {
  using std::frexp;
  constexpr int p = std::numeric_limits<T>::digits;
  constexpr int emin = std::numeric_limits<T>::min_exponent - 1;  // exponent of the smallest normal
  if (exact == 0) return computed == 0 ? 0.0 : kInf;
  int e = 0;
  (void)frexp(exact, &e);  // exact = m 2^e with m in [0.5, 1): its binade is 2^(e-1)
  const double ulp = std::ldexp(1.0, std::max(e - 1, emin) - p + 1);
  return static_cast<double>(abs(R(computed) - exact)) / ulp;
}

template <class T>
double sample_max_ulps(const char* fn, int samples, std::uint64_t seed) {
  Rng rng(seed);
  const bool is_float = std::is_same_v<T, float>;
  double worst = 0;
  for (int i = 0; i < samples; ++i) {
    T x{};
    R exact;
    T got{};
    const std::string f = fn;
    if (f == "exp") {
      x = static_cast<T>(rng.below(4) == 0 ? rng.uniform(-1, 1)
                                           : rng.uniform(is_float ? -103 : -745, is_float ? 88 : 709));
      got = std::exp(x), exact = exp(R(x));
    } else if (f == "log") {
      x = static_cast<T>(std::exp(rng.uniform(is_float ? -100 : -740, is_float ? 88 : 709)));
      if (rng.below(4) == 0) x = static_cast<T>(rng.uniform(0.5, 2));
      got = std::log(x), exact = log(R(x));
    } else if (f == "log1p") {
      x = rng.below(2) ? static_cast<T>(rng.uniform(-1, 2)) : static_cast<T>(std::exp(rng.uniform(-100, 80)));
      if (!(x > T(-1))) continue;
      got = std::log1p(x), exact = log1p(R(x));
    } else {
      x = rng.below(2) ? static_cast<T>(rng.uniform(-20, 20)) : static_cast<T>(std::exp(rng.uniform(-60, 3)));
      got = std::tanh(x), exact = tanh(R(x));
    }
    if (!std::isfinite(got)) continue;
    worst = std::max(worst, ulps<T>(got, exact));
  }
  return worst;
}

TEST(Libm, ExpLogLog1pTanhStayWithinTheAssumedUlps) {
  const int samples = 100000;
  for (const char* fn : {"exp", "log", "log1p", "tanh"}) {
    const double f = sample_max_ulps<float>(fn, samples, base_seed() ^ 0xF);
    const double d = sample_max_ulps<double>(fn, samples, base_seed() ^ 0xD);
    std::cout << "[libm] " << fn << ": max " << f << " ulps (float), " << d << " ulps (double) over "
              << samples << " samples each\n";
    ::testing::Test::RecordProperty(std::string(fn) + "_max_ulps_float", std::to_string(f));
    ::testing::Test::RecordProperty(std::string(fn) + "_max_ulps_double", std::to_string(d));
    EXPECT_LE(f, kLibmUlps) << fn;
    EXPECT_LE(d, kLibmUlps) << fn;
  }
}

}  // namespace
}  // namespace zerolr
