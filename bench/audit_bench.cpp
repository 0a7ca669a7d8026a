// Audit throughput: cases per second of a full zerolr-audit run (200 cases, each in a child
// process) against a plug-in and against a built-in optimizer.
#include <benchmark/benchmark.h>

#include "zerolr/audit/audit.h"

namespace {

using namespace zerolr;

void run(benchmark::State& state, const AuditTarget& target) {
  AuditOptions o;
  o.cases = 200;
  o.seed = 1;
  int cases = 0;
  for (auto _ : state) {
    const AuditReport r = run_audit(target, o);
    cases += r.cases;
    benchmark::DoNotOptimize(r.findings.size());
  }
  state.SetItemsProcessed(cases);
  state.counters["cases_per_second"] = benchmark::Counter(cases, benchmark::Counter::kIsRate);
}

void BM_Audit_plugin(benchmark::State& state) { run(state, plugin_target(ZEROLR_BENCH_EXAMPLE_PLUGIN)); }
void BM_Audit_builtin(benchmark::State& state) {
  run(state, builtin_target(parse_optimizer_spec("adamw(weight_decay=0.01)")));
}

}  // namespace

BENCHMARK(BM_Audit_plugin)->Name("BM_Audit/plugin/example_adamw/200cases")->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Audit_builtin)->Name("BM_Audit/builtin/adamw/200cases")->Unit(benchmark::kMillisecond)->UseRealTime();
