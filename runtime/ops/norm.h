// Normalisation layers with Hugging Face / torch semantics: statistics in f32 for every floating dtype, biased
// variance, optional affine parameters (an undefined Tensor means none).
#pragma once
#include "runtime/core/tensor.h"
#include "runtime/ops/registry.h"

namespace glint {

// LlamaRMSNorm over the last dim: y = weight * to_dtype(x * rsqrt(mean(x^2) + eps)), the two roundings as HF does.
Tensor rms_norm(const Tensor& x, const Tensor& weight, float eps);
// torch layer_norm over the last dim: (x - mean) * rsqrt(var + eps) * weight + bias, rounded once.
Tensor layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps);
// torch group_norm of (N, C, *) with per-channel weight / bias of shape (C); `silu` applies y * sigmoid(y) to the
// result before rounding (diffusers follows GroupNorm with SiLU).
Tensor group_norm(const Tensor& x, int64_t num_groups, const Tensor& weight, const Tensor& bias, float eps,
                  bool silu = false);

// out (contiguous, x's shape and dtype) = rms_norm of x (any strides, floating, last dim > 0); weight is undefined
// or contiguous of shape (x.dim(-1)) and x's dtype.
inline OpTable<void(const Tensor& x, const Tensor& weight, float eps, const Tensor& out)> rms_norm_kernel("rms_norm");
// out (contiguous) = layer_norm of x (any strides, floating, last dim > 0); weight / bias as for rms_norm.
inline OpTable<void(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps, const Tensor& out)>
    layer_norm_kernel("layer_norm");
// out (contiguous) = group_norm of x (contiguous (N, C, *), C divisible by num_groups, numel > 0); weight / bias
// undefined or contiguous (C) of x's dtype.
inline OpTable<void(const Tensor& x, int64_t num_groups, const Tensor& weight, const Tensor& bias, float eps, bool silu,
                    const Tensor& out)>
    group_norm_kernel("group_norm");
// The gradient of rms_norm, fused where a backend has it (the rule's composite runs elsewhere): x and g f32
// contiguous (rows, C), weight f32 contiguous (C) or undefined; writes dx (rows, C) and, when defined, dw (C), both
// f32 contiguous, with the composite's formulas: n = x r, r = rsqrt(mean(x^2) + eps), dn = g w,
// dx = (dn - n mean(dn n)) r, dw = sum over rows of g n.
inline OpTable<void(const Tensor& x, const Tensor& weight, const Tensor& g, float eps, const Tensor& dx,
                    const Tensor& dw)>
    rms_norm_grad_kernel("rms_norm backward");

}  // namespace glint
