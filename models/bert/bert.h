// BERT (Devlin et al. 2018): a bidirectional post-LayerNorm transformer encoder. Token, absolute position and
// token-type embeddings are summed and normalised; each layer is self-attention over the unpadded tokens, then a GELU
// (erf) MLP, each followed by residual + LayerNorm. The optional pooler is tanh(dense(first token)).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "models/nn/layer_norm.h"
#include "models/nn/layers.h"
#include "runtime/core/tensor.h"
#include "runtime/io/config.h"

namespace glint {

// The fields of BertConfig that inference reads (HF names).
struct BertConfig {
  int64_t vocab_size = 30522, hidden_size = 768, num_hidden_layers = 12, num_attention_heads = 12,
          intermediate_size = 3072, max_position_embeddings = 512, type_vocab_size = 2;
  float layer_norm_eps = 1e-12f;
  std::string hidden_act = "gelu";

  static BertConfig from_json(const io::JsonFile& j);
};

class BertModel {
 public:
  // A folder holding config.json and model.safetensors; weights converted to `dtype` on `device`.
  static std::unique_ptr<BertModel> from_pretrained(const std::string& folder, Device device = default_device(),
                                                    DType dtype = DType::f32);
  // Weights by their HF names under `vb` (BertModel's no prefix, or "bert." of checkpoints with a task head).
  BertModel(const BertConfig& config, const nn::VarBuilder& vb);

  const BertConfig& config() const { return config_; }
  Device device() const { return device_; }
  bool has_pooler() const { return has_pooler_; }

  // input_ids (B, T) i64; attention_mask (B, T) with 1 for real tokens and 0 for padding, or undefined for all ones;
  // token_type_ids (B, T), or undefined for zeros. Returns last_hidden_state (B, T, hidden) in f32.
  Tensor forward(const Tensor& input_ids, const Tensor& attention_mask = {}, const Tensor& token_type_ids = {}) const;
  // pooler_output (B, hidden) of a last_hidden_state: tanh(dense(h[:, 0])).
  Tensor pool(const Tensor& last_hidden_state) const;

 private:
  struct Layer {
    nn::Linear query, key, value, attn_out;
    nn::LayerNorm attn_ln;
    nn::Linear intermediate, output;
    nn::LayerNorm out_ln;
  };
  // x (B,T,C) -> (B,T,C).
  Tensor layer(const Layer& l, const Tensor& x, const Tensor& attention_mask) const;

  BertConfig config_;
  Device device_;
  nn::Embedding word_, position_, token_type_;
  nn::LayerNorm emb_ln_;
  bool has_pooler_ = false;
  nn::Linear pooler_;
  std::vector<Layer> layers_;
};

}  // namespace glint
