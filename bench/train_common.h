#pragma once
// The three MLPs of BM_TrainStep, as plain data shared by the zerolr and the libtorch
// benchmarks (this header includes neither library, so torch headers stay in torch_bench.cpp).
//
// Both implementations train the same model on the same batch: zerolr builds the model
// from its seed, and the libtorch side copies zerolr's initial weights (handed over as
// plain vectors by make_train_problem, defined in train_bench.cpp).

#include <cstdint>
#include <string>
#include <vector>

namespace zerolr_bench {

struct TrainShape {
  const char* name;                ///< small | medium | large
  std::vector<long> widths;        ///< input, hidden..., output (ReLU between dense layers)
  long batch;
};

inline const std::vector<TrainShape>& train_shapes() {
  static const std::vector<TrainShape> shapes{
      {"small", {16, 32, 1}, 8},
      {"medium", {64, 128, 128, 10}, 32},
      {"large", {784, 256, 10}, 128},
  };
  return shapes;
}

/// "input(16),dense(32),relu,dense(1)"
inline std::string architecture_text(const TrainShape& s) {
  std::string a = "input(" + std::to_string(s.widths[0]) + ")";
  for (std::size_t i = 1; i < s.widths.size(); ++i) {
    if (i > 1) a += ",relu";
    a += ",dense(" + std::to_string(s.widths[i]) + ")";
  }
  return a;
}

/// Useful floating-point operations of one training step (multiply-adds count 2):
/// forward x W^T, weight gradient dy^T x, and the input gradient dy W of every dense layer
/// but the first (nobody needs dL/dinput). Bias, activation, loss and Adam are not counted.
inline double train_step_flops(const TrainShape& s) {
  double f = 0;
  for (std::size_t i = 1; i < s.widths.size(); ++i) {
    const double mnk = 2.0 * static_cast<double>(s.batch) * static_cast<double>(s.widths[i - 1]) *
                       static_cast<double>(s.widths[i]);
    f += i == 1 ? 2 * mnk : 3 * mnk;
  }
  return f;
}

/// The largest single matrix product of the shape: (batch x in) * (in x out), maximal in*out.
struct GemmDims {
  long m, k, n;
};
inline GemmDims largest_product(const TrainShape& s) {
  GemmDims best{s.batch, s.widths[0], s.widths[1]};
  for (std::size_t i = 2; i < s.widths.size(); ++i)
    if (s.widths[i - 1] * s.widths[i] > best.k * best.n) best = {s.batch, s.widths[i - 1], s.widths[i]};
  return best;
}

/// One problem: the initial weights (row-major out x in, as PyTorch stores them), biases,
/// the batch (row-major batch x inputs) and mse targets (row-major batch x outputs), in double.
struct TrainProblem {
  std::vector<std::vector<double>> weights, biases;
  std::vector<double> x, y;
};
TrainProblem make_train_problem(const TrainShape& s);

constexpr double kLr = 1e-3;  ///< Adam's learning rate in both implementations

/// Both implementations put the parameters and Adam's state back to their start every
/// kResetEvery steps (untimed). Left to run, a benchmark takes 10^5 steps on one batch: the
/// model overfits, moments of dead ReLU units decay (0.9^t) and gradients shrink into
/// subnormal numbers, whose arithmetic is 10-100 times slower; a step then measures the
/// FPU's subnormal assists (zerolr's small step grew from 3.5 to 20 us CPU), not training.
constexpr long kResetEvery = 100;

}  // namespace zerolr_bench

namespace benchmark {
class State;
}

namespace zerolr_bench {
/// Sets the GFLOPS, of_gemm (fraction of this run's BM_Gemm, Eigen's product) and of_kernel
/// (fraction of BM_KernelGemm, zerolr's own) counters of a BM_TrainStep run.
void report_step(benchmark::State& state, const TrainShape& shape, bool is_double);
/// Registers BM_TrainStep/libtorch/SHAPE/TYPE (torch_bench.cpp; a no-op without libtorch).
void register_torch_step(const TrainShape& shape, bool is_double);
}  // namespace zerolr_bench
