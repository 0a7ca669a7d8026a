// Shrinking the audit's counterexamples: greedy, keeping a smaller candidate while it still
// shows the finding (the caller's predicate runs and judges it).
#include <cmath>

#include "audit/parts.h"
#include "zerolr/spec_syntax.h"

namespace zerolr {

namespace {

std::string values(const std::vector<double>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + format_real(v[i]);
  return s + "]";
}

/// vc without entry i of the vector (and of its split).
VectorCase without_entry(const VectorCase& vc, std::size_t i) {
  VectorCase c = vc;
  c.params.erase(c.params.begin() + static_cast<std::ptrdiff_t>(i));
  for (auto& g : c.grads) g.erase(g.begin() + static_cast<std::ptrdiff_t>(i));
  if (!c.split.empty()) {
    std::size_t start = 0;
    for (std::size_t t = 0; t < c.split.size(); start += c.split[t], ++t)
      if (i < start + c.split[t]) {
        if (--c.split[t] == 0) c.split.erase(c.split.begin() + static_cast<std::ptrdiff_t>(t));
        break;
      }
    if (c.split.size() <= 1) c.split.clear();
  }
  return c;
}

}  // namespace

VectorCase shrink_vector(VectorCase vc, const std::function<bool(const VectorCase&)>& still_fails,
                         int budget) {
  auto attempt = [&](const VectorCase& cand) {
    if (budget-- <= 0) return false;
    return still_fails(cand);
  };
  bool progress = true;
  while (progress && budget > 0) {
    progress = false;
    // Fewer steps.
    while (vc.lrs.size() > 1) {
      VectorCase c = vc;
      c.lrs.pop_back();
      c.grads.pop_back();
      if (!attempt(c)) break;
      vc = c;
      progress = true;
    }
    // One tensor instead of several.
    if (!vc.split.empty()) {
      VectorCase c = vc;
      c.split.clear();
      if (attempt(c)) vc = c, progress = true;
    }
    // Fewer parameters.
    for (std::size_t i = 0; vc.params.size() > 1 && i < vc.params.size();) {
      const VectorCase c = without_entry(vc, i);
      if (attempt(c)) {
        vc = c;
        progress = true;
      } else {
        ++i;
      }
    }
    // Simpler values: 0, 1, -1 (keeping NaN, inf and signed zeros, which a check may need).
    auto simplify = [&](double& slot, VectorCase& c) {
      for (double simple : {0.0, 1.0, -1.0}) {
        if (slot == simple || !std::isfinite(slot) || (slot == 0 && std::signbit(slot))) return;
        const double old = slot;
        slot = simple;
        if (attempt(c)) {
          vc = c;
          progress = true;
          return;
        }
        slot = old;
      }
    };
    for (std::size_t i = 0; i < vc.params.size(); ++i) {
      VectorCase c = vc;
      simplify(c.params[i], c);
    }
    for (std::size_t k = 0; k < vc.grads.size(); ++k)
      for (std::size_t i = 0; i < vc.grads[k].size(); ++i) {
        VectorCase c = vc;
        simplify(c.grads[k][i], c);
      }
  }
  return vc;
}

Case shrink_model(Case c, const std::function<bool(const Case&)>& still_fails, int budget) {
  auto attempt = [&](const Case& cand) {
    if (budget-- <= 0) return false;
    try {
      cand.validate();
    } catch (const Error&) {
      return false;
    }
    return still_fails(cand);
  };
  auto drop_rows = [](Dataset<double>& d, Index keep) {
    d.x.conservativeResize(keep, Eigen::NoChange);
    d.y.conservativeResize(keep, Eigen::NoChange);
  };
  bool progress = true;
  while (progress && budget > 0) {
    progress = false;
    if (c.epochs > 1) {
      Case k = c;
      k.epochs = 1;
      if (attempt(k)) c = k, progress = true;
    }
    if (c.shuffle) {
      Case k = c;
      k.shuffle = false;
      if (attempt(k)) c = k, progress = true;
    }
    for (Index keep = 1; keep < c.train.size(); ++keep) {
      Case k = c;
      drop_rows(k.train, keep);
      if (attempt(k)) {
        c = k;
        progress = true;
        break;
      }
    }
    if (c.test.size() > 1) {
      Case k = c;
      drop_rows(k.test, 1);
      if (attempt(k)) c = k, progress = true;
    }
  }
  return c;
}

std::string readable(const VectorCase& vc) {
  std::string s = to_string(vc.scalar) + ", n = " + std::to_string(vc.params.size());
  if (!vc.split.empty()) {
    s += " as tensors of";
    for (std::size_t n : vc.split) s += " " + std::to_string(n);
  }
  s += ", " + std::to_string(vc.lrs.size()) + " step(s): params " + values(vc.params);
  for (std::size_t k = 0; k < vc.grads.size(); ++k)
    s += "; step " + std::to_string(k + 1) + ": lr " + format_real(vc.lrs[k]) + ", grad " +
         values(vc.grads[k]);
  return s;
}

}  // namespace zerolr
