#include "runtime/ops/attention_grad.h"

#include <cmath>
#include <limits>
#include <vector>

#include "runtime/autograd/autograd.h"
#include "runtime/ops/elementwise.h"
#include "runtime/ops/matmul.h"
#include "runtime/ops/reduce.h"
#include "runtime/ops/softmax.h"

namespace glint {
namespace {

// The additive f32 mask (broadcastable to (B, Hq, Tq, Tk)) equivalent to opts' causal flag and mask.
Tensor additive_mask(const AttentionOptions& opts, int64_t b, int64_t tq, int64_t tk, Device device) {
  constexpr float kInf = std::numeric_limits<float>::infinity();
  Tensor m = zeros({1, 1, tq, tk}, DType::f32, device);
  if (opts.causal) {  // query i sits at key position i + tk - tq; a window also hides keys `window` or more behind
    std::vector<float> tri(size_t(tq * tk), 0.0f);
    for (int64_t i = 0; i < tq; ++i) {
      const int64_t at = i + (tk - tq);
      for (int64_t j = 0; j < tk; ++j)
        if (j > at || (opts.window > 0 && j <= at - opts.window)) tri[size_t(i * tk + j)] = -kInf;
    }
    m = Tensor::from_vector(tri, {1, 1, tq, tk}, DType::f32, device);
  }
  if (!opts.mask.defined()) return m;
  const Tensor mask = opts.mask.to(device);
  if (is_floating(mask.dtype())) return m + mask.to(DType::f32);
  const Tensor keep = binary(BinaryOp::ne, mask, 0.0).reshape({b, 1, 1, tk});
  return m + where(keep, zeros({}, DType::f32, device), full({}, -kInf, DType::f32, device));
}

// kv heads repeated for the query heads that read them: (B, Hkv, T, D) -> (B, Hkv * rep, T, D).
Tensor repeat_heads(const Tensor& x, int64_t rep) {
  if (rep == 1) return x;
  const Shape& s = x.shape();
  return x.unsqueeze(2).expand({s[0], s[1], rep, s[2], s[3]}).reshape({s[0], s[1] * rep, s[2], s[3]});
}

// The inverse of repeat_heads for gradients: the sum over each kv head's query heads.
Tensor sum_heads(const Tensor& g, int64_t rep) {
  if (rep == 1) return g;
  const Shape& s = g.shape();
  return sum(g.reshape({s[0], s[1] / rep, rep, s[2], s[3]}), 2);
}

}  // namespace

Tensor attention_with_grad(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& opts) {
  Tensor out;
  {
    autograd::NoGradGuard no_grad;
    out = scaled_dot_product_attention(q, k, v, opts);
  }
  const bool need_q = q.requires_grad(), need_k = k.requires_grad(), need_v = v.requires_grad();
  AttentionOptions saved = opts;
  saved.mask = opts.mask.defined() ? opts.mask.detach() : Tensor();
  autograd::record(
      "scaled_dot_product_attention", out, {q, k, v},
      [q = q.detach(), k = k.detach(), v = v.detach(), o = out.detach(), saved, need_q, need_k,
       need_v](const Tensor& g) {
        const int64_t b = q.dim(0), tq = q.dim(2), tk = k.dim(2), rep = q.dim(1) / k.dim(1);
        const double scale = saved.scale.value_or(1.0 / std::sqrt(double(q.dim(3))));
        const Tensor qf = q.to(DType::f32), kf = repeat_heads(k.to(DType::f32), rep),
                     vf = repeat_heads(v.to(DType::f32), rep);
        const Tensor go = g.to(DType::f32);
        const Tensor scores = matmul(qf, kf.transpose(-1, -2)) * scale + additive_mask(saved, b, tq, tk, q.device());
        Tensor p = softmax(scores, -1);
        p = where(ne(p, p), zeros({}, DType::f32, p.device()), p);  // rows with every key masked: output 0
        autograd::Grads grads(3);
        if (need_v) grads[2] = sum_heads(matmul(p.transpose(-1, -2), go), rep).to(v.dtype());
        if (need_q || need_k) {
          const Tensor dp = matmul(go, vf.transpose(-1, -2));
          const Tensor ds = p * (dp - sum(go * o.to(DType::f32), -1, true)) * scale;
          if (need_q) grads[0] = matmul(ds, kf).to(q.dtype());
          if (need_k) grads[1] = sum_heads(matmul(ds.transpose(-1, -2), qf), rep).to(k.dtype());
        }
        return grads;
      });
  return out;
}

}  // namespace glint
