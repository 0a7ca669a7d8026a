// Every layer's forward and backward, side by side.
#include <cmath>
#include <memory>
#include <type_traits>
#include <vector>

#include "instantiate.h"
#include "nn/formulas.h"
#include "zerolr/kernels.h"
#include "zerolr/nn/layer.h"
#include "zerolr/random.h"

namespace zerolr {

template <class T>
void Layer<T>::collect_parameters(std::vector<ParamRef<T>>&, const std::string&) {}
template <class T>
void Layer<T>::collect_buffers(std::vector<BufferRef<T>>&, const std::string&) {}

namespace {

template <class T>
void check_batch(const Matrix<T>& x, Index features, const char* layer) {
  if (x.rows() < 1) throw ShapeError(std::string(layer) + ": the batch is empty");
  if (x.cols() != features)
    throw ShapeError(std::string(layer) + ": expected " + std::to_string(features) +
                     " input features but got " + std::to_string(x.cols()));
}

template <class T>
void check_grad(const Matrix<T>& dy, const Matrix<T>& y, const char* layer) {
  if (dy.rows() != y.rows() || dy.cols() != y.cols())
    throw ShapeError(std::string(layer) + ": backward got a " + std::to_string(dy.rows()) + "x" +
                     std::to_string(dy.cols()) + " gradient for a " + std::to_string(y.rows()) + "x" +
                     std::to_string(y.cols()) + " output (call forward first)");
}

// ---------------------------------------------------------------------------------------
// dst = op(a) * op(b). In float and double the product is zerolr's own kernel
// (zerolr/kernels.h): each entry is the left-to-right sum over the inner index, the same bits
// on every CPU and instruction set, and no heap allocation once the scratch space has grown
// to the layer's shapes. Double-double (the reference) has its own kernel with a fixed
// order too; other scalars (float128, the fallback reference) use Eigen's product.
template <class T>
class GemmWorkspace {
 public:
  template <bool TransA, bool TransB>
  void product(Matrix<T>& dst, const Matrix<T>& a, const Matrix<T>& b) {
    const Index rows = TransA ? a.cols() : a.rows();
    const Index depth = TransA ? a.rows() : a.cols();
    const Index cols = TransB ? b.rows() : b.cols();
    dst.resize(rows, cols);
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
      const std::size_t need = static_cast<std::size_t>(kernels::gemm_scratch_size(rows, cols, depth));
      if (scratch_.size() < need) scratch_.resize(need);
      kernels::gemm<T>(rows, cols, depth, a.data(), a.outerStride(), TransA, b.data(), b.outerStride(), TransB,
                       dst.data(), dst.outerStride(), scratch_.data());
    } else if constexpr (std::is_same_v<T, DoubleDouble>) {
      kernels::gemm_dd(rows, cols, depth, a.data(), a.outerStride(), TransA, b.data(), b.outerStride(), TransB,
                       dst.data(), dst.outerStride());
    } else if constexpr (TransA && TransB) {
      dst.noalias() = a.transpose() * b.transpose();
    } else if constexpr (TransA) {
      dst.noalias() = a.transpose() * b;
    } else if constexpr (TransB) {
      dst.noalias() = a * b.transpose();
    } else {
      dst.noalias() = a * b;
    }
  }

 private:
  std::vector<T> scratch_;
};

// ---------------------------------------------------------------------------------------
// Dense: y = x W^T + b.   dW = dy^T x,  db = column sums of dy,  dx = dy W.
template <class T>
class Dense final : public Layer<T> {
 public:
  Dense(const LayerSpec& spec, Index in, std::uint64_t seed)
      : spec_(spec),
        w_(spec.units, in),
        b_(spec.units, 1),
        gw_(Matrix<T>::Zero(spec.units, in)),
        gb_(Matrix<T>::Zero(spec.units, 1)) {
    Rng rng(seed);
    const double fan_in = static_cast<double>(in);
    const double fan_out = static_cast<double>(spec.units);
    double bound = 0, stddev = 0;
    bool normal = false;
    switch (spec.init) {
      case Init::Torch:
        bound = 1.0 / std::sqrt(fan_in);
        break;
      case Init::XavierUniform:
        bound = std::sqrt(6.0 / (fan_in + fan_out));
        break;
      case Init::XavierNormal:
        stddev = std::sqrt(2.0 / (fan_in + fan_out));
        normal = true;
        break;
      case Init::HeUniform:
        bound = std::sqrt(6.0 / fan_in);
        break;
      case Init::HeNormal:
        stddev = std::sqrt(2.0 / fan_in);
        normal = true;
        break;
    }
    // Row-major draw order, as PyTorch lays out weight[out][in].
    for (Index i = 0; i < w_.rows(); ++i)
      for (Index j = 0; j < w_.cols(); ++j)
        w_(i, j) = static_cast<T>(normal ? stddev * rng.normal() : rng.uniform(-bound, bound));
    for (Index i = 0; i < b_.rows(); ++i)
      b_(i, 0) = static_cast<T>(spec.init == Init::Torch ? rng.uniform(-bound, bound) : 0.0);
  }

  LayerSpec spec() const override { return spec_; }

  const Matrix<T>& forward(const Matrix<T>& x, Mode) override {
    check_batch(x, w_.cols(), "dense");
    x_ = x;
    fwd_.template product<false, true>(y_, x, w_);
    y_.rowwise() += b_.col(0).transpose();
    return y_;
  }

  const Matrix<T>& backward(const Matrix<T>& dy) override {
    check_grad(dy, y_, "dense");
    gw_ws_.template product<true, false>(gw_, dy, x_);
    for (Index j = 0; j < dy.cols(); ++j) {
      T s(0);
      for (Index i = 0; i < dy.rows(); ++i) s += dy(i, j);
      gb_(j, 0) = s;
    }
    if (input_gradient_)
      dx_ws_.template product<false, false>(dx_, dy, w_);
    else
      dx_.resize(dy.rows(), w_.cols());  // not computed: the caller does not read it
    return dx_;
  }

  void set_input_gradient(bool on) override { input_gradient_ = on; }

  void collect_parameters(std::vector<ParamRef<T>>& out, const std::string& prefix) override {
    out.push_back({prefix + "weight", &w_, &gw_});
    out.push_back({prefix + "bias", &b_, &gb_});
  }

  std::unique_ptr<Layer<T>> clone() const override { return std::make_unique<Dense>(*this); }

 private:
  LayerSpec spec_;
  Matrix<T> w_, b_, gw_, gb_;
  Matrix<T> x_, y_, dx_;
  GemmWorkspace<T> fwd_, gw_ws_, dx_ws_;
  bool input_gradient_ = true;
};

// ---------------------------------------------------------------------------------------
// Elementwise activations: y = f(x), dx = dy * f'(x). Act provides value and derivative
// (given x and y), or, where PyTorch's backward is not that product, grad(dy, x, y) itself;
// NaN inputs propagate to the output as in PyTorch.
template <class T>
struct ReluFn;

template <class Act, class T>
T activation_grad(const Act& act, const T& dy, const T& x, const T& y) {
  if constexpr (requires { act.grad(dy, x, y); })
    return act.grad(dy, x, y);
  else
    return dy * act.derivative(x, y);
}

template <class T, class Act>
class Elementwise final : public Layer<T> {
  // ReLU in float and double runs zerolr/kernels.h's loops: a compiled branch on the sign of
  // each entry mispredicts half the time on random data.
  static constexpr bool kRelu =
      std::is_same_v<Act, ReluFn<T>> && (std::is_same_v<T, float> || std::is_same_v<T, double>);

 public:
  explicit Elementwise(const LayerSpec& spec) : spec_(spec), act_{spec} {}

  LayerSpec spec() const override { return spec_; }

  const Matrix<T>& forward(const Matrix<T>& x, Mode) override {
    if (x.rows() < 1) throw ShapeError(to_string(spec_.kind) + ": the batch is empty");
    x_ = x;
    y_.resize(x.rows(), x.cols());
    // Restrict-qualified so that the compiler may vectorize (relu's select becomes a blend).
    const T* __restrict in = x_.data();
    T* __restrict out = y_.data();
    const Index size = x_.size();
    if constexpr (kRelu) {
      kernels::relu_forward<T>(size, in, out);  // the same formula, vectorized (zerolr/kernels.h)
    } else {
      for (Index k = 0; k < size; ++k) out[k] = act_.value(in[k]);
    }
    return y_;
  }

  const Matrix<T>& backward(const Matrix<T>& dy) override {
    check_grad(dy, y_, to_string(spec_.kind).c_str());
    dx_.resize(dy.rows(), dy.cols());
    const T* __restrict d = dy.data();
    const T* __restrict xs = x_.data();
    const T* __restrict ys = y_.data();
    T* __restrict out = dx_.data();
    const Index size = dy.size();
    if constexpr (kRelu) {
      kernels::relu_backward<T>(size, d, xs, out);  // ReluFn::grad, vectorized
    } else {
      for (Index k = 0; k < size; ++k) out[k] = activation_grad(act_, d[k], xs[k], ys[k]);
    }
    return dx_;
  }

  std::unique_ptr<Layer<T>> clone() const override { return std::make_unique<Elementwise>(*this); }

 private:
  LayerSpec spec_;
  Act act_;
  Matrix<T> x_, y_, dx_;
};

template <class T>
struct ReluFn {
  LayerSpec spec;
  T value(const T& x) const { return x <= 0 ? T(0) : x; }
  // PyTorch's ReLU backward (threshold_backward) selects, dx = (x <= 0) ? 0 : dy, so a NaN or
  // infinite dy where x <= 0 is dropped, not multiplied by 0 (libtorch 1.13: relu(-1)
  // backward with dy = NaN gives 0).
  T grad(const T& dy, const T& x, const T&) const { return x <= 0 ? T(0) : dy; }
};

template <class T>
struct LeakyReluFn {
  LayerSpec spec;
  T value(const T& x) const { return x <= 0 ? static_cast<T>(spec.slope) * x : x; }
  T derivative(const T& x, const T&) const { return x > 0 ? T(1) : static_cast<T>(spec.slope); }
};

template <class T>
struct TanhFn {
  LayerSpec spec;
  T value(const T& x) const {
    using std::tanh;
    return tanh(x);
  }
  T derivative(const T&, const T& y) const { return T(1) - y * y; }
};

template <class T>
struct SigmoidFn {
  LayerSpec spec;
  // Split by sign so that exp never overflows.
  T value(const T& x) const {
    using std::exp;
    if (x >= 0) return T(1) / (T(1) + exp(-x));
    const T e = exp(x);
    return e / (T(1) + e);
  }
  T derivative(const T&, const T& y) const { return y * (T(1) - y); }
};

template <class T>
struct SoftplusFn {
  LayerSpec spec;
  // PyTorch: linear where beta*x > threshold, else log1p(exp(beta*x)) / beta (nn/formulas.h).
  T value(const T& x) const { return formula::softplus(x, spec.beta, spec.threshold).y; }
  T derivative(const T& x, const T&) const {
    using std::exp;
    const T bx = static_cast<T>(spec.beta) * x;
    if (bx > static_cast<T>(spec.threshold)) return T(1);
    // sigmoid(bx), split by sign as above.
    if (bx >= 0) return T(1) / (T(1) + exp(-bx));
    const T e = exp(bx);
    return e / (T(1) + e);
  }
};

// ---------------------------------------------------------------------------------------
// Dropout: in Train mode each entry is kept with probability 1-p and scaled by 1/(1-p);
// in Eval mode it is the identity. Masks come from (seed, call, entry), so a run replays.
template <class T>
class Dropout final : public Layer<T> {
 public:
  Dropout(const LayerSpec& spec, std::uint64_t seed) : spec_(spec), seed_(seed) {}

  LayerSpec spec() const override { return spec_; }

  const Matrix<T>& forward(const Matrix<T>& x, Mode mode) override {
    if (x.rows() < 1) throw ShapeError("dropout: the batch is empty");
    train_ = mode == Mode::Train && spec_.p > 0;
    y_.resize(x.rows(), x.cols());
    if (!train_) {
      y_ = x;
      return y_;
    }
    mask_.resize(x.rows(), x.cols());
    const T scale = spec_.p >= 1 ? T(0) : static_cast<T>(1.0 / (1.0 - spec_.p));
    const std::uint64_t call_seed = mix_seed(seed_, calls_++);
    for (Index k = 0; k < x.size(); ++k) {
      const double u =
          static_cast<double>(mix_seed(call_seed, static_cast<std::uint64_t>(k)) >> 11) * 0x1.0p-53;
      mask_.data()[k] = u < 1.0 - spec_.p ? scale : T(0);
    }
    y_.array() = x.array() * mask_.array();
    return y_;
  }

  const Matrix<T>& backward(const Matrix<T>& dy) override {
    check_grad(dy, y_, "dropout");
    if (!train_) {
      dx_ = dy;
    } else {
      dx_.resize(dy.rows(), dy.cols());
      dx_.array() = dy.array() * mask_.array();
    }
    return dx_;
  }

  std::unique_ptr<Layer<T>> clone() const override { return std::make_unique<Dropout>(*this); }
  std::uint64_t random_state() const override { return calls_; }
  void set_random_state(std::uint64_t calls) override { calls_ = calls; }

 private:
  LayerSpec spec_;
  std::uint64_t seed_;
  std::uint64_t calls_ = 0;
  bool train_ = false;
  Matrix<T> mask_, y_, dx_;
};

// ---------------------------------------------------------------------------------------
// Normalisation over a set of values: xhat = (x - mean) * invstd, y = gamma xhat + beta.
// With dxhat = dy gamma over m values that shared the statistics:
//   dx = invstd / m * (m dxhat - sum(dxhat) - xhat sum(dxhat xhat)).

// BatchNorm1d: statistics per feature over the batch (Train), or the running statistics
// (Eval). Train mode updates running_mean and running_var (unbiased) with momentum, as
// PyTorch does, whatever the learning rate: this is the buffer that moves at lr = 0.
template <class T>
class BatchNorm1d final : public Layer<T> {
 public:
  BatchNorm1d(const LayerSpec& spec, Index features)
      : spec_(spec),
        gamma_(Matrix<T>::Ones(features, 1)),
        beta_(Matrix<T>::Zero(features, 1)),
        ggamma_(Matrix<T>::Zero(features, 1)),
        gbeta_(Matrix<T>::Zero(features, 1)),
        running_mean_(Matrix<T>::Zero(features, 1)),
        running_var_(Matrix<T>::Ones(features, 1)),
        invstd_(features) {}

  LayerSpec spec() const override { return spec_; }

  const Matrix<T>& forward(const Matrix<T>& x, Mode mode) override {
    using std::sqrt;
    check_batch(x, gamma_.rows(), "batchnorm");
    const Index n = x.rows();
    train_ = mode == Mode::Train;
    if (train_ && n < 2)
      throw ShapeError("batchnorm: expected more than 1 value per channel when training (batch of 1)");
    xhat_.resize(n, x.cols());
    y_.resize(n, x.cols());
    const T eps = static_cast<T>(spec_.eps);
    const T momentum = static_cast<T>(spec_.momentum);
    const T keep = static_cast<T>(1.0 - spec_.momentum);
    for (Index j = 0; j < x.cols(); ++j) {
      T mean, var;
      if (train_) {
        const formula::Moments<T> mo = formula::moments<T>(n, [&](Index i) { return x(i, j); });
        mean = mo.mean;
        var = mo.var;
        running_mean_(j, 0) = keep * running_mean_(j, 0) + momentum * mean;
        running_var_(j, 0) = keep * running_var_(j, 0) + momentum * (mo.ss / T(n - 1));
      } else {
        mean = running_mean_(j, 0);
        var = running_var_(j, 0);
      }
      invstd_(j) = formula::inverse_std(var, eps);
      for (Index i = 0; i < n; ++i) {
        const formula::Normalized<T> v = formula::normalize(x(i, j), mean, invstd_(j), gamma_(j, 0), beta_(j, 0));
        xhat_(i, j) = v.xhat;
        y_(i, j) = v.y;
      }
    }
    if (train_) ++batches_tracked_;  // as PyTorch's num_batches_tracked
    return y_;
  }

  const Matrix<T>& backward(const Matrix<T>& dy) override {
    check_grad(dy, y_, "batchnorm");
    const Index n = dy.rows();
    dx_.resize(n, dy.cols());
    for (Index j = 0; j < dy.cols(); ++j) {
      T sum_dy(0), sum_dy_xhat(0);
      for (Index i = 0; i < n; ++i) {
        sum_dy += dy(i, j);
        sum_dy_xhat += dy(i, j) * xhat_(i, j);
      }
      ggamma_(j, 0) = sum_dy_xhat;
      gbeta_(j, 0) = sum_dy;
      const T g = gamma_(j, 0);
      if (train_) {
        // sum(dxhat) = g sum_dy, sum(dxhat xhat) = g sum_dy_xhat.
        const T scale = invstd_(j) / T(n);
        for (Index i = 0; i < n; ++i)
          dx_(i, j) = scale * (T(n) * (dy(i, j) * g) - g * sum_dy - xhat_(i, j) * (g * sum_dy_xhat));
      } else {
        for (Index i = 0; i < n; ++i) dx_(i, j) = dy(i, j) * g * invstd_(j);
      }
    }
    return dx_;
  }

  void collect_parameters(std::vector<ParamRef<T>>& out, const std::string& prefix) override {
    out.push_back({prefix + "weight", &gamma_, &ggamma_});
    out.push_back({prefix + "bias", &beta_, &gbeta_});
  }
  void collect_buffers(std::vector<BufferRef<T>>& out, const std::string& prefix) override {
    out.push_back({prefix + "running_mean", &running_mean_});
    out.push_back({prefix + "running_var", &running_var_});
  }

  std::unique_ptr<Layer<T>> clone() const override { return std::make_unique<BatchNorm1d>(*this); }

 private:
  LayerSpec spec_;
  Matrix<T> gamma_, beta_, ggamma_, gbeta_, running_mean_, running_var_;
  Vector<T> invstd_;
  Matrix<T> xhat_, y_, dx_;
  bool train_ = false;
  std::int64_t batches_tracked_ = 0;
};

// LayerNorm: statistics per sample over its features (biased variance), the same in
// Train and Eval mode; elementwise affine gamma and beta.
template <class T>
class LayerNorm final : public Layer<T> {
 public:
  LayerNorm(const LayerSpec& spec, Index features)
      : spec_(spec),
        gamma_(Matrix<T>::Ones(features, 1)),
        beta_(Matrix<T>::Zero(features, 1)),
        ggamma_(Matrix<T>::Zero(features, 1)),
        gbeta_(Matrix<T>::Zero(features, 1)) {}

  LayerSpec spec() const override { return spec_; }

  const Matrix<T>& forward(const Matrix<T>& x, Mode) override {
    using std::sqrt;
    check_batch(x, gamma_.rows(), "layernorm");
    const Index n = x.rows(), d = x.cols();
    xhat_.resize(n, d);
    y_.resize(n, d);
    invstd_.resize(n);
    const T eps = static_cast<T>(spec_.eps);
    for (Index i = 0; i < n; ++i) {
      const formula::Moments<T> mo = formula::moments<T>(d, [&](Index j) { return x(i, j); });
      invstd_(i) = formula::inverse_std(mo.var, eps);
      for (Index j = 0; j < d; ++j) {
        const formula::Normalized<T> v = formula::normalize(x(i, j), mo.mean, invstd_(i), gamma_(j, 0), beta_(j, 0));
        xhat_(i, j) = v.xhat;
        y_(i, j) = v.y;
      }
    }
    return y_;
  }

  const Matrix<T>& backward(const Matrix<T>& dy) override {
    check_grad(dy, y_, "layernorm");
    const Index n = dy.rows(), d = dy.cols();
    dx_.resize(n, d);
    for (Index j = 0; j < d; ++j) {
      T sg(0), sb(0);
      for (Index i = 0; i < n; ++i) {
        sg += dy(i, j) * xhat_(i, j);
        sb += dy(i, j);
      }
      ggamma_(j, 0) = sg;
      gbeta_(j, 0) = sb;
    }
    for (Index i = 0; i < n; ++i) {
      T sum_dxhat(0), sum_dxhat_xhat(0);
      for (Index j = 0; j < d; ++j) {
        const T dxhat = dy(i, j) * gamma_(j, 0);
        sum_dxhat += dxhat;
        sum_dxhat_xhat += dxhat * xhat_(i, j);
      }
      const T scale = invstd_(i) / T(d);
      for (Index j = 0; j < d; ++j)
        dx_(i, j) = scale * (T(d) * (dy(i, j) * gamma_(j, 0)) - sum_dxhat - xhat_(i, j) * sum_dxhat_xhat);
    }
    return dx_;
  }

  void collect_parameters(std::vector<ParamRef<T>>& out, const std::string& prefix) override {
    out.push_back({prefix + "weight", &gamma_, &ggamma_});
    out.push_back({prefix + "bias", &beta_, &gbeta_});
  }

  std::unique_ptr<Layer<T>> clone() const override { return std::make_unique<LayerNorm>(*this); }

 private:
  LayerSpec spec_;
  Matrix<T> gamma_, beta_, ggamma_, gbeta_;
  Vector<T> invstd_;
  Matrix<T> xhat_, y_, dx_;
};

}  // namespace

template <class T>
std::unique_ptr<Layer<T>> make_layer(const LayerSpec& spec, Index in, std::uint64_t seed) {
  if (in < 1) throw ShapeError("make_layer: a layer needs at least one input feature");
  Architecture check{in, {spec}};
  check.outputs();  // validates the spec's ranges
  switch (spec.kind) {
    case LayerKind::Dense:
      return std::make_unique<Dense<T>>(spec, in, seed);
    case LayerKind::ReLU:
      return std::make_unique<Elementwise<T, ReluFn<T>>>(spec);
    case LayerKind::LeakyReLU:
      return std::make_unique<Elementwise<T, LeakyReluFn<T>>>(spec);
    case LayerKind::Tanh:
      return std::make_unique<Elementwise<T, TanhFn<T>>>(spec);
    case LayerKind::Sigmoid:
      return std::make_unique<Elementwise<T, SigmoidFn<T>>>(spec);
    case LayerKind::Softplus:
      return std::make_unique<Elementwise<T, SoftplusFn<T>>>(spec);
    case LayerKind::Dropout:
      return std::make_unique<Dropout<T>>(spec, seed);
    case LayerKind::BatchNorm1d:
      return std::make_unique<BatchNorm1d<T>>(spec, in);
    case LayerKind::LayerNorm:
      return std::make_unique<LayerNorm<T>>(spec, in);
  }
  throw SpecError("make_layer: unknown layer kind");
}

#define ZEROLR_INST(T)     \
  template class Layer<T>; \
  template std::unique_ptr<Layer<T>> make_layer<T>(const LayerSpec&, Index, std::uint64_t);
ZEROLR_FOR_EACH_SCALAR(ZEROLR_INST)
#undef ZEROLR_INST

}  // namespace zerolr
