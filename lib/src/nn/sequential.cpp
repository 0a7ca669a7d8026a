#include "zerolr/nn/sequential.h"

#include "instantiate.h"
#include "zerolr/random.h"

namespace zerolr {

template <class T>
Sequential<T>::Sequential(const Architecture& arch, std::uint64_t seed) : arch_(arch), seed_(seed) {
  Index width = arch.inputs;
  arch.outputs();  // validates every layer before anything is built
  for (std::size_t i = 0; i < arch.layers.size(); ++i) {
    const auto& spec = arch.layers[i];
    layers_.push_back(make_layer<T>(spec, width, mix_seed(seed, i)));
    if (spec.kind == LayerKind::Dense) width = spec.units;
  }
}

template <class T>
Sequential<T>::Sequential(const Sequential& other) : arch_(other.arch_), seed_(other.seed_) {
  for (const auto& l : other.layers_) layers_.push_back(l->clone());
}

template <class T>
Sequential<T>& Sequential<T>::operator=(const Sequential& other) {
  if (this != &other) {
    Sequential copy(other);
    *this = std::move(copy);
  }
  return *this;
}

template <class T>
const Matrix<T>& Sequential<T>::forward(const Matrix<T>& x, Mode mode) {
  if (x.cols() != arch_.inputs)
    throw ShapeError("model: expected " + std::to_string(arch_.inputs) + " input features but got " +
                     std::to_string(x.cols()));
  if (x.rows() < 1) throw ShapeError("model: the batch is empty");
  const Matrix<T>* cur = &x;
  for (auto& l : layers_) cur = &l->forward(*cur, mode);
  if (layers_.empty()) {
    identity_ = x;
    return identity_;
  }
  return *cur;
}

template <class T>
const Matrix<T>& Sequential<T>::backward(const Matrix<T>& grad_out, bool input_gradient) {
  if (!layers_.empty()) layers_.front()->set_input_gradient(input_gradient);
  const Matrix<T>* cur = &grad_out;
  for (auto it = layers_.rbegin(); it != layers_.rend(); ++it) cur = &(*it)->backward(*cur);
  if (layers_.empty()) {
    identity_ = grad_out;
    return identity_;
  }
  return *cur;
}

template <class T>
std::vector<ParamRef<T>> Sequential<T>::parameters() {
  std::vector<ParamRef<T>> out;
  for (std::size_t i = 0; i < layers_.size(); ++i)
    layers_[i]->collect_parameters(out, std::to_string(i) + ".");
  return out;
}

template <class T>
std::vector<BufferRef<T>> Sequential<T>::buffers() {
  std::vector<BufferRef<T>> out;
  for (std::size_t i = 0; i < layers_.size(); ++i) layers_[i]->collect_buffers(out, std::to_string(i) + ".");
  return out;
}

template <class T>
Index Sequential<T>::outputs() const {
  return arch_.outputs();
}

template <class T>
Index Sequential<T>::parameter_count() {
  Index n = 0;
  for (const auto& p : parameters()) n += p.value->size();
  return n;
}

ZEROLR_INSTANTIATE_CLASS(Sequential)

}  // namespace zerolr
