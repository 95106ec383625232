#include "models/llama/llama.h"

#include <algorithm>
#include <utility>

#include "models/auto.h"
#include "runtime/autograd/autograd.h"
#include "runtime/core/error.h"
#include "runtime/ops/attention.h"
#include "runtime/ops/elementwise.h"
#include "runtime/ops/swiglu.h"

namespace glint {

RopeConfig rope_config_from_json(const io::JsonFile& config) {
  RopeConfig rope;
  std::optional<io::JsonFile> params;
  if (config.has("rope_parameters")) {
    params = config.sub("rope_parameters");
  } else if (config.has("rope_scaling")) {
    params = config.sub("rope_scaling");
  }
  rope.theta = config.get_or<double>("rope_theta", params ? params->get_or<double>("rope_theta", 10000.0) : 10000.0);
  if (!params) return rope;
  // Older configs name the type "type".
  const std::string type = params->get_or<std::string>("rope_type", params->get_or<std::string>("type", "default"));
  RopeScaling& s = rope.scaling;
  if (type == "default") {
    s.type = RopeScaling::Type::none;
  } else if (type == "linear") {
    s.type = RopeScaling::Type::linear;
    s.factor = params->get<double>("factor");
  } else if (type == "dynamic") {
    s.type = RopeScaling::Type::dynamic;
    s.factor = params->get<double>("factor");
    s.original_max_position_embeddings = config.get<int64_t>("max_position_embeddings");
  } else if (type == "llama3") {
    s.type = RopeScaling::Type::llama3;
    s.factor = params->get<double>("factor");
    s.low_freq_factor = params->get<double>("low_freq_factor");
    s.high_freq_factor = params->get<double>("high_freq_factor");
    s.original_max_position_embeddings = params->get<int64_t>("original_max_position_embeddings");
  } else {
    fail("config", config.where, ": rope type '", type, "' is not supported (default, linear, dynamic, llama3)");
  }
  return rope;
}

std::vector<int64_t> token_ids_from_json(const io::JsonFile& config, const std::string& key) {
  if (!config.has(key)) return {};
  const nlohmann::json& v = config.json.at(key);
  if (v.is_array()) return config.get<std::vector<int64_t>>(key);
  return {config.get<int64_t>(key)};
}

LlamaConfig LlamaConfig::from_json(const io::JsonFile& j) {
  LlamaConfig c;
  c.model_type = j.get<std::string>("model_type");
  c.vocab_size = j.get<int64_t>("vocab_size");
  c.hidden_size = j.get<int64_t>("hidden_size");
  c.intermediate_size = j.get<int64_t>("intermediate_size");
  c.num_hidden_layers = j.get<int64_t>("num_hidden_layers");
  c.num_attention_heads = j.get<int64_t>("num_attention_heads");
  c.num_key_value_heads = j.get_or<int64_t>("num_key_value_heads", c.num_attention_heads);
  c.head_dim = j.get_or<int64_t>("head_dim", c.hidden_size / c.num_attention_heads);
  c.max_position_embeddings = j.get_or<int64_t>("max_position_embeddings", 0);
  c.rms_norm_eps = j.get_or<double>("rms_norm_eps", 1e-6);
  c.rope = rope_config_from_json(j);
  c.tie_word_embeddings = j.get_or<bool>("tie_word_embeddings", false);
  const bool attention_bias = j.get_or<bool>("attention_bias", false);
  c.qkv_bias = attention_bias || c.model_type == "qwen2";
  c.o_bias = attention_bias && c.model_type != "qwen2";
  c.mlp_bias = j.get_or<bool>("mlp_bias", false);
  c.qk_norm = c.model_type == "qwen3";
  if (c.model_type == "mistral" || j.get_or<bool>("use_sliding_window", false))
    c.sliding_window = j.get_or<int64_t>("sliding_window", 0);
  GLINT_CHECK(c.sliding_window >= 0, "config", j.where, ": sliding_window must be >= 0, got ", c.sliding_window);
  // transformers' Mistral ignores layer_types (it warns and slides every layer); Qwen2/Qwen3 honour them.
  const bool has_types = c.model_type != "mistral" && j.has("layer_types") && !j.json.at("layer_types").is_null();
  const auto types = has_types ? j.get<std::vector<std::string>>("layer_types") : std::vector<std::string>{};
  GLINT_CHECK(!has_types || int64_t(types.size()) == c.num_hidden_layers, "config", j.where, ": layer_types has ",
              types.size(), " entries for ", c.num_hidden_layers, " layers");
  const int64_t max_window_layers = c.model_type == "mistral" ? 0 : j.get_or<int64_t>("max_window_layers", 28);
  for (int64_t i = 0; i < c.num_hidden_layers; ++i)
    c.sliding_layers.push_back(c.sliding_window > 0 &&
                               (has_types ? types[i] == "sliding_attention" : i >= max_window_layers));
  c.eos_token_ids = token_ids_from_json(j, "eos_token_id");
  c.bos_token_id = j.get_opt<int64_t>("bos_token_id");
  c.pad_token_id = j.get_opt<int64_t>("pad_token_id");
  GLINT_CHECK(
      c.num_attention_heads > 0 && c.num_key_value_heads > 0 && c.num_attention_heads % c.num_key_value_heads == 0,
      "config", j.where, ": num_attention_heads ", c.num_attention_heads,
      " must be a positive multiple of num_key_value_heads ", c.num_key_value_heads);
  return c;
}

std::vector<ModuleSize> LlamaForCausalLM::module_sizes(const LlamaConfig& cfg, DType dtype) {
  const uint64_t c = cfg.hidden_size, i = cfg.intermediate_size, v = cfg.vocab_size, s = dtype_size(dtype);
  const uint64_t q = cfg.num_attention_heads * cfg.head_dim, kv = cfg.num_key_value_heads * cfg.head_dim;
  // Biases and q/k norms are left out: a rounding error next to the matrices.
  const uint64_t layer = (2 * c + 2 * c * q + 2 * c * kv + 3 * c * i) * s;
  std::vector<ModuleSize> m{{"model.embed_tokens", v * c * s}};
  for (int64_t l = 0; l < cfg.num_hidden_layers; ++l) m.push_back({"model.layers." + std::to_string(l), layer});
  m.push_back({"model.norm", c * s});
  m.push_back({"lm_head", v * c * s});  // a tied head on another device than the embedding holds a copy
  return m;
}

LlamaForCausalLM::LlamaForCausalLM(const LlamaConfig& config, const nn::VarBuilder& vb)
    : cfg_(config), device_(vb.device()), norm_device_(vb.device()), head_device_(vb.device()) {
  std::optional<DeviceMap> placed;
  // Without a dtype the stored one is unknown until loading: f32 over-estimates, which errs on the side of fitting.
  if (vb.device_map()) placed = vb.device_map()->resolve(module_sizes(cfg_, vb.dtype().value_or(DType::f32)));
  auto device_of = [&](const std::string& module) { return placed ? placed->at(module) : vb.device(); };
  auto module = [&](const std::string& name) { return vb.on(device_of(name)).pp(name); };
  device_ = device_of("model.embed_tokens");
  norm_device_ = device_of("model.norm");
  head_device_ = device_of("lm_head");
  embed_tokens_ = nn::Embedding(module("model.embed_tokens"), cfg_.vocab_size, cfg_.hidden_size);
  for (int64_t i = 0; i < cfg_.num_hidden_layers; ++i) {
    const std::string name = "model.layers." + std::to_string(i);
    layer_devices_.push_back(device_of(name));
    layers_.push_back(load_layer(module(name)));
  }
  norm_ = nn::RMSNorm(module("model.norm"), cfg_.hidden_size, cfg_.rms_norm_eps);
  // Some tied checkpoints still store lm_head.weight; the tied embedding is what transformers uses.
  lm_head_ = cfg_.tie_word_embeddings ? nn::Linear(embed_tokens_.weight().to(head_device_))
                                      : nn::Linear(module("lm_head"), cfg_.hidden_size, cfg_.vocab_size, false);

  info_.vocab_size = cfg_.vocab_size;
  info_.num_layers = cfg_.num_hidden_layers;
  info_.num_kv_heads = cfg_.num_key_value_heads;
  info_.head_dim = cfg_.head_dim;
  info_.max_position_embeddings = cfg_.max_position_embeddings;
  info_.eos_token_ids = cfg_.eos_token_ids;
  info_.bos_token_id = cfg_.bos_token_id;
  info_.pad_token_id = cfg_.pad_token_id;
  info_.dtype = embed_tokens_.weight().dtype();
}

LlamaForCausalLM::Layer LlamaForCausalLM::load_layer(const nn::VarBuilder& vb) const {
  const int64_t c = cfg_.hidden_size, d = cfg_.head_dim, i = cfg_.intermediate_size;
  const int64_t q_dim = cfg_.num_attention_heads * d, kv_dim = cfg_.num_key_value_heads * d;
  const nn::VarBuilder a = vb.pp("self_attn"), m = vb.pp("mlp");
  Layer l{nn::RMSNorm(vb.pp("input_layernorm"), c, cfg_.rms_norm_eps),
          nn::RMSNorm(vb.pp("post_attention_layernorm"), c, cfg_.rms_norm_eps),
          {nn::Linear(a.pp("q_proj"), c, q_dim, cfg_.qkv_bias), nn::Linear(a.pp("k_proj"), c, kv_dim, cfg_.qkv_bias),
           nn::Linear(a.pp("v_proj"), c, kv_dim, cfg_.qkv_bias), nn::Linear(a.pp("o_proj"), q_dim, c, cfg_.o_bias),
           std::nullopt, std::nullopt},
          {nn::Linear(m.pp("gate_proj"), c, i, cfg_.mlp_bias), nn::Linear(m.pp("up_proj"), c, i, cfg_.mlp_bias),
           nn::Linear(m.pp("down_proj"), i, c, cfg_.mlp_bias)}};
  if (cfg_.qk_norm) {
    l.self_attn.q_norm.emplace(a.pp("q_norm"), d, cfg_.rms_norm_eps);
    l.self_attn.k_norm.emplace(a.pp("k_norm"), d, cfg_.rms_norm_eps);
  }
  return l;
}

KVCache LlamaForCausalLM::new_cache(int64_t batch, int64_t max_length) const {
  KVCache cache;
  cache.max_length = max_length;
  const Shape shape{batch, cfg_.num_key_value_heads, max_length, cfg_.head_dim};
  for (int64_t i = 0; i < cfg_.num_hidden_layers; ++i) {
    cache.keys.push_back(zeros(shape, info_.dtype, layer_devices_[i]));
    cache.values.push_back(zeros(shape, info_.dtype, layer_devices_[i]));
  }
  return cache;
}

Tensor LlamaForCausalLM::attention(const Layer& layer, size_t index, const Tensor& x, const Tensor& positions,
                                   const Tensor& mask, KVCache* cache) const {
  const Attention& a = layer.self_attn;
  const int64_t b = x.dim(0), t = x.dim(1), d = cfg_.head_dim;
  // (B, T, H*D) -> (B, H, T, D) views.
  auto heads = [&](const Tensor& y, int64_t h) { return y.reshape({b, t, h, d}).transpose(1, 2); };
  Tensor q = heads(a.q_proj.forward(x), cfg_.num_attention_heads);
  Tensor k = heads(a.k_proj.forward(x), cfg_.num_key_value_heads);
  Tensor v = heads(a.v_proj.forward(x), cfg_.num_key_value_heads);
  if (a.q_norm) {
    q = a.q_norm->forward(q);
    k = a.k_norm->forward(k);
  }
  q = apply_rope(q, positions, cfg_.rope);
  k = apply_rope(k, positions, cfg_.rope);
  AttentionOptions opts;
  opts.causal = true;
  opts.mask = mask;
  opts.window = cfg_.window(index);
  if (cache) {
    const int64_t start = cache->length, end = start + t;
    cache->keys[index].slice(2, start, end).copy_from(k);
    cache->values[index].slice(2, start, end).copy_from(v);
    // Under a sliding window the first new query sees keys from start - window + 1 on; older ones are not read at
    // all (the window stays aligned to the last key, so slicing the cache and the mask changes nothing else).
    const int64_t first = opts.window > 0 ? std::max<int64_t>(0, start - opts.window + 1) : 0;
    k = cache->keys[index].slice(2, first, end);
    v = cache->values[index].slice(2, first, end);
    if (mask.defined()) opts.mask = mask.slice(1, first, end);
  }
  const Tensor y = scaled_dot_product_attention(q, k, v, opts);  // (B, H, T, D)
  return a.o_proj.forward(y.transpose(1, 2).reshape({b, t, cfg_.num_attention_heads * d}));
}

Tensor LlamaForCausalLM::decoder_layer(size_t index, const Tensor& x_in, const Tensor& positions, const Tensor& mask,
                                       KVCache* cache) const {
  const Layer& l = layers_[index];
  const Tensor x = x_in + attention(l, index, l.input_layernorm.forward(x_in), positions, mask, cache);
  const Tensor h = l.post_attention_layernorm.forward(x);
  return x + l.mlp.down_proj.forward(swiglu(l.mlp.gate_proj.forward(h), l.mlp.up_proj.forward(h)));
}

Tensor LlamaForCausalLM::hidden_states(const Tensor& input_ids, const Tensor& attention_mask, const Tensor& positions,
                                       KVCache* cache, bool last_only) const {
  GLINT_CHECK(input_ids.ndim() == 2, "llama", "input_ids must be (B, T), got ", shape_str(input_ids.shape()));
  const int64_t b = input_ids.dim(0), t = input_ids.dim(1), past = cache ? cache->length : 0;
  if (cache) {
    GLINT_CHECK(static_cast<int64_t>(cache->keys.size()) == cfg_.num_hidden_layers && cache->keys[0].dim(0) == b,
                "llama", "the cache was made for another model or batch size");
    GLINT_CHECK(past + t <= cache->max_length, "llama", "the cache holds ", cache->max_length, " tokens; ", past,
                " cached + ", t, " new do not fit");
  }
  if (attention_mask.defined() && attention_mask.ndim() == 4) {  // additive, e.g. packed examples kept apart
    GLINT_CHECK(!cache && is_floating(attention_mask.dtype()) && attention_mask.shape() == Shape({b, 1, t, t}),
                "llama", "a 4-d attention_mask must be an additive float (B, 1, T, T) = ", shape_str({b, 1, t, t}),
                " mask without a cache, got ", attention_mask.str());
  } else if (attention_mask.defined()) {
    GLINT_CHECK(attention_mask.shape() == Shape({b, past + t}), "llama",
                "attention_mask must be (B, past + T) = ", shape_str({b, past + t}), ", got ",
                shape_str(attention_mask.shape()));
  }
  Tensor pos = positions.defined() ? positions.to(device_) : add(arange(t, DType::i64, device_), double(past));
  Tensor mask = attention_mask.defined() ? attention_mask.to(device_) : Tensor();

  // Ids on the CPU are range-checked by embedding before they are uploaded.
  Tensor x = embed_tokens_.forward(input_ids);  // (B, T, C)
  for (size_t i = 0; i < layers_.size(); ++i) {
    if (x.device() != layer_devices_[i]) {  // a device map boundary: the layer's inputs follow it
      x = x.to(layer_devices_[i]);
      pos = pos.to(layer_devices_[i]);
      if (mask.defined()) mask = mask.to(layer_devices_[i]);
    }
    if (checkpointing_ && !cache) {
      x = autograd::checkpoint(
          [this, i, pos, mask](const std::vector<Tensor>& in) { return decoder_layer(i, in[0], pos, mask, nullptr); },
                               {x});
    } else {
      x = decoder_layer(i, x, pos, mask, cache);
    }
  }
  if (cache) cache->length += t;
  if (last_only) x = x.slice(1, t - 1, t);
  return norm_.forward(x.to(norm_device_)).to(head_device_);
}

Tensor LlamaForCausalLM::forward(const Tensor& input_ids, const Tensor& attention_mask, const Tensor& positions,
                                 KVCache* cache, bool last_only) const {
  return lm_head_.forward(hidden_states(input_ids, attention_mask, positions, cache, last_only)).to(DType::f32);
}

Tensor LlamaForCausalLM::loss(const Tensor& input_ids, const Tensor& labels, const Tensor& attention_mask,
                              const CrossEntropyOptions& opts, const Tensor& positions) const {
  GLINT_CHECK(labels.defined() && labels.shape() == input_ids.shape(), "loss", "labels ",
              labels.defined() ? shape_str(labels.shape()) : "undefined", " must match input_ids ",
              shape_str(input_ids.shape()));
  const Tensor h = hidden_states(input_ids, attention_mask, positions, nullptr);  // (B, T, C)
  const int64_t t = h.dim(1);
  const Tensor rows = h.slice(1, 0, t - 1).reshape({-1, cfg_.hidden_size});
  return linear_cross_entropy(rows, lm_head_.weight(), shifted_labels(labels), opts);
}

namespace {

std::unique_ptr<CausalLM> make_llama(const io::JsonFile& config, const nn::VarBuilder& vb) {
  return std::make_unique<LlamaForCausalLM>(LlamaConfig::from_json(config), vb);
}

const CausalLMRegistration llama_reg("llama", make_llama, {"LlamaForCausalLM"}, true);
const CausalLMRegistration mistral_reg("mistral", make_llama, {"MistralForCausalLM"}, true);
const CausalLMRegistration qwen2_reg("qwen2", make_llama, {"Qwen2ForCausalLM"}, true);
const CausalLMRegistration qwen3_reg("qwen3", make_llama, {"Qwen3ForCausalLM"}, true);

}  // namespace

}  // namespace glint
