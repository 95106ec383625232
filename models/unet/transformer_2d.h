// diffusers' Transformer2DModel as Stable Diffusion's UNet uses it (continuous input): GroupNorm, proj_in (a 1x1
// conv, or a Linear with use_linear_projection — the same map on (B, HW, C)), BasicTransformerBlocks (self-attention,
// cross-attention over the text states, GEGLU feed-forward, each pre-LayerNorm with a residual), proj_out, and the
// input added back.
#pragma once
#include <cstdint>
#include <vector>

#include "models/nn/layer_norm.h"
#include "models/nn/layers.h"
#include "models/vae/blocks.h"

namespace glint::diffusion {

// diffusers' Attention with bias-free q/k/v projections and a biased to_out.0, over `heads` heads of `head_dim`.
class CrossAttention {
 public:
  CrossAttention() = default;
  // context_dim: the key / value input width (query_dim for self-attention).
  CrossAttention(const nn::VarBuilder& vb, int64_t query_dim, int64_t context_dim, int64_t heads, int64_t head_dim);
  // x (B, T, query_dim), context (B, S, context_dim) -> (B, T, query_dim).
  Tensor forward(const Tensor& x, const Tensor& context) const;

 private:
  nn::Linear q_, k_, v_, out_;
  int64_t heads_ = 1, head_dim_ = 1;
};

// BasicTransformerBlock with norm_type "layer_norm" and activation_fn "geglu".
class BasicTransformerBlock {
 public:
  BasicTransformerBlock() = default;
  BasicTransformerBlock(const nn::VarBuilder& vb, int64_t dim, int64_t heads, int64_t head_dim, int64_t context_dim);
  Tensor forward(const Tensor& x, const Tensor& context) const;  // (B, T, dim) -> same

 private:
  nn::LayerNorm norm1_, norm2_, norm3_;
  CrossAttention attn1_, attn2_;
  nn::Linear geglu_proj_, ff_out_;
};

class Transformer2D {
 public:
  Transformer2D() = default;
  // channels = heads * head_dim; `layers` BasicTransformerBlocks.
  Transformer2D(const nn::VarBuilder& vb, int64_t channels, int64_t heads, int64_t layers, int64_t context_dim,
                int64_t groups, bool linear_projection);
  // x (B, C, H, W), context (B, S, context_dim) -> (B, C, H, W).
  Tensor forward(const Tensor& x, const Tensor& context) const;

 private:
  GroupNorm norm_;
  nn::Linear proj_in_, proj_out_;
  std::vector<BasicTransformerBlock> blocks_;
};

}  // namespace glint::diffusion
