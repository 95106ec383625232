// The diffusers building blocks AutoencoderKL and UNet2DConditionModel share (diffusers/models/resnet.py,
// upsampling.py, downsampling.py, attention_processor.py), each loading its weights by diffusers' names.
#pragma once
#include <cstdint>
#include <memory>
#include <string>

#include "models/nn/layers.h"
#include "models/nn/var_builder.h"
#include "runtime/core/tensor.h"
#include "runtime/ops/conv.h"

namespace glint::io {
class Checkpoint;
}

namespace glint::diffusion {

// The weights of a diffusers model folder (unet/, vae/): diffusion_pytorch_model.safetensors, else the shards of
// diffusion_pytorch_model.safetensors.index.json; fails naming the folder when it has neither.
std::shared_ptr<io::Checkpoint> open_diffusers_weights(const std::string& folder);

using Conv2d = nn::Conv2d;  // nn.Conv2d with square kernels (models/nn/layers.h, where adapters attach)

// nn.GroupNorm with affine weight and bias, optionally followed by SiLU (fused into one kernel).
class GroupNorm {
 public:
  GroupNorm() = default;
  GroupNorm(const nn::VarBuilder& vb, int64_t groups, int64_t channels, double eps);
  Tensor forward(const Tensor& x, bool silu = false) const;  // (N, C, *) -> same

 private:
  Tensor weight_, bias_;
  int64_t groups_ = 32;
  float eps_ = 1e-5f;
};

// ResnetBlock2D in its default form (time_embedding_norm "default", output_scale_factor 1): norm1, SiLU, conv1,
// plus the projected time embedding when there is one, norm2, SiLU, conv2, added to the input (through a 1x1
// conv_shortcut when the channel count changes).
class ResnetBlock2D {
 public:
  ResnetBlock2D() = default;
  // temb_channels 0: no time embedding (the VAE's blocks).
  ResnetBlock2D(const nn::VarBuilder& vb, int64_t in, int64_t out, int64_t temb_channels, int64_t groups, double eps);
  // x (N, in, H, W), temb (N, temb_channels) or undefined -> (N, out, H, W).
  Tensor forward(const Tensor& x, const Tensor& temb = {}) const;

 private:
  GroupNorm norm1_, norm2_;
  Conv2d conv1_, conv2_, shortcut_;
  nn::Linear time_emb_proj_;
  bool has_shortcut_ = false, has_temb_ = false;
};

// Downsample2D with use_conv: a 3x3 stride-2 conv; padding 0 (the VAE) first pads one zero row / column at the
// bottom / right as diffusers does, padding 1 (the UNet) pads both sides.
class Downsample2D {
 public:
  Downsample2D() = default;
  Downsample2D(const nn::VarBuilder& vb, int64_t channels, int64_t padding);
  Tensor forward(const Tensor& x) const;

 private:
  Conv2d conv_;
  bool pad_bottom_right_ = false;
};

// Upsample2D with use_conv: nearest 2x upsampling, then a 3x3 conv.
class Upsample2D {
 public:
  Upsample2D() = default;
  Upsample2D(const nn::VarBuilder& vb, int64_t channels);
  Tensor forward(const Tensor& x) const;

 private:
  Conv2d conv_;
};

// The VAE mid-block's single-head spatial self-attention (diffusers Attention with a group_norm, residual
// connection): every pixel attends to every pixel over its channel vector. Also reads the names of checkpoints saved
// before diffusers 0.14 (query / key / value / proj_attn), which diffusers converts on load.
class SpatialSelfAttention {
 public:
  SpatialSelfAttention() = default;
  SpatialSelfAttention(const nn::VarBuilder& vb, int64_t channels, int64_t groups, double eps);
  Tensor forward(const Tensor& x) const;  // (N, C, H, W) -> same

 private:
  GroupNorm norm_;
  nn::Linear q_, k_, v_, out_;
};

}  // namespace glint::diffusion
