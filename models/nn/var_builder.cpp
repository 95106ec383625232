#include "models/nn/var_builder.h"

#include <cmath>
#include <numbers>
#include <set>
#include <utility>

#include "runtime/core/error.h"
#include "runtime/io/checkpoint.h"
#include "runtime/io/gguf_model.h"

namespace glint::nn {
namespace {

class CheckpointWeights final : public WeightSource {
 public:
  explicit CheckpointWeights(std::shared_ptr<const io::Checkpoint> c) : checkpoint_(std::move(c)) {}
  bool contains(const std::string& name) const override { return checkpoint_->contains(name); }
  Tensor load(const std::string& name, const Shape&, Device device, std::optional<DType> dtype) const override {
    return checkpoint_->tensor(name, device, dtype);
  }

 private:
  std::shared_ptr<const io::Checkpoint> checkpoint_;
};

class GgufWeights final : public WeightSource {
 public:
  explicit GgufWeights(std::shared_ptr<const io::GgufModel> m) : model_(std::move(m)) {
    for (const std::string& n : model_->names) names_.insert(n);
  }
  bool contains(const std::string& name) const override { return names_.count(name) != 0; }
  Tensor load(const std::string& name, const Shape&, Device device, std::optional<DType> dtype) const override {
    return model_->tensor(name, dtype.value_or(DType::f32), device);
  }

 private:
  std::shared_ptr<const io::GgufModel> model_;
  std::set<std::string> names_;
};

class InitWeights final : public WeightSource {
 public:
  InitWeights(uint64_t seed, double std, DType dtype) : seed_(seed), std_(std), dtype_(dtype) {}
  bool contains(const std::string&) const override { return true; }
  Tensor load(const std::string& name, const Shape& shape, Device device, std::optional<DType> dtype) const override {
    const DType dt = dtype.value_or(dtype_);
    const bool bias = name.size() >= 5 && name.compare(name.size() - 5, 5, ".bias") == 0;
    if (bias) return zeros(shape, dt, device);
    if (shape.size() == 1) return full(shape, 1.0, dt, device);
    // splitmix64 seeded by seed and the name's FNV-1a hash, feeding Box-Muller: the same on every platform.
    uint64_t state = 0xcbf29ce484222325ull;
    for (unsigned char c : name) state = (state ^ c) * 0x100000001b3ull;
    state ^= seed_;
    auto next = [&state] {
      uint64_t z = (state += 0x9e3779b97f4a7c15ull);
      z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
      z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
      return double((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
    };
    std::vector<float> v(size_t(numel_of(shape)));
    for (size_t i = 0; i < v.size(); i += 2) {
      const double r = std::sqrt(-2.0 * std::log(1.0 - next())), a = 2.0 * std::numbers::pi * next();
      v[i] = float(std_ * r * std::cos(a));
      if (i + 1 < v.size()) v[i + 1] = float(std_ * r * std::sin(a));
    }
    return Tensor::from_vector(v, shape, DType::f32, device).to(dt);
  }

 private:
  uint64_t seed_;
  double std_;
  DType dtype_;
};

}  // namespace

void ParameterStore::add(const std::string& name, Tensor& t) {
  t.ensure_autograd_meta();
  entries_.emplace_back(name, t);
}

const Tensor& ParameterStore::at(const std::string& name) const {
  for (const auto& [n, t] : entries_)
    if (n == name) return t;
  fail("nn", "no parameter '", name, "'");
}

void ParameterStore::remove(const std::string& name) {
  std::erase_if(entries_, [&](const auto& e) { return e.first == name; });
}

void ParameterStore::add_linear(const std::string& name, std::shared_ptr<LinearState> linear) {
  linears_.emplace_back(name, std::move(linear));
}

void ParameterStore::add_embedding(const std::string& name, std::shared_ptr<EmbeddingState> embedding) {
  embeddings_.emplace_back(name, std::move(embedding));
}

void ParameterStore::add_conv2d(const std::string& name, std::shared_ptr<Conv2dState> conv) {
  conv2ds_.emplace_back(name, std::move(conv));
}

std::shared_ptr<const WeightSource> init_weights(uint64_t seed, double std, DType dtype) {
  return std::make_shared<InitWeights>(seed, std, dtype);
}

std::shared_ptr<const WeightSource> checkpoint_weights(std::shared_ptr<const io::Checkpoint> checkpoint) {
  return std::make_shared<CheckpointWeights>(std::move(checkpoint));
}

std::shared_ptr<const WeightSource> gguf_weights(std::shared_ptr<const io::GgufModel> model) {
  return std::make_shared<GgufWeights>(std::move(model));
}

VarBuilder::VarBuilder(std::shared_ptr<const WeightSource> source, Device device, std::optional<DType> dtype)
    : source_(std::move(source)), device_(device), dtype_(dtype) {}

VarBuilder VarBuilder::pp(const std::string& name) const {
  VarBuilder vb = *this;
  vb.prefix_ = path(name);
  return vb;
}

VarBuilder VarBuilder::on(Device device) const {
  VarBuilder vb = *this;
  vb.device_ = device;
  return vb;
}

VarBuilder VarBuilder::with_device_map(std::optional<DeviceMap> map) const {
  VarBuilder vb = *this;
  vb.device_map_ = std::move(map);
  return vb;
}

std::string VarBuilder::path(const std::string& name) const { return prefix_.empty() ? name : prefix_ + "." + name; }

Tensor VarBuilder::get(const std::string& name, const Shape& shape) const {
  const std::string full = path(name);
  GLINT_CHECK(source_->contains(full), "nn", "weight '", full, "' is missing");
  Tensor t = source_->load(full, shape, device_, dtype_);
  GLINT_CHECK(t.shape() == shape, "nn", "weight '", full, "' has shape ", shape_str(t.shape()), ", expected ",
              shape_str(shape));
  parameters_->add(full, t);
  return t;
}

}  // namespace glint::nn
