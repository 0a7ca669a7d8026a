// libtorch's own optimizers (torch::optim, the C++ API of PyTorch) behind zerolr's plug-in
// ABI (zerolr/plugin.h), so that the audit checks a real implementation.
//
// One translation unit holds all five optimizers, because including libtorch's headers
// costs far more than the code: it is compiled once, and each plug-in links it with a
// one-line entry point (torch_entry.c) that picks its optimizer by a compile definition.
//
// A state keeps, per precision, a one-dimensional parameter tensor with a gradient and the
// torch::optim optimizer that owns it. A step copies the flat parameters and gradients in
// (from_blob + copy_), sets this step's lr in every parameter group, calls step() and
// copies the parameters out. The optimizer's own state (moments, step counters) stays in
// the torch objects between steps.
#include <ATen/Parallel.h>
#include <torch/optim.h>
#include <torch/types.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <type_traits>
#include <vector>

#include "zerolr/plugin.h"

namespace {

using MakeOptimizer = std::unique_ptr<torch::optim::Optimizer> (*)(const torch::Tensor& param);

/// One precision's worth of state: the parameter tensor and the optimizer stepping it.
struct Lane {
  torch::Tensor param;
  std::unique_ptr<torch::optim::Optimizer> optimizer;

  Lane(std::size_t n, torch::Dtype dtype, MakeOptimizer make) {
    const auto options = torch::TensorOptions().dtype(dtype);
    param = torch::zeros({static_cast<std::int64_t>(n)}, options).requires_grad_(true);
    param.mutable_grad() = torch::zeros({static_cast<std::int64_t>(n)}, options);
    optimizer = make(param);
  }
};

}  // namespace

/// The ABI's opaque state. Each state is used with one precision only, but which one is
/// known only at the first step, so both lanes are made by create.
struct zlr_state {
  std::size_t n;
  Lane f64;
  Lane f32;
};

namespace {

template <class T>
int step(zlr_state* s, double lr, T* params, const T* grads, std::size_t n) {
  // A refusal promises that params are untouched: they are written only at the very end.
  if (!s || !params || !grads || n != s->n || !std::isfinite(lr) || lr < 0) return 1;
  try {
    constexpr bool is_double = std::is_same_v<T, double>;
    Lane& lane = is_double ? s->f64 : s->f32;
    const auto options = torch::TensorOptions().dtype(is_double ? torch::kFloat64 : torch::kFloat32);
    const std::int64_t size = static_cast<std::int64_t>(n);
    {
      torch::NoGradGuard no_grad;
      lane.param.copy_(torch::from_blob(params, {size}, options));
      lane.param.mutable_grad().copy_(torch::from_blob(const_cast<T*>(grads), {size}, options));
    }
    for (auto& group : lane.optimizer->param_groups()) group.options().set_lr(lr);
    lane.optimizer->step();
    std::memcpy(params, lane.param.data_ptr<T>(), n * sizeof(T));
    return 0;
  } catch (...) {
    return 2;
  }
}

int step_f64(zlr_state* s, double lr, double* params, const double* grads, std::size_t n) {
  return step<double>(s, lr, params, grads, n);
}

int step_f32(zlr_state* s, float lr, float* params, const float* grads, std::size_t n) {
  return step<float>(s, static_cast<double>(lr), params, grads, n);
}

void destroy(zlr_state* s) {
  delete s;
}

template <MakeOptimizer Make>
zlr_state* create(std::size_t n) {
  if (n == 0) return nullptr;
  try {
    // The vectors are tiny; one thread keeps libtorch from starting a pool (which would
    // also make a later fork of the host process unsafe).
    at::set_num_threads(1);
    return new zlr_state{n, Lane(n, torch::kFloat64, Make), Lane(n, torch::kFloat32, Make)};
  } catch (...) {
    return nullptr;
  }
}

// The initial lr does not matter: every step sets its own.
std::unique_ptr<torch::optim::Optimizer> make_sgd(const torch::Tensor& p) {
  return std::make_unique<torch::optim::SGD>(
      std::vector<torch::Tensor>{p},
      torch::optim::SGDOptions(1e-3).momentum(0.9).dampening(0).weight_decay(0.01).nesterov(true));
}
std::unique_ptr<torch::optim::Optimizer> make_adam(const torch::Tensor& p) {
  return std::make_unique<torch::optim::Adam>(
      std::vector<torch::Tensor>{p}, torch::optim::AdamOptions(1e-3).weight_decay(0.01).amsgrad(true));
}
std::unique_ptr<torch::optim::Optimizer> make_adamw(const torch::Tensor& p) {
  return std::make_unique<torch::optim::AdamW>(std::vector<torch::Tensor>{p},
                                               torch::optim::AdamWOptions(1e-3).weight_decay(0.01));
}
std::unique_ptr<torch::optim::Optimizer> make_rmsprop(const torch::Tensor& p) {
  return std::make_unique<torch::optim::RMSprop>(
      std::vector<torch::Tensor>{p},
      torch::optim::RMSpropOptions(1e-2).alpha(0.99).eps(1e-8).momentum(0.9).centered(true));
}
std::unique_ptr<torch::optim::Optimizer> make_adagrad(const torch::Tensor& p) {
  return std::make_unique<torch::optim::Adagrad>(
      std::vector<torch::Tensor>{p},
      torch::optim::AdagradOptions(1e-2).lr_decay(0.01).initial_accumulator_value(0.1).eps(1e-10));
}

template <MakeOptimizer Make>
constexpr zlr_optimizer_plugin describe(const char* name, const char* claims) {
  return {ZLR_PLUGIN_ABI_VERSION, name, claims, create<Make>, step_f64, step_f32, destroy};
}

}  // namespace

// The descriptors, one per optimizer; torch_entry.c returns one of them.
extern "C" {

const zlr_optimizer_plugin* zlr_torch_sgd(void) {
  static const zlr_optimizer_plugin d =
      describe<make_sgd>("libtorch-sgd", "sgd(momentum=0.9,dampening=0,weight_decay=0.01,nesterov=1)");
  return &d;
}
const zlr_optimizer_plugin* zlr_torch_adam(void) {
  static const zlr_optimizer_plugin d =
      describe<make_adam>("libtorch-adam", "adam(weight_decay=0.01,amsgrad=1)");
  return &d;
}
const zlr_optimizer_plugin* zlr_torch_adamw(void) {
  static const zlr_optimizer_plugin d = describe<make_adamw>("libtorch-adamw", "adamw(weight_decay=0.01)");
  return &d;
}
const zlr_optimizer_plugin* zlr_torch_rmsprop(void) {
  static const zlr_optimizer_plugin d =
      describe<make_rmsprop>("libtorch-rmsprop", "rmsprop(alpha=0.99,eps=1e-08,momentum=0.9,centered=1)");
  return &d;
}
const zlr_optimizer_plugin* zlr_torch_adagrad(void) {
  static const zlr_optimizer_plugin d = describe<make_adagrad>(
      "libtorch-adagrad", "adagrad(lr_decay=0.01,initial_accumulator_value=0.1,eps=1e-10)");
  return &d;
}

}  // extern "C"
