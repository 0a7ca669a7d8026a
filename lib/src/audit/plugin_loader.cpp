#include "zerolr/audit/plugin_loader.h"

#include <dlfcn.h>
#include <sys/stat.h>

#include <cstring>

namespace zerolr {

Plugin::Plugin(const std::string& path) : origin_(path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) throw PluginError("plug-in '" + path + "': no such file");
  if (S_ISDIR(st.st_mode)) throw PluginError("plug-in '" + path + "': is a directory, not a shared library");
  // A path without a slash would make dlopen search the library path: load what was named.
  const std::string name = path.find('/') == std::string::npos ? "./" + path : path;
  handle_ = ::dlopen(name.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle_) {
    const char* e = ::dlerror();
    throw PluginError("plug-in '" + path + "': cannot be loaded: " + (e ? e : "unknown dlopen error"));
  }
  using Entry = const zlr_optimizer_plugin* (*)();
  void* sym = ::dlsym(handle_, "zlr_optimizer_plugin_v1");
  if (!sym) {
    ::dlclose(handle_);
    handle_ = nullptr;
    throw PluginError("plug-in '" + path + "': does not export zlr_optimizer_plugin_v1");
  }
  Entry entry = nullptr;
  static_assert(sizeof entry == sizeof sym);
  std::memcpy(&entry, &sym, sizeof entry);
  desc_ = entry();
  try {
    validate();
  } catch (...) {
    ::dlclose(handle_);
    handle_ = nullptr;
    throw;
  }
}

Plugin::Plugin(const zlr_optimizer_plugin* descriptor, std::string origin)
    : desc_(descriptor), origin_(std::move(origin)) {
  validate();
}

Plugin::~Plugin() {
  if (handle_) ::dlclose(handle_);
}

void Plugin::validate() {
  const std::string where = "plug-in '" + origin_ + "'";
  if (!desc_) throw PluginError(where + ": zlr_optimizer_plugin_v1 returned NULL");
  if (desc_->abi_version != ZLR_PLUGIN_ABI_VERSION)
    throw PluginError(where + ": unknown abi_version " + std::to_string(desc_->abi_version) +
                      " (this audit speaks " + std::to_string(ZLR_PLUGIN_ABI_VERSION) + ")");
  if (!desc_->name || !*desc_->name) throw PluginError(where + ": has no name");
  if (std::strlen(desc_->name) > 200) throw PluginError(where + ": its name is longer than 200 characters");
  if (!desc_->create) throw PluginError(where + ": create is NULL");
  if (!desc_->step) throw PluginError(where + ": step is NULL");
  if (!desc_->destroy) throw PluginError(where + ": destroy is NULL");
  if (desc_->claims) {
    try {
      claims_ = parse_optimizer_spec(desc_->claims);
    } catch (const SpecError& e) {
      throw PluginError(where + ": malformed claims: " + e.what());
    }
  }
}

template <class T>
PluginOptimizer<T>::PluginOptimizer(std::shared_ptr<const Plugin> plugin) : plugin_(std::move(plugin)) {
  if constexpr (std::is_same_v<T, float>) {
    if (!plugin_->has_f32()) throw PluginError("plug-in '" + plugin_->name() + "' has no step_f32");
  }
}

template <class T>
PluginOptimizer<T>::~PluginOptimizer() {
  for (auto& t : tensors_)
    if (t.state) plugin_->descriptor().destroy(t.state);
}

template <class T>
int PluginOptimizer<T>::try_step(std::size_t tensor, T* param, const T* grad, Index n, T lr) {
  if (n < 1) throw ShapeError("plug-in step: a tensor needs at least one value");
  if (tensor >= tensors_.size()) tensors_.resize(tensor + 1);
  Tensor& t = tensors_[tensor];
  if (!t.state) {
    t.state = plugin_->descriptor().create(static_cast<std::size_t>(n));
    if (!t.state)
      throw PluginError("plug-in '" + plugin_->name() + "': create(" + std::to_string(n) + ") returned NULL");
    t.n = n;
  } else if (t.n != n) {
    throw ShapeError("plug-in step: tensor " + std::to_string(tensor) + " changed size from " +
                     std::to_string(t.n) + " to " + std::to_string(n));
  }
  t.history.push_back({lr, std::vector<T>(param, param + n), std::vector<T>(grad, grad + n)});
  int status;
  if constexpr (std::is_same_v<T, float>)
    status = plugin_->descriptor().step_f32(t.state, lr, param, grad, static_cast<std::size_t>(n));
  else
    status = plugin_->descriptor().step(t.state, lr, param, grad, static_cast<std::size_t>(n));
  ++t.steps;
  return status;
}

template <class T>
void PluginOptimizer<T>::step_tensor(std::size_t tensor, T* param, const T* grad, Index n, T lr) {
  const int status = try_step(tensor, param, grad, n, lr);
  if (status != 0)
    throw StepRefused("plug-in '" + plugin_->name() + "' refused a step (status " + std::to_string(status) +
                      ")");
}

template <class T>
OptimizerSpec PluginOptimizer<T>::spec() const {
  return plugin_->claims() ? *plugin_->claims() : OptimizerSpec{SgdSettings{}};
}

template <class T>
std::int64_t PluginOptimizer<T>::step_count(std::size_t tensor) const {
  return tensor < tensors_.size() ? tensors_[tensor].steps : 0;
}

template <class T>
void PluginOptimizer<T>::set_step_count(std::size_t, std::int64_t) {
  throw Error("plug-in '" + plugin_->name() + "': its state is opaque and cannot be set");
}

template <class T>
Index PluginOptimizer<T>::state_size(std::size_t tensor) const {
  return tensor < tensors_.size() ? tensors_[tensor].n : 0;
}

template <class T>
std::unique_ptr<Optimizer<T>> PluginOptimizer<T>::clone() const {
  auto copy = std::make_unique<PluginOptimizer<T>>(plugin_);
  for (std::size_t i = 0; i < tensors_.size(); ++i)
    for (const Call& c : tensors_[i].history) {
      std::vector<T> p = c.params;
      copy->try_step(i, p.data(), c.grads.data(), static_cast<Index>(p.size()), c.lr);
    }
  return copy;
}

template class PluginOptimizer<float>;
template class PluginOptimizer<double>;

}  // namespace zerolr
