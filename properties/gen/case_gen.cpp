#include "gen/case_gen.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <sstream>
#include <string_view>
#include <utility>

namespace zerolr::gen {

namespace {

// RapidCheck's size only scales the structure of a case (layer count, widths, sample
// counts); real-valued hyperparameters are drawn from their whole range at every size.
constexpr int kFullSize = 100;

/// lo + (hi - lo) k / 2^20 for k in [0, 2^20): uniform on a grid; shrinks towards lo.
rc::Gen<double> genLinear(double lo, double hi) {
  return rc::gen::resize(kFullSize, rc::gen::map(rc::gen::inRange<int>(0, 1 << 20), [=](int k) {
                           return lo + (hi - lo) * std::ldexp(static_cast<double>(k), -20);
                         }));
}

/// 10^u with u uniform in [lo_exp, hi_exp] on a 1/1000 grid; shrinks towards 10^hi_exp.
rc::Gen<double> genLog(double lo_exp, double hi_exp) {
  const int steps = static_cast<int>(std::lround((hi_exp - lo_exp) * 1000));
  return rc::gen::resize(kFullSize, rc::gen::map(rc::gen::inRange<int>(0, steps + 1), [=](int k) {
                           return std::pow(10.0, hi_exp - static_cast<double>(k) / 1000.0);
                         }));
}

/// An edge value (the first shrinks best) twice as often as a value from `continuous`.
rc::Gen<double> genEdgy(std::vector<double> edges, rc::Gen<double> continuous) {
  return rc::gen::weightedOneOf<double>(
      {{2, rc::gen::elementOf(std::move(edges))}, {1, std::move(continuous)}});
}

/// A positive learning rate in [1e-8, 1].
rc::Gen<double> genPositiveLr() {
  return genEdgy({1e-3, 1.0, 1e-8, 0.1}, genLog(-8, 0));
}

/// The generator a key's Draw describes (optim/rule.h).
rc::Gen<double> genDraw(const Draw& d) {
  rc::Gen<double> continuous = d.scale == Draw::Scale::Log ? genLog(d.lo, d.hi) : genLinear(d.lo, d.hi);
  if (d.n_edges == 0) return continuous;
  return genEdgy(std::vector<double>(d.edges.begin(), d.edges.begin() + static_cast<std::ptrdiff_t>(d.n_edges)),
                 continuous);
}

/// Sets key I of S: booleans either way, reals as their Draw says. The lr is left at its
/// default: every run replaces it by the case's lrs.
template <class S, std::size_t I>
auto setKey() {
  constexpr auto k = S::keys()[I];
  if constexpr (k.kind == Key<S>::Kind::Bool)
    return rc::gen::set(k.flag, rc::gen::arbitrary<bool>());
  else if (std::string_view(k.name) == "lr")
    return rc::gen::set(k.real, rc::gen::just(S{}.*k.real));
  else
    return rc::gen::set(k.real, genDraw(k.draw));
}

/// Settings of rule R, built key by key (so that a counterexample shrinks field by field),
/// repaired to a valid combination where the rule says how, and valid.
template <class R, std::size_t... I>
rc::Gen<OptimizerSpec> genRule(std::index_sequence<I...>) {
  using S = typename R::Settings;
  auto settings = rc::gen::map(rc::gen::build<S>(setKey<S, I>()...), [](S s) {
    if constexpr (requires { R::repair(s); }) R::repair(s);
    return OptimizerSpec(s);
  });
  return rc::gen::suchThat(std::move(settings), [](const OptimizerSpec& spec) {
    try {
      validate(spec);
      return true;
    } catch (const SpecError&) {
      return false;
    }
  });
}

template <class R>
rc::Gen<OptimizerSpec> genRule() {
  return genRule<R>(std::make_index_sequence<R::Settings::keys().size()>());
}

/// A width weighted towards small values.
rc::Gen<Index> genWidth(Index max_width) {
  return rc::gen::weightedOneOf<Index>({{3, rc::gen::inRange<Index>(1, std::min<Index>(8, max_width) + 1)},
                                        {2, rc::gen::inRange<Index>(1, std::min<Index>(16, max_width) + 1)},
                                        {1, rc::gen::inRange<Index>(1, max_width + 1)}});
}

LayerSpec dense(Index units, Init init = Init::Torch) {
  LayerSpec l;
  l.kind = LayerKind::Dense;
  l.units = units;
  l.init = init;
  return l;
}

}  // namespace

rc::Gen<Architecture> genArchitecture(Index inputs, Index outputs, const CaseOptions& o) {
  return rc::gen::exec([=] {
    // Dense first: a hidden layer shrinks towards a dense, the most ordinary layer.
    std::vector<LayerKind> kinds{LayerKind::Dense,    LayerKind::ReLU,    LayerKind::LeakyReLU,
                                 LayerKind::Tanh,     LayerKind::Sigmoid, LayerKind::Softplus,
                                 LayerKind::LayerNorm};
    if (o.allow_dropout) kinds.push_back(LayerKind::Dropout);
    if (o.allow_batchnorm) kinds.push_back(LayerKind::BatchNorm1d);
    Architecture a;
    a.inputs = inputs;
    const int hidden = *rc::gen::inRange(0, o.max_hidden + 1);
    for (int i = 0; i < hidden; ++i) {
      LayerSpec l;
      l.kind = *rc::gen::elementOf(kinds);
      switch (l.kind) {
        case LayerKind::Dense:
          l.units = *genWidth(o.max_width);
          l.init = *rc::gen::element(Init::Torch, Init::XavierUniform, Init::XavierNormal, Init::HeUniform,
                                     Init::HeNormal);
          break;
        case LayerKind::LeakyReLU:
          l.slope = *rc::gen::element(0.01, 0.0, 0.2, -0.5, 1.0);
          break;
        case LayerKind::Softplus:
          l.beta = *rc::gen::element(1.0, 0.5, 2.0, 10.0);
          l.threshold = *rc::gen::element(20.0, 1.0, 5.0);
          break;
        case LayerKind::Dropout:
          l.p = *rc::gen::element(0.5, 0.0, 0.1, 0.9);
          break;
        case LayerKind::BatchNorm1d:
          l.momentum = *rc::gen::element(0.1, 0.0, 1.0, 0.5);
          l.eps = *rc::gen::element(1e-5, 1e-3, 1e-12);
          break;
        case LayerKind::LayerNorm:
          l.eps = *rc::gen::element(1e-5, 1e-3, 1e-12);
          break;
        default:
          break;
      }
      a.layers.push_back(l);
    }
    if (o.require_batchnorm && !a.has_buffers()) {
      LayerSpec bn;
      bn.kind = LayerKind::BatchNorm1d;
      a.layers.insert(a.layers.begin(), bn);
    }
    a.layers.push_back(dense(outputs));
    return a;
  });
}

rc::Gen<LossSpec> genLoss(Index outputs) {
  return rc::gen::exec([=] {
    std::vector<LossKind> kinds{LossKind::Mse, LossKind::Huber, LossKind::BceWithLogits};
    if (outputs >= 2) kinds.push_back(LossKind::CrossEntropy);
    LossSpec l;
    l.kind = *rc::gen::elementOf(kinds);
    if (l.kind == LossKind::Huber) l.delta = *rc::gen::element(1.0, 0.1, 0.5, 5.0);
    return l;
  });
}

rc::Gen<OptimizerSpec> genOptimizer() {
  // Every rule of the registry; shrinks towards the first (plain SGD).
  std::vector<rc::Gen<OptimizerSpec>> rules;
  Rules::for_each([&]<class R>() { rules.push_back(genRule<R>()); });
  return rc::gen::join(rc::gen::elementOf(std::move(rules)));
}

rc::Gen<std::vector<double>> genLrs(LrShape shape, std::int64_t steps) {
  const int cap = static_cast<int>(std::clamp<std::int64_t>(steps, 1, 8));
  switch (shape) {
    case LrShape::Frozen:
      return rc::gen::map(rc::gen::inRange(1, cap + 1), [](int k) { return std::vector<double>(k, 0.0); });
    case LrShape::Positive:
      return rc::gen::exec([=] {
        const int k = *rc::gen::inRange(1, cap + 1);
        return *rc::gen::container<std::vector<double>>(k, genPositiveLr());
      });
    case LrShape::ToZero:
      // A linear decay from a positive lr, reaching 0 at step k and staying there.
      return rc::gen::exec([=] {
        const int k = *rc::gen::inRange(1, cap + 1);
        const double lr0 = *genPositiveLr();
        std::vector<double> lrs;
        for (int i = 0; i < k; ++i) lrs.push_back(lr0 * static_cast<double>(k - i) / k);
        lrs.push_back(0.0);
        return lrs;
      });
    case LrShape::Warmup:
      // Zeros for the first z steps (z < steps when there are at least 2), then positive.
      return rc::gen::exec([=] {
        const int zmax = static_cast<int>(std::clamp<std::int64_t>(steps - 1, 1, 8));
        const int z = *rc::gen::inRange(1, zmax + 1);
        std::vector<double> lrs(z, 0.0);
        const int k = *rc::gen::inRange(1, 4);
        for (int i = 0; i < k; ++i) lrs.push_back(*genPositiveLr());
        return lrs;
      });
    case LrShape::Any:
      break;
  }
  std::vector<rc::Gen<std::vector<double>>> shapes{
      genLrs(LrShape::Frozen, steps), genLrs(LrShape::ToZero, steps), genLrs(LrShape::Positive, steps)};
  if (steps >= 2) shapes.push_back(genLrs(LrShape::Warmup, steps));
  return rc::gen::join(rc::gen::elementOf(shapes));
}

rc::Gen<Case> genCase(const CaseOptions& o) {
  return rc::gen::exec([o] {
    Case c;
    c.scalar = *rc::gen::element(Scalar::Double, Scalar::Float);
    if (o.non_finite) {
      c.regime = Regime::NonFinite;
    } else {
      std::vector<Regime> regimes = o.regimes;
      if (regimes.empty()) regimes.assign(std::begin(kFiniteRegimes), std::end(kFiniteRegimes));
      c.regime = *rc::gen::elementOf(regimes);
    }
    const Index inputs = *rc::gen::inRange<Index>(1, o.max_inputs + 1);
    const Index outputs = *rc::gen::inRange<Index>(1, o.max_outputs + 1);
    c.arch = *genArchitecture(inputs, outputs, o);
    c.loss = *genLoss(outputs);
    c.optimizer = *genOptimizer();
    // A warm-up needs a second step to be more than a freeze.
    const int min_epochs = std::max(o.min_epochs, o.lrs == LrShape::Warmup ? 2 : 1);
    c.epochs = *rc::gen::inRange(min_epochs, std::max(o.max_epochs, min_epochs) + 1);
    const bool bn = c.arch.has_buffers();
    const Index n = *rc::gen::inRange<Index>(bn ? 2 : 1, std::max<Index>(o.max_train, 2) + 1);
    c.batch_size = *rc::gen::inRange<Index>(bn ? 2 : 1, n + 1);
    // Batchnorm needs every batch, the last included, to hold at least 2 samples.
    if (bn && n % c.batch_size == 1) c.batch_size = n;
    const Index n_test = *rc::gen::inRange<Index>(1, o.max_test + 1);
    c.shuffle = o.always_shuffle || *rc::gen::arbitrary<bool>();
    c.model_seed = *rc::gen::inRange<std::uint64_t>(0, 1u << 30);
    c.shuffle_seed = *rc::gen::inRange<std::uint64_t>(0, 1u << 30);
    const auto data_seed = *rc::gen::inRange<std::uint64_t>(0, 1u << 30);
    c.train = make_data(c.regime, n, inputs, c.loss, outputs, c.scalar, data_seed);
    c.test =
        make_data(c.regime, n_test, inputs, c.loss, outputs, c.scalar, data_seed ^ 0x9e3779b97f4a7c15ull);
    c.lrs = *genLrs(o.lrs, c.total_steps());
    c.policy = (o.any_policy || o.non_finite)
                   ? *rc::gen::element(NonFinitePolicy::Raise, NonFinitePolicy::Skip, NonFinitePolicy::Apply)
                   : NonFinitePolicy::Raise;
    c.validate();  // a generator bug is a generation failure, never a silent skip
    return c;
  });
}

rc::Gen<Case> genFrozenCase(CaseOptions o) {
  o.lrs = LrShape::Frozen;
  return genCase(o);
}

rc::Gen<Case> genWarmupCase(CaseOptions o) {
  o.lrs = LrShape::Warmup;
  return genCase(o);
}

rc::Gen<Case> genPositiveLrCase(CaseOptions o) {
  o.lrs = LrShape::Positive;
  return genCase(o);
}

rc::Gen<Case> genNonFiniteCase(CaseOptions o) {
  o.non_finite = true;
  return genCase(o);
}

Verdict judge(const std::string& name, const Case& c, const Factories& f) {
  Verdict v = run_property(name, c, f);
  for (const auto& t : v.tags) RC_TAG(t);
  RC_PRE(v.applicable);
  if (!v.holds())
    RC_FAIL("property '" + name + "' is violated by\n  " + describe(c) +
            "\n  violation: " + v.first_violation() + "\n  token: " + to_token(c));
  return v;
}

std::string merge_rc_params(const std::string& user, const std::string& defaults) {
  auto keys_of = [](const std::string& s) {
    std::vector<std::string> keys;
    std::istringstream in(s);
    for (std::string word; in >> word;) keys.push_back(word.substr(0, word.find('=')));
    return keys;
  };
  const auto user_keys = keys_of(user);
  std::string out = user;
  std::istringstream in(defaults);
  for (std::string word; in >> word;)
    if (std::find(user_keys.begin(), user_keys.end(), word.substr(0, word.find('='))) == user_keys.end())
      out += (out.empty() ? "" : " ") + word;
  return out;
}

namespace {

// ctest passes each test's default RapidCheck settings in ZEROLR_RC_DEFAULTS (see
// properties/CMakeLists.txt). They are merged into RC_PARAMS before main runs, key by key,
// so that a user's RC_PARAMS wins for every key it sets. RapidCheck reads RC_PARAMS lazily,
// on the first property, which runs well after static initialisation.
[[maybe_unused]] const bool kRcDefaultsApplied = [] {
  const char* defaults = std::getenv("ZEROLR_RC_DEFAULTS");
  if (defaults == nullptr) return false;
  const char* user = std::getenv("RC_PARAMS");
  const std::string merged = merge_rc_params(user ? user : "", defaults);
  return ::setenv("RC_PARAMS", merged.c_str(), 1) == 0;
}();

}  // namespace

}  // namespace zerolr::gen

namespace zerolr {

void showValue(const Case& c, std::ostream& os) {
  os << describe(c) << "\n  token: " << to_token(c);
}

}  // namespace zerolr
