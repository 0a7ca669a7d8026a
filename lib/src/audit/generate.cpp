// Generating the audit's cases from a seed: vector cases for each check, and small model
// cases for the freeze property.
#include <cmath>
#include <limits>

#include "audit/parts.h"

namespace zerolr {

namespace {

/// A positive lr: 10^u with u uniform in [lo_exp, hi_exp], rounded to the case's scalar.
double positive_lr(Rng& rng, double lo_exp, double hi_exp) {
  return std::pow(10.0, rng.uniform(lo_exp, hi_exp));
}

/// The lrs of a freeze case: every step at lr = 0, or a schedule that reaches 0 after steps
/// at lr > 0 (a decay to zero, or a jump to zero): every implementation must freeze at
/// each of those zero steps, whatever came before.
std::vector<double> freeze_lrs(Rng& rng, int k) {
  std::vector<double> lrs(static_cast<std::size_t>(k), 0.0);
  const double shape = rng.uniform();
  if (shape < 0.5 || k < 2) return lrs;
  const int positive = 1 + static_cast<int>(rng.below(static_cast<std::uint64_t>(k - 1)));  // < k
  if (shape < 0.8) {
    // Falls to zero: a linear decay over the first steps, then zeros.
    const double lr0 = positive_lr(rng, -4, 0);
    for (int s = 0; s < positive; ++s) lrs[static_cast<std::size_t>(s)] = lr0 * (positive - s) / positive;
  } else {
    // Jumps: a zero warm-up, one step at lr > 0, then zeros again.
    const int at = static_cast<int>(rng.below(static_cast<std::uint64_t>(k - 1)));
    lrs[static_cast<std::size_t>(at)] = positive_lr(rng, -4, 0);
  }
  return lrs;
}

/// Where a vector case's values come from. Weights, gradients and lrs are drawn
/// independently of each other (issue #12): a deviation that only shows when the gradient is
/// small while the weight is not (eps placed differently: a change of about eps / |g| in the
/// step) needs the two magnitudes apart.
struct Source {
  enum class Kind { Regime, Scaled, Eps } kind = Kind::Regime;
  Regime regime = Regime::Normal;  ///< Kind::Regime: the data regimes of the model cases
  double scale = 1;                ///< Kind::Scaled, Kind::Eps: values scale * N(0, 1)
  double zeros = 0;                ///< the probability that an entry is an exact +-0
};

/// A source for weights (eps_regime false) or gradients (true: gradients near sqrt(eps) and
/// below, where the eps terms of Adam, RMSprop, Adagrad and their kin matter, in float too).
Source draw_source(Rng& rng, bool gradients) {
  Source s;
  const double u = rng.uniform();
  if (u < 0.4) {
    s.kind = Source::Kind::Regime;
    s.regime = kFiniteRegimes[rng.below(std::size(kFiniteRegimes))];
  } else if (gradients && u < 0.7) {
    s.kind = Source::Kind::Eps;
    s.scale = std::pow(10.0, rng.uniform(-7, -2));  // sqrt(1e-8) = 1e-4 is in the middle
  } else {
    s.kind = Source::Kind::Scaled;
    s.scale = std::pow(10.0, rng.uniform(gradients ? -10 : -6, 3));
  }
  const double z = rng.uniform();
  s.zeros = z < 0.6 ? 0.0 : (z < 0.85 ? 0.2 : 0.6);
  return s;
}

double draw_from(const Source& s, Scalar scalar, Rng& rng) {
  if (s.zeros > 0 && rng.uniform() < s.zeros) return rng.uniform() < 0.5 ? 0.0 : -0.0;
  if (s.kind == Source::Kind::Regime) return draw_value(s.regime, scalar, rng);
  const double v = s.scale * rng.normal();
  return scalar == Scalar::Float ? static_cast<double>(static_cast<float>(v)) : v;
}

/// An agreement case's lrs (issue #12): steady, rising (a warm-up), falling to zero, or
/// jumping between zero and values of any size; each lr's magnitude drawn apart.
std::vector<double> agreement_lrs(Rng& rng, int k) {
  std::vector<double> lrs(static_cast<std::size_t>(k));
  const double top = positive_lr(rng, -6, 0);
  const double shape = rng.uniform();
  for (int s = 0; s < k; ++s) {
    const auto i = static_cast<std::size_t>(s);
    if (shape < 0.2)
      lrs[i] = top;  // steady
    else if (shape < 0.4)
      lrs[i] = top * (s + 1) / k;  // rising
    else if (shape < 0.6)
      lrs[i] = top * (k - 1 - s) / std::max(1, k - 1);  // falling to zero
    else
      lrs[i] = rng.uniform() < 0.15 ? 0.0 : positive_lr(rng, -6, 0);  // jumping
  }
  return lrs;
}

/// Sizes of 2 to 4 tensors that add up to n (n >= 2).
std::vector<std::size_t> random_split(Rng& rng, std::size_t n) {
  const std::size_t parts = std::min<std::size_t>(n, 2 + rng.below(3));
  std::vector<std::size_t> split(parts, 1);
  for (std::size_t rest = n - parts; rest > 0; --rest) ++split[rng.below(parts)];
  return split;
}

}  // namespace

VectorCase generate_vector(Rng& rng, const std::string& check, Scalar scalar, int steps, bool tensor_lists) {
  VectorCase vc;
  vc.scalar = scalar;
  vc.check = check;
  const std::size_t n = 1 + static_cast<std::size_t>(rng.below(rng.uniform() < 0.5 ? 4 : 24));
  const Source weights = draw_source(rng, false), gradients = draw_source(rng, true);
  for (std::size_t i = 0; i < n; ++i) vc.params.push_back(draw_from(weights, scalar, rng));
  // Agreement cases are sometimes long (up to 4x the steps): warm-up terms end there (RAdam
  // is rectified from about step 6 at beta2 = 0.999, Rprop's step sizes reach their clamp,
  // ASGD's averaging starts at t0), and only cases that reach them can see those coefficients.
  const bool long_run = check == "agreement" && rng.uniform() < 0.25;
  const int k = long_run ? steps + 1 + static_cast<int>(rng.below(static_cast<std::uint64_t>(3 * steps)))
                         : 1 + static_cast<int>(rng.below(static_cast<std::uint64_t>(steps)));
  const int warm = check == "warmup" ? 1 + static_cast<int>(rng.below(static_cast<std::uint64_t>(k))) : 0;
  const int total = k + (check == "warmup" ? 1 : 0);
  const std::vector<double> frozen = freeze_lrs(rng, total);
  const std::vector<double> agreement = agreement_lrs(rng, total);
  for (int s = 0; s < total; ++s) {
    std::vector<double> g;
    for (std::size_t i = 0; i < n; ++i) g.push_back(draw_from(gradients, scalar, rng));
    if (check == "non_finite") {
      const double specials[] = {std::numeric_limits<double>::quiet_NaN(),
                                 std::numeric_limits<double>::infinity(),
                                 -std::numeric_limits<double>::infinity()};
      g[rng.below(n)] = specials[rng.below(3)];
    }
    if (check == "signed_zero") {
      vc.params[rng.below(n)] = -0.0;
      for (auto& v : g) v = -std::abs(v) - 0.5;
    }
    vc.grads.push_back(g);
    double lr = 0;
    if (check == "freeze") lr = frozen[static_cast<std::size_t>(s)];
    if (check == "agreement") lr = agreement[static_cast<std::size_t>(s)];
    if (check == "run") lr = positive_lr(rng, -6, 0.5);  // refusals, crashes, hangs
    if (check == "warmup") lr = s < warm ? 0.0 : positive_lr(rng, -4, -1);
    if (scalar == Scalar::Float) lr = static_cast<double>(static_cast<float>(lr));
    vc.lrs.push_back(lr);
  }
  if (tensor_lists && n >= 2 && rng.uniform() < 0.5) vc.split = random_split(rng, n);
  return vc;
}

Case generate_model_case(Rng& rng, Scalar scalar) {
  static const char* archs[] = {"input(3),dense(4),relu,dense(1)", "input(3),dense(5),tanh,dense(2)",
                                "input(3),dense(4),batchnorm,sigmoid,dense(1)",
                                "input(3),layernorm,dense(4),softplus,dropout(p=0.2),dense(1)"};
  Case c;
  c.scalar = scalar;
  c.arch = Architecture::parse(archs[rng.below(std::size(archs))]);
  c.loss = LossSpec::parse(c.arch.outputs() == 2 ? "cross_entropy" : (rng.uniform() < 0.5 ? "mse" : "bce"));
  // Every step at lr = 0, or a decay to 0 whose last lr (0) repeats for the rest of the run.
  c.lrs = {0.0};
  if (rng.uniform() < 0.4) {
    const double lr0 = positive_lr(rng, -3, -1);
    c.lrs = {lr0, lr0 / 2, 0.0};
  }
  c.epochs = 1 + static_cast<int>(rng.below(2));
  c.batch_size = 2 + static_cast<Index>(rng.below(3));
  c.shuffle = rng.uniform() < 0.5;
  c.model_seed = rng.next_u64() >> 1;
  c.shuffle_seed = rng.next_u64() >> 1;
  c.regime = kFiniteRegimes[rng.below(std::size(kFiniteRegimes))];
  Index n = 2 + static_cast<Index>(rng.below(8));
  if (c.arch.has_buffers() && n % c.batch_size == 1) ++n;
  c.train = make_data(c.regime, n, 3, c.loss, c.arch.outputs(), scalar, rng.next_u64());
  // The test data's regime is drawn apart from the training data's, and the training
  // features' magnitude apart from the regime's (issue #12: independent magnitudes).
  const Regime test_regime = kFiniteRegimes[rng.below(std::size(kFiniteRegimes))];
  c.test = make_data(test_regime, 3, 3, c.loss, c.arch.outputs(), scalar, rng.next_u64());
  if (rng.uniform() < 0.5) {
    const double scale = std::pow(10.0, rng.uniform(-4, 2));
    for (Index i = 0; i < c.train.x.size(); ++i) {
      double& x = c.train.x.data()[i];
      x *= scale;
      if (scalar == Scalar::Float) x = static_cast<double>(static_cast<float>(x));
    }
  }
  return c;
}

}  // namespace zerolr
