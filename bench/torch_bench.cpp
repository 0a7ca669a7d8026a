// BM_TrainStep/libtorch/SHAPE/TYPE: the step of train_bench.cpp in libtorch's C++ API, on
// the same model (zerolr's initial weights copied in), batch, loss (mse) and Adam(lr=1e-3),
// with at::set_num_threads(1). Compiled only when find_package(Torch) succeeds; the only
// translation unit that includes libtorch's headers.
#include <torch/optim.h>
#include <torch/types.h>
#include <ATen/Parallel.h>

#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "train_common.h"

namespace zerolr_bench {
namespace {

struct TorchStep {
  std::vector<torch::Tensor> w, b;  // weight out x in, bias out
  std::vector<torch::Tensor> w0, b0;  // their initial values
  torch::Tensor x, y;
  std::unique_ptr<torch::optim::Adam> opt;

  TorchStep(const TrainShape& s, torch::Dtype dtype) {
    const TrainProblem p = make_train_problem(s);
    const auto d = torch::TensorOptions().dtype(torch::kFloat64);
    auto from = [&](const std::vector<double>& v, std::vector<std::int64_t> shape) {
      return torch::from_blob(const_cast<double*>(v.data()), shape, d).to(dtype).clone();
    };
    std::vector<torch::Tensor> params;
    for (std::size_t i = 0; i + 1 < s.widths.size(); ++i) {
      w.push_back(from(p.weights[i], {s.widths[i + 1], s.widths[i]}).requires_grad_(true));
      b.push_back(from(p.biases[i], {s.widths[i + 1]}).requires_grad_(true));
      params.push_back(w.back());
      params.push_back(b.back());
      w0.push_back(w.back().detach().clone());
      b0.push_back(b.back().detach().clone());
    }
    x = from(p.x, {s.batch, s.widths.front()});
    y = from(p.y, {s.batch, s.widths.back()});
    opt = std::make_unique<torch::optim::Adam>(params, torch::optim::AdamOptions(kLr));
  }

  // Parameters and Adam's state back to their start, in place.
  void reset() {
    torch::NoGradGuard no_grad;
    for (std::size_t i = 0; i < w.size(); ++i) {
      w[i].copy_(w0[i]);
      b[i].copy_(b0[i]);
    }
    for (auto& kv : opt->state()) {
      auto& s = static_cast<torch::optim::AdamParamState&>(*kv.second);
      s.step(0);
      s.exp_avg().zero_();
      s.exp_avg_sq().zero_();
    }
  }

  // As nn.Sequential(Linear, ReLU, ..., Linear) with mse_loss would run it.
  double step() {
    opt->zero_grad();
    torch::Tensor h = x;
    for (std::size_t i = 0; i < w.size(); ++i) {
      h = torch::linear(h, w[i], b[i]);
      if (i + 1 < w.size()) h = torch::relu(h);
    }
    torch::Tensor loss = torch::mse_loss(h, y);
    loss.backward();
    opt->step();
    return 0;
  }
};

void BM_TrainStep_libtorch(benchmark::State& state, TrainShape shape, bool is_double) {
  at::set_num_threads(1);
  TorchStep t(shape, is_double ? torch::kFloat64 : torch::kFloat32);
  long k = 0;
  for (auto _ : state) {
    if (++k == kResetEvery) {
      state.PauseTiming();
      t.reset();
      k = 0;
      state.ResumeTiming();
    }
    benchmark::DoNotOptimize(t.step());
  }
  report_step(state, shape, is_double);
}

}  // namespace

void register_torch_step(const TrainShape& s, bool is_double) {
  const std::string name = std::string("BM_TrainStep/libtorch/") + s.name + (is_double ? "/double" : "/float");
  benchmark::RegisterBenchmark(name.c_str(), BM_TrainStep_libtorch, s, is_double)->Unit(benchmark::kMicrosecond);
}

}  // namespace zerolr_bench
