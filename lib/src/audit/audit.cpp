// The audit engine: vector and model cases against one optimizer implementation, each case
// in a child process, findings shrunk and replayable.
#include "zerolr/audit/audit.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <limits>
#include <map>
#include <nlohmann/json.hpp>

#include "audit/token_util.h"
#include "zerolr/audit/plugin_loader.h"
#include "zerolr/reference/lift.h"
#include "zerolr/reference/step_check.h"
#include "zerolr/scalar/reference.h"

namespace zerolr {

namespace {

constexpr const char* kVecPrefix = "zerolr-vec-v1";
constexpr double kBudgetRoundings = 32;  // as reference/step_check.h

using Findings = std::vector<AuditFinding>;

// ---------------------------------------------------------------------------------------
// Running one vector case in precision T.

template <class T>
bool same_bits(T a, T b) {
  return std::memcmp(&a, &b, sizeof(T)) == 0;
}

template <class T>
std::string values(const std::vector<T>& v) {
  std::string s = "[";
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + format_real(static_cast<double>(v[i]));
  return s + "]";
}

// An exact value outside T's normal range: above its max, or a nonzero below its min.
template <class T>
bool out_of_range(const Vector<Reference>& v) {
  const Reference hi = Reference((std::numeric_limits<T>::max)()),
                  lo = Reference((std::numeric_limits<T>::min)());
  for (Index i = 0; i < v.size(); ++i) {
    const Reference a = abs(v(i));
    if (isfinite(a) && (a > hi || (a != 0 && a < lo))) return true;
  }
  return false;
}

// T's state shows an overflow or underflow the exact state does not have.
template <class T>
bool diverged_range(const Vector<T>& t, const Vector<Reference>& r) {
  for (Index i = 0; i < t.size() && i < r.size(); ++i)
    if ((!std::isfinite(t(i)) && isfinite(r(i))) || (t(i) == 0 && r(i) != 0)) return true;
  return false;
}

// The claimed rule on a vector case's inputs: zerolr's own run in T and the float128
// reference, step by step, with the trajectory budget and where T's range gave out.
template <class T>
struct ClaimRun {
  bool available = false;              ///< claims present and every gradient finite in T
  std::vector<Vector<Reference>> ref;  ///< reference parameters after each step
  std::vector<std::vector<T>> lib;     ///< zerolr's parameters in T after each step
  std::vector<std::vector<double>> budget;
  std::vector<bool> range_limited;  ///< from this step on
};

template <class T>
ClaimRun<T> claim_run(const AuditTarget& target, const VectorCase& vc, const OptimizerSpec& spec) {
  using R = Reference;
  ClaimRun<T> cr;
  if (!target.claims) return cr;
  for (const auto& g : vc.grads)
    for (double v : g)
      if (!std::isfinite(static_cast<T>(v))) return cr;
  cr.available = true;
  const Index n = static_cast<Index>(vc.params.size());
  auto ref = make_optimizer<R>(spec);
  auto abs_run = make_optimizer<R>(spec);
  auto lib = make_optimizer<T>(spec);
  // The same formula in the next wider type measures how strongly it amplifies rounding
  // (see reference/step_check.h): T's error may be up to 128 (u_T / u_W) times W's.
  using W = std::conditional_t<std::is_same_v<T, float>, double, long double>;
  auto wide = make_optimizer<W>(spec);
  Vector<W> ww(n);
  for (Index i = 0; i < n; ++i)
    ww(i) = static_cast<W>(static_cast<T>(vc.params[static_cast<std::size_t>(i)]));
  const double ratio_wide = (std::numeric_limits<T>::epsilon() / 2) / (std::numeric_limits<W>::epsilon() / 2);
  Vector<R> w(n), wa(n);
  std::vector<T> wl(vc.params.size());
  for (Index i = 0; i < n; ++i) {
    wl[static_cast<std::size_t>(i)] = static_cast<T>(vc.params[static_cast<std::size_t>(i)]);
    w(i) = R(wl[static_cast<std::size_t>(i)]);
    wa(i) = abs(w(i));
  }
  const double u = std::numeric_limits<T>::epsilon() / 2;
  const double amp = amplification(spec);
  std::vector<double> budget(vc.params.size(), 0.0);
  bool range_limited = false;
  for (std::size_t k = 0; k < vc.lrs.size(); ++k) {
    Vector<R> g(n), ga(n);
    std::vector<T> gt(vc.params.size());
    for (Index i = 0; i < n; ++i) {
      gt[static_cast<std::size_t>(i)] = static_cast<T>(vc.grads[k][static_cast<std::size_t>(i)]);
      g(i) = R(gt[static_cast<std::size_t>(i)]);
      ga(i) = abs(g(i));
    }
    const T lr = static_cast<T>(vc.lrs[k]);
    const Vector<R> w_prev = w, wa_prev = wa;
    const Vector<double> cond = step_condition(*ref, 0, w, g, R(lr));
    ref->step_tensor(0, w.data(), g.data(), n, R(lr));
    abs_run->step_tensor(0, wa.data(), ga.data(), n, R(lr));
    lib->step_tensor(0, wl.data(), gt.data(), n, lr);
    Vector<W> gw(n);
    for (Index i = 0; i < n; ++i) gw(i) = static_cast<W>(gt[static_cast<std::size_t>(i)]);
    wide->step_tensor(0, ww.data(), gw.data(), n, static_cast<W>(lr));
    // Once an exact intermediate leaves T's normal range (g*g overflowing in float, a
    // subnormal weight), the budget no longer applies: T itself cannot follow the rule there.
    // zerolr's own run in T shows where.
    range_limited = range_limited || out_of_range<T>(w);
    const auto ls = lib->state(0);
    const auto rs = ref->state(0);
    for (std::size_t q = 0; q < ls.size() && q < rs.size() && !range_limited; ++q)
      range_limited = diverged_range<T>(*ls[q].value, *rs[q].value) || out_of_range<T>(*rs[q].value);
    for (Index i = 0; i < n; ++i) {
      const double scale = static_cast<double>(abs(w_prev(i)) + abs(wa(i) - wa_prev(i))) + cond(i);
      budget[static_cast<std::size_t>(i)] +=
          kBudgetRoundings * u * scale * amp +
          kBudgetRoundings * static_cast<double>(std::numeric_limits<T>::denorm_min());
    }
    std::vector<double> total = budget;
    for (Index i = 0; i < n; ++i)
      if (isfinite(R(ww(i))))
        total[static_cast<std::size_t>(i)] += 128 * ratio_wide * static_cast<double>(abs(R(ww(i)) - w(i)));
    cr.ref.push_back(w);
    cr.lib.push_back(wl);
    cr.budget.push_back(total);
    cr.range_limited.push_back(range_limited);
  }
  return cr;
}

template <class T>
Findings run_vector(const AuditTarget& target, const VectorCase& vc) {
  Findings out;
  auto add = [&](const std::string& property, FindingClass cls, const std::string& message) {
    out.push_back({property, cls, message, "", ""});
  };
  const OptimizerFactory<T>* make;
  if constexpr (std::is_same_v<T, float>)
    make = &target.f32;
  else
    make = &target.f64;
  const OptimizerSpec spec = target.claims ? with_lr(*target.claims, 1.0) : OptimizerSpec{SgdSettings{}};
  const ClaimRun<T> claim = claim_run<T>(target, vc, spec);
  // A NaN or inf that the claimed rule produces too, exactly (a 0/0 of its settings) or in T's
  // own range, is the rule's hazard, not the implementation's fault.
  auto rule_fails_too = [&](std::size_t k, Index i) {
    if (!claim.available) return false;
    const auto ui = static_cast<std::size_t>(i);
    return !isfinite(claim.ref[k](i)) || !std::isfinite(claim.lib[k][ui]) || claim.range_limited[k];
  };
  auto opt = (*make)(spec);
  auto* plugin = dynamic_cast<PluginOptimizer<T>*>(opt.get());
  const Index n = static_cast<Index>(vc.params.size());
  std::vector<T> p(vc.params.size());
  for (std::size_t i = 0; i < p.size(); ++i) p[i] = static_cast<T>(vc.params[i]);
  std::vector<std::vector<T>> traj{p};
  bool refused_any = false, rule_hazard = false;
  const std::size_t steps = vc.lrs.size();
  for (std::size_t k = 0; k < steps; ++k) {
    std::vector<T> g(vc.grads[k].size());
    bool finite = true;
    for (std::size_t i = 0; i < g.size(); ++i) {
      g[i] = static_cast<T>(vc.grads[k][i]);
      finite = finite && std::isfinite(g[i]);
    }
    const T lr = static_cast<T>(vc.lrs[k]);
    const std::vector<T> before = p;
    int status = 0;
    if (plugin)
      status = plugin->try_step(0, p.data(), g.data(), n, lr);
    else
      opt->step_tensor(0, p.data(), g.data(), n, lr);
    const std::string at =
        "step " + std::to_string(k + 1) + " (lr " + format_real(static_cast<double>(lr)) + ")";
    if (status != 0) {
      refused_any = true;
      for (Index i = 0; i < n; ++i)
        if (!same_bits(before[static_cast<std::size_t>(i)], p[static_cast<std::size_t>(i)])) {
          add("refusal", FindingClass::Violation,
              "refused " + at + " with status " + std::to_string(status) + " but changed params[" +
                  std::to_string(i) + "] from " +
                  format_real(static_cast<double>(before[static_cast<std::size_t>(i)])) + " to " +
                  format_real(static_cast<double>(p[static_cast<std::size_t>(i)])));
          break;
        }
      traj.push_back(p);
      continue;
    }
    for (Index i = 0; i < n; ++i) {
      const auto ui = static_cast<std::size_t>(i);
      const bool became_bad = std::isfinite(before[ui]) && !std::isfinite(p[ui]);
      if (became_bad && finite && rule_fails_too(k, i)) {
        add("rule", FindingClass::Hazard,
            at + " turned params[" + std::to_string(i) + "] into " + format_real(static_cast<double>(p[ui])) +
                " with finite gradients, and so does the claimed rule " +
                (claim.range_limited[k] ? "in this precision (its arithmetic overflows or underflows)"
                                        : "in exact arithmetic (a 0/0 of its settings)"));
        rule_hazard = true;
        break;
      }
      if (lr == 0) {
        // A NaN that stays NaN kept its value (an earlier non-finite gradient put it there).
        const bool kept = p[ui] == before[ui] || (std::isnan(p[ui]) && std::isnan(before[ui]));
        if (finite && (!kept || became_bad)) {
          add("freeze", FindingClass::Violation,
              "at lr = 0 with finite gradients, " + at + " changed params[" + std::to_string(i) + "] from " +
                  format_real(static_cast<double>(before[ui])) + " to " +
                  format_real(static_cast<double>(p[ui])));
          break;
        }
        if (!finite && became_bad) {
          add("non_finite", FindingClass::Hazard,
              "a non-finite gradient at lr = 0 reached params[" + std::to_string(i) + "] at " + at + ": " +
                  format_real(static_cast<double>(before[ui])) + " became " +
                  format_real(static_cast<double>(p[ui])) + " (0 * NaN = NaN)");
          break;
        }
        if (p[ui] == before[ui] && p[ui] == 0 && std::signbit(p[ui]) != std::signbit(before[ui])) {
          add("signed_zero", FindingClass::Note,
              "at lr = 0, " + at + " turned params[" + std::to_string(i) + "] from " +
                  (std::signbit(before[ui]) ? "-0" : "+0") + " into " + (std::signbit(p[ui]) ? "-0" : "+0") +
                  " (equal values, different bits)");
          break;
        }
      }
    }
    traj.push_back(p);
    if (rule_hazard) break;
  }

  // Agreement with the claimed rule's reference on the same inputs.
  if (!claim.available || refused_any || rule_hazard || (vc.check != "agreement" && vc.check != "warmup"))
    return out;
  double worst = 0;
  for (std::size_t k = 0; k + 1 < traj.size(); ++k) {
    if (claim.range_limited[k]) {
      out.push_back({"range", FindingClass::Note, "", "", ""});  // internal: a range-limited case
      break;
    }
    for (Index i = 0; i < n; ++i) {
      const auto ui = static_cast<std::size_t>(i);
      const T got = traj[k + 1][ui];
      const Reference& exact = claim.ref[k](i);
      const double budget = claim.budget[k][ui];
      // Non-finite values agree when they are the same: NaN with NaN, an infinity with the
      // same infinity (a case may start from NaN or inf parameters, which a correct rule
      // keeps). Any other pairing with a non-finite side is a mismatch.
      double e_impl;
      if (std::isfinite(got) && isfinite(exact))
        e_impl = static_cast<double>(abs(Reference(got) - exact));
      else if ((std::isnan(got) && isnan(exact)) ||
               (std::isinf(got) && isinf(exact) && std::signbit(got) == (exact < 0)))
        e_impl = 0;
      else
        e_impl = std::numeric_limits<double>::infinity();
      if (e_impl == 0) continue;  // exact agreement (the budget may be NaN from NaN inputs)
      worst = std::max(worst, e_impl / budget);
      if (!(e_impl <= budget)) {
        add(vc.check, FindingClass::Violation,
            "at step " + std::to_string(k + 1) + " params[" + std::to_string(i) + "] is " +
                format_real(static_cast<double>(got)) + " but the claimed rule " + to_string(*target.claims) +
                " gives " + format_real(static_cast<double>(exact)) + " (error " + format_real(e_impl) +
                ", budget " + format_real(budget) + ")");
        return out;
      }
    }
  }
  out.push_back({"ratio", FindingClass::Note, format_real(worst), "", ""});  // internal: worst ratio
  return out;
}

// ---------------------------------------------------------------------------------------
// Isolation: each case runs in a child process; a crash or hang becomes a finding.

nlohmann::json to_json(const Findings& f) {
  nlohmann::json j = nlohmann::json::array();
  for (const auto& x : f)
    j.push_back({{"property", x.property}, {"class", static_cast<int>(x.cls)}, {"message", x.message}});
  return j;
}

Findings from_json(const nlohmann::json& j) {
  Findings out;
  for (const auto& x : j)
    out.push_back({x.at("property").get<std::string>(), static_cast<FindingClass>(x.at("class").get<int>()),
                   x.at("message").get<std::string>(), "", ""});
  return out;
}

template <class Fn>
Findings isolated(const Fn& fn, const AuditOptions& o, const std::string& check) {
  auto guarded = [&]() -> Findings {
    try {
      return fn();
    } catch (const std::exception& e) {
      return {{check, FindingClass::Violation, std::string("the implementation threw: ") + e.what(), "", ""}};
    }
  };
  if (!o.isolate) return guarded();
  int fds[2];
  if (::pipe(fds) != 0) return guarded();
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return guarded();
  }
  if (pid == 0) {
    ::close(fds[0]);
    const std::string text = to_json(guarded()).dump();
    std::size_t off = 0;
    while (off < text.size()) {
      const ssize_t w = ::write(fds[1], text.data() + off, text.size() - off);
      if (w <= 0) break;
      off += static_cast<std::size_t>(w);
    }
    ::close(fds[1]);
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string text;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(o.timeout_ms);
  bool timed_out = false;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now())
            .count();
    if (left <= 0) {
      timed_out = true;
      break;
    }
    pollfd pfd{fds[0], POLLIN, 0};
    const int r = ::poll(&pfd, 1, static_cast<int>(left));
    if (r == 0) {
      timed_out = true;
      break;
    }
    if (r < 0) continue;
    char buf[4096];
    const ssize_t got = ::read(fds[0], buf, sizeof buf);
    if (got <= 0) break;
    text.append(buf, static_cast<std::size_t>(got));
  }
  ::close(fds[0]);
  if (timed_out) ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (timed_out)
    return {{check, FindingClass::Violation, "hung: no result within " + std::to_string(o.timeout_ms) + " ms",
             "", ""}};
  if (WIFSIGNALED(status))
    return {{check, FindingClass::Violation,
             "crashed with signal " + std::to_string(WTERMSIG(status)) + " (" +
                 ::strsignal(WTERMSIG(status)) + ")",
             "", ""}};
  try {
    return from_json(nlohmann::json::parse(text));
  } catch (const std::exception&) {
    return {{check, FindingClass::Violation,
             "exited (status " + std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) +
                 ") without a result",
             "", ""}};
  }
}

Findings run_vector_isolated(const AuditTarget& t, const VectorCase& vc, const AuditOptions& o) {
  return isolated(
      [&] { return vc.scalar == Scalar::Float ? run_vector<float>(t, vc) : run_vector<double>(t, vc); }, o,
      vc.check);
}

Findings run_model_isolated(const AuditTarget& t, const Case& c, const AuditOptions& o) {
  return isolated(
      [&] {
        Factories f = Factories::library();
        if (t.f32) f.f32 = t.f32;
        f.f64 = t.f64;
        const Verdict v = prop_freeze(c, f);
        Findings out;
        for (const auto& x : v.findings) out.push_back({"freeze(model)", x.cls, x.message, "", ""});
        return out;
      },
      o, "freeze(model)");
}

// ---------------------------------------------------------------------------------------
// Generation.

VectorCase generate_vector(Rng& rng, const std::string& check, Scalar scalar, int steps) {
  VectorCase vc;
  vc.scalar = scalar;
  vc.check = check;
  const std::size_t n = 1 + static_cast<std::size_t>(rng.below(rng.uniform() < 0.5 ? 4 : 24));
  const Regime regime = kFiniteRegimes[rng.below(std::size(kFiniteRegimes))];
  for (std::size_t i = 0; i < n; ++i) vc.params.push_back(draw_value(regime, scalar, rng));
  const int k = 1 + static_cast<int>(rng.below(static_cast<std::uint64_t>(steps)));
  const int warm = check == "warmup" ? 1 + static_cast<int>(rng.below(static_cast<std::uint64_t>(k))) : 0;
  for (int s = 0; s < k + (check == "warmup" ? 1 : 0); ++s) {
    std::vector<double> g;
    for (std::size_t i = 0; i < n; ++i) g.push_back(draw_value(regime, scalar, rng));
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
    if (check == "agreement") lr = rng.uniform() < 0.15 ? 0.0 : std::pow(10.0, rng.uniform(-6, 0));
    if (check == "run") lr = std::pow(10.0, rng.uniform(-6, 0.5));  // refusals, crashes, hangs
    if (check == "warmup") lr = s < warm ? 0.0 : std::pow(10.0, rng.uniform(-4, -1));
    if (scalar == Scalar::Float) lr = static_cast<double>(static_cast<float>(lr));
    vc.lrs.push_back(lr);
  }
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
  c.lrs = {0.0};
  c.epochs = 1 + static_cast<int>(rng.below(2));
  c.batch_size = 2 + static_cast<Index>(rng.below(3));
  c.shuffle = rng.uniform() < 0.5;
  c.model_seed = rng.next_u64() >> 1;
  c.shuffle_seed = rng.next_u64() >> 1;
  c.regime = kFiniteRegimes[rng.below(std::size(kFiniteRegimes))];
  Index n = 2 + static_cast<Index>(rng.below(8));
  if (c.arch.has_buffers() && n % c.batch_size == 1) ++n;
  c.train = make_data(c.regime, n, 3, c.loss, c.arch.outputs(), scalar, rng.next_u64());
  c.test = make_data(c.regime, 3, 3, c.loss, c.arch.outputs(), scalar, rng.next_u64());
  return c;
}

// ---------------------------------------------------------------------------------------
// Shrinking a vector case: greedy, keeping a candidate while it still shows a finding of the
// same property and class.

bool shows(const Findings& f, const AuditFinding& target) {
  for (const auto& x : f)
    if (x.property == target.property && x.cls == target.cls) return true;
  return false;
}

VectorCase shrink(const AuditTarget& t, VectorCase vc, const AuditFinding& finding, const AuditOptions& o,
                  Findings& last) {
  // A hang costs a whole timeout per attempt: shrink those only a little.
  int budget = finding.message.rfind("hung", 0) == 0 ? 6 : 300;
  auto attempt = [&](const VectorCase& cand) {
    if (budget-- <= 0) return false;
    Findings f = run_vector_isolated(t, cand, o);
    if (!shows(f, finding)) return false;
    last = std::move(f);
    return true;
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
    // Fewer parameters.
    for (std::size_t i = 0; vc.params.size() > 1 && i < vc.params.size();) {
      VectorCase c = vc;
      c.params.erase(c.params.begin() + static_cast<std::ptrdiff_t>(i));
      for (auto& g : c.grads) g.erase(g.begin() + static_cast<std::ptrdiff_t>(i));
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

// Shrinking a model case: one epoch, fewer training and test samples, no shuffling.
Case shrink_model(const AuditTarget& t, Case c, const AuditFinding& finding, const AuditOptions& o,
                  Findings& last) {
  int budget = finding.message.rfind("hung", 0) == 0 ? 4 : 60;
  auto attempt = [&](const Case& cand) {
    if (budget-- <= 0) return false;
    try {
      cand.validate();
    } catch (const Error&) {
      return false;
    }
    Findings f = run_model_isolated(t, cand, o);
    if (!shows(f, finding)) return false;
    last = std::move(f);
    return true;
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
  std::string s = to_string(vc.scalar) + ", n = " + std::to_string(vc.params.size()) + ", " +
                  std::to_string(vc.lrs.size()) + " step(s): params " + values(vc.params);
  for (std::size_t k = 0; k < vc.grads.size(); ++k)
    s += "; step " + std::to_string(k + 1) + ": lr " + format_real(vc.lrs[k]) + ", grad " +
         values(vc.grads[k]);
  return s;
}

}  // namespace

// ---------------------------------------------------------------------------------------

std::string VectorCase::token() const {
  std::string grads_text;
  for (std::size_t k = 0; k < grads.size(); ++k) grads_text += (k ? ";" : "") + join(grads[k]);
  return std::string(kVecPrefix) + "|scalar=" + to_string(scalar) + "|check=" + check +
         "|params=" + join(params) + "|lrs=" + join(lrs) + "|grads=" + grads_text;
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
  if (fields.size() != 5)
    throw SpecError("vector token: unknown fields (expected scalar, check, params, lrs, grads)");
  if (fields["scalar"] != "float" && fields["scalar"] != "double")
    throw SpecError("vector token: scalar must be float or double");
  vc.scalar = fields["scalar"] == "float" ? Scalar::Float : Scalar::Double;
  vc.check = fields["check"];
  static const char* checks[] = {"freeze", "agreement", "warmup", "non_finite", "signed_zero", "run"};
  if (std::find_if(std::begin(checks), std::end(checks), [&](const char* c) { return vc.check == c; }) ==
      std::end(checks))
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
  if (vc.params.empty() || vc.params.size() > 100000)
    throw SpecError("vector token: params must have 1 to 100000 values");
  if (vc.lrs.empty() || vc.lrs.size() > 100000)
    throw SpecError("vector token: lrs must have 1 to 100000 values");
  if (vc.grads.size() != vc.lrs.size())
    throw SpecError("vector token: " + std::to_string(vc.grads.size()) + " gradients for " +
                    std::to_string(vc.lrs.size()) + " lrs");
  for (const auto& gr : vc.grads)
    if (gr.size() != vc.params.size())
      throw SpecError("vector token: a gradient's length differs from params'");
  for (double lr : vc.lrs)
    if (!(lr >= 0) || !std::isfinite(lr)) throw SpecError("vector token: every lr must be finite and >= 0");
  return vc;
}

bool AuditReport::passed() const {
  for (const auto& f : findings)
    if (f.cls == FindingClass::Violation) return false;
  return true;
}

AuditTarget builtin_target(const OptimizerSpec& spec) {
  validate(spec);
  return {to_string(spec), spec, [](const OptimizerSpec& s) { return make_optimizer<double>(s); },
          [](const OptimizerSpec& s) { return make_optimizer<float>(s); }};
}

AuditTarget plugin_target(const std::string& path) {
  auto plugin = std::make_shared<const Plugin>(path);
  AuditTarget t;
  t.name = plugin->name();
  t.claims = plugin->claims();
  t.f64 = [plugin](const OptimizerSpec&) { return std::make_unique<PluginOptimizer<double>>(plugin); };
  if (plugin->has_f32())
    t.f32 = [plugin](const OptimizerSpec&) { return std::make_unique<PluginOptimizer<float>>(plugin); };
  return t;
}

AuditReport run_audit(const AuditTarget& target, const AuditOptions& o) {
  const auto start = std::chrono::steady_clock::now();
  AuditReport report;
  report.optimizer = target.name;
  report.claims = target.claims ? to_string(*target.claims) : "";
  report.has_f32 = static_cast<bool>(target.f32);
  Rng rng(o.seed);
  std::vector<std::string> checks{"freeze", "non_finite", "signed_zero", "run"};
  if (target.claims) {
    checks.push_back("agreement");
    checks.push_back("warmup");
    checks.push_back("agreement");
  }
  std::map<std::pair<std::string, int>, int> seen;  // (property, class) -> count
  auto record = [&](Findings found,
                    const std::function<std::pair<std::string, std::string>(const AuditFinding&, Findings&)>&
                        shrink_fn) {
    for (auto& f : found) {
      if (f.property == "ratio" || f.property == "range") continue;
      auto& count = seen[{f.property, static_cast<int>(f.cls)}];
      if (count++ > 0) continue;  // one shrunk counterexample per kind of finding
      Findings last{f};
      const auto [readable_text, token] = shrink_fn(f, last);
      AuditFinding out = f;
      for (const auto& x : last)
        if (x.property == f.property && x.cls == f.cls) out.message = x.message;
      out.counterexample = readable_text;
      out.reproduce = token;
      report.findings.push_back(out);
    }
  };
  for (int i = 0; i < o.cases; ++i) {
    const bool f32 = report.has_f32 && rng.uniform() < 0.5;
    const Scalar scalar = f32 ? Scalar::Float : Scalar::Double;
    if (i % 5 == 4) {
      Case c = generate_model_case(rng, scalar);
      if (target.claims) c.optimizer = *target.claims;  // what the token says it ran
      record(run_model_isolated(target, c, o), [&](const AuditFinding& f, Findings& last) {
        const Case small = shrink_model(target, c, f, o, last);
        return std::make_pair(describe(small), to_token(small));
      });
    } else {
      const VectorCase vc =
          generate_vector(rng, checks[static_cast<std::size_t>(i) % checks.size()], scalar, o.steps);
      const Findings found = run_vector_isolated(target, vc, o);
      for (const auto& f : found)
        if (f.property == "ratio") {
          double& worst = f32 ? report.worst_ratio_f32 : report.worst_ratio_f64;
          worst = std::max(worst, std::stod(f.message));
        }
      record(found, [&](const AuditFinding& f, Findings& last) {
        const VectorCase small = shrink(target, vc, f, o, last);
        return std::make_pair(readable(small), small.token());
      });
    }
    ++report.cases;
    if (o.progress) o.progress(i + 1, o.cases);
  }
  for (auto& f : report.findings) {
    const int count = seen[{f.property, static_cast<int>(f.cls)}];
    if (count > 1) f.message += " (seen " + std::to_string(count) + " times)";
  }
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

std::vector<AuditFinding> check_vector_case(const AuditTarget& target, const VectorCase& vc) {
  if (vc.params.empty() || vc.grads.size() != vc.lrs.size())
    throw SpecError("check_vector_case: params must not be empty and there must be one gradient per lr");
  for (const auto& g : vc.grads)
    if (g.size() != vc.params.size())
      throw SpecError("check_vector_case: a gradient's length differs from params'");
  for (double lr : vc.lrs)
    if (!(lr >= 0) || !std::isfinite(lr))
      throw SpecError("check_vector_case: every lr must be finite and >= 0");
  if (vc.scalar == Scalar::Float && !target.f32)
    throw SpecError("check_vector_case: a float case but the implementation has no float path");
  AuditOptions o;
  o.isolate = false;
  Findings found = run_vector_isolated(target, vc, o);
  found.erase(
      std::remove_if(found.begin(), found.end(),
                     [](const AuditFinding& f) { return f.property == "ratio" || f.property == "range"; }),
      found.end());
  return found;
}

std::vector<AuditFinding> replay_token(const AuditTarget& target, const std::string& token,
                                       const AuditOptions& o) {
  Findings found;
  if (token.rfind(kVecPrefix, 0) == 0) {
    const VectorCase vc = VectorCase::parse(token);
    if (vc.scalar == Scalar::Float && !target.f32)
      throw SpecError("the token is a float case but the implementation has no float path");
    found = run_vector_isolated(target, vc, o);
    for (auto& f : found) {
      f.counterexample = readable(vc);
      f.reproduce = token;
    }
  } else {
    const Case c = parse_token(token);
    found = run_model_isolated(target, c, o);
    for (auto& f : found) {
      f.counterexample = describe(c);
      f.reproduce = token;
    }
  }
  found.erase(
      std::remove_if(found.begin(), found.end(),
                     [](const AuditFinding& f) { return f.property == "ratio" || f.property == "range"; }),
      found.end());
  return found;
}

std::string report_json(const AuditReport& r) {
  nlohmann::json j;
  j["verdict"] = r.passed() ? "pass" : "fail";
  j["optimizer"] = r.optimizer;
  j["claims"] = r.claims.empty() ? nlohmann::json(nullptr) : nlohmann::json(r.claims);
  j["cases"] = r.cases;
  j["seconds"] = r.seconds;
  j["findings"] = nlohmann::json::array();
  for (const auto& f : r.findings)
    j["findings"].push_back({{"property", f.property},
                             {"class", to_string(f.cls)},
                             {"message", f.message},
                             {"counterexample", f.counterexample},
                             {"reproduce", f.reproduce}});
  j["drift"] = {{"budget",
                 "trajectory budget: 32 u (|w| + |absolute-run update|) per step, times 1/(1-momentum "
                 "or beta1), summed over steps"},
                {"worst_ratio_float64", r.worst_ratio_f64}};
  if (r.has_f32) j["drift"]["worst_ratio_float32"] = r.worst_ratio_f32;
  return j.dump(2);
}

}  // namespace zerolr
