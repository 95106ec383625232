// Llama (Touvron et al. 2023) and the decoders that share its block: pre-norm RMSNorm, rotary attention with grouped
// KV heads (GQA/MQA), and a SiLU-gated MLP. Mistral is the same network; Qwen2 adds q/k/v biases; Qwen3 applies
// an RMSNorm over head_dim to every query and key head before rope. Weights use the HF names of LlamaForCausalLM.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "models/causal_lm.h"
#include "models/device_map.h"
#include "models/nn/layers.h"
#include "runtime/io/config.h"
#include "runtime/ops/rope.h"

namespace glint {

struct LlamaConfig {
  std::string model_type;  // llama, mistral, qwen2, qwen3
  int64_t vocab_size = 0, hidden_size = 0, intermediate_size = 0, num_hidden_layers = 0;
  int64_t num_attention_heads = 0, num_key_value_heads = 0, head_dim = 0, max_position_embeddings = 0;
  double rms_norm_eps = 1e-6;
  RopeConfig rope;
  bool tie_word_embeddings = false;
  bool qkv_bias = false;  // attention_bias; always on for qwen2
  bool o_bias = false;    // attention_bias; off for qwen2
  bool mlp_bias = false;
  bool qk_norm = false;  // qwen3
  // Mistral's sliding_window (Qwen's when use_sliding_window); 0: none. The layers marked in sliding_layers (Mistral:
  // all; others: layer_types' "sliding_attention", else those >= max_window_layers, as Qwen2Config derives them)
  // attend to at most the last sliding_window tokens; the rest see everything.
  int64_t sliding_window = 0;
  std::vector<bool> sliding_layers;  // per layer; empty: every layer
  // The window of layer `layer`, or 0.
  int64_t window(size_t layer) const {
    return sliding_layers.empty() || (layer < sliding_layers.size() && sliding_layers[layer]) ? sliding_window : 0;
  }
  std::vector<int64_t> eos_token_ids;
  std::optional<int64_t> bos_token_id, pad_token_id;

  static LlamaConfig from_json(const io::JsonFile& config);
};

// config.json's rope_theta with rope_scaling, or transformers 5's rope_parameters (which holds rope_theta too).
RopeConfig rope_config_from_json(const io::JsonFile& config);
// A token id field that may be one id or a list of them (eos_token_id).
std::vector<int64_t> token_ids_from_json(const io::JsonFile& config, const std::string& key);

class LlamaForCausalLM final : public CausalLM {
 public:
  // Weights under "model.*" and "lm_head.weight" (absent when tied), loaded through `vb` (device and dtype there),
  // or spread as vb.device_map() places the modules model.embed_tokens, model.layers.N, model.norm and lm_head.
  // Across devices, activations move at the boundaries and each layer's KV cache sits with its layer; input ids
  // go to the device of embed_tokens (device()) and logits come back on the device of lm_head.
  LlamaForCausalLM(const LlamaConfig& config, const nn::VarBuilder& vb);

  // The modules a device map places, in forward order, with the bytes of their weights in `dtype`.
  static std::vector<ModuleSize> module_sizes(const LlamaConfig& config, DType dtype);

  const CausalLMConfig& config() const override { return info_; }
  Device device() const override { return device_; }
  // Where each decoder layer runs (all device() without a device map).
  const std::vector<Device>& layer_devices() const { return layer_devices_; }
  KVCache new_cache(int64_t batch, int64_t max_length) const override;
  Tensor forward(const Tensor& input_ids, const Tensor& attention_mask, const Tensor& positions, KVCache* cache,
                 bool last_only = false) const override;
  // The final-norm hidden states (B, T, C) (or (B, 1, C) with last_only) on lm_head's device: forward before the head.
  Tensor hidden_states(const Tensor& input_ids, const Tensor& attention_mask, const Tensor& positions, KVCache* cache,
                       bool last_only = false) const;
  // Fused with the head block by block (linear_cross_entropy).
  Tensor loss(const Tensor& input_ids, const Tensor& labels, const Tensor& attention_mask = {},
              const CrossEntropyOptions& opts = {}, const Tensor& positions = {}) const override;
  void set_gradient_checkpointing(bool on) override { checkpointing_ = on; }

  const LlamaConfig& llama_config() const { return cfg_; }

 private:
  struct Attention {
    nn::Linear q_proj, k_proj, v_proj, o_proj;
    std::optional<nn::RMSNorm> q_norm, k_norm;
  };
  struct Mlp {
    nn::Linear gate_proj, up_proj, down_proj;
  };
  struct Layer {
    nn::RMSNorm input_layernorm, post_attention_layernorm;
    Attention self_attn;
    Mlp mlp;
  };

  Layer load_layer(const nn::VarBuilder& vb) const;
  // x (B, T, C) -> (B, T, C); writes this layer's keys and values into the cache when there is one.
  Tensor attention(const Layer& layer, size_t index, const Tensor& x, const Tensor& positions, const Tensor& mask,
                   KVCache* cache) const;
  // One decoder layer: x (B, T, C) -> (B, T, C).
  Tensor decoder_layer(size_t index, const Tensor& x, const Tensor& positions, const Tensor& mask,
                       KVCache* cache) const;

  LlamaConfig cfg_;
  CausalLMConfig info_;
  Device device_;  // embed_tokens'
  std::vector<Device> layer_devices_;
  Device norm_device_, head_device_;
  nn::Embedding embed_tokens_;
  std::vector<Layer> layers_;
  nn::RMSNorm norm_;
  nn::Linear lm_head_;
  bool checkpointing_ = false;
};

}  // namespace glint
