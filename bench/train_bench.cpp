// BM_TrainStep/zerolr/SHAPE/TYPE: one training step (forward, mse loss, backward, Adam) of the
// three MLPs of train_shapes.h, single-threaded; torch_bench.cpp runs the same steps in
// libtorch under BM_TrainStep/libtorch/SHAPE/TYPE when libtorch was found.
// BM_Gemm/SHAPE/TYPE: Eigen's own product for the largest product of the shape, compiled
// with the same flags, in the same run. Both report GFLOPS; the train step also reports
// of_gemm, its GFLOP/s (train_step_flops) as a fraction of the GEMM's.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <string>
#include <vector>

#include "train_common.h"
#include "zerolr/kernels.h"
#include "zerolr/optim/optimizer.h"
#include "zerolr/optim/spec.h"
#include "zerolr/random.h"
#include "zerolr/train/trainer.h"

namespace zerolr_bench {

using zerolr::Index;
using zerolr::Matrix;

TrainProblem make_train_problem(const TrainShape& s) {
  TrainProblem p;
  zerolr::Sequential<double> model(zerolr::Architecture::parse(architecture_text(s)), 7);
  for (const auto& ref : model.parameters()) {
    const Matrix<double>& v = *ref.value;
    std::vector<double> flat;
    for (Index i = 0; i < v.rows(); ++i)
      for (Index j = 0; j < v.cols(); ++j) flat.push_back(v(i, j));  // row-major
    (ref.name.find("weight") != std::string::npos ? p.weights : p.biases).push_back(std::move(flat));
  }
  zerolr::Rng rng(11);
  for (long i = 0; i < s.batch * s.widths.front(); ++i) p.x.push_back(rng.normal());
  for (long i = 0; i < s.batch * s.widths.back(); ++i) p.y.push_back(rng.normal());
  return p;
}

namespace {

std::map<std::string, std::vector<double>>& gemm_rates() {
  static std::map<std::string, std::vector<double>> r;
  return r;
}

// The product Dense::forward evaluates, y = x W^T, on the shape's largest operands: by Eigen
// (`c.noalias() = a * b.transpose()`, the machine's reference GEMM) or by zerolr's kernel
// (zerolr/kernels.h, in the instruction set in use; ZEROLR_ISA picks another).
enum class GemmImpl { Eigen, Kernel };

template <class T>
struct Gemm {
  GemmDims d;
  GemmImpl impl;
  Matrix<T> a, b, c;
  std::vector<T> scratch;
  Gemm(const GemmDims& dims, GemmImpl which)
      : d(dims),
        impl(which),
        a(Matrix<T>::Random(d.m, d.k)),
        b(Matrix<T>::Random(d.n, d.k)),
        c(d.m, d.n),
        scratch(static_cast<std::size_t>(zerolr::kernels::gemm_scratch_size(d.m, d.n, d.k))) {}
  void run() {
    if (impl == GemmImpl::Eigen)
      c.noalias() = a * b.transpose();
    else
      zerolr::kernels::gemm<T>(d.m, d.n, d.k, a.data(), a.outerStride(), false, b.data(), b.outerStride(), true,
                               c.data(), c.outerStride(), scratch.data());
  }
};

std::string rate_key(const TrainShape& shape, bool is_double, GemmImpl impl) {
  return std::string(shape.name) + (is_double ? "/double" : "/float") + (impl == GemmImpl::Eigen ? "" : "/kernel");
}

// CPU time of this thread, as Google Benchmark's default (CPU-time) rates use.
double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

double gemm_flops(const GemmDims& d) { return 2.0 * static_cast<double>(d.m) * static_cast<double>(d.k) * static_cast<double>(d.n); }

// BM_Gemm/SHAPE/TYPE (Eigen) and BM_KernelGemm/SHAPE/TYPE (zerolr's kernel).
template <class T>
void BM_Gemm(benchmark::State& state, TrainShape shape, GemmImpl impl) {
  const GemmDims d = largest_product(shape);
  Gemm<T> g(d, impl);
  g.run();
  const double t0 = cpu_seconds();
  for (auto _ : state) {
    g.run();
    benchmark::DoNotOptimize(g.c.data());
    benchmark::ClobberMemory();
  }
  const double secs = cpu_seconds() - t0;
  gemm_rates()[rate_key(shape, std::is_same_v<T, double>, impl)].push_back(
      gemm_flops(d) * static_cast<double>(state.iterations()) / secs);
  state.counters["GFLOPS"] = benchmark::Counter(gemm_flops(d) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.SetLabel(std::to_string(d.m) + "x" + std::to_string(d.k) + " * " + std::to_string(d.k) + "x" +
                 std::to_string(d.n) +
                 (impl == GemmImpl::Kernel ? " " + zerolr::kernels::to_string(zerolr::kernels::active_isa()) : ""));
}

// The median rate (flop/s) of this run's BM_Gemm or BM_KernelGemm for the shape, measured
// here for about 0.3 s if that benchmark was filtered out.
double gemm_rate(const TrainShape& shape, bool is_double, GemmImpl impl) {
  auto& v = gemm_rates()[rate_key(shape, is_double, impl)];
  if (v.empty()) {
    const GemmDims d = largest_product(shape);
    auto time = [&](auto& g) {
      long n = 0;
      const double t0 = cpu_seconds();
      double secs = 0;
      while (secs < 0.3) {
        g.run();
        ++n;
        secs = cpu_seconds() - t0;
      }
      return gemm_flops(d) * static_cast<double>(n) / secs;
    };
    if (is_double) {
      Gemm<double> g(d, impl);
      v.push_back(time(g));
    } else {
      Gemm<float> g(d, impl);
      v.push_back(time(g));
    }
  }
  std::vector<double> s = v;
  std::sort(s.begin(), s.end());
  return s[s.size() / 2];  // median of the repetitions so far
}

}  // namespace

void report_step(benchmark::State& state, const TrainShape& shape, bool is_double) {
  const double flops = train_step_flops(shape);
  state.counters["GFLOPS"] = benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
  state.counters["of_gemm"] = benchmark::Counter(flops / gemm_rate(shape, is_double, GemmImpl::Eigen),
                                                 benchmark::Counter::kIsIterationInvariantRate);
  state.counters["of_kernel"] = benchmark::Counter(flops / gemm_rate(shape, is_double, GemmImpl::Kernel),
                                                   benchmark::Counter::kIsIterationInvariantRate);
}

#ifndef ZEROLR_BENCH_HAVE_TORCH
void register_torch_step(const TrainShape&, bool) {}
#endif

namespace {

template <class T>
void BM_TrainStep_zerolr(benchmark::State& state, TrainShape shape) {
  const TrainProblem p = make_train_problem(shape);
  zerolr::Sequential<T> model(zerolr::Architecture::parse(architecture_text(shape)), 7);
  Matrix<T> x(shape.batch, shape.widths.front()), y(shape.batch, shape.widths.back());
  for (Index i = 0; i < x.rows(); ++i)
    for (Index j = 0; j < x.cols(); ++j) x(i, j) = static_cast<T>(p.x[static_cast<std::size_t>(i * x.cols() + j)]);
  for (Index i = 0; i < y.rows(); ++i)
    for (Index j = 0; j < y.cols(); ++j) y(i, j) = static_cast<T>(p.y[static_cast<std::size_t>(i * y.cols() + j)]);
  auto opt = zerolr::make_optimizer<T>(zerolr::parse_optimizer_spec("adam(lr=0.001)"));
  zerolr::TrainOptions options;
  options.batch_size = shape.batch;
  zerolr::Trainer<T> trainer(model, zerolr::LossSpec::parse("mse"), *opt, options);
  const T lr = static_cast<T>(kLr);
  // Every kResetEvery steps the parameters and Adam's state go back to their start, in
  // place and untimed (see train_common.h).
  const auto params = model.parameters();
  std::vector<Matrix<T>> initial;
  for (const auto& p : params) initial.push_back(*p.value);
  long k = 0;
  for (auto _ : state) {
    if (++k == kResetEvery) {
      state.PauseTiming();
      for (std::size_t i = 0; i < params.size(); ++i) {
        *params[i].value = initial[i];
        for (auto& s : opt->state(i)) s.value->setZero();
        opt->set_step_count(i, 0);
      }
      k = 0;
      state.ResumeTiming();
    }
    benchmark::DoNotOptimize(trainer.step(x, y, lr));
  }
  report_step(state, shape, std::is_same_v<T, double>);
  state.SetLabel(zerolr::kernels::to_string(zerolr::kernels::active_isa()));
}

const int registered = [] {
  for (const TrainShape& s : train_shapes()) {
    const std::string n = s.name;
    benchmark::RegisterBenchmark(("BM_Gemm/" + n + "/float").c_str(), BM_Gemm<float>, s, GemmImpl::Eigen);
    benchmark::RegisterBenchmark(("BM_Gemm/" + n + "/double").c_str(), BM_Gemm<double>, s, GemmImpl::Eigen);
    benchmark::RegisterBenchmark(("BM_KernelGemm/" + n + "/float").c_str(), BM_Gemm<float>, s, GemmImpl::Kernel);
    benchmark::RegisterBenchmark(("BM_KernelGemm/" + n + "/double").c_str(), BM_Gemm<double>, s, GemmImpl::Kernel);
  }
  // Each zerolr step is followed by the same step in libtorch, so pairs run back to back.
  for (const TrainShape& s : train_shapes()) {
    const std::string n = s.name;
    benchmark::RegisterBenchmark(("BM_TrainStep/zerolr/" + n + "/float").c_str(), BM_TrainStep_zerolr<float>, s)
        ->Unit(benchmark::kMicrosecond);
    register_torch_step(s, false);
    benchmark::RegisterBenchmark(("BM_TrainStep/zerolr/" + n + "/double").c_str(), BM_TrainStep_zerolr<double>, s)
        ->Unit(benchmark::kMicrosecond);
    register_torch_step(s, true);
  }
  return 0;
}();

}  // namespace
}  // namespace zerolr_bench
