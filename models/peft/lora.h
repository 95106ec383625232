// LoRA (Hu et al. 2021) as Hugging Face peft does it: a frozen Linear y = x W^T + b gains, per named adapter, a
// low-rank update dropout(x) A^T B^T * scale with A (r, in) and B (out, r), scale = lora_alpha / r (lora_alpha /
// sqrt(r) with rsLoRA). An Embedding gains embedding(ids, A^T) B^T * scale with A (r, num_embeddings) and
// B (dim, r), without dropout (peft's lora_embedding_A / _B); a Conv2d gains conv_B(conv_A(dropout(x))) * scale
// with A (r, in, k, k) convolving as the layer does and B (out, r, 1, 1). On a 4-bit base (QLoRA:
// nn::quantize_linears) the frozen product is linear_4bit, through which gradients reach the adapters; merging
// needs the dequantised base (nn::dequantize_linears). Adapters attach to a model's nn::Linear, nn::Embedding and
// nn::Conv2d layers by module name through the ParameterStore, so no model forks for them. Files are peft's
// adapter_config.json + adapter_model.safetensors (adapter_io.cpp).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "models/causal_lm.h"
#include "models/nn/layers.h"

namespace glint::io {
class Checkpoint;
}  // namespace glint::io

namespace glint::peft {

// peft's init_lora_weights: true (A kaiming-uniform(a=sqrt(5)) as nn.Linear's reset_parameters, B zeros),
// "gaussian" (A normal(0, 1/r), B zeros) or false (A and B both as nn.Linear initialises them, so B is nonzero).
enum class LoraInit { kaiming, gaussian, random };

// peft's LoraConfig, as far as glint supports it; from_json rejects the features it does not (DoRA, bias != "none",
// fan_in_fan_out, rank/alpha patterns, layer selection) rather than ignoring them.
struct LoraConfig {
  int64_t r = 8;
  double lora_alpha = 8;
  double lora_dropout = 0;
  // target_modules: names matched as peft does (the module name equals one or ends with "." + one), a regex the
  // whole module name must match, or "all-linear" (every Linear but the output head: lm_head, or with task_type
  // SEQ_CLS the classifier head score / classifier).
  std::vector<std::string> target_names;
  std::optional<std::string> target_regex;
  bool all_linear = false;
  // Modules trained and saved whole (Linear layers only), e.g. lm_head. With task_type SEQ_CLS the names "score"
  // and "classifier" may match nothing (peft lists both whatever the model's head is called).
  std::vector<std::string> modules_to_save;
  bool use_rslora = false;
  LoraInit init = LoraInit::kaiming;
  std::string base_model_name_or_path;
  std::string task_type = "CAUSAL_LM";  // empty: null (a model peft wraps without a task, e.g. a UNet)

  // lora_alpha / r, or lora_alpha / sqrt(r) with use_rslora.
  double scale() const;
  // Whether LoRA goes on the layer named `module` ("model.layers.0.self_attn.q_proj"); `linear` says whether it is
  // a Linear, which all-linear needs.
  bool targets(const std::string& module, bool linear = true) const;
  // Whether `module` is one of modules_to_save (matched as target names are).
  bool saves(const std::string& module) const;
  // adapter_config.json's object; `where` names it in errors.
  static LoraConfig from_json(const nlohmann::json& j, const std::string& where);
  // The object peft writes, with every key peft 0.21 writes (defaults for the features glint leaves off).
  nlohmann::json to_json() const;
};

// The LoRA state of one Linear, Embedding or Conv2d: its adapters by name and which are active, merged, or
// switched off.
class LoraLayer final : public nn::LinearAdapter, public nn::OutputAdapter {
 public:
  enum class Kind { linear, embedding, conv2d };
  struct Adapter {
    Tensor lora_A, lora_B;            // shapes as a_shape / b_shape; undefined for a module saved whole
    Tensor saved_weight, saved_bias;  // modules_to_save (Linear): the trained copy used instead of the base weights
    double scale = 1;
    double dropout = 0;
    bool merged = false;
  };

  explicit LoraLayer(const std::shared_ptr<nn::LinearState>& base) : kind_(Kind::linear), linear_(base) {}
  explicit LoraLayer(const std::shared_ptr<nn::EmbeddingState>& base) : kind_(Kind::embedding), embedding_(base) {}
  explicit LoraLayer(const std::shared_ptr<nn::Conv2dState>& base) : kind_(Kind::conv2d), conv_(base) {}
  // Linear: the base product plus the active adapters' updates.
  Tensor forward(const Tensor& x, const Tensor& weight, const Tensor& bias) const override;
  // Embedding (input: ids) and Conv2d (input: x): the base output plus the active adapters' updates.
  Tensor forward(const Tensor& input, const Tensor& base_output) const override;
  Tensor weight(const Tensor& weight) const override;

  Kind kind() const { return kind_; }
  std::map<std::string, Adapter>& adapters() { return adapters_; }
  const std::map<std::string, Adapter>& adapters() const { return adapters_; }
  void set_active(std::vector<std::string> names) { active_ = std::move(names); }
  void set_enabled(bool on) { enabled_ = on; }
  void set_training(bool on) { training_ = on; }
  // The base weight's shape, dtype and device, dense or 4-bit (a 4-bit base's dtype is the one it was quantised
  // from, its compute dtype): what adapter tensors on this layer are made to fit.
  struct BaseInfo {
    Shape shape;
    DType dtype;
    Device device;
  };
  BaseInfo base_info() const;
  // The shapes of lora_A and lora_B at rank r, and their key suffixes in peft's state dicts ("lora_A" with
  // ".weight" after the adapter name, or "lora_embedding_A" without).
  Shape a_shape(int64_t r) const;
  Shape b_shape(int64_t r) const;
  std::string a_key() const { return kind_ == Kind::embedding ? "lora_embedding_A" : "lora_A"; }
  std::string b_key() const { return kind_ == Kind::embedding ? "lora_embedding_B" : "lora_B"; }
  bool keys_have_weight() const { return kind_ != Kind::embedding; }
  // Takes this adapter off its layer, which computes its plain output again.
  void detach();
  // W += scale * delta(B, A) (in place, so every holder of the weight sees it); unmerge subtracts it again.
  void merge(const std::string& name);
  void unmerge(const std::string& name);

 private:
  Tensor& base_weight() const;
  // scale * the weight update of `a`, in f32 and the base weight's layout (peft's get_delta_weight).
  Tensor delta(const Adapter& a) const;

  Kind kind_;
  // The base layer's state (one of them, by kind_); weak: the state holds this adapter.
  std::weak_ptr<nn::LinearState> linear_;
  std::weak_ptr<nn::EmbeddingState> embedding_;
  std::weak_ptr<nn::Conv2dState> conv_;
  std::map<std::string, Adapter> adapters_;
  std::vector<std::string> active_;
  bool enabled_ = true, training_ = false;
  mutable uint64_t dropout_calls_ = 0;  // a fresh dropout mask per forward
};

// peft's PeftModel over a model: adds, loads, saves and switches named adapters on the model's Linear, Embedding
// and Conv2d layers (through the shared state each registered, which is why a const model will do: its code never
// changes). The model must outlive it; its base parameters stop requiring grad, only adapter parameters do.
// Attached adapters stay on the model when the LoraModel goes (peft injects in place too).
class LoraModel {
 public:
  explicit LoraModel(const CausalLM& model) : LoraModel(model.parameters()) {}
  // Any model built through a VarBuilder: its parameter store (VarBuilder::parameters()).
  explicit LoraModel(const nn::ParameterStore& store);

  // Attaches a fresh adapter `name` initialised as config.init says, seeded by `seed` and each parameter's name.
  // The first adapter becomes the active one.
  void add_adapter(const std::string& name, const LoraConfig& config, uint64_t seed = 0);
  // Attaches the adapter in `dir` (adapter_config.json + adapter_model.safetensors) as `name`; its parameters
  // require grad only when `trainable` (peft's is_trainable). On error nothing is attached.
  void load_adapter(const std::string& dir, const std::string& name = "default", bool trainable = false);
  // Removes adapter `name` (peft's delete_adapter); the active adapter cannot be removed while others exist.
  void delete_adapter(const std::string& name);
  // Writes adapter `name` to `dir` as peft's save_pretrained does (keys without the adapter name).
  void save_adapter(const std::string& dir, const std::string& name = "default") const;
  // The adapter forward uses (peft's set_adapter).
  void set_adapter(const std::string& name);
  const std::string& active_adapter() const { return active_; }
  const LoraConfig& config(const std::string& name) const;
  // Adapters on (default) or off: forward is the base model's while off (merged adapters are unmerged first).
  void set_adapters_enabled(bool on);
  // Dropout on lora inputs applies only in training mode (off by default, as after peft's model.eval()).
  void train(bool on = true);
  // Folds the active adapter into the base weights / takes it out again.
  void merge();
  void unmerge();
  // Merges the active adapter and removes every adapter, leaving plain Linear layers (modules_to_save copies
  // replace the base weights in place).
  void merge_and_unload();

  // The adapter parameters by peft's in-memory name ("base_model.model.<module>.lora_A.<adapter>.weight",
  // "...<module>.lora_embedding_A.<adapter>", "...<module>.modules_to_save.<adapter>.weight"), each requiring
  // grad: what an optimizer updates.
  std::vector<std::pair<std::string, Tensor>> parameters(const std::string& name) const;
  // The same tensors by the key peft saves them under (no adapter name).
  std::vector<std::pair<std::string, Tensor>> state_dict(const std::string& name) const;

 private:
  // Attaches adapter `name`'s (still empty) slots on the layers config selects; returns them by module name.
  std::vector<std::pair<std::string, LoraLayer::Adapter*>> attach(const std::string& name, const LoraConfig& config);
  // The layer's LoRA state, made and put on the layer the first time.
  template <class State>
  LoraLayer& layer_for(const std::string& module, const std::shared_ptr<State>& state);
  // Loads adapter `name`'s tensors (already attached by `config`) from `file`.
  void fill_from(const io::Checkpoint& file, const std::string& weights_path, const std::string& name,
                 const LoraConfig& config);
  // Whether adapter `name` is folded into the base weights of some layer.
  bool is_merged(const std::string& name) const;
  // Every tensor of adapter `name` requires grad (in place, so the layers see it).
  void make_trainable(const std::string& name);

  const nn::ParameterStore& store_;
  std::map<std::string, std::shared_ptr<LoraLayer>> layers_;  // by module name
  std::map<std::string, LoraConfig> configs_;
  std::string active_;
  bool enabled_ = true;
};

// Switches a LoraModel's adapters off for a scope (peft's `with model.disable_adapter():`).
class DisableAdapterGuard {
 public:
  explicit DisableAdapterGuard(LoraModel& model) : model_(model) { model_.set_adapters_enabled(false); }
  ~DisableAdapterGuard() { model_.set_adapters_enabled(true); }
  DisableAdapterGuard(const DisableAdapterGuard&) = delete;
  DisableAdapterGuard& operator=(const DisableAdapterGuard&) = delete;

 private:
  LoraModel& model_;
};

}  // namespace glint::peft
