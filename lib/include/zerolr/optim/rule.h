#pragma once
/// \file
/// What an update rule is made of. Every rule is one header in optim/rules/ and one line of
/// the registry (optim/registry.h); everything that enumerates optimizers (spec parsing and
/// printing, make_optimizer, `zerolr-audit --list`, the property and fuzz generators, the
/// fuzz dictionary, the claims tool, the benchmarks and the tests' lists) iterates the
/// registry, so a rule written here is known everywhere at once.
///
/// A rule header defines a settings struct and a rule struct:
///
///   struct FooSettings {                       // PyTorch's argument names and defaults
///     static constexpr const char* kName = "foo";
///     double lr = 1e-3; ...; bool flag = false;
///     static constexpr auto keys() { return std::array{real_key(...), bool_key(...)}; }
///     friend bool operator==(const FooSettings&, const FooSettings&) = default;
///   };
///   struct FooRule {
///     using Settings = FooSettings;
///     template <class T> struct State { std::int64_t step = 0; ... };   // per tensor
///     template <class T> static State<T> init(const Settings&, Index n);
///     template <class T> static std::vector<StateRef<T>> refs(State<T>&);       // vectors
///     template <class T> static std::vector<ScalarRef<T>> scalars(State<T>&);   // scalars
///     template <class T> static void update(const Settings&, State<T>&, T* p, const T* g, Index n, T lr);
///     static double amplification(const Settings&);    // traits: see UpdateRule below
///     static bool freezes_at_lr0(const Settings&);
///     static bool eps_below_floor(const Settings&);
///     // optional: static void check(const Settings&, const std::string& where);
///     //           static void repair(Settings&);
///   };
///
/// The registry static_asserts UpdateRule for each rule, so the compiler names whatever a
/// new rule is missing.

#include <algorithm>
#include <array>
#include <cmath>
#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "zerolr/core.h"
#include "zerolr/spec_syntax.h"

namespace zerolr {

template <class T>
class RangeProbe;  // scalar/range_probe.h

// ---- Settings: keys, ranges and how generators draw them ---------------------------------

inline constexpr RealRange kNonNegative{0, std::numeric_limits<double>::infinity(), false, true};  // [0, inf)
inline constexpr RealRange kPositive{0, std::numeric_limits<double>::infinity(), true, true};      // (0, inf)
inline constexpr RealRange kUnit{0, 1};                                                            // [0, 1]
inline constexpr RealRange kBeta{0, 1, false, true};                                               // [0, 1)

/// How the property and fuzz generators draw a real key: one of a few edge values (the first
/// is where shrinking goes, usually PyTorch's default), or a value from a continuous
/// distribution, uniform in [lo, hi] (Linear) or 10^u with u uniform in [lo, hi] (Log).
/// Drawn values outside the key's range, or invalid combinations, are repaired or rejected
/// by the rule (Rule::repair, validate).
struct Draw {
  enum class Scale { Linear, Log };
  static constexpr std::size_t kMaxEdges = 6;
  std::array<double, kMaxEdges> edges{};
  std::size_t n_edges = 0;
  Scale scale = Scale::Linear;
  double lo = 0, hi = 1;

  static constexpr Draw linear(double lo, double hi, std::initializer_list<double> edges) {
    return make(Scale::Linear, lo, hi, edges);
  }
  static constexpr Draw log10(double lo_exp, double hi_exp, std::initializer_list<double> edges) {
    return make(Scale::Log, lo_exp, hi_exp, edges);
  }

 private:
  static constexpr Draw make(Scale s, double lo, double hi, std::initializer_list<double> e) {
    Draw d;
    d.scale = s;
    d.lo = lo;
    d.hi = hi;
    for (double v : e)
      if (d.n_edges < kMaxEdges) d.edges[d.n_edges++] = v;
    return d;
  }
};

/// One key of a settings struct S: its name (PyTorch's argument name), where it lives, its
/// valid range (reals) and how generators draw it.
template <class S>
struct Key {
  enum class Kind { Real, Bool };
  const char* name;
  Kind kind;
  double S::*real = nullptr;
  bool S::*flag = nullptr;
  RealRange range{};
  Draw draw{};
};

template <class S>
constexpr Key<S> real_key(const char* name, double S::*member, RealRange range, Draw draw) {
  return {name, Key<S>::Kind::Real, member, nullptr, range, draw};
}

template <class S>
constexpr Key<S> bool_key(const char* name, bool S::*member) {
  return {name, Key<S>::Kind::Bool, nullptr, member, {}, {}};
}

/// Draws shared by several rules.
namespace draws {
/// The learning rate: replaced by each step's lr in every run, so rarely drawn.
inline constexpr Draw kLr = Draw::log10(-8, 0, {1e-3, 1.0, 1e-8, 0.1});
/// A moving-average coefficient in [0, 1).
inline constexpr Draw kBeta1 = Draw::linear(0, 1, {0.9, 0.0, 0.5, 0.99});
inline constexpr Draw kBeta2 = Draw::linear(0, 1, {0.999, 0.9999999, 0.0, 0.9});
/// An eps added to a denominator, down to degenerate values.
inline constexpr Draw kEps = Draw::log10(-30, 0, {1e-8, 1e-30, 1e-12, 1e-3, 1.0});
inline constexpr Draw kWeightDecay = Draw::log10(-6, 0, {0.0, 1e-4, 1e-2, 0.5});
}  // namespace draws

// ---- State ---------------------------------------------------------------------------

/// Whether a state vector can hold negative values. The oracle's absolute run
/// (reference/step_check.h) takes |x| of signed state: a linear combination of gradients
/// (exp_avg, momentum_buffer, grad_avg, a previous gradient) is signed; squares, sums of
/// squares and step sizes are not.
enum class Sign { NonNegative, Signed };

/// A named state vector of one tensor, for inspection and for lifting into the reference
/// type. Vectors have the tensor's length. The sign must be stated.
template <class T>
struct StateRef {
  StateRef(std::string name_, Vector<T>* value_, Sign sign_)
      : name(std::move(name_)), value(value_), sign(sign_) {}
  std::string name;  ///< PyTorch's state key: "exp_avg", "momentum_buffer", ...
  Vector<T>* value;
  Sign sign;
};

namespace rule {

/// PyTorch computes an optimizer's scalar coefficients (1 - beta^t, lr / (1 - beta1^t), ...)
/// in Python floats, i.e. double, and rounds them once when they meet a tensor. Wide<T> is
/// double for float and double (and for the range probe of either, which must compute its
/// coefficients as they do), and T itself for a wider type such as the reference.
template <class T>
struct WideOf {
  using type = std::conditional_t<std::is_floating_point_v<T> && (sizeof(T) <= sizeof(double)), double, T>;
};
template <class T>
struct WideOf<RangeProbe<T>> {
  using type = double;
};
template <class T>
using Wide = typename WideOf<T>::type;

/// A hyperparameter (a double in the spec) as the tensor's scalar, rounded once.
template <class T>
T cast(double v) {
  return static_cast<T>(v);
}

template <class T>
using VecMap = Eigen::Map<Vector<T>>;
template <class T>
using ConstVecMap = Eigen::Map<const Vector<T>>;

/// 1 - beta^t for t >= 1, in the coefficients' precision W. In double, 1 - pow(0.999, t)
/// cancels and loses about ten bits for small t (an error of ~20 ULPs in Adam's step);
/// -expm1(t log beta) is the same number to about one ULP. A wider (reference) type has the
/// bits to spare and uses the formula as written.
template <class W>
W one_minus_pow(double beta, std::int64_t t) {
  if constexpr (std::is_floating_point_v<W>) {
    if (beta == 0) return W(1);
    return -std::expm1(static_cast<W>(t) * std::log(static_cast<W>(beta)));
  } else {
    using std::pow;
    return W(1) - pow(W(beta), static_cast<W>(t));
  }
}

/// sign(x) as torch.sign computes it: -1, 0 or +1, and 0 for NaN.
template <class T>
T sign(const T& x) {
  return T(static_cast<int>(T(0) < x) - static_cast<int>(x < T(0)));
}

/// How many steps a rounding error in linear state with decay d keeps counting: about
/// 1 / (1 - d), capped at 1000 (a decay of 1 or more keeps it for the whole run).
inline double persistence(double decay) {
  return std::min(1.0 / std::max(1.0 - decay, 1e-3), 1000.0);
}

/// Whether a step m / (norm(g) + eps) divides a first moment with memory (beta1 > 0) by a
/// normaliser without memory (beta2 = 0: norm is |g_t| of this step alone). Then one step's
/// gradient near 0 after large ones gives a direction of size |m| / eps whatever eps is, so
/// the eps_below_floor trait holds for every eps. (Found by the 10^6-case hunt: Adamax with
/// beta2 = 0 and eps = 1e-12 on 1e-98..1e89 data; properties/regressions/.)
inline bool memoryless_normaliser(double beta1, double beta2) { return beta2 == 0 && beta1 > 0; }

}  // namespace rule

/// A named scalar state of one tensor (NAdam's mu_product, ASGD's eta and mu). Scalar state
/// is a coefficient, so it is kept in rule::Wide<T> (double for float and double), as the
/// library keeps every scalar coefficient.
template <class T>
struct ScalarRef {
  std::string name;
  rule::Wide<T>* value;
};

// ---- The concept the registry checks -----------------------------------------------------

/// What the registry needs of a rule R (see the file comment). The traits:
/// - amplification(s): how many times a per-step rounding error can count again in later
///   steps through state that feeds the update linearly (a momentum buffer or first moment
///   with decay d keeps it for about 1 / (1 - d) steps); the trajectory budget multiplies by it;
/// - freezes_at_lr0(s): whether the documented algorithm leaves every weight unchanged at
///   every step whose lr is 0, whatever came before; false for rules that move at lr = 0 by
///   their own definition (Rprop's minimum step size, ASGD's eta from the previous step);
/// - eps_below_floor(s): whether the settings' eps is so small that the step's direction is
///   bounded only by |numerator| / eps (a degenerate setting, see prop_continuity).
template <class R>
concept UpdateRule = requires(const typename R::Settings& s, typename R::Settings& ms,
                              typename R::template State<double>& st, double* p, const double* g) {
  { R::Settings::kName } -> std::convertible_to<const char*>;
  R::Settings::keys();
  { R::template init<double>(s, Index{1}) } -> std::same_as<typename R::template State<double>>;
  { st.step } -> std::convertible_to<std::int64_t>;
  { R::template refs<double>(st) } -> std::same_as<std::vector<StateRef<double>>>;
  { R::template scalars<double>(st) } -> std::same_as<std::vector<ScalarRef<double>>>;
  R::template update<double>(s, st, p, g, Index{1}, 0.0);
  { R::amplification(s) } -> std::same_as<double>;
  { R::freezes_at_lr0(s) } -> std::same_as<bool>;
  { R::eps_below_floor(s) } -> std::same_as<bool>;
};

}  // namespace zerolr
