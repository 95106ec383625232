// 2-D convolution with torch.nn.functional.conv2d semantics (stride, zero padding, dilation, groups), its two
// gradients for training, and nearest-neighbour upsampling (F.interpolate(mode="nearest")) with its gradient.
// Inputs share one float dtype (f32, f16, bf16); products always accumulate in f32 and are rounded once.
#pragma once
#include <algorithm>
#include <array>

#include "runtime/core/tensor.h"
#include "runtime/ops/registry.h"

namespace glint {

// The hyper-parameters of a convolution, (height, width) pairs as torch takes them.
struct Conv2dParams {
  std::array<int64_t, 2> stride{1, 1};
  std::array<int64_t, 2> padding{0, 0};  // zeros added on both sides
  std::array<int64_t, 2> dilation{1, 1};
  int64_t groups = 1;
};

// torch conv2d: x (N, C, H, W), weight (O, C / groups, KH, KW), bias (O) or undefined -> (N, O, OH, OW) with
// OH = (H + 2 * pad - dilation * (KH - 1) - 1) / stride + 1 (likewise OW).
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = {}, const Conv2dParams& p = {});
// Gradient of conv2d with respect to x (a transposed convolution of grad_out): grad_out (N, O, OH, OW), weight as
// for conv2d, x_shape the (N, C, H, W) of the forward input -> (N, C, H, W).
Tensor conv2d_backward_input(const Tensor& grad_out, const Tensor& weight, const Shape& x_shape,
                             const Conv2dParams& p = {});
// Gradient of conv2d with respect to weight: grad_out (N, O, OH, OW), x the forward input (N, C, H, W),
// weight_shape the (O, C / groups, KH, KW) of the weight -> weight_shape. The bias gradient is grad_out summed
// over (N, OH, OW).
Tensor conv2d_backward_weight(const Tensor& grad_out, const Tensor& x, const Shape& weight_shape,
                              const Conv2dParams& p = {});

// F.interpolate(x, size=(out_h, out_w), mode="nearest") of x (N, C, H, W): output pixel (i, j) copies input pixel
// (min(floor(i * H / out_h), H - 1), likewise for j), with the scale computed in f32 as torch does.
Tensor upsample_nearest(const Tensor& x, int64_t out_h, int64_t out_w);
// F.interpolate(x, scale_factor=scale, mode="nearest") for an integer scale >= 1 (diffusers' Upsample2D uses 2).
Tensor upsample_nearest(const Tensor& x, int64_t scale);
// Gradient of upsample_nearest: grad_out (N, C, out_h, out_w) summed over the output pixels that copied each input
// pixel -> (N, C, in_h, in_w).
Tensor upsample_nearest_backward(const Tensor& grad_out, int64_t in_h, int64_t in_w);

// Every size of one convolution, filled in and checked by the definitions: input (n, c, h, w), weight
// (o, c / groups, kh, kw), output (n, o, oh, ow).
struct Conv2dShape {
  int64_t n, c, h, w, o, kh, kw, oh, ow;
  Conv2dParams p;
};

// y (contiguous (n, o, oh, ow)) = conv2d of x (contiguous) and weight (contiguous), plus bias (undefined or
// contiguous (o)). All share one float dtype and device; every size is >= 1.
inline OpTable<void(const Tensor& x, const Tensor& weight, const Tensor& bias, const Conv2dShape& s, const Tensor& y)>
    conv2d_kernel("conv2d");
// dx (contiguous (n, c, h, w)) = gradient of conv2d with respect to x, from dy (contiguous) and weight (contiguous).
inline OpTable<void(const Tensor& dy, const Tensor& weight, const Conv2dShape& s, const Tensor& dx)>
    conv2d_backward_input_kernel("conv2d_backward_input");
// dw (contiguous (o, c / groups, kh, kw)) = gradient of conv2d with respect to weight, from dy and x (contiguous).
inline OpTable<void(const Tensor& dy, const Tensor& x, const Conv2dShape& s, const Tensor& dw)>
    conv2d_backward_weight_kernel("conv2d_backward_weight");
// y (contiguous (N, C, OH, OW)) = nearest upsample of x (contiguous (N, C, H, W)); every size >= 1.
inline OpTable<void(const Tensor& x, const Tensor& y)> upsample_nearest_kernel("upsample_nearest");
// dx (contiguous (N, C, H, W)) = gradient of the nearest upsample to dy's (contiguous) size.
inline OpTable<void(const Tensor& dy, const Tensor& dx)> upsample_nearest_backward_kernel("upsample_nearest_backward");

// The source index of output index i when n_in pixels are resized to n_out, as torch's nearest mode computes it.
inline int64_t nearest_source(int64_t i, int64_t n_in, int64_t n_out) {
  const float scale = float(n_in) / float(n_out);
  return std::min(int64_t(float(i) * scale), n_in - 1);
}

}  // namespace glint
