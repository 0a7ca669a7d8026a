#pragma once
/// \file
/// Learning-rate schedules as data: lr(t) = base_lr * factor(t), t = 0, 1, ... the step index.
///
///   constant                                   factor 1
///   step(step_size=S,gamma=G)                  G^floor(t/S)              (StepLR)
///   cosine(t_max=N,min_factor=M)               M + (1-M)(1+cos(pi t/N))/2 (CosineAnnealingLR, closed form)
///   linear(start_factor=A,end_factor=B,steps=N)  A + (B-A) min(t,N)/N    (LinearLR, closed form)
///   sequence(f0,f1,...)                        f_min(t, last)             explicit factors
///   warmup(steps=N,start_factor=A)+SCHEDULE    linear from A to 1 for N steps, then SCHEDULE(t-N)
///
/// Every factor is computed in closed form, so a start factor of 0 is fine: there is no
/// recursive division by the previous factor (the bug of pytorch/pytorch#86454).

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace zerolr {

class Schedule {
 public:
  enum class Kind { Constant, Step, Cosine, Linear, Sequence };

  /// The constant schedule.
  Schedule() = default;

  static Schedule constant();
  static Schedule step(std::int64_t step_size, double gamma);
  static Schedule cosine(std::int64_t t_max, double min_factor = 0);
  static Schedule linear(double start_factor, double end_factor, std::int64_t steps);
  static Schedule sequence(std::vector<double> factors);
  /// Linear warm-up from start_factor to 1 over `steps` steps, then `after` shifted by steps.
  static Schedule warmup(std::int64_t steps, double start_factor, const Schedule& after);

  /// Parses the text form above; SpecError names the offending part.
  static Schedule parse(const std::string& text);
  std::string to_string() const;

  /// The factor at step t >= 0. Always finite and >= 0.
  double factor(std::int64_t t) const;
  /// base_lr * factor(t).
  double lr(double base_lr, std::int64_t t) const { return base_lr * factor(t); }

  Kind kind() const { return kind_; }

 private:
  Kind kind_ = Kind::Constant;
  std::int64_t n_ = 1;  ///< step_size, t_max or steps
  double a_ = 1;        ///< gamma, min_factor or start_factor
  double b_ = 1;        ///< end_factor
  std::vector<double> factors_;
  std::int64_t warmup_steps_ = 0;
  double warmup_start_ = 1;
};

}  // namespace zerolr
