// diffusers' UNet2DConditionModel in the layouts Stable Diffusion 1.x / 2.x use: a sinusoidal timestep embedding
// and its MLP, conv_in, down blocks (DownBlock2D / CrossAttnDownBlock2D: ResnetBlock2D, optionally Transformer2D,
// then a stride-2 conv), UNetMidBlock2DCrossAttn, up blocks (UpBlock2D / CrossAttnUpBlock2D taking the down path's
// skip states, then nearest 2x + conv), and GroupNorm + SiLU + conv_out. The noise (or v) prediction for latents at
// a timestep, conditioned on text states through cross-attention.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "models/nn/layers.h"
#include "models/unet/transformer_2d.h"
#include "models/vae/blocks.h"
#include "runtime/io/config.h"

namespace glint {

// The fields of UNet2DConditionModel's config.json that inference reads (diffusers names). Per-block lists have
// one entry per block_out_channels entry.
struct UNet2DConditionConfig {
  int64_t in_channels = 4, out_channels = 4, layers_per_block = 2, norm_num_groups = 32, cross_attention_dim = 768,
          freq_shift = 0;
  std::vector<int64_t> block_out_channels = {320, 640, 1280, 1280};
  std::vector<std::string> down_block_types, up_block_types;
  // Heads per block: num_attention_heads, else attention_head_dim (which diffusers reads as a head count), an int
  // repeated per block or a list.
  std::vector<int64_t> heads;
  std::vector<int64_t> transformer_layers_per_block;
  double norm_eps = 1e-5;
  bool flip_sin_to_cos = true, use_linear_projection = false;

  // Reads config.json; fails on the options this implementation does not have (class / addition embeddings,
  // other block types, scale-shift time conditioning, ...).
  static UNet2DConditionConfig from_json(const io::JsonFile& j);
};

class UNet2DConditionModel {
 public:
  // A unet/ folder holding config.json and diffusion_pytorch_model.safetensors.
  static std::unique_ptr<UNet2DConditionModel> from_pretrained(const std::string& folder,
                                                               Device device = default_device(),
                                                               DType dtype = DType::f32);
  UNet2DConditionModel(const UNet2DConditionConfig& config, const nn::VarBuilder& vb);

  const UNet2DConditionConfig& config() const { return config_; }

  // sample (N, in_channels, h, w) with h, w multiples of 2^(blocks - 1); timesteps one per batch item or one for
  // all; encoder_hidden_states (N, S, cross_attention_dim) -> (N, out_channels, h, w) f32.
  Tensor forward(const Tensor& sample, const std::vector<double>& timesteps, const Tensor& encoder_hidden_states) const;

 private:
  struct Block {  // one down or up block
    std::vector<diffusion::ResnetBlock2D> resnets;
    std::vector<diffusion::Transformer2D> attentions;  // empty for DownBlock2D / UpBlock2D
    diffusion::Downsample2D down;
    diffusion::Upsample2D up;
    bool resample = false;
  };
  // The sinusoidal embedding (N, block_out_channels[0]) of the timesteps, computed in f32 as diffusers does.
  Tensor timestep_features(const std::vector<double>& timesteps, int64_t n) const;
  diffusion::Transformer2D transformer(const nn::VarBuilder& vb, int64_t channels, size_t block) const;

  UNet2DConditionConfig config_;
  Device device_;
  DType dtype_;
  nn::Linear time_1_, time_2_;
  diffusion::Conv2d conv_in_, conv_out_;
  std::vector<Block> down_, up_;
  diffusion::ResnetBlock2D mid_first_, mid_second_;
  diffusion::Transformer2D mid_attention_;
  diffusion::GroupNorm norm_out_;
};

}  // namespace glint
