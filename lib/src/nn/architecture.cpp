#include <cmath>

#include "zerolr/nn/layer.h"
#include "zerolr/spec_syntax.h"

namespace zerolr {

namespace {

constexpr const char* kWhat = "architecture spec";

struct KindName {
  LayerKind kind;
  const char* name;
};
constexpr KindName kKinds[] = {
    {LayerKind::Dense, "dense"},          {LayerKind::ReLU, "relu"},
    {LayerKind::LeakyReLU, "leaky_relu"}, {LayerKind::Tanh, "tanh"},
    {LayerKind::Sigmoid, "sigmoid"},      {LayerKind::Softplus, "softplus"},
    {LayerKind::Dropout, "dropout"},      {LayerKind::BatchNorm1d, "batchnorm"},
    {LayerKind::LayerNorm, "layernorm"},
};

struct InitName {
  Init init;
  const char* name;
};
constexpr InitName kInits[] = {
    {Init::Torch, "torch"},
    {Init::XavierUniform, "xavier_uniform"},
    {Init::XavierNormal, "xavier_normal"},
    {Init::HeUniform, "he_uniform"},
    {Init::HeNormal, "he_normal"},
};

std::string known_kinds() {
  std::string s;
  for (const auto& k : kKinds) s += (s.empty() ? "" : ", ") + std::string(k.name);
  return s;
}

// The keys of each kind, in order; a bare value binds to the first.
std::vector<std::string> keys_of(LayerKind kind) {
  switch (kind) {
    case LayerKind::Dense:
      return {"units", "init"};
    case LayerKind::LeakyReLU:
      return {"slope"};
    case LayerKind::Softplus:
      return {"beta", "threshold"};
    case LayerKind::Dropout:
      return {"p"};
    case LayerKind::BatchNorm1d:
      return {"momentum", "eps"};
    case LayerKind::LayerNorm:
      return {"eps"};
    default:
      return {};
  }
}

void check_range(const std::string& layer, const char* key, double v, const RealRange& r) {
  if (!r.contains(v))
    throw SpecError(std::string(kWhat) + ": " + layer + " " + key + "=" + format_real(v) +
                    " is out of range: must be in " + r.describe());
}

LayerSpec layer_from_call(const SpecCall& call) {
  LayerSpec spec;
  bool found = false;
  for (const auto& k : kKinds)
    if (call.name == k.name) {
      spec.kind = k.kind;
      found = true;
    }
  if (!found)
    throw SpecError(std::string(kWhat) + ": unknown layer '" + call.name + "' (known: " + known_kinds() +
                    ")");
  const auto keys = keys_of(spec.kind);
  std::vector<std::string> seen;
  bool units_given = false;
  for (std::size_t i = 0; i < call.args.size(); ++i) {
    SpecArg arg = call.args[i];
    if (arg.key.empty()) {
      if (i != 0 || keys.empty())
        throw SpecError(std::string(kWhat) + ": " + call.name + " takes no positional value '" + arg.value +
                        "'" + (keys.empty() ? " (it has no settings)" : ""));
      arg.key = keys.front();
    }
    bool valid = false;
    for (const auto& k : keys) valid = valid || k == arg.key;
    if (!valid) {
      std::string list;
      for (const auto& k : keys) list += (list.empty() ? "" : ", ") + k;
      throw SpecError(std::string(kWhat) + ": " + call.name + " has no key '" + arg.key + "'" +
                      (list.empty() ? " (it has no settings)" : " (valid keys: " + list + ")"));
    }
    for (const auto& s : seen)
      if (s == arg.key)
        throw SpecError(std::string(kWhat) + ": " + call.name + " repeats key '" + arg.key + "'");
    seen.push_back(arg.key);
    if (arg.key == "units") {
      const auto u = parse_int(arg, kWhat);
      if (u < 1 || u > (1 << 24))
        throw SpecError(std::string(kWhat) + ": dense units=" + arg.value +
                        " is out of range: must be in [1, 16777216]");
      spec.units = u;
      units_given = true;
    } else if (arg.key == "init") {
      bool ok = false;
      for (const auto& in : kInits)
        if (arg.value == in.name) {
          spec.init = in.init;
          ok = true;
        }
      if (!ok)
        throw SpecError(std::string(kWhat) + ": dense init=" + arg.value +
                        " is unknown (known: torch, xavier_uniform, xavier_normal, he_uniform, he_normal)");
    } else {
      const double v = parse_real(arg, kWhat);
      if (arg.key == "slope") spec.slope = v;
      if (arg.key == "beta") spec.beta = v;
      if (arg.key == "threshold") spec.threshold = v;
      if (arg.key == "p") spec.p = v;
      if (arg.key == "momentum") spec.momentum = v;
      if (arg.key == "eps") spec.eps = v;
    }
  }
  if (spec.kind == LayerKind::Dense && !units_given)
    throw SpecError(std::string(kWhat) + ": dense needs its number of units, e.g. dense(16)");
  return spec;
}

void validate_layer(const LayerSpec& s) {
  const std::string name = to_string(s.kind);
  switch (s.kind) {
    case LayerKind::Dense:
      if (s.units < 1) throw SpecError(std::string(kWhat) + ": dense units must be at least 1");
      break;
    case LayerKind::Softplus:
      check_range(name, "beta", s.beta, {0, INFINITY, true, true});
      check_range(name, "threshold", s.threshold, {-INFINITY, INFINITY, true, true});
      break;
    case LayerKind::LeakyReLU:
      check_range(name, "slope", s.slope, {-INFINITY, INFINITY, true, true});
      break;
    case LayerKind::Dropout:
      check_range(name, "p", s.p, {0, 1});
      break;
    case LayerKind::BatchNorm1d:
      check_range(name, "momentum", s.momentum, {0, 1});
      check_range(name, "eps", s.eps, {0, INFINITY, true, true});
      break;
    case LayerKind::LayerNorm:
      check_range(name, "eps", s.eps, {0, INFINITY, true, true});
      break;
    default:
      break;
  }
}

}  // namespace

std::string to_string(LayerKind kind) {
  for (const auto& k : kKinds)
    if (k.kind == kind) return k.name;
  return "?";
}

std::string to_string(const LayerSpec& s) {
  const LayerSpec d;
  std::vector<std::string> args;
  switch (s.kind) {
    case LayerKind::Dense:
      args.push_back(std::to_string(s.units));
      if (s.init != Init::Torch)
        for (const auto& in : kInits)
          if (in.init == s.init) args.push_back(std::string("init=") + in.name);
      break;
    case LayerKind::LeakyReLU:
      if (s.slope != d.slope) args.push_back("slope=" + format_real(s.slope));
      break;
    case LayerKind::Softplus:
      if (s.beta != d.beta) args.push_back("beta=" + format_real(s.beta));
      if (s.threshold != d.threshold) args.push_back("threshold=" + format_real(s.threshold));
      break;
    case LayerKind::Dropout:
      if (s.p != d.p) args.push_back("p=" + format_real(s.p));
      break;
    case LayerKind::BatchNorm1d:
      if (s.momentum != d.momentum) args.push_back("momentum=" + format_real(s.momentum));
      if (s.eps != d.eps) args.push_back("eps=" + format_real(s.eps));
      break;
    case LayerKind::LayerNorm:
      if (s.eps != d.eps) args.push_back("eps=" + format_real(s.eps));
      break;
    default:
      break;
  }
  std::string out = to_string(s.kind);
  if (!args.empty()) {
    out += "(";
    for (std::size_t i = 0; i < args.size(); ++i) out += (i ? "," : "") + args[i];
    out += ")";
  }
  return out;
}

bool operator==(const LayerSpec& a, const LayerSpec& b) {
  return to_string(a) == to_string(b);
}

Architecture Architecture::parse(const std::string& text) {
  const auto calls = parse_call_list(text, kWhat);
  const auto& first = calls.front();
  if (first.name != "input" || first.args.size() != 1 || !first.args[0].key.empty())
    throw SpecError(std::string(kWhat) + " \"" + text +
                    "\": must start with the input width, e.g. input(4),dense(8),relu,dense(1)");
  Architecture arch;
  const auto in = parse_int(first.args[0], kWhat);
  if (in < 1 || in > (1 << 24))
    throw SpecError(std::string(kWhat) + ": input(" + first.args[0].value +
                    ") is out of range: must be in [1, 16777216]");
  arch.inputs = in;
  for (std::size_t i = 1; i < calls.size(); ++i) arch.layers.push_back(layer_from_call(calls[i]));
  arch.outputs();  // validates
  return arch;
}

std::string Architecture::to_string() const {
  std::string s = "input(" + std::to_string(inputs) + ")";
  for (const auto& l : layers) s += "," + zerolr::to_string(l);
  return s;
}

Index Architecture::outputs() const {
  if (inputs < 1) throw SpecError(std::string(kWhat) + ": the input width must be at least 1");
  Index width = inputs;
  for (const auto& l : layers) {
    validate_layer(l);
    if (l.kind == LayerKind::Dense) width = l.units;
  }
  return width;
}

bool Architecture::has_buffers() const {
  for (const auto& l : layers)
    if (l.kind == LayerKind::BatchNorm1d) return true;
  return false;
}

bool Architecture::has_dropout() const {
  for (const auto& l : layers)
    if (l.kind == LayerKind::Dropout && l.p > 0) return true;
  return false;
}

}  // namespace zerolr
