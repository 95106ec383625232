// Convolution and upsample definitions: argument checks with `[op]` errors, output sizes, then the backend kernel.
// Kernels get contiguous tensors: a convolution gathers its input through the im2col index map, which is simplest
// (and coalesces best on a GPU) over a dense (N, C, H, W) layout; making it contiguous is cheap next to the product.
#include "runtime/ops/conv.h"

#include "runtime/autograd/autograd.h"
#include "runtime/core/error.h"
#include "runtime/ops/reduce.h"

namespace glint {
namespace {

void check_tensor(const char* op, const Tensor& t, const char* what, int ndim) {
  GLINT_CHECK(t.defined(), op, what, " is an undefined tensor");
  GLINT_CHECK(is_floating(t.dtype()), op, "unsupported dtype ", dtype_name(t.dtype()), " for ", what,
              " (f32, f16 or bf16)");
  GLINT_CHECK(t.ndim() == ndim, op, what, " must be ", ndim, "-D, got ", shape_str(t.shape()));
}

void check_same(const char* op, const Tensor& a, const Tensor& b) {
  GLINT_CHECK(a.device() == b.device(), op, "tensors on different devices: ", a.device().str(), " and ",
              b.device().str());
  GLINT_CHECK(a.dtype() == b.dtype(), op, "dtype mismatch: ", dtype_name(a.dtype()), " and ", dtype_name(b.dtype()));
}

// The sizes of a convolution of an input of x_shape by a weight of w_shape (both 4-D), checked.
Conv2dShape conv_shape(const char* op, const Shape& x_shape, const Shape& w_shape, const Conv2dParams& p) {
  GLINT_CHECK(x_shape.size() == 4, op, "input must be 4-D (N, C, H, W), got ", shape_str(x_shape));
  GLINT_CHECK(w_shape.size() == 4, op, "weight must be 4-D (O, C / groups, KH, KW), got ", shape_str(w_shape));
  for (int i = 0; i < 2; ++i) {
    GLINT_CHECK(p.stride[i] >= 1, op, "stride must be >= 1, got (", p.stride[0], ",", p.stride[1], ")");
    GLINT_CHECK(p.dilation[i] >= 1, op, "dilation must be >= 1, got (", p.dilation[0], ",", p.dilation[1], ")");
    GLINT_CHECK(p.padding[i] >= 0, op, "padding must be >= 0, got (", p.padding[0], ",", p.padding[1], ")");
  }
  GLINT_CHECK(p.groups >= 1, op, "groups must be >= 1, got ", p.groups);
  Conv2dShape s{x_shape[0], x_shape[1], x_shape[2], x_shape[3], w_shape[0], w_shape[2], w_shape[3], 0, 0, p};
  GLINT_CHECK(s.c >= 1 && s.c % p.groups == 0, op, "input channels ", s.c, " are not a positive multiple of groups ",
              p.groups);
  GLINT_CHECK(s.o % p.groups == 0, op, "output channels ", s.o, " are not divisible by groups ", p.groups);
  GLINT_CHECK(w_shape[1] == s.c / p.groups, op, "weight ", shape_str(w_shape), " expects ", w_shape[1] * p.groups,
              " input channels, input ", shape_str(x_shape), " has ", s.c);
  GLINT_CHECK(s.kh >= 1 && s.kw >= 1, op, "empty kernel ", shape_str(w_shape));
  s.oh = (s.h + 2 * p.padding[0] - p.dilation[0] * (s.kh - 1) - 1) / p.stride[0] + 1;
  s.ow = (s.w + 2 * p.padding[1] - p.dilation[1] * (s.kw - 1) - 1) / p.stride[1] + 1;
  // The numerator may be negative, and C++ division truncates towards zero: compare before dividing.
  GLINT_CHECK(s.h + 2 * p.padding[0] >= p.dilation[0] * (s.kh - 1) + 1 &&
                  s.w + 2 * p.padding[1] >= p.dilation[1] * (s.kw - 1) + 1,
              op, "kernel ", s.kh, "x", s.kw, " (dilation ", p.dilation[0], ",", p.dilation[1],
              ") is larger than the padded input ", s.h + 2 * p.padding[0], "x", s.w + 2 * p.padding[1]);
  return s;
}

Shape out_shape(const Conv2dShape& s) { return {s.n, s.o, s.oh, s.ow}; }

}  // namespace

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dParams& p) {
  check_tensor("conv2d", x, "input", 4);
  check_tensor("conv2d", weight, "weight", 4);
  check_same("conv2d", x, weight);
  const Conv2dShape s = conv_shape("conv2d", x.shape(), weight.shape(), p);
  if (bias.defined()) {
    check_tensor("conv2d", bias, "bias", 1);
    check_same("conv2d", x, bias);
    GLINT_CHECK(bias.dim(0) == s.o, "conv2d", "bias ", shape_str(bias.shape()), " does not match ", s.o,
                " output channels");
  }
  Tensor y = Tensor::empty(out_shape(s), x.dtype(), x.device());
  if (y.numel() > 0)
    conv2d_kernel(x.device(), x.detach().contiguous(), weight.detach().contiguous(),
                  bias.defined() ? bias.detach().contiguous() : bias, s, y);
  if (autograd::needs_grad({x, weight, bias})) {
    const bool need_x = x.requires_grad(), need_w = weight.requires_grad(), need_b = bias.requires_grad();
    autograd::record("conv2d", y, {x, weight, bias},
                     [xs = x.detach(), w = weight.detach(), p, need_x, need_w, need_b](const Tensor& g) {
                       return autograd::Grads{
                           need_x ? conv2d_backward_input(g, w, xs.shape(), p) : Tensor(),
                           need_w ? conv2d_backward_weight(g, xs, w.shape(), p) : Tensor(),
                           need_b ? sum(sum(sum(g, 3), 2), 0) : Tensor()};
                     });
  }
  return y;
}

Tensor conv2d_backward_input(const Tensor& grad_out, const Tensor& weight, const Shape& x_shape,
                             const Conv2dParams& p) {
  check_tensor("conv2d_backward_input", grad_out, "grad_out", 4);
  check_tensor("conv2d_backward_input", weight, "weight", 4);
  check_same("conv2d_backward_input", grad_out, weight);
  const Conv2dShape s = conv_shape("conv2d_backward_input", x_shape, weight.shape(), p);
  GLINT_CHECK(grad_out.shape() == out_shape(s), "conv2d_backward_input", "grad_out ", shape_str(grad_out.shape()),
              " is not the output shape ", shape_str(out_shape(s)), " of the convolution");
  Tensor dx = Tensor::empty(x_shape, grad_out.dtype(), grad_out.device());
  if (dx.numel() == 0) return dx;
  if (grad_out.numel() == 0) return zeros(x_shape, grad_out.dtype(), grad_out.device());
  conv2d_backward_input_kernel(dx.device(), grad_out.contiguous(), weight.contiguous(), s, dx);
  return dx;
}

Tensor conv2d_backward_weight(const Tensor& grad_out, const Tensor& x, const Shape& weight_shape,
                              const Conv2dParams& p) {
  check_tensor("conv2d_backward_weight", grad_out, "grad_out", 4);
  check_tensor("conv2d_backward_weight", x, "input", 4);
  check_same("conv2d_backward_weight", grad_out, x);
  const Conv2dShape s = conv_shape("conv2d_backward_weight", x.shape(), weight_shape, p);
  GLINT_CHECK(grad_out.shape() == out_shape(s), "conv2d_backward_weight", "grad_out ", shape_str(grad_out.shape()),
              " is not the output shape ", shape_str(out_shape(s)), " of the convolution");
  Tensor dw = Tensor::empty(weight_shape, x.dtype(), x.device());
  if (dw.numel() == 0) return dw;
  if (grad_out.numel() == 0) return zeros(weight_shape, x.dtype(), x.device());
  conv2d_backward_weight_kernel(dw.device(), grad_out.contiguous(), x.contiguous(), s, dw);
  return dw;
}

Tensor upsample_nearest(const Tensor& x, int64_t out_h, int64_t out_w) {
  check_tensor("upsample_nearest", x, "input", 4);
  GLINT_CHECK(out_h >= 1 && out_w >= 1, "upsample_nearest", "output size must be positive, got ", out_h, "x", out_w);
  Tensor y = Tensor::empty({x.dim(0), x.dim(1), out_h, out_w}, x.dtype(), x.device());
  if (y.numel() == 0) return y;
  GLINT_CHECK(x.dim(2) >= 1 && x.dim(3) >= 1, "upsample_nearest", "cannot resize an empty image ",
              shape_str(x.shape()));
  upsample_nearest_kernel(x.device(), x.detach().contiguous(), y);
  if (autograd::needs_grad({x}))
    autograd::record("upsample_nearest", y, {x}, [h = x.dim(2), w = x.dim(3)](const Tensor& g) {
      return autograd::Grads{upsample_nearest_backward(g, h, w)};
    });
  return y;
}

Tensor upsample_nearest(const Tensor& x, int64_t scale) {
  GLINT_CHECK(scale >= 1, "upsample_nearest", "scale must be >= 1, got ", scale);
  check_tensor("upsample_nearest", x, "input", 4);
  return upsample_nearest(x, x.dim(2) * scale, x.dim(3) * scale);
}

Tensor upsample_nearest_backward(const Tensor& grad_out, int64_t in_h, int64_t in_w) {
  check_tensor("upsample_nearest_backward", grad_out, "grad_out", 4);
  GLINT_CHECK(in_h >= 1 && in_w >= 1, "upsample_nearest_backward", "input size must be positive, got ", in_h, "x",
              in_w);
  const Shape dx_shape{grad_out.dim(0), grad_out.dim(1), in_h, in_w};
  if (numel_of(dx_shape) == 0) return Tensor::empty(dx_shape, grad_out.dtype(), grad_out.device());
  GLINT_CHECK(grad_out.dim(2) >= 1 && grad_out.dim(3) >= 1, "upsample_nearest_backward", "empty grad_out ",
              shape_str(grad_out.shape()));
  Tensor dx = Tensor::empty(dx_shape, grad_out.dtype(), grad_out.device());
  upsample_nearest_backward_kernel(dx.device(), grad_out.contiguous(), dx);
  return dx;
}

}  // namespace glint
