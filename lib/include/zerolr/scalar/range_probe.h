#pragma once
/// \file
/// RangeProbe<T>: a scalar that runs a formula with T's inputs in a wider, wider-ranged type
/// (long double: 64-bit significand, 15-bit exponent) and counts the two ways in which T's
/// arithmetic stops following the formula with its relative precision:
///
/// - a range exit: a value outside T's normal range, a nonzero magnitude below T's smallest
///   normal number or above its largest finite one (g * prev underflowing in float, g * g
///   overflowing, a subnormal grad_avg^2);
/// - a precision loss: a divisor or a square root's argument that T cannot know to a single
///   correct digit. Each probe value carries a first-order bound e on the relative error T's
///   own evaluation of the same formula would have (running error analysis: a rounding of u
///   per operation whose result T cannot represent, errors propagated by the usual rules:
///   e(a +- b) = (|a| e_a + |b| e_b) / |a +- b| + u, e(ab) = e(a/b) = e_a + e_b + u,
///   e(sqrt a) = e_a / 2 + u). When the argument of a division or square root has e >= 1
///   (centered RMSprop's v - grad_avg^2 cancelling below T's rounding of v), T's result can
///   be anything: the first-order budget's premise fails. Cancellations that no division or
///   square root amplifies (a weight that moves to near zero) are left to the budget, which
///   measures errors on the scale of the weights.
///
/// The oracle runs an update rule in RangeProbe<T> from a step's inputs: a step with either
/// count is range-limited, and the error budget does not judge it. Coefficients that a rule
/// computes in rule::Wide<T> (double) are not examined until they become RangeProbe values,
/// as they become T values in the real run. NaN and infinite values are not counted: they
/// are non-finite results, which the checks see directly.

#include <Eigen/Core>
#include <cmath>
#include <cstdint>
#include <limits>
#include <type_traits>

namespace zerolr {

/// What all RangeProbe types have counted on this thread.
struct ProbeCounts {
  std::uint64_t range_exits = 0;
  std::uint64_t precision_losses = 0;
  std::uint64_t total() const { return range_exits + precision_losses; }
};
inline ProbeCounts& probe_counts() {
  thread_local ProbeCounts counts;
  return counts;
}

template <class T>
class RangeProbe {
 public:
  using Value = long double;

  RangeProbe() = default;
  /// A value of T exactly (an input of the step: no error), or a coefficient rounded to T.
  template <class U, class = std::enable_if_t<std::is_arithmetic_v<U>>>
  RangeProbe(U v) : v_(static_cast<Value>(v)), e_(rounding(static_cast<Value>(v))) {  // NOLINT: implicit
    check_range();
  }

  Value value() const { return v_; }
  /// The bound on the relative error of T's evaluation so far.
  double relative_error() const { return e_; }
  explicit operator long double() const { return v_; }
  explicit operator double() const { return static_cast<double>(v_); }
  explicit operator float() const { return static_cast<float>(v_); }
  explicit operator int() const { return static_cast<int>(v_); }

  RangeProbe& operator+=(const RangeProbe& o) { return *this = *this + o; }
  RangeProbe& operator-=(const RangeProbe& o) { return *this = *this - o; }
  RangeProbe& operator*=(const RangeProbe& o) { return *this = *this * o; }
  RangeProbe& operator/=(const RangeProbe& o) { return *this = *this / o; }

  friend RangeProbe operator+(const RangeProbe& a, const RangeProbe& b) { return sum(a, b, a.v_ + b.v_); }
  friend RangeProbe operator-(const RangeProbe& a, const RangeProbe& b) { return sum(a, b, a.v_ - b.v_); }
  friend RangeProbe operator*(const RangeProbe& a, const RangeProbe& b) { return make(a.v_ * b.v_, a.e_ + b.e_); }
  friend RangeProbe operator/(const RangeProbe& a, const RangeProbe& b) {
    amplifies(b);
    return make(a.v_ / b.v_, a.e_ + b.e_);
  }
  friend RangeProbe operator-(const RangeProbe& a) { return a.negated(); }
  friend RangeProbe operator+(const RangeProbe& a) { return a; }
  friend bool operator==(const RangeProbe& a, const RangeProbe& b) { return a.v_ == b.v_; }
  friend bool operator!=(const RangeProbe& a, const RangeProbe& b) { return a.v_ != b.v_; }
  friend bool operator<(const RangeProbe& a, const RangeProbe& b) { return a.v_ < b.v_; }
  friend bool operator<=(const RangeProbe& a, const RangeProbe& b) { return a.v_ <= b.v_; }
  friend bool operator>(const RangeProbe& a, const RangeProbe& b) { return a.v_ > b.v_; }
  friend bool operator>=(const RangeProbe& a, const RangeProbe& b) { return a.v_ >= b.v_; }

  friend RangeProbe sqrt(const RangeProbe& a) {
    amplifies(a);
    return make(std::sqrt(a.v_), a.e_ / 2);
  }
  friend RangeProbe abs(const RangeProbe& a) { return a.v_ < 0 ? a.negated() : a; }
  friend RangeProbe fabs(const RangeProbe& a) { return abs(a); }
  // Functions a rule may apply to tensor values; libm's few ulps are counted as 2 u.
  friend RangeProbe exp(const RangeProbe& a) { return make(std::exp(a.v_), std::fabs(a.v_) * a.e_ + kU); }
  friend RangeProbe log(const RangeProbe& a) {
    amplifies(a);
    const Value l = std::log(a.v_);
    return make(l, (l != 0 ? a.e_ / std::fabs(l) : a.e_) + kU);
  }
  friend RangeProbe expm1(const RangeProbe& a) { return make(std::expm1(a.v_), std::fabs(a.v_) * a.e_ + kU); }
  friend RangeProbe tanh(const RangeProbe& a) { return make(std::tanh(a.v_), std::fabs(a.v_) * a.e_ + kU); }
  friend RangeProbe pow(const RangeProbe& a, const RangeProbe& b) {
    amplifies(a);
    return make(std::pow(a.v_, b.v_), std::fabs(b.v_) * a.e_ + std::fabs(std::log(std::fabs(a.v_)) * b.v_) * b.e_ + kU);
  }
  friend bool isnan(const RangeProbe& a) { return std::isnan(a.v_); }
  friend bool isinf(const RangeProbe& a) { return std::isinf(a.v_); }
  friend bool isfinite(const RangeProbe& a) { return std::isfinite(a.v_); }
  friend bool signbit(const RangeProbe& a) { return std::signbit(a.v_); }

 private:
  static constexpr double kU = std::numeric_limits<T>::epsilon() / 2;

  /// u if T cannot hold v exactly (T would round it), else 0.
  static double rounding(Value v) {
    if (!std::isfinite(v)) return 0;
    return static_cast<Value>(static_cast<T>(v)) == v ? 0 : kU;
  }
  static RangeProbe make(Value v, double propagated) {
    RangeProbe r;
    r.v_ = v;
    r.e_ = propagated + rounding(v);
    r.check_range();
    return r;
  }
  static RangeProbe sum(const RangeProbe& a, const RangeProbe& b, Value v) {
    const double carried = static_cast<double>(std::fabs(a.v_)) * a.e_ + static_cast<double>(std::fabs(b.v_)) * b.e_;
    const double e = v != 0 ? carried / static_cast<double>(std::fabs(v)) : (carried > 0 ? std::numeric_limits<double>::infinity() : 0.0);
    return make(v, e);
  }
  RangeProbe negated() const {
    RangeProbe r = *this;
    r.v_ = -v_;
    return r;
  }
  /// A divisor or a root's argument without a single correct digit in T.
  static void amplifies(const RangeProbe& a) {
    if (std::isfinite(a.v_) && !(a.e_ < 1)) ++probe_counts().precision_losses;
  }
  void check_range() const {
    const Value a = std::fabs(v_);
    if (std::isfinite(a) && a != 0 &&
        (a < static_cast<Value>((std::numeric_limits<T>::min)()) ||
         a > static_cast<Value>((std::numeric_limits<T>::max)())))
      ++probe_counts().range_exits;
  }
  Value v_ = 0;
  double e_ = 0;
};

}  // namespace zerolr

namespace Eigen {

template <class T>
struct NumTraits<zerolr::RangeProbe<T>> : GenericNumTraits<zerolr::RangeProbe<T>> {
  using R = zerolr::RangeProbe<T>;
  typedef R Real;
  typedef R NonInteger;
  typedef R Literal;
  typedef R Nested;
  enum { IsComplex = 0, IsInteger = 0, IsSigned = 1, RequireInitialization = 1, ReadCost = 1, AddCost = 1, MulCost = 1 };
  static inline R epsilon() { return std::numeric_limits<long double>::epsilon(); }
  static inline R dummy_precision() { return R(1e-15L); }
  static inline R highest() { return (std::numeric_limits<long double>::max)(); }
  static inline R lowest() { return -(std::numeric_limits<long double>::max)(); }
  static inline R infinity() { return std::numeric_limits<long double>::infinity(); }
  static inline R quiet_NaN() { return std::numeric_limits<long double>::quiet_NaN(); }
  static inline int digits10() { return std::numeric_limits<long double>::digits10; }
  static inline int digits() { return std::numeric_limits<long double>::digits; }
};

}  // namespace Eigen
