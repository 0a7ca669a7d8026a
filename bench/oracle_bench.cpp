// The oracle's overhead: one training step (forward, loss, backward, Adam) of the same MLP of
// about 10^4 parameters in double and in both reference types. Run them in one process and
// compare: BM_OracleStep/double_double (the default reference) and BM_OracleStep/float128 (its
// fallback) against BM_OracleStep/double; the ratio counters say it directly.
// BM_OracleFallbacks: on the audit's generated cases (every rule, 200 cases each), how many of
// the oracle's runs fell back from double-double to float128.
#include <benchmark/benchmark.h>

#include <chrono>

#include "zerolr/audit/audit.h"
#include "zerolr/reference/lift.h"
#include "zerolr/reference/oracle.h"
#include "zerolr/scalar/reference.h"
#include "zerolr/train/trainer.h"

namespace {

using namespace zerolr;

// 32 -> 128 -> 64 -> 1: 12,545 parameters.
const char* kArch = "input(32),dense(128),tanh,dense(64),tanh,dense(1)";
constexpr Index kBatch = 32;

// The step every benchmark here times: Adam (lr 1e-3) on mse, one batch of kBatch.
template <class T>
struct Stepper {
  explicit Stepper(Sequential<T>& model)
      : opt(make_optimizer<T>(parse_optimizer_spec("adam(lr=1e-3)"))),
        trainer(model, LossSpec::parse("mse"), *opt, options()) {}
  T step(const Dataset<T>& data) { return trainer.step(data.x, data.y, static_cast<T>(1e-3)); }
  static TrainOptions options() {
    TrainOptions o;
    o.batch_size = kBatch;
    return o;
  }
  std::unique_ptr<Optimizer<T>> opt;
  Trainer<T> trainer;
};

template <class T>
void run_steps(benchmark::State& state, Sequential<T>& model, const Dataset<T>& data) {
  Stepper<T> stepper(model);
  for (auto _ : state) benchmark::DoNotOptimize(stepper.step(data));
  state.counters["params"] = static_cast<double>(model.parameter_count());
  state.SetItemsProcessed(state.iterations());
}

void BM_OracleStep_double(benchmark::State& state) {
  Sequential<double> model(Architecture::parse(kArch), 1);
  const auto data = regression_toy<double>(kBatch, 32, 2);
  run_steps(state, model, data);
}

// The double step's time, measured once per process, for the ratio counters.
double double_step_seconds() {
  static const double seconds = [] {
    Sequential<double> model(Architecture::parse(kArch), 1);
    const auto data = regression_toy<double>(kBatch, 32, 2);
    Stepper<double> stepper(model);
    for (int i = 0; i < 50; ++i) stepper.step(data);  // warm
    double best = 1e9;
    for (int rep = 0; rep < 5; ++rep) {
      const auto start = std::chrono::steady_clock::now();
      for (int i = 0; i < 200; ++i) benchmark::DoNotOptimize(stepper.step(data));
      best = std::min(best, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / 200);
    }
    return best;
  }();
  return seconds;
}

template <class R>
void BM_OracleStep_lifted(benchmark::State& state) {
  Sequential<double> model(Architecture::parse(kArch), 1);
  auto lifted = lift<R>(model);
  const auto data = lift<R>(regression_toy<double>(kBatch, 32, 2));
  const std::uint64_t exits = dd_range_exits();
  const double double_step = double_step_seconds();
  const auto start = std::chrono::steady_clock::now();
  run_steps(state, lifted, data);
  const double per_step =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count() / static_cast<double>(state.iterations());
  // Times the best double step of this process (BM_OracleStep/double's own figure is the
  // side-by-side check of it).
  state.counters["x_double"] = per_step / double_step;
  // Steps that left double-double's safe range (each would replay in float128): none here.
  state.counters["range_exits"] = static_cast<double>(dd_range_exits() - exits);
}

void BM_OracleFallbacks(benchmark::State& state) {
  double runs = 0, fallbacks = 0;
  for (auto _ : state) {
    const oracle::Counts before = oracle::counts();
    for (const std::string& spec : optimizer_defaults()) {
      AuditOptions o;
      o.cases = 200;
      o.seed = 1;
      o.isolate = false;
      benchmark::DoNotOptimize(run_audit(builtin_target(parse_optimizer_spec(spec)), o));
    }
    runs += static_cast<double>(oracle::counts().runs - before.runs);
    fallbacks += static_cast<double>(oracle::counts().fallbacks - before.fallbacks);
  }
  state.counters["oracle_runs"] = runs / static_cast<double>(state.iterations());
  state.counters["fallback_fraction"] = runs > 0 ? fallbacks / runs : 0.0;
}

}  // namespace

BENCHMARK(BM_OracleStep_double)->Name("BM_OracleStep/double")->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_OracleStep_lifted<DoubleDouble>)->Name("BM_OracleStep/double_double")->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_OracleStep_lifted<Float128>)->Name("BM_OracleStep/float128")->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_OracleFallbacks)->Name("BM_OracleFallbacks/audit_cases")->Unit(benchmark::kMillisecond)->Iterations(1);
