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

autograd::Grads attention_grad_composite(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& o,
                                         const Tensor& g, const AttentionOptions& opts) {
  const int64_t b = q.dim(0), tq = q.dim(2), tk = k.dim(2), rep = q.dim(1) / k.dim(1);
  const double scale = opts.scale.value_or(1.0 / std::sqrt(double(q.dim(3))));
  const Tensor qf = q.to(DType::f32), kf = repeat_heads(k.to(DType::f32), rep);
  const Tensor vf = repeat_heads(v.to(DType::f32), rep);
  const Tensor go = g.to(DType::f32);
  const Tensor scores = matmul(qf, kf.transpose(-1, -2)) * scale + additive_mask(opts, b, tq, tk, q.device());
  Tensor p = softmax(scores, -1);
  p = where(ne(p, p), zeros({}, DType::f32, p.device()), p);  // rows with every key masked: output 0
  const Tensor dp = matmul(go, vf.transpose(-1, -2));
  const Tensor ds = p * (dp - sum(go * o.to(DType::f32), -1, true)) * scale;
  return {matmul(ds, kf).to(q.dtype()), sum_heads(matmul(ds.transpose(-1, -2), qf), rep).to(k.dtype()),
          sum_heads(matmul(p.transpose(-1, -2), go), rep).to(v.dtype())};
}

Tensor attention_with_grad(const Tensor& q, const Tensor& k, const Tensor& v, const AttentionOptions& opts) {
  Tensor out;
  {
    autograd::NoGradGuard no_grad;
    out = scaled_dot_product_attention(q, k, v, opts);
  }
  AttentionOptions saved = opts;
  saved.mask = opts.mask.defined() ? opts.mask.detach() : Tensor();
  autograd::record("scaled_dot_product_attention", out, {q, k, v},
                   [q = q.detach(), k = k.detach(), v = v.detach(), o = out.detach(), saved](const Tensor& g) {
                     if (!attention_grad_kernel.supports(q.device().kind) || o.numel() == 0)
                       return attention_grad_composite(q, k, v, o, g, saved);
                     // f32 matrices with unit columns and rows at least a row apart, as sgemm reads them.
                     auto f32 = [](const Tensor& t) {
                       const Tensor x = t.to(DType::f32);
                       return x.strides()[3] == 1 && x.strides()[2] >= x.dim(3) ? x : x.contiguous();
                     };
                     AttentionGradArgs a{attention_args("scaled_dot_product_attention backward", f32(q), f32(k),
                                                        f32(v), saved)};
                     a.fwd.out = f32(o).contiguous();
                     a.g = f32(g).contiguous();
                     const int64_t b = q.dim(0), hq = q.dim(1), tk = k.dim(2), rep = hq / k.dim(1);
                     a.dq = Tensor::empty(q.shape(), DType::f32, q.device());
                     a.dk = Tensor::empty({b, hq, tk, q.dim(3)}, DType::f32, q.device());
                     a.dv = Tensor::empty({b, hq, tk, v.dim(3)}, DType::f32, q.device());
                     attention_grad_kernel(q.device(), a);
                     return autograd::Grads{a.dq.to(q.dtype()), sum_heads(a.dk, rep).to(k.dtype()),
                                            sum_heads(a.dv, rep).to(v.dtype())};
                   });
  return out;
}

}  // namespace glint
