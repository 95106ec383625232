// Fused optimizer ops: one pass over a parameter updates it and its optimizer state in place (torch.optim.AdamW and
// torch.optim.SGD with foreach=False, same formulas in the same order, with a fused multiply-add wherever ATen's CPU
// kernels use one: lerp, addcmul, add with alpha), plus the reductions mixed-precision training needs each step: an
// inf/NaN check with optional unscaling (dynamic loss scaling) and a sum of squares (norms).
// Parameters and states are f32 master weights; gradients may be f32, f16 or bf16 and are read as f32.
#pragma once
#include <cstdint>

#include "runtime/core/tensor.h"
#include "runtime/ops/registry.h"

namespace glint {

// Hyperparameters of one AdamW step. `step` is the step count after this update (1 on the first step): it drives
// the bias corrections. Gradients are divided by `grad_scale` first (the loss scale; 1 = none).
struct AdamWStep {
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 1e-2;
  int64_t step = 1;
  double grad_scale = 1.0;
};

// Updates param, exp_avg and exp_avg_sq (f32, contiguous, same shape and device) in place from grad (same shape,
// floating dtype, any strides), exactly as torch's single-tensor AdamW: decoupled decay param *= 1 - lr*wd, then
// exp_avg.lerp_(g, 1-beta1), exp_avg_sq = exp_avg_sq*beta2 + (1-beta2)*g*g, and
// param += -lr/(1-beta1^t) * exp_avg / (sqrt(exp_avg_sq)/sqrt(1-beta2^t) + eps).
void adamw_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                const AdamWStep& h);

// Hyperparameters of one SGD step. `first` marks the first step of a momentum buffer: it is set to the gradient
// (torch's clone) rather than decayed. Gradients are divided by `grad_scale` first.
struct SgdStep {
  double lr = 1e-3, momentum = 0, dampening = 0, weight_decay = 0;
  bool nesterov = false, first = false;
  double grad_scale = 1.0;
};

// Updates param (and momentum_buf when h.momentum != 0; otherwise it may be undefined) in place from grad, as
// torch's single-tensor SGD: g += wd*param; buf = first ? g : buf*momentum + (1-dampening)*g;
// g = nesterov ? g + momentum*buf : buf; param += -lr*g. Same shape/dtype/contiguity rules as adamw_step.
void sgd_step(const Tensor& param, const Tensor& grad, const Tensor& momentum_buf, const SgdStep& h);

// Sets found_inf (0-d f32 on x's device) to 1 when x (floating) holds an inf or NaN, leaving it alone otherwise;
// when inv_scale != 1, also multiplies x (then contiguous) by inv_scale in place, as torch's
// _amp_foreach_non_finite_check_and_unscale_ does for one tensor.
void nonfinite_check(const Tensor& x, const Tensor& found_inf, float inv_scale = 1.f);
// True when x holds an inf or NaN (synchronises x's device).
bool has_nonfinite(const Tensor& x);

// Sum of x*x over every element of x (floating, any strides), accumulated and returned in f32 as a 0-d tensor on
// x's device. Backends without the fused kernel use sum_all(x*x) in f32.
Tensor sum_squares(const Tensor& x);

// 1/scale when scale is a power of two, else 0. Multiplying by an exact inverse gives the bits of dividing (both
// are one rounding of the same real number) at a fraction of the cost, so kernels compute g / grad_scale as
// g * inv_grad_scale whenever inv_grad_scale != 0.
float grad_inverse(double scale);

// Scalars of one AdamW step, already rounded to f32 the way torch rounds its Python-float scalars.
struct AdamWScalars {
  float decay;        // 1 - lr*wd, applied only when has_decay
  float lerp_weight;  // 1 - beta1
  float beta2, one_minus_beta2;
  float bias_correction2_sqrt;  // sqrt(1 - beta2^t)
  float neg_step_size;          // -lr / (1 - beta1^t)
  float eps;
  float grad_scale, inv_grad_scale;  // see grad_inverse()
  bool has_decay;
};
// Scalars of one SGD step, rounded to f32 like torch's.
struct SgdScalars {
  float weight_decay, momentum, one_minus_dampening, neg_lr;
  float grad_scale, inv_grad_scale;  // see grad_inverse()
  bool has_decay, has_momentum, nesterov, first;
};

// param, exp_avg, exp_avg_sq contiguous f32; grad contiguous of a floating dtype; all the same numel and device.
inline OpTable<void(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                    const AdamWScalars& s)>
    adamw_kernel("adamw_step");
// As adamw_kernel; momentum_buf is contiguous f32 when s.has_momentum, undefined otherwise.
inline OpTable<void(const Tensor& param, const Tensor& grad, const Tensor& momentum_buf, const SgdScalars& s)>
    sgd_kernel("sgd_step");
// x floating, contiguous when inv_scale != 1; found_inf a 0-d f32 on x's device.
inline OpTable<void(const Tensor& x, const Tensor& found_inf, float inv_scale)> nonfinite_kernel("nonfinite_check");
// out (0-d f32) = sum of squares of x (floating, any strides, possibly empty).
inline OpTable<void(const Tensor& x, const Tensor& out)> sum_squares_kernel("sum_squares");

}  // namespace glint
