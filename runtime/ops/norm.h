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

}  // namespace glint
