// Norm definitions: argument checks, the output, then the backend kernel. Weights and biases are tiny, so they
// are made contiguous here and kernels index them directly.
#include "runtime/ops/norm.h"

#include "runtime/autograd/autocast.h"
#include "runtime/autograd/autograd.h"
#include "runtime/core/error.h"
#include "runtime/ops/elementwise.h"
#include "runtime/ops/elementwise_grad.h"
#include "runtime/ops/reduce.h"

namespace glint {
namespace {

void check_input(const Tensor& x, const char* name, int min_dims) {
  GLINT_CHECK(x.defined(), name, "undefined tensor");
  GLINT_CHECK(is_floating(x.dtype()), name, "needs a floating dtype, got ", dtype_name(x.dtype()));
  GLINT_CHECK(x.ndim() >= min_dims, name, "input needs at least ", min_dims, " dims, got ", shape_str(x.shape()));
}

// An affine parameter: undefined, or of `shape` on x's device and dtype. Returns it contiguous.
Tensor check_param(const Tensor& x, const Tensor& p, const char* name, const char* what, int64_t size) {
  if (!p.defined()) return p;
  GLINT_CHECK(p.device() == x.device(), name, "tensors on different devices: ", x.device().str(), " and ",
              p.device().str());
  GLINT_CHECK(p.dtype() == x.dtype(), name, "dtype mismatch: ", dtype_name(x.dtype()), " and ", dtype_name(p.dtype()));
  GLINT_CHECK(p.shape() == Shape{size}, name, what, " has shape ", shape_str(p.shape()), ", expected (", size, ")");
  return p.contiguous();
}

// Gradients of a normalisation over the last dim of (rows, C) f32 views, given n = the normalised input, r = the
// reciprocal standard deviation per row and dn = the gradient at n: r (dn - mean(dn) - n mean(dn n)), without the
// mean(dn) term when the mean was not subtracted (RMSNorm).
Tensor normalised_backward(const Tensor& n, const Tensor& r, const Tensor& dn, bool centred) {
  Tensor t = dn - n * mean(dn * n, -1, true);
  if (centred) t = t - mean(dn, -1, true);
  return t * r;
}

}  // namespace

Tensor rms_norm(const Tensor& x, const Tensor& weight, float eps) {
  if (autograd::autocast_dtype()) {
    const Tensor x2 = autograd::autocast(x), w2 = autograd::autocast(weight);
    autograd::AutocastGuard off(std::nullopt);
    return rms_norm(x2, w2, eps);
  }
  check_input(x, "rms_norm", 1);
  Tensor w = check_param(x, weight, "rms_norm", "weight", x.dim(-1));
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (out.numel() > 0) rms_norm_kernel(x.device(), x.detach(), w.detach(), eps, out);
  if (autograd::needs_grad({x, weight})) {
    const bool need_w = weight.requires_grad();
    autograd::record("rms_norm", out, {x, weight}, [xs = x.detach(), w = w.detach(), eps, need_w](const Tensor& g) {
      const int64_t c = xs.dim(-1);
      if (rms_norm_grad_kernel.supports(xs.device().kind) && xs.numel() > 0) {
        auto f32 = [c](const Tensor& t) { return t.reshape({-1, c}).to(DType::f32).contiguous(); };
        const Tensor x2 = f32(xs), dx = Tensor::empty(x2.shape(), DType::f32, xs.device());
        const Tensor dw = need_w ? Tensor::empty({c}, DType::f32, xs.device()) : Tensor();
        rms_norm_grad_kernel(xs.device(), x2, w.defined() ? w.to(DType::f32) : w, f32(g), eps, dx, dw);
        return autograd::Grads{dx.to(xs.dtype()).reshape(xs.shape()), need_w ? dw.to(w.dtype()) : Tensor()};
      }
      const Tensor x2 = xs.reshape({-1, c}).to(DType::f32), g2 = g.reshape({-1, c}).to(DType::f32);
      const Tensor r = rsqrt(mean(x2 * x2, -1, true) + double(eps)), n = x2 * r;
      const Tensor dn = w.defined() ? g2 * w.to(DType::f32) : g2;
      const Tensor dx = normalised_backward(n, r, dn, false).to(xs.dtype()).reshape(xs.shape());
      return autograd::Grads{dx, need_w ? sum(g2 * n, 0).to(w.dtype()) : Tensor()};
    });
  }
  return out;
}

Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps) {
  if (autograd::autocast_dtype()) {
    const Tensor x2 = autograd::autocast(x), w2 = autograd::autocast(weight), b2 = autograd::autocast(bias);
    autograd::AutocastGuard off(std::nullopt);
    return layer_norm(x2, w2, b2, eps);
  }
  check_input(x, "layer_norm", 1);
  Tensor w = check_param(x, weight, "layer_norm", "weight", x.dim(-1));
  Tensor b = check_param(x, bias, "layer_norm", "bias", x.dim(-1));
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (out.numel() > 0) layer_norm_kernel(x.device(), x.detach(), w.detach(), b.detach(), eps, out);
  if (autograd::needs_grad({x, weight, bias})) {
    const bool need_w = weight.requires_grad(), need_b = bias.requires_grad();
    autograd::record("layer_norm", out, {x, weight, bias},
                     [xs = x.detach(), w = w.detach(), b = b.detach(), eps, need_w, need_b](const Tensor& g) {
                       const int64_t c = xs.dim(-1);
                       const Tensor x2 = xs.reshape({-1, c}).to(DType::f32), g2 = g.reshape({-1, c}).to(DType::f32);
                       const Tensor xc = x2 - mean(x2, -1, true);
                       const Tensor r = rsqrt(mean(xc * xc, -1, true) + double(eps)), n = xc * r;
                       const Tensor dn = w.defined() ? g2 * w.to(DType::f32) : g2;
                       const Tensor dx = normalised_backward(n, r, dn, true).to(xs.dtype()).reshape(xs.shape());
                       // The affine parameters: per-feature sums over every row.
                       return autograd::Grads{dx, need_w ? sum(g2 * n, 0).to(w.dtype()) : Tensor(),
                                              need_b ? sum(g2, 0).to(b.dtype()) : Tensor()};
                     });
  }
  return out;
}

Tensor group_norm(const Tensor& x, int64_t num_groups, const Tensor& weight, const Tensor& bias, float eps, bool silu) {
  check_input(x, "group_norm", 2);
  const int64_t channels = x.dim(1);
  GLINT_CHECK(num_groups > 0 && channels % num_groups == 0, "group_norm", channels, " channels are not divisible by ",
              num_groups, " groups");
  Tensor w = check_param(x, weight, "group_norm", "weight", channels);
  Tensor b = check_param(x, bias, "group_norm", "bias", channels);
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (out.numel() > 0)
    group_norm_kernel(x.device(), x.detach().contiguous(), num_groups, w.detach(), b.detach(), eps, silu, out);
  if (autograd::needs_grad({x, weight, bias})) {
    const bool need_w = weight.requires_grad(), need_b = bias.requires_grad();
    autograd::record(
        "group_norm", out, {x, weight, bias},
        [xs = x.detach(), w = w.detach(), b = b.detach(), num_groups, eps, silu, need_w, need_b](const Tensor& g_in) {
          // Through the SiLU first, at the normalised-and-affine value recomputed without it.
          const Tensor g = silu ? unary_backward(UnaryOp::silu, group_norm(xs, num_groups, w, b, eps), g_in, {})
                                : g_in;
          const int64_t n_batch = xs.dim(0), c = xs.dim(1), s = xs.numel() / (n_batch * c);
          // Statistics per (sample, group) row; affine parameters per channel.
          const Tensor xg = xs.reshape({n_batch * num_groups, -1}).to(DType::f32);
          const Tensor xc = xg - mean(xg, -1, true);
          const Tensor r = rsqrt(mean(xc * xc, -1, true) + double(eps)), n = xc * r;
          const Tensor gc = g.to(DType::f32).reshape({n_batch, c, s});
          const Tensor nc = n.reshape({n_batch, c, s});
          const Tensor dn = w.defined() ? gc * w.to(DType::f32).reshape({c, 1}) : gc;
          const Tensor dx = normalised_backward(n, r, dn.reshape({n_batch * num_groups, -1}), true)
                                .to(xs.dtype())
                                .reshape(xs.shape());
          // Per-channel sums over samples and positions.
          auto per_channel = [&](const Tensor& t) { return sum(sum(t, 2), 0); };
          return autograd::Grads{dx, need_w ? per_channel(gc * nc).to(w.dtype()) : Tensor(),
                                 need_b ? per_channel(gc).to(b.dtype()) : Tensor()};
        });
  }
  return out;
}

}  // namespace glint
