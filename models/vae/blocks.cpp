#include "models/vae/blocks.h"

#include <filesystem>

#include "runtime/core/error.h"
#include "runtime/io/checkpoint.h"
#include "runtime/ops/attention.h"
#include "runtime/ops/elementwise.h"
#include "runtime/ops/indexing.h"
#include "runtime/ops/norm.h"

namespace glint::diffusion {

std::shared_ptr<io::Checkpoint> open_diffusers_weights(const std::string& folder) {
  for (const char* name : {"diffusion_pytorch_model.safetensors", "diffusion_pytorch_model.safetensors.index.json"}) {
    const std::string path = folder + "/" + name;
    if (std::filesystem::exists(path)) return io::Checkpoint::open(path);
  }
  fail("diffusion", folder, ": neither diffusion_pytorch_model.safetensors nor its .index.json is there");
}

GroupNorm::GroupNorm(const nn::VarBuilder& vb, int64_t groups, int64_t channels, double eps)
    : weight_(vb.get("weight", {channels})),
      bias_(vb.get("bias", {channels})),
      groups_(groups),
      eps_(static_cast<float>(eps)) {}

Tensor GroupNorm::forward(const Tensor& x, bool silu) const {
  return group_norm(x.contiguous(), groups_, weight_, bias_, eps_, silu);
}

ResnetBlock2D::ResnetBlock2D(const nn::VarBuilder& vb, int64_t in, int64_t out, int64_t temb_channels, int64_t groups,
                             double eps)
    : norm1_(vb.pp("norm1"), groups, in, eps),
      norm2_(vb.pp("norm2"), groups, out, eps),
      conv1_(vb.pp("conv1"), in, out, 3, 1, 1),
      conv2_(vb.pp("conv2"), out, out, 3, 1, 1),
      has_shortcut_(in != out),
      has_temb_(temb_channels > 0) {
  if (has_shortcut_) shortcut_ = Conv2d(vb.pp("conv_shortcut"), in, out, 1);
  if (has_temb_) time_emb_proj_ = nn::Linear(vb.pp("time_emb_proj"), temb_channels, out, true);
}

Tensor ResnetBlock2D::forward(const Tensor& x, const Tensor& temb) const {
  Tensor h = conv1_.forward(norm1_.forward(x, true));
  if (has_temb_) {
    const Tensor t = time_emb_proj_.forward(silu(temb));  // (N, out)
    h = add(h, t.reshape({t.dim(0), t.dim(1), 1, 1}));
  }
  h = conv2_.forward(norm2_.forward(h, true));
  return add(has_shortcut_ ? shortcut_.forward(x) : x, h);
}

Downsample2D::Downsample2D(const nn::VarBuilder& vb, int64_t channels, int64_t padding)
    : conv_(vb.pp("conv"), channels, channels, 3, 2, padding), pad_bottom_right_(padding == 0) {}

Tensor Downsample2D::forward(const Tensor& x) const {
  if (!pad_bottom_right_) return conv_.forward(x);
  const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  // F.pad(x, (0, 1, 0, 1)): one zero column on the right, one zero row at the bottom
  const Tensor wide = concat({x, zeros({N, C, H, 1}, x.dtype(), x.device())}, 3);
  return conv_.forward(concat({wide, zeros({N, C, 1, W + 1}, x.dtype(), x.device())}, 2));
}

Upsample2D::Upsample2D(const nn::VarBuilder& vb, int64_t channels)
    : conv_(vb.pp("conv"), channels, channels, 3, 1, 1) {}

Tensor Upsample2D::forward(const Tensor& x) const { return conv_.forward(upsample_nearest(x.contiguous(), 2)); }

SpatialSelfAttention::SpatialSelfAttention(const nn::VarBuilder& vb, int64_t channels, int64_t groups, double eps)
    : norm_(vb.pp("group_norm"), groups, channels, eps) {
  const bool legacy = vb.contains("query.weight");
  q_ = nn::Linear(vb.pp(legacy ? "query" : "to_q"), channels, channels, true);
  k_ = nn::Linear(vb.pp(legacy ? "key" : "to_k"), channels, channels, true);
  v_ = nn::Linear(vb.pp(legacy ? "value" : "to_v"), channels, channels, true);
  out_ = nn::Linear(legacy ? vb.pp("proj_attn") : vb.pp("to_out").pp(0), channels, channels, true);
}

Tensor SpatialSelfAttention::forward(const Tensor& x) const {
  const int64_t N = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  const Tensor h = norm_.forward(x).reshape({N, C, H * W}).transpose(1, 2);                // (N, HW, C)
  auto head = [&](const nn::Linear& proj) { return proj.forward(h).unsqueeze(1); };        // (N, 1, HW, C)
  const Tensor y = scaled_dot_product_attention(head(q_), head(k_), head(v_)).squeeze(1);  // (N, HW, C)
  return add(x, out_.forward(y).transpose(1, 2).reshape({N, C, H, W}));
}

}  // namespace glint::diffusion
