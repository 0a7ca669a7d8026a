// Audit throughput: cases per second of a full zerolr-audit run (200 cases) against a plug-in
// and a built-in optimizer (each case in a forked child: the fork executor), and against
// workers (one long-lived process over a pipe: the worker executor): a plain-Python worker,
// and torch.optim.AdamW of python3-torch, the latter also with the worker's start (torch's
// import) inside the timing, as a user's CI job pays it.
#include <benchmark/benchmark.h>

#include "zerolr/audit/audit.h"
#include "zerolr/audit/worker.h"

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

void BM_Audit_plugin(benchmark::State& state) {
  run(state, plugin_target(ZEROLR_BENCH_EXAMPLE_PLUGIN));
}
void BM_Audit_builtin(benchmark::State& state) {
  run(state, builtin_target(parse_optimizer_spec("adamw(weight_decay=0.01)")));
}

#ifdef ZEROLR_BENCH_PYTHON
void BM_Audit_python_sgd(benchmark::State& state) {
  WorkerCommand c;
  c.argv = {ZEROLR_BENCH_PYTHON, ZEROLR_BENCH_FAKE_WORKER, "sgd"};
  run(state, worker_target(c));
}
#endif
#ifdef ZEROLR_BENCH_PYTHON_TORCH
void BM_Audit_torch(benchmark::State& state) {
  run(state, worker_target(python_worker_command("torch.optim.AdamW(foreach=False)", {}, std::nullopt)));
}
/// The worker started inside the timing: what one `zerolr-audit --python ...` costs.
void BM_Audit_torch_with_start(benchmark::State& state) {
  AuditOptions o;
  o.cases = 200;
  o.seed = 1;
  int cases = 0;
  for (auto _ : state) {
    const AuditReport r = run_audit(
        worker_target(python_worker_command("torch.optim.AdamW(foreach=False)", {}, std::nullopt)), o);
    cases += r.cases;
    benchmark::DoNotOptimize(r.findings.size());
  }
  state.SetItemsProcessed(cases);
  state.counters["cases_per_second"] = benchmark::Counter(cases, benchmark::Counter::kIsRate);
}
#endif

}  // namespace

#ifdef ZEROLR_BENCH_PYTHON
BENCHMARK(BM_Audit_python_sgd)
    ->Name("BM_Audit/worker/python_sgd/200cases")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
#endif
#ifdef ZEROLR_BENCH_PYTHON_TORCH
BENCHMARK(BM_Audit_torch)
    ->Name("BM_Audit/worker/torch_adamw/200cases")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_Audit_torch_with_start)
    ->Name("BM_Audit/worker/torch_adamw/200cases_with_start")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime()
    ->Iterations(3);
#endif
BENCHMARK(BM_Audit_plugin)
    ->Name("BM_Audit/plugin/example_adamw/200cases")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_Audit_builtin)
    ->Name("BM_Audit/builtin/adamw/200cases")
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
