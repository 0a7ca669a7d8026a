#include "zerolr/audit/case.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <limits>
#include <map>
#include <sstream>

#include "audit/token_util.h"
#include "zerolr/random.h"
#include "zerolr/spec_syntax.h"

namespace zerolr {

namespace {

constexpr const char* kTokenPrefix = "zerolr-case-v1";

struct RegimeName {
  Regime regime;
  const char* name;
};
constexpr RegimeName kRegimes[] = {
    {Regime::Uniform, "uniform"},
    {Regime::Normal, "normal"},
    {Regime::HeavyTailed, "heavy_tailed"},
    {Regime::WideRange, "wide_range"},
    {Regime::Zeros, "zeros"},
    {Regime::Subnormal, "subnormal"},
    {Regime::NotFloat, "not_float"},
    {Regime::NonFinite, "non_finite"},
};

std::string matrix_field(const Matrix<double>& m) {
  std::vector<double> v;
  v.reserve(static_cast<std::size_t>(m.size()));
  for (Index i = 0; i < m.rows(); ++i)
    for (Index j = 0; j < m.cols(); ++j) v.push_back(m(i, j));
  return std::to_string(m.rows()) + "x" + std::to_string(m.cols()) + ":" + join(v);
}

Matrix<double> parse_matrix(const std::string& s, const std::string& field) {
  const std::size_t x = s.find('x'), colon = s.find(':');
  if (x == std::string::npos || colon == std::string::npos || x > colon)
    throw SpecError("case token: field '" + field + "' must be ROWSxCOLS:values");
  const auto rows = parse_int(SpecArg{field, s.substr(0, x), 0}, "case token");
  const auto cols = parse_int(SpecArg{field, s.substr(x + 1, colon - x - 1), 0}, "case token");
  if (rows < 0 || cols < 0 || rows > (1 << 20) || cols > (1 << 20) || rows * cols > (1 << 24))
    throw SpecError("case token: field '" + field + "' has an out-of-range shape");
  const auto values = split_numbers(s.substr(colon + 1), field);
  if (static_cast<std::int64_t>(values.size()) != rows * cols)
    throw SpecError("case token: field '" + field + "' has " + std::to_string(values.size()) +
                    " values for a " + std::to_string(rows) + "x" + std::to_string(cols) + " matrix");
  Matrix<double> m(rows, cols);
  for (Index i = 0; i < rows; ++i)
    for (Index j = 0; j < cols; ++j) m(i, j) = values[static_cast<std::size_t>(i * cols + j)];
  return m;
}

double draw(Regime r, Scalar s, Rng& rng) {
  switch (r) {
    case Regime::Uniform:
      return rng.uniform();
    case Regime::Normal:
      return rng.normal();
    case Regime::HeavyTailed:
      return rng.normal() / (rng.uniform() + 1e-3);
    case Regime::WideRange:
      return (rng.uniform() < 0.5 ? -1.0 : 1.0) * std::pow(10.0, rng.uniform(-30, 30));
    case Regime::Zeros: {
      const double u = rng.uniform();
      return u < 0.4 ? 0.0 : (u < 0.8 ? -0.0 : rng.normal());
    }
    case Regime::Subnormal: {
      const double smallest = s == Scalar::Float ? std::numeric_limits<float>::denorm_min()
                                                 : std::numeric_limits<double>::denorm_min();
      const double u = rng.uniform();
      if (u < 0.2) return 0.0;
      const double k = std::floor(rng.uniform(1, 1 << 20));
      return (u < 0.6 ? -1.0 : 1.0) * k * smallest;
    }
    case Regime::NotFloat: {
      // A float plus a fraction of its float ulp: never representable in float.
      const float f = static_cast<float>(rng.normal());
      const double ulp = static_cast<double>(std::nextafter(std::abs(f), 1e30f)) - std::abs(f);
      return static_cast<double>(f) + (0.1 + 0.3 * rng.uniform()) * ulp;
    }
    case Regime::NonFinite: {
      const double u = rng.uniform();
      if (u < 0.1) return std::numeric_limits<double>::quiet_NaN();
      if (u < 0.15) return std::numeric_limits<double>::infinity();
      if (u < 0.2) return -std::numeric_limits<double>::infinity();
      return rng.normal();
    }
  }
  return 0.0;
}

}  // namespace

double draw_value(Regime regime, Scalar scalar, Rng& rng) {
  double v = draw(regime, scalar, rng);
  if (scalar == Scalar::Float && regime != Regime::NotFloat && std::isfinite(v))
    v = static_cast<double>(static_cast<float>(v));
  return v;
}

std::string to_string(Scalar s) {
  return s == Scalar::Float ? "float" : "double";
}

std::string to_string(Regime r) {
  for (const auto& e : kRegimes)
    if (e.regime == r) return e.name;
  return "?";
}

Regime parse_regime(const std::string& text) {
  for (const auto& e : kRegimes)
    if (text == e.name) return e.regime;
  std::string known;
  for (const auto& e : kRegimes) known += (known.empty() ? "" : ", ") + std::string(e.name);
  throw SpecError("unknown data regime '" + text + "' (known: " + known + ")");
}

std::int64_t Case::total_steps() const {
  const Index n = train.size();
  if (n < 1 || batch_size < 1) return 0;
  return static_cast<std::int64_t>((n + batch_size - 1) / batch_size) * epochs;
}

bool Case::all_lr_zero() const {
  for (double lr : lrs)
    if (lr != 0) return false;
  return true;
}

void Case::validate() const {
  const Index outputs = arch.outputs();
  if (lrs.empty()) throw SpecError("case: lrs must not be empty");
  for (double lr : lrs)
    if (!(lr >= 0) || !std::isfinite(lr)) throw SpecError("case: every lr must be finite and >= 0");
  if (epochs < 1 || epochs > 1000) throw SpecError("case: epochs must be in [1, 1000]");
  if (batch_size < 1) throw SpecError("case: batch_size must be at least 1");
  zerolr::validate(optimizer);
  for (const Dataset<double>* d : {&train, &test}) {
    d->validate();
    if (d->size() < 1) throw ShapeError("case: a data set is empty");
    if (d->features() != arch.inputs)
      throw ShapeError("case: the data has " + std::to_string(d->features()) +
                       " features but the model takes " + std::to_string(arch.inputs));
    if (d->y.cols() != loss_target_columns(loss, outputs))
      throw ShapeError("case: the targets have " + std::to_string(d->y.cols()) + " columns but loss " +
                       loss.to_string() + " needs " + std::to_string(loss_target_columns(loss, outputs)));
  }
  if (loss.kind == LossKind::CrossEntropy && outputs < 2)
    throw ShapeError("case: cross_entropy needs at least 2 outputs");
  if (arch.has_buffers()) {
    const Index last = train.size() % batch_size;
    if (std::min(batch_size, train.size()) < 2 || last == 1)
      throw ShapeError("case: with batchnorm every training batch needs at least 2 samples");
  }
}

Dataset<double> make_data(Regime regime, Index n, Index features, const LossSpec& loss, Index outputs,
                          Scalar scalar, std::uint64_t seed) {
  if (n < 1 || features < 1 || outputs < 1) throw ShapeError("make_data: sizes must be at least 1");
  Rng rng(seed);
  Dataset<double> d;
  d.x.resize(n, features);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < features; ++j)
      d.x(i, j) = draw_value(regime, scalar, rng);  // what a float run sees
  const Index k = loss_target_columns(loss, outputs);
  d.y.resize(n, k);
  for (Index i = 0; i < n; ++i)
    for (Index j = 0; j < k; ++j) {
      double t = 0;
      switch (loss.kind) {
        case LossKind::CrossEntropy:
          t = static_cast<double>(rng.below(static_cast<std::uint64_t>(outputs)));
          break;
        case LossKind::BceWithLogits:
          t = rng.uniform() < 0.5 ? 0.0 : 1.0;
          break;
        default:
          t = scalar == Scalar::Float ? static_cast<double>(static_cast<float>(rng.normal())) : rng.normal();
      }
      d.y(i, j) = t;
    }
  return d;
}

std::string to_token(const Case& c) {
  std::ostringstream s;
  s << kTokenPrefix << "|scalar=" << to_string(c.scalar) << "|arch=" << c.arch.to_string()
    << "|loss=" << c.loss.to_string() << "|opt=" << to_string(c.optimizer) << "|lrs=" << join(c.lrs)
    << "|epochs=" << c.epochs << "|batch=" << c.batch_size << "|shuffle=" << (c.shuffle ? 1 : 0)
    << "|mseed=" << c.model_seed << "|sseed=" << c.shuffle_seed << "|policy=" << to_string(c.policy)
    << "|regime=" << to_string(c.regime) << "|x=" << matrix_field(c.train.x)
    << "|y=" << matrix_field(c.train.y) << "|xt=" << matrix_field(c.test.x)
    << "|yt=" << matrix_field(c.test.y);
  return s.str();
}

Case parse_token(const std::string& token) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    const std::size_t bar = token.find('|', start);
    parts.push_back(token.substr(start, bar - start));
    if (bar == std::string::npos) break;
    start = bar + 1;
  }
  if (parts.empty() || parts[0] != kTokenPrefix)
    throw SpecError(std::string("case token: must start with '") + kTokenPrefix + "|'");
  Case c;
  const char* required[] = {"scalar", "arch",  "loss",   "opt",    "lrs", "epochs", "batch", "shuffle",
                            "mseed",  "sseed", "policy", "regime", "x",   "y",      "xt",    "yt"};
  std::vector<std::string> seen;
  for (std::size_t i = 1; i < parts.size(); ++i) {
    const std::size_t eq = parts[i].find('=');
    if (eq == std::string::npos) throw SpecError("case token: field '" + parts[i] + "' has no '='");
    const std::string key = parts[i].substr(0, eq), value = parts[i].substr(eq + 1);
    for (const auto& k : seen)
      if (k == key) throw SpecError("case token: field '" + key + "' appears twice");
    seen.push_back(key);
    const SpecArg arg{key, value, 0};
    if (key == "scalar") {
      if (value != "float" && value != "double")
        throw SpecError("case token: scalar must be float or double");
      c.scalar = value == "float" ? Scalar::Float : Scalar::Double;
    } else if (key == "arch") {
      c.arch = Architecture::parse(value);
    } else if (key == "loss") {
      c.loss = LossSpec::parse(value);
    } else if (key == "opt") {
      c.optimizer = parse_optimizer_spec(value);
    } else if (key == "lrs") {
      c.lrs = split_numbers(value, key);
    } else if (key == "epochs") {
      c.epochs = static_cast<int>(std::min<std::int64_t>(parse_int(arg, "case token"), 1 << 20));
    } else if (key == "batch") {
      c.batch_size = parse_int(arg, "case token");
    } else if (key == "shuffle") {
      c.shuffle = parse_bool(arg, "case token");
    } else if (key == "mseed" || key == "sseed") {
      std::uint64_t v = 0;
      const auto r = std::from_chars(value.data(), value.data() + value.size(), v);
      if (r.ec != std::errc() || r.ptr != value.data() + value.size())
        throw SpecError("case token: field '" + key + "' is not an unsigned integer");
      (key == "mseed" ? c.model_seed : c.shuffle_seed) = v;
    } else if (key == "policy") {
      c.policy = parse_non_finite_policy(value);
    } else if (key == "regime") {
      c.regime = parse_regime(value);
    } else if (key == "x") {
      c.train.x = parse_matrix(value, key);
    } else if (key == "y") {
      c.train.y = parse_matrix(value, key);
    } else if (key == "xt") {
      c.test.x = parse_matrix(value, key);
    } else if (key == "yt") {
      c.test.y = parse_matrix(value, key);
    } else {
      throw SpecError("case token: unknown field '" + key + "'");
    }
  }
  for (const char* r : required) {
    bool found = false;
    for (const auto& k : seen) found = found || k == r;
    if (!found) throw SpecError(std::string("case token: field '") + r + "' is missing");
  }
  c.validate();
  return c;
}

std::string describe(const Case& c) {
  std::ostringstream s;
  s << to_string(c.scalar) << " " << c.arch.to_string() << " loss=" << c.loss.to_string()
    << " opt=" << to_string(c.optimizer) << " lrs=[";
  for (std::size_t i = 0; i < c.lrs.size() && i < 8; ++i) s << (i ? "," : "") << format_real(c.lrs[i]);
  if (c.lrs.size() > 8) s << ",...(" << c.lrs.size() << ")";
  s << "] epochs=" << c.epochs << " batch=" << c.batch_size << " n=" << c.train.size() << "/" << c.test.size()
    << " regime=" << to_string(c.regime) << (c.shuffle ? " shuffled" : "")
    << " policy=" << to_string(c.policy);
  return s.str();
}

TrainOptions train_options(const Case& c) {
  TrainOptions o;
  o.epochs = c.epochs;
  o.batch_size = c.batch_size;
  o.shuffle = c.shuffle;
  o.seed = c.shuffle_seed;
  o.schedule = Schedule::sequence(c.lrs);
  o.step.non_finite = c.policy;
  return o;
}

// ---- vector cases ------------------------------------------------------------------------

namespace {
constexpr const char* kVecPrefix = "zerolr-vec-v1";
}  // namespace

const std::vector<std::string>& vector_checks() {
  static const std::vector<std::string> checks{"freeze",     "agreement",   "warmup",
                                               "non_finite", "signed_zero", "run"};
  return checks;
}

std::vector<std::size_t> VectorCase::tensors() const {
  if (split.empty()) return {params.size()};
  return split;
}

std::string VectorCase::token() const {
  std::string grads_text;
  for (std::size_t k = 0; k < grads.size(); ++k) grads_text += (k ? ";" : "") + join(grads[k]);
  std::string out = std::string(kVecPrefix) + "|scalar=" + to_string(scalar) + "|check=" + check +
                    "|params=" + join(params) + "|lrs=" + join(lrs) + "|grads=" + grads_text;
  if (!split.empty()) {
    out += "|split=";
    for (std::size_t i = 0; i < split.size(); ++i) out += (i ? "," : "") + std::to_string(split[i]);
  }
  return out;
}

void VectorCase::validate() const {
  if (params.empty() || params.size() > 100000)
    throw SpecError("vector case: params must have 1 to 100000 values");
  if (lrs.empty() || lrs.size() > 100000) throw SpecError("vector case: lrs must have 1 to 100000 values");
  if (grads.size() != lrs.size())
    throw SpecError("vector case: " + std::to_string(grads.size()) + " gradients for " +
                    std::to_string(lrs.size()) + " lrs");
  for (const auto& g : grads)
    if (g.size() != params.size()) throw SpecError("vector case: a gradient's length differs from params'");
  for (double lr : lrs)
    if (!(lr >= 0) || !std::isfinite(lr)) throw SpecError("vector case: every lr must be finite and >= 0");
  if (std::find(vector_checks().begin(), vector_checks().end(), check) == vector_checks().end())
    throw SpecError("vector case: unknown check '" + check + "'");
  if (!split.empty()) {
    std::size_t total = 0;
    for (std::size_t n : split) {
      if (n == 0) throw SpecError("vector case: a tensor of the split has size 0");
      total += n;
    }
    if (total != params.size())
      throw SpecError("vector case: the split's sizes add up to " + std::to_string(total) + ", not " +
                      std::to_string(params.size()));
  }
}

VectorCase VectorCase::parse(const std::string& token) {
  VectorCase vc;
  std::map<std::string, std::string> fields;
  std::size_t start = 0;
  std::vector<std::string> parts;
  for (;;) {
    const std::size_t bar = token.find('|', start);
    parts.push_back(token.substr(start, bar - start));
    if (bar == std::string::npos) break;
    start = bar + 1;
  }
  if (parts.empty() || parts[0] != kVecPrefix)
    throw SpecError(std::string("vector token: must start with '") + kVecPrefix + "|'");
  for (std::size_t i = 1; i < parts.size(); ++i) {
    const std::size_t eq = parts[i].find('=');
    if (eq == std::string::npos) throw SpecError("vector token: field '" + parts[i] + "' has no '='");
    if (!fields.emplace(parts[i].substr(0, eq), parts[i].substr(eq + 1)).second)
      throw SpecError("vector token: field '" + parts[i].substr(0, eq) + "' appears twice");
  }
  for (const char* k : {"scalar", "check", "params", "lrs", "grads"})
    if (!fields.count(k)) throw SpecError(std::string("vector token: field '") + k + "' is missing");
  for (const auto& [key, value] : fields)
    if (key != "scalar" && key != "check" && key != "params" && key != "lrs" && key != "grads" &&
        key != "split")
      throw SpecError("vector token: unknown field '" + key +
                      "' (expected scalar, check, params, lrs, grads, split)");
  if (fields["scalar"] != "float" && fields["scalar"] != "double")
    throw SpecError("vector token: scalar must be float or double");
  vc.scalar = fields["scalar"] == "float" ? Scalar::Float : Scalar::Double;
  vc.check = fields["check"];
  if (std::find(vector_checks().begin(), vector_checks().end(), vc.check) == vector_checks().end())
    throw SpecError("vector token: unknown check '" + vc.check + "'");
  vc.params = split_numbers(fields["params"], "params");
  vc.lrs = split_numbers(fields["lrs"], "lrs");
  const std::string& g = fields["grads"];
  std::size_t s0 = 0;
  for (;;) {
    const std::size_t semi = g.find(';', s0);
    vc.grads.push_back(split_numbers(g.substr(s0, semi - s0), "grads"));
    if (semi == std::string::npos) break;
    s0 = semi + 1;
  }
  if (fields.count("split")) {
    const std::string& sp = fields["split"];
    std::size_t p0 = 0;
    for (;;) {
      const std::size_t comma = sp.find(',', p0);
      const auto n = parse_int(SpecArg{"split", sp.substr(p0, comma - p0), 0}, "vector token");
      if (n < 1 || n > 100000) throw SpecError("vector token: every size in split must be in [1, 100000]");
      vc.split.push_back(static_cast<std::size_t>(n));
      if (comma == std::string::npos) break;
      p0 = comma + 1;
    }
  }
  try {
    vc.validate();
  } catch (const SpecError& e) {
    throw SpecError(std::string("vector token: ") + (e.what() + std::string("vector case: ").size()));
  }
  return vc;
}

}  // namespace zerolr
