// CLIPTextModel (Radford et al. 2021), the text encoder of Stable Diffusion 1.x / 2.x: token + learned position
// embeddings, a pre-LayerNorm transformer with a causal mask (quick_gelu or gelu MLP per `hidden_act`) and a final
// LayerNorm. Loads transformers' checkpoints with or without the "text_model." prefix (transformers 5 drops it).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "models/nn/layer_norm.h"
#include "models/nn/layers.h"
#include "runtime/core/tensor.h"
#include "runtime/io/config.h"

namespace glint {

// The fields of CLIPTextConfig that inference reads (HF names).
struct ClipTextConfig {
  int64_t vocab_size = 49408, hidden_size = 512, intermediate_size = 2048, num_hidden_layers = 12,
          num_attention_heads = 8, max_position_embeddings = 77;
  float layer_norm_eps = 1e-5f;
  std::string hidden_act = "quick_gelu";  // or "gelu" (SD 2.x's OpenCLIP)

  // Reads config.json's fields; fails on an unsupported hidden_act or a hidden size the heads do not divide.
  static ClipTextConfig from_json(const io::JsonFile& j);
};

class ClipTextModel {
 public:
  // A text_encoder/ folder holding config.json and model.safetensors; weights as `dtype` on `device`.
  static std::unique_ptr<ClipTextModel> from_pretrained(const std::string& folder, Device device = default_device(),
                                                        DType dtype = DType::f32);
  // Weights by HF name under `vb` (with or without "text_model.").
  ClipTextModel(const ClipTextConfig& config, const nn::VarBuilder& vb);

  const ClipTextConfig& config() const { return config_; }
  Device device() const { return device_; }

  // input_ids (B, T) i64, T <= max_position_embeddings -> (B, T, hidden) f32. clip_skip = 0 gives
  // last_hidden_state; clip_skip = k > 0 the output of layer num_hidden_layers - k passed through final_layer_norm,
  // as diffusers' encode_prompt(clip_skip=k) computes it.
  Tensor forward(const Tensor& input_ids, int64_t clip_skip = 0) const;

 private:
  struct Layer {
    nn::LayerNorm ln1;
    nn::Linear q, k, v, out;
    nn::LayerNorm ln2;
    nn::Linear fc1, fc2;
  };
  // x (B,T,C) -> (B,T,C).
  Tensor layer(const Layer& l, const Tensor& x) const;

  ClipTextConfig config_;
  Device device_;
  nn::Embedding token_, position_;
  std::vector<Layer> layers_;
  nn::LayerNorm final_ln_;
};

}  // namespace glint
