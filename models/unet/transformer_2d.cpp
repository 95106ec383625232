#include "models/unet/transformer_2d.h"

#include "runtime/core/error.h"
#include "runtime/ops/attention.h"
#include "runtime/ops/elementwise.h"

namespace glint::diffusion {
namespace {

// A projection stored as a Linear (out, in) or as a 1x1 Conv2d (out, in, 1, 1): both act on (B, HW, C) alike.
nn::Linear projection(const nn::VarBuilder& vb, int64_t in, int64_t out, bool linear) {
  if (linear) return nn::Linear(vb, in, out, true);
  return nn::Linear(vb.get("weight", {out, in, 1, 1}).reshape({out, in}), vb.get("bias", {out}));
}

}  // namespace

CrossAttention::CrossAttention(const nn::VarBuilder& vb, int64_t query_dim, int64_t context_dim, int64_t heads,
                               int64_t head_dim)
    : q_(vb.pp("to_q"), query_dim, heads * head_dim, false),
      k_(vb.pp("to_k"), context_dim, heads * head_dim, false),
      v_(vb.pp("to_v"), context_dim, heads * head_dim, false),
      out_(vb.pp("to_out").pp(0), heads * head_dim, query_dim, true),
      heads_(heads),
      head_dim_(head_dim) {}

Tensor CrossAttention::forward(const Tensor& x, const Tensor& context) const {
  const int64_t B = x.dim(0), T = x.dim(1);
  // (B,S,heads*D) -> (B,heads,S,D)
  auto split = [&](const Tensor& t) { return t.reshape({B, t.dim(1), heads_, head_dim_}).transpose(1, 2); };
  const Tensor y =
      scaled_dot_product_attention(split(q_.forward(x)), split(k_.forward(context)), split(v_.forward(context)));
  return out_.forward(y.transpose(1, 2).reshape({B, T, heads_ * head_dim_}));
}

BasicTransformerBlock::BasicTransformerBlock(const nn::VarBuilder& vb, int64_t dim, int64_t heads, int64_t head_dim,
                                             int64_t context_dim)
    : norm1_(vb.pp("norm1"), dim, 1e-5),
      norm2_(vb.pp("norm2"), dim, 1e-5),
      norm3_(vb.pp("norm3"), dim, 1e-5),
      attn1_(vb.pp("attn1"), dim, dim, heads, head_dim),
      attn2_(vb.pp("attn2"), dim, context_dim, heads, head_dim),
      geglu_proj_(vb.pp("ff").pp("net").pp(0).pp("proj"), dim, 8 * dim, true),
      ff_out_(vb.pp("ff").pp("net").pp(2), 4 * dim, dim, true) {}

Tensor BasicTransformerBlock::forward(const Tensor& x, const Tensor& context) const {
  Tensor h = norm1_.forward(x);
  Tensor r = add(x, attn1_.forward(h, h));
  r = add(r, attn2_.forward(norm2_.forward(r), context));
  // GEGLU: the projection's first half gated by GELU of its second half
  const Tensor p = geglu_proj_.forward(norm3_.forward(r));
  const int64_t inner = p.dim(-1) / 2;
  const Tensor gated = mul(p.slice(-1, 0, inner), gelu(p.slice(-1, inner, 2 * inner)));
  return add(r, ff_out_.forward(gated));
}

Transformer2D::Transformer2D(const nn::VarBuilder& vb, int64_t channels, int64_t heads, int64_t layers,
                             int64_t context_dim, int64_t groups, bool linear_projection)
    : norm_(vb.pp("norm"), groups, channels, 1e-6),
      proj_in_(projection(vb.pp("proj_in"), channels, channels, linear_projection)),
      proj_out_(projection(vb.pp("proj_out"), channels, channels, linear_projection)) {
  GLINT_CHECK(heads > 0 && channels % heads == 0, "unet", vb.path(""), ": ", channels,
              " channels are not divisible by ", heads, " heads");
  for (int64_t i = 0; i < layers; ++i)
    blocks_.emplace_back(vb.pp("transformer_blocks").pp(i), channels, heads, channels / heads, context_dim);
}

Tensor Transformer2D::forward(const Tensor& x, const Tensor& context) const {
  const int64_t B = x.dim(0), C = x.dim(1), H = x.dim(2), W = x.dim(3);
  Tensor h = proj_in_.forward(norm_.forward(x).permute({0, 2, 3, 1}).reshape({B, H * W, C}));  // (B, HW, C)
  for (const auto& block : blocks_) h = block.forward(h, context);
  return add(x, proj_out_.forward(h).reshape({B, H, W, C}).permute({0, 3, 1, 2}));
}

}  // namespace glint::diffusion
