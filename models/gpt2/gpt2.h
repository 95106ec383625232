// GPT-2 (Radford et al. 2019): a decoder-only transformer with learned absolute position embeddings, pre-LayerNorm
// blocks, fused q/k/v projection, gelu_new (tanh) MLP and an LM head tied to the token embeddings. HF stores its
// projections as Conv1D, whose weight is (in, out): the transpose of nn.Linear's.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "models/causal_lm.h"
#include "models/nn/layer_norm.h"
#include "models/nn/layers.h"
#include "runtime/io/config.h"

namespace glint {

// The fields of GPT2Config that inference reads (HF names).
struct GPT2Config {
  int64_t vocab_size = 50257, n_positions = 1024, n_embd = 768, n_layer = 12, n_head = 12, n_inner = 3072;
  float layer_norm_epsilon = 1e-5f;
  std::string activation_function = "gelu_new";
  std::optional<int64_t> bos_token_id, eos_token_id;

  static GPT2Config from_json(const io::JsonFile& j);
};

class GPT2LMHeadModel : public CausalLM {
 public:
  // A folder holding config.json and model.safetensors (or shards); AutoModelForCausalLM also builds it
  // (model_type "gpt2").
  static std::unique_ptr<GPT2LMHeadModel> from_pretrained(const std::string& folder, Device device = default_device(),
                                                          DType dtype = DType::f32);
  // Weights by their HF names under `vb` (GPT2LMHeadModel's "transformer." prefix or GPT2Model's none).
  GPT2LMHeadModel(const GPT2Config& config, const nn::VarBuilder& vb);

  const CausalLMConfig& config() const override { return lm_config_; }
  const GPT2Config& gpt2_config() const { return config_; }
  Device device() const override { return device_; }
  KVCache new_cache(int64_t batch, int64_t max_length) const override;
  Tensor forward(const Tensor& input_ids, const Tensor& attention_mask, const Tensor& positions, KVCache* cache,
                 bool last_only = false) const override;

 private:
  struct Block {
    nn::LayerNorm ln_1, ln_2;
    nn::Linear c_attn, attn_proj, c_fc, mlp_proj;
  };
  // x (B,T,C) -> (B,T,C): attention over the cache's keys (when given) and the new tokens' keys.
  Tensor attention(const Block& b, int layer, const Tensor& x, const Tensor& attention_mask, KVCache* cache) const;

  GPT2Config config_;
  CausalLMConfig lm_config_;
  Device device_;
  nn::Embedding wte_, wpe_;
  nn::LayerNorm ln_f_;
  nn::Linear lm_head_;  // tied to wte
  std::vector<Block> blocks_;
};

}  // namespace glint
