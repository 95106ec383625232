#include "models/nn/var_builder.h"

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
  Tensor load(const std::string& name, Device device, std::optional<DType> dtype) const override {
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
  Tensor load(const std::string& name, Device device, std::optional<DType> dtype) const override {
    return model_->tensor(name, dtype.value_or(DType::f32), device);
  }

 private:
  std::shared_ptr<const io::GgufModel> model_;
  std::set<std::string> names_;
};

}  // namespace

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
  Tensor t = source_->load(full, device_, dtype_);
  GLINT_CHECK(t.shape() == shape, "nn", "weight '", full, "' has shape ", shape_str(t.shape()), ", expected ",
              shape_str(shape));
  return t;
}

}  // namespace glint::nn
