// Property throughput: cases per second of the freeze property (prop_freeze) on generated
// cases whose models have at most 1000 parameters. Cases are built as the property suite
// builds them (Architecture::parse, make_data), without RapidCheck, before timing starts.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "zerolr/audit/properties.h"
#include "zerolr/nn/sequential.h"

namespace {

using namespace zerolr;

Index count_parameters(const Architecture& a) {
  Sequential<double> m(a, 0);
  return m.parameter_count();
}

// A random MLP of at most max_params parameters: 1-3 hidden layers, a random activation
// each, sometimes batchnorm, layernorm or dropout; 1 to 3 outputs.
Architecture random_architecture(Rng& rng, Index max_params) {
  static const char* acts[] = {"relu", "tanh", "sigmoid", "softplus", "leaky_relu"};
  for (;;) {
    const Index inputs = 1 + static_cast<Index>(rng.below(12));
    std::string text = "input(" + std::to_string(inputs) + ")";
    const int hidden = 1 + static_cast<int>(rng.below(3));
    for (int h = 0; h < hidden; ++h) {
      text += ",dense(" + std::to_string(2 + rng.below(31)) + ")";
      const double u = rng.uniform();
      if (u < 0.15) text += ",batchnorm";
      else if (u < 0.25) text += ",layernorm";
      text += std::string(",") + acts[rng.below(std::size(acts))];
      if (rng.uniform() < 0.1) text += ",dropout(p=0.2)";
    }
    text += ",dense(" + std::to_string(1 + rng.below(3)) + ")";
    Architecture a = Architecture::parse(text);
    if (count_parameters(a) <= max_params) return a;
  }
}

Case random_freeze_case(Rng& rng, Scalar scalar) {
  static const std::vector<std::string> opts = optimizer_defaults();  // every registered rule
  Case c;
  c.scalar = scalar;
  c.arch = random_architecture(rng, 1000);
  const Index outputs = c.arch.outputs();
  c.loss = LossSpec::parse(outputs >= 2 ? "cross_entropy" : (rng.uniform() < 0.5 ? "mse" : "bce"));
  c.optimizer = parse_optimizer_spec(opts[rng.below(opts.size())]);
  c.lrs = {0.0};
  c.epochs = 1 + static_cast<int>(rng.below(2));
  c.batch_size = 2 + static_cast<Index>(rng.below(7));
  c.shuffle = rng.uniform() < 0.5;
  c.model_seed = rng.next_u64() >> 1;
  c.shuffle_seed = rng.next_u64() >> 1;
  c.regime = kFiniteRegimes[rng.below(std::size(kFiniteRegimes))];
  Index n = 4 + static_cast<Index>(rng.below(29));
  if (c.arch.has_buffers() && n % c.batch_size == 1) ++n;
  c.train = make_data(c.regime, n, c.arch.inputs, c.loss, outputs, scalar, rng.next_u64());
  c.test = make_data(c.regime, 4, c.arch.inputs, c.loss, outputs, scalar, rng.next_u64());
  c.validate();
  return c;
}

void BM_PropFreeze(benchmark::State& state) {
  Rng rng(2026);
  std::vector<Case> cases;
  double params = 0, steps = 0;
  for (int i = 0; i < 200; ++i) {
    cases.push_back(random_freeze_case(rng, i % 2 ? Scalar::Float : Scalar::Double));
    params += static_cast<double>(count_parameters(cases.back().arch));
    steps += static_cast<double>(cases.back().total_steps());
  }
  std::size_t next = 0, applicable = 0, violations = 0;
  for (auto _ : state) {
    const Verdict v = prop_freeze(cases[next]);
    applicable += v.applicable;
    violations += v.applicable && !v.holds();
    next = (next + 1) % cases.size();
  }
  if (violations != 0) state.SkipWithError("freeze was violated");
  state.counters["cases_per_second"] = benchmark::Counter(static_cast<double>(state.iterations()), benchmark::Counter::kIsRate);
  state.counters["mean_params"] = params / static_cast<double>(cases.size());
  state.counters["mean_steps"] = steps / static_cast<double>(cases.size());
  state.counters["applicable"] = static_cast<double>(applicable) / static_cast<double>(state.iterations());
}

}  // namespace

BENCHMARK(BM_PropFreeze)->Name("BM_PropFreeze/max1000params")->Unit(benchmark::kMicrosecond);
