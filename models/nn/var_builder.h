// Weights looked up by their Hugging Face names under a growing prefix, as candle's VarBuilder does
// (`vb.pp("model").pp("layers").pp(3)` reads "model.layers.3.*"), from a safetensors checkpoint or a GGUF file.
#pragma once
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "models/device_map.h"
#include "runtime/core/tensor.h"

namespace glint {
struct QuantizedTensor;  // runtime/ops/quant.h
}  // namespace glint

namespace glint::io {
class Checkpoint;
struct GgufModel;
}  // namespace glint::io

namespace glint::nn {

class LinearAdapter;  // models/nn/layers.h
class OutputAdapter;  // models/nn/layers.h

// A Linear layer's parameters and the adapter on it, shared by every copy of the nn::Linear holding it: what
// adapters (models/peft) attach to by module name without the model's code knowing.
struct LinearState {
  Tensor weight, bias;
  std::shared_ptr<LinearAdapter> adapter;  // null: plain x W^T + b
  // A frozen 4-bit weight (QLoRA) in place of `weight`, which is then undefined; forward is linear_4bit.
  std::shared_ptr<const QuantizedTensor> quantized = nullptr;
};

// An Embedding's table and the adapter on it, shared like LinearState.
struct EmbeddingState {
  Tensor weight;                           // (num_embeddings, dim)
  std::shared_ptr<OutputAdapter> adapter;  // null: plain lookup
};

// A Conv2d's parameters (square kernel, equal stride and padding on both axes) and the adapter on it.
struct Conv2dState {
  Tensor weight, bias;  // (out, in, k, k), (out)
  int64_t stride = 1, padding = 0;
  std::shared_ptr<OutputAdapter> adapter;  // null: plain convolution
};

// A store of named tensors.
class WeightSource {
 public:
  virtual ~WeightSource() = default;
  virtual bool contains(const std::string& name) const = 0;
  // The tensor `name` on `device`, cast to `dtype` when given, else in the dtype it is stored in. `shape` is what
  // the model expects (sources that make weights rather than read them need it).
  virtual Tensor load(const std::string& name, const Shape& shape, Device device, std::optional<DType> dtype) const = 0;
};

// The parameters a model was built with, by HF name in load order: what training updates and saving writes.
// Every tensor has autograd state from the start, so requires_grad_ on an entry reaches the module holding it.
class ParameterStore {
 public:
  void add(const std::string& name, Tensor& t);
  const std::vector<std::pair<std::string, Tensor>>& entries() const { return entries_; }
  // The parameter `name`; "[nn] no parameter 'x'" otherwise.
  const Tensor& at(const std::string& name) const;
  // Drops parameter `name` (a weight replaced by a 4-bit one), so the store no longer keeps it alive.
  void remove(const std::string& name);
  // Linear layers by module name ("model.layers.0.self_attn.q_proj"), in load order.
  void add_linear(const std::string& name, std::shared_ptr<LinearState> linear);
  const std::vector<std::pair<std::string, std::shared_ptr<LinearState>>>& linears() const { return linears_; }
  // Embedding and Conv2d layers by module name, in load order: what adapters other than Linear ones attach to.
  void add_embedding(const std::string& name, std::shared_ptr<EmbeddingState> embedding);
  const std::vector<std::pair<std::string, std::shared_ptr<EmbeddingState>>>& embeddings() const { return embeddings_; }
  void add_conv2d(const std::string& name, std::shared_ptr<Conv2dState> conv);
  const std::vector<std::pair<std::string, std::shared_ptr<Conv2dState>>>& conv2ds() const { return conv2ds_; }

 private:
  std::vector<std::pair<std::string, Tensor>> entries_;
  std::vector<std::pair<std::string, std::shared_ptr<LinearState>>> linears_;
  std::vector<std::pair<std::string, std::shared_ptr<EmbeddingState>>> embeddings_;
  std::vector<std::pair<std::string, std::shared_ptr<Conv2dState>>> conv2ds_;
};

std::shared_ptr<const WeightSource> checkpoint_weights(std::shared_ptr<const io::Checkpoint> checkpoint);
// GGUF tensors come as f32 unless a dtype is asked for: files mix quantised, f16 and f32 tensors (norms), and one
// model needs one dtype.
std::shared_ptr<const WeightSource> gguf_weights(std::shared_ptr<const io::GgufModel> model);
// Fresh weights as transformers' _init_weights makes them: normal(0, std) for matrices (Linear, Embedding), ones
// for 1-D weights (norms), zeros for biases; each tensor seeded by `seed` and its name, so the result does not depend
// on the order modules are built in.
std::shared_ptr<const WeightSource> init_weights(uint64_t seed, double std, DType dtype = DType::f32);

class VarBuilder {
 public:
  VarBuilder(std::shared_ptr<const WeightSource> source, Device device, std::optional<DType> dtype = {});

  // A builder whose names start with this prefix plus `name`.
  VarBuilder pp(const std::string& name) const;
  VarBuilder pp(int64_t index) const { return pp(std::to_string(index)); }

  // The prefix itself: the name of the module this builder loads ("model.layers.0.mlp").
  const std::string& prefix() const { return prefix_; }
  // The full name of `name` under this prefix.
  std::string path(const std::string& name) const;
  bool contains(const std::string& name) const { return source_->contains(path(name)); }
  // The weight `name`, which must exist and have `shape` ("[nn] model.norm.weight: ..." otherwise).
  Tensor get(const std::string& name, const Shape& shape) const;

  Device device() const { return device_; }
  std::optional<DType> dtype() const { return dtype_; }
  // The same names and weights, loaded on `device` (a module placed by a device map).
  VarBuilder on(Device device) const;

  // The placement the loader was asked for (ModelLoadOptions::device_map); architectures that support device maps
  // resolve it over their modules and load each one `on` its device.
  const std::optional<DeviceMap>& device_map() const { return device_map_; }
  VarBuilder with_device_map(std::optional<DeviceMap> map) const;
  // Every weight get() has returned, shared by the builders derived from this one.
  const std::shared_ptr<ParameterStore>& parameters() const { return parameters_; }

 private:
  std::shared_ptr<const WeightSource> source_;
  Device device_;
  std::optional<DType> dtype_;
  std::string prefix_;
  std::optional<DeviceMap> device_map_;
  std::shared_ptr<ParameterStore> parameters_ = std::make_shared<ParameterStore>();
};

}  // namespace glint::nn
