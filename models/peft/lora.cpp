#include "models/peft/lora.h"

#include <algorithm>
#include <cmath>
#include <numbers>
#include <regex>
#include <variant>

#include "runtime/autograd/autograd.h"
#include "runtime/core/error.h"
#include "runtime/ops/conv.h"
#include "runtime/ops/elementwise.h"
#include "runtime/ops/indexing.h"
#include "runtime/ops/matmul.h"

namespace glint::peft {
namespace {

// splitmix64 seeded by `seed` and the FNV-1a hash of `name`: the same numbers on every platform, whatever order the
// parameters are made in.
class Rng {
 public:
  Rng(uint64_t seed, const std::string& name) {
    for (unsigned char c : name) state_ = (state_ ^ c) * 0x100000001b3ull;
    state_ ^= seed;
  }
  double uniform() {  // [0, 1)
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return double((z ^ (z >> 31)) >> 11) * 0x1.0p-53;
  }
  double normal() {
    const double r = std::sqrt(-2.0 * std::log(1.0 - uniform())), a = 2.0 * std::numbers::pi * uniform();
    return r * std::cos(a);
  }

 private:
  uint64_t state_ = 0xcbf29ce484222325ull;
};

// nn.Linear's and nn.Conv2d's reset_parameters: kaiming_uniform(a=sqrt(5)) is uniform(-1/sqrt(fan_in),
// 1/sqrt(fan_in)), fan_in being everything but the first dimension.
Tensor kaiming_uniform(const Shape& shape, Rng& rng, DType dtype, Device device) {
  const double bound = 1.0 / std::sqrt(double(numel_of(shape) / shape[0]));
  std::vector<float> v(size_t(numel_of(shape)));
  for (float& x : v) x = float((2 * rng.uniform() - 1) * bound);
  return Tensor::from_vector(v, shape, DType::f32, device).to(dtype);
}

Tensor normal(const Shape& shape, double std, Rng& rng, DType dtype, Device device) {
  std::vector<float> v(size_t(numel_of(shape)));
  for (float& x : v) x = float(rng.normal() * std);
  return Tensor::from_vector(v, shape, DType::f32, device).to(dtype);
}

// peft's rule for a list of names: the module is the name or ends with "." + name.
bool matches_name(const std::vector<std::string>& names, const std::string& module) {
  for (const std::string& n : names) {
    if (module == n) return true;
    if (module.size() > n.size() && module.compare(module.size() - n.size(), n.size(), n) == 0 &&
        module[module.size() - n.size() - 1] == '.')
      return true;
  }
  return false;
}

// peft's SEQ_CLS_HEAD_NAMES: the classifier heads of *ForSequenceClassification models.
bool is_seq_cls_head(const std::string& module) { return module == "score" || module == "classifier"; }

// Inverted dropout with a fresh mask per call (training only).
Tensor dropout(const Tensor& x, double p, uint64_t call) {
  Rng rng(call, "lora_dropout");
  std::vector<float> mask(size_t(x.numel()));
  for (float& m : mask) m = rng.uniform() < p ? 0.0f : float(1.0 / (1.0 - p));
  return x * Tensor::from_vector(mask, x.shape(), DType::f32, x.device()).to(x.dtype());
}

// The base layer's state, which must still exist.
template <class State>
std::shared_ptr<State> alive(const std::weak_ptr<State>& state) {
  std::shared_ptr<State> s = state.lock();
  GLINT_CHECK(s != nullptr, "peft", "the model this adapter was attached to is gone");
  return s;
}

}  // namespace

double LoraConfig::scale() const { return use_rslora ? lora_alpha / std::sqrt(double(r)) : lora_alpha / double(r); }

bool LoraConfig::targets(const std::string& module, bool linear) const {
  // peft's all-linear leaves out the output head: lm_head, or a SEQ_CLS model's classifier head.
  if (all_linear) return linear && module != "lm_head" && !(task_type == "SEQ_CLS" && is_seq_cls_head(module));
  if (target_regex) return std::regex_match(module, std::regex(*target_regex));
  return matches_name(target_names, module);
}

bool LoraConfig::saves(const std::string& module) const { return matches_name(modules_to_save, module); }

Tensor LoraLayer::forward(const Tensor& x, const Tensor& weight, const Tensor& bias) const {
  const nn::LinearState& base = *alive(linear_);
  if (!enabled_) return nn::base_linear(base, x, weight, bias);
  Tensor w = weight, b = bias;
  for (const std::string& name : active_) {
    const Adapter& a = adapters_.at(name);
    if (a.saved_weight.defined()) w = a.saved_weight, b = a.saved_bias;
  }
  Tensor y = nn::base_linear(base, x, w, b);  // linear_4bit on a QLoRA base, whose gradient reaches x
  for (const std::string& name : active_) {
    const Adapter& a = adapters_.at(name);
    if (!a.lora_A.defined() || a.merged) continue;
    const Tensor in = training_ && a.dropout > 0 ? dropout(x, a.dropout, ++dropout_calls_) : x;
    y = y + linear(linear(in, a.lora_A), a.lora_B) * a.scale;
  }
  return y;
}

Tensor LoraLayer::forward(const Tensor& input, const Tensor& base_output) const {
  if (!enabled_) return base_output;
  Tensor y = base_output;
  for (const std::string& name : active_) {
    const Adapter& a = adapters_.at(name);
    if (a.merged) continue;
    if (kind_ == Kind::embedding) {  // peft applies no dropout to embedding ids
      y = y + linear(embedding(a.lora_A.transpose(0, 1).contiguous(), input), a.lora_B) * a.scale;
    } else {
      const Tensor in = training_ && a.dropout > 0 ? dropout(input, a.dropout, ++dropout_calls_) : input;
      y = y + conv2d(nn::conv2d_with(*alive(conv_), in, a.lora_A, {}), a.lora_B) * a.scale;
    }
  }
  return y;
}

Tensor LoraLayer::weight(const Tensor& weight) const {
  if (!enabled_) return weight;
  Tensor w = weight;
  for (const std::string& name : active_) {
    const Adapter& a = adapters_.at(name);
    GLINT_CHECK(!a.lora_A.defined() || a.merged, "peft", "adapter '", name,
                "' puts LoRA on a layer whose matmul is fused (the LM head's loss); merge it first");
    if (a.saved_weight.defined()) w = a.saved_weight;
  }
  return w;
}

Tensor& LoraLayer::base_weight() const {
  if (kind_ == Kind::linear) return alive(linear_)->weight;
  return kind_ == Kind::embedding ? alive(embedding_)->weight : alive(conv_)->weight;
}

LoraLayer::BaseInfo LoraLayer::base_info() const {
  if (kind_ == Kind::linear)
    if (const auto& q = alive(linear_)->quantized) return {q->shape(), q->state.dtype, q->device()};
  const Tensor& w = base_weight();
  return {w.shape(), w.dtype(), w.device()};
}

Shape LoraLayer::a_shape(int64_t r) const {
  const Shape w = base_info().shape;
  if (kind_ == Kind::conv2d) return {r, w[1], w[2], w[3]};
  return {r, kind_ == Kind::embedding ? w[0] : w[1]};
}

Shape LoraLayer::b_shape(int64_t r) const {
  const Shape w = base_info().shape;
  if (kind_ == Kind::conv2d) return {w[0], r, 1, 1};
  return {kind_ == Kind::embedding ? w[1] : w[0], r};
}

void LoraLayer::detach() {
  if (auto s = linear_.lock()) s->adapter = nullptr;
  if (auto s = embedding_.lock()) s->adapter = nullptr;
  if (auto s = conv_.lock()) s->adapter = nullptr;
}

Tensor LoraLayer::delta(const Adapter& a) const {
  const Tensor A = a.lora_A.to(DType::f32), B = a.lora_B.to(DType::f32);
  const int64_t r = A.dim(0);
  Tensor d;
  if (kind_ == Kind::linear) d = matmul(B, A);                                  // (out, in)
  if (kind_ == Kind::embedding) d = matmul(B, A).transpose(0, 1).contiguous();  // (num, dim)
  if (kind_ == Kind::conv2d)                                                    // (out, in, k, k): B is 1x1
    d = matmul(B.reshape({B.dim(0), r}), A.reshape({r, A.numel() / r})).reshape(base_weight().shape());
  return d * a.scale;
}

void LoraLayer::merge(const std::string& name) {
  Adapter& a = adapters_.at(name);
  if (a.merged || !a.lora_A.defined()) return;
  GLINT_CHECK(kind_ != Kind::linear || !alive(linear_)->quantized, "peft", "cannot merge adapter '", name,
              "' into a 4-bit layer; dequantise the base first (nn::dequantize_linears), as peft does");
  autograd::NoGradGuard no_grad;
  Tensor& w = base_weight();
  w.copy_from(w.to(DType::f32) + delta(a));
  a.merged = true;
}

void LoraLayer::unmerge(const std::string& name) {
  Adapter& a = adapters_.at(name);
  if (!a.merged) return;
  autograd::NoGradGuard no_grad;
  Tensor& w = base_weight();
  w.copy_from(w.to(DType::f32) - delta(a));
  a.merged = false;
}

LoraModel::LoraModel(const nn::ParameterStore& store) : store_(store) {
  GLINT_CHECK(!store.linears().empty() || !store.embeddings().empty() || !store.conv2ds().empty(), "peft",
              "the model has no registered Linear, Embedding or Conv2d layers (build it through a VarBuilder)");
  for (const auto& [name, p] : store.entries()) Tensor(p).requires_grad_(false);
}

template <class State>
LoraLayer& LoraModel::layer_for(const std::string& module, const std::shared_ptr<State>& state) {
  auto it = layers_.find(module);
  if (it == layers_.end()) {
    it = layers_.emplace(module, std::make_shared<LoraLayer>(state)).first;
    state->adapter = it->second;
  }
  return *it->second;
}

std::vector<std::pair<std::string, LoraLayer::Adapter*>> LoraModel::attach(const std::string& name,
                                                                           const LoraConfig& config) {
  GLINT_CHECK(!name.empty() && name.find('.') == std::string::npos, "peft", "adapter name '", name,
              "' must be non-empty and without '.'");
  GLINT_CHECK(!configs_.count(name), "peft", "adapter '", name, "' already exists");
  GLINT_CHECK(config.r > 0, "peft", "adapter '", name, "': r must be positive, got ", config.r);
  GLINT_CHECK(config.lora_dropout >= 0 && config.lora_dropout < 1, "peft", "adapter '", name,
              "': lora_dropout must be in [0, 1), got ", config.lora_dropout);
  struct Chosen {
    std::string module;
    std::variant<std::shared_ptr<nn::LinearState>, std::shared_ptr<nn::EmbeddingState>,
                 std::shared_ptr<nn::Conv2dState>>
        state;
    const nn::LinearState* saved;  // modules_to_save: the Linear copied whole
  };
  std::vector<Chosen> chosen;
  std::vector<std::string> unmatched_saves = config.modules_to_save;
  // PeftModelForSequenceClassification adds both usual head names to modules_to_save and keeps the one that exists.
  if (config.task_type == "SEQ_CLS") std::erase_if(unmatched_saves, is_seq_cls_head);
  for (const auto& [module, state] : store_.linears()) {
    if (!config.saves(module) && !config.targets(module)) continue;
    GLINT_CHECK(!config.saves(module) || !state->quantized, "peft", "adapter '", name, "': modules_to_save '", module,
                "' is a 4-bit layer; it cannot be trained whole");
    std::erase_if(unmatched_saves, [&](const std::string& n) { return matches_name({n}, module); });
    chosen.push_back({module, state, config.saves(module) ? state.get() : nullptr});
  }
  for (const auto& [module, state] : store_.embeddings())
    if (config.targets(module, false)) chosen.push_back({module, state, nullptr});
  for (const auto& [module, state] : store_.conv2ds())
    if (config.targets(module, false)) chosen.push_back({module, state, nullptr});
  GLINT_CHECK(unmatched_saves.empty(), "peft", "adapter '", name, "': modules_to_save '", unmatched_saves.front(),
              "' is not a Linear layer of the model (only Linear modules can be saved whole)");
  GLINT_CHECK(!chosen.empty(), "peft", "adapter '", name,
              "': target_modules match no Linear, Embedding or Conv2d layer of the model");
  std::vector<std::pair<std::string, LoraLayer::Adapter*>> slots;
  for (const Chosen& c : chosen) {
    LoraLayer& layer = std::visit([&](const auto& state) -> LoraLayer& { return layer_for(c.module, state); }, c.state);
    LoraLayer::Adapter& a = layer.adapters()[name];
    a.scale = config.scale();
    a.dropout = config.lora_dropout;
    if (c.saved) {  // the base tensors stand in until the caller fills the copy
      a.saved_weight = c.saved->weight;
      a.saved_bias = c.saved->bias;
    }
    slots.emplace_back(c.module, &a);
  }
  configs_[name] = config;
  if (active_.empty()) set_adapter(name);
  return slots;
}

void LoraModel::add_adapter(const std::string& name, const LoraConfig& config, uint64_t seed) {
  for (auto& [module, a] : attach(name, config)) {
    if (a->saved_weight.defined()) {  // a trainable copy, equal to the original at first
      a->saved_weight = a->saved_weight.clone();
      if (a->saved_bias.defined()) a->saved_bias = a->saved_bias.clone();
      continue;
    }
    const LoraLayer& layer = *layers_.at(module);
    const auto [shape, dt, dev] = layer.base_info();
    const Shape sa = layer.a_shape(config.r), sb = layer.b_shape(config.r);
    const std::string prefix = "base_model.model." + module;
    Rng rng_a(seed, prefix + "." + layer.a_key()), rng_b(seed, prefix + "." + layer.b_key());
    if (layer.kind() == LoraLayer::Kind::embedding) {
      // peft: A zeros and B normal(0, 1) as nn.Embedding initialises (any init but false), else both randn.
      a->lora_A = config.init == LoraInit::random ? normal(sa, 1.0, rng_a, dt, dev) : zeros(sa, dt, dev);
      a->lora_B = normal(sb, 1.0, rng_b, dt, dev);
    } else {
      a->lora_A = config.init == LoraInit::gaussian ? normal(sa, 1.0 / double(config.r), rng_a, dt, dev)
                                                    : kaiming_uniform(sa, rng_a, dt, dev);
      a->lora_B = config.init == LoraInit::random ? kaiming_uniform(sb, rng_b, dt, dev) : zeros(sb, dt, dev);
    }
  }
  make_trainable(name);
}

void LoraModel::make_trainable(const std::string& name) {
  for (auto& [module, layer] : layers_) {
    auto it = layer->adapters().find(name);
    if (it == layer->adapters().end()) continue;
    for (Tensor* t : {&it->second.lora_A, &it->second.lora_B, &it->second.saved_weight, &it->second.saved_bias})
      if (t->defined()) t->requires_grad_();
  }
}

bool LoraModel::is_merged(const std::string& name) const {
  for (const auto& [module, layer] : layers_)
    if (auto it = layer->adapters().find(name); it != layer->adapters().end() && it->second.merged) return true;
  return false;
}

void LoraModel::set_adapter(const std::string& name) {
  GLINT_CHECK(configs_.count(name), "peft", "no adapter '", name, "'");
  GLINT_CHECK(active_ == name || !is_merged(active_), "peft", "set_adapter('", name, "'): adapter '", active_,
              "' is merged; unmerge it first");
  active_ = name;
  for (auto& [module, layer] : layers_)
    layer->set_active(layer->adapters().count(name) ? std::vector<std::string>{name} : std::vector<std::string>{});
}

const LoraConfig& LoraModel::config(const std::string& name) const {
  auto it = configs_.find(name);
  GLINT_CHECK(it != configs_.end(), "peft", "no adapter '", name, "'");
  return it->second;
}

void LoraModel::delete_adapter(const std::string& name) {
  config(name);
  GLINT_CHECK(name != active_ || configs_.size() == 1, "peft", "delete_adapter('", name,
              "'): it is the active adapter; set_adapter another first");
  if (name == active_) unmerge();
  for (auto it = layers_.begin(); it != layers_.end();) {
    it->second->adapters().erase(name);
    if (it->second->adapters().empty()) {
      it->second->detach();
      it = layers_.erase(it);
    } else {
      ++it;
    }
  }
  configs_.erase(name);
  if (name == active_) active_.clear();
}

void LoraModel::set_adapters_enabled(bool on) {
  if (!on) unmerge();
  enabled_ = on;
  for (auto& [module, layer] : layers_) layer->set_enabled(on);
}

void LoraModel::train(bool on) {
  for (auto& [module, layer] : layers_) layer->set_training(on);
}

void LoraModel::merge() {
  GLINT_CHECK(enabled_, "peft", "merge: adapters are disabled");
  for (auto& [module, layer] : layers_)
    if (layer->adapters().count(active_)) layer->merge(active_);
}

void LoraModel::unmerge() {
  for (auto& [module, layer] : layers_)
    if (layer->adapters().count(active_)) layer->unmerge(active_);
}

void LoraModel::merge_and_unload() {
  merge();
  autograd::NoGradGuard no_grad;
  for (auto& [module, state] : store_.linears()) {
    auto it = layers_.find(module);
    if (it == layers_.end()) continue;
    if (auto a = it->second->adapters().find(active_);
        a != it->second->adapters().end() && a->second.saved_weight.defined()) {
      state->weight.copy_from(a->second.saved_weight);
      if (state->bias.defined()) state->bias.copy_from(a->second.saved_bias);
    }
  }
  for (auto& [module, layer] : layers_) layer->detach();
  layers_.clear();
  configs_.clear();
  active_.clear();
}

std::vector<std::pair<std::string, Tensor>> LoraModel::parameters(const std::string& name) const {
  config(name);
  std::vector<std::pair<std::string, Tensor>> out;
  for (const auto& [module, layer] : layers_) {
    auto it = layer->adapters().find(name);
    if (it == layer->adapters().end()) continue;
    const LoraLayer::Adapter& a = it->second;
    const std::string prefix = "base_model.model." + module;
    if (a.saved_weight.defined()) {
      out.emplace_back(prefix + ".modules_to_save." + name + ".weight", a.saved_weight);
      if (a.saved_bias.defined()) out.emplace_back(prefix + ".modules_to_save." + name + ".bias", a.saved_bias);
    } else {
      const std::string suffix = layer->keys_have_weight() ? "." + name + ".weight" : "." + name;
      out.emplace_back(prefix + "." + layer->a_key() + suffix, a.lora_A);
      out.emplace_back(prefix + "." + layer->b_key() + suffix, a.lora_B);
    }
  }
  return out;
}

std::vector<std::pair<std::string, Tensor>> LoraModel::state_dict(const std::string& name) const {
  std::vector<std::pair<std::string, Tensor>> out = parameters(name);
  for (auto& [key, t] : out) {
    // peft saves without the adapter name (and without "modules_to_save"), which ends embedding keys.
    const std::string tail = "." + name;
    if (key.size() > tail.size() && key.compare(key.size() - tail.size(), tail.size(), tail) == 0) {
      key.erase(key.size() - tail.size());
      continue;
    }
    for (const std::string& part : {".modules_to_save." + name, tail}) {
      if (const size_t at = key.rfind(part + "."); at != std::string::npos) {
        key.erase(at, part.size());
        break;
      }
    }
  }
  return out;
}

}  // namespace glint::peft
