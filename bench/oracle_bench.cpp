// The oracle's overhead: one training step (forward, loss, backward, Adam) of the same MLP of
// about 10^4 parameters in double and in the reference type. Run both in one process and
// compare: BM_OracleStep/double vs BM_OracleStep/reference (ratio = reference / double).
#include <benchmark/benchmark.h>

#include "zerolr/reference/lift.h"
#include "zerolr/scalar/reference.h"
#include "zerolr/train/trainer.h"

namespace {

using namespace zerolr;

// 32 -> 128 -> 64 -> 1: 12,545 parameters.
const char* kArch = "input(32),dense(128),tanh,dense(64),tanh,dense(1)";
constexpr Index kBatch = 32;

template <class T>
void run_steps(benchmark::State& state, Sequential<T>& model, const Dataset<T>& data) {
  auto opt = make_optimizer<T>(parse_optimizer_spec("adam(lr=1e-3)"));
  TrainOptions options;
  options.batch_size = kBatch;
  Trainer<T> trainer(model, LossSpec::parse("mse"), *opt, options);
  const T lr = static_cast<T>(1e-3);
  for (auto _ : state) benchmark::DoNotOptimize(trainer.step(data.x, data.y, lr));
  state.counters["params"] = static_cast<double>(model.parameter_count());
  state.SetItemsProcessed(state.iterations());
}

void BM_OracleStep_double(benchmark::State& state) {
  Sequential<double> model(Architecture::parse(kArch), 1);
  const auto data = regression_toy<double>(kBatch, 32, 2);
  run_steps(state, model, data);
}

template <class R>
void BM_OracleStep_lifted(benchmark::State& state) {
  Sequential<double> model(Architecture::parse(kArch), 1);
  auto lifted = lift<R>(model);
  const auto data = lift<R>(regression_toy<double>(kBatch, 32, 2));
  const std::uint64_t exits = dd_range_exits();
  run_steps(state, lifted, data);
  // Steps that left double-double's safe range (each would replay in float128): none here.
  state.counters["range_exits"] = static_cast<double>(dd_range_exits() - exits);
}

}  // namespace

BENCHMARK(BM_OracleStep_double)->Name("BM_OracleStep/double")->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_OracleStep_lifted<DoubleDouble>)->Name("BM_OracleStep/double_double")->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_OracleStep_lifted<Float128>)->Name("BM_OracleStep/float128")->Unit(benchmark::kMicrosecond);
