// Optimizer op definitions: checks, the f32 scalars torch would compute from its Python floats, then the kernels.
#include "runtime/ops/optim.h"

#include <cmath>

#include "runtime/core/error.h"
#include "runtime/ops/elementwise.h"
#include "runtime/ops/reduce.h"

namespace glint {
namespace {

// param (and each state) must be writable in place as flat f32 arrays; grad is read through a contiguous copy
// when it is a view.
Tensor check_update(const char* op, const Tensor& param, const Tensor& grad,
                    std::initializer_list<const Tensor*> states) {
  GLINT_CHECK(param.defined() && grad.defined(), op, "undefined parameter or gradient");
  GLINT_CHECK(param.dtype() == DType::f32, op, "parameters must be f32 master weights, got ", param.str());
  GLINT_CHECK(param.is_contiguous(), op, "parameter must be contiguous, got a strided view ", param.str());
  GLINT_CHECK(is_floating(grad.dtype()), op, "gradient must be f32, f16 or bf16, got ", grad.str());
  GLINT_CHECK(grad.shape() == param.shape(), op, "gradient shape ", shape_str(grad.shape()), " differs from parameter ",
              shape_str(param.shape()));
  GLINT_CHECK(grad.device() == param.device(), op, "gradient on ", grad.device().str(), " but parameter on ",
              param.device().str());
  for (const Tensor* s : states) {
    GLINT_CHECK(s->defined(), op, "undefined optimizer state");
    GLINT_CHECK(s->dtype() == DType::f32 && s->is_contiguous() && s->shape() == param.shape(), op,
                "optimizer state must be contiguous f32 of the parameter's shape ", shape_str(param.shape()), ", got ",
                s->str());
    GLINT_CHECK(s->device() == param.device(), op, "optimizer state on ", s->device().str(), " but parameter on ",
                param.device().str());
  }
  return grad.contiguous();
}

void check_hyper(const char* op, double lr, double grad_scale) {
  GLINT_CHECK(std::isfinite(lr) && lr >= 0, op, "invalid learning rate ", lr);
  GLINT_CHECK(std::isfinite(grad_scale) && grad_scale > 0, op, "invalid gradient scale ", grad_scale);
}

}  // namespace

float grad_inverse(double scale) {
  int exponent = 0;
  const float inverse = 1.f / float(scale);
  return std::frexp(float(scale), &exponent) == 0.5f && std::isnormal(inverse) ? inverse : 0.f;
}

void adamw_step(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                const AdamWStep& h) {
  const Tensor g = check_update("adamw_step", param, grad, {&exp_avg, &exp_avg_sq});
  check_hyper("adamw_step", h.lr, h.grad_scale);
  GLINT_CHECK(h.beta1 >= 0 && h.beta1 < 1 && h.beta2 >= 0 && h.beta2 < 1, "adamw_step",
              "betas must be in [0, 1), got (", h.beta1, ", ", h.beta2, ")");
  GLINT_CHECK(h.eps >= 0 && h.weight_decay >= 0, "adamw_step", "invalid eps ", h.eps, " or weight decay ",
              h.weight_decay);
  GLINT_CHECK(h.step >= 1, "adamw_step", "step counts from 1, got ", h.step);
  // torch: bias_correction1 = 1 - beta1**step, step_size = lr / bias_correction1, bias_correction2**0.5, all in
  // Python floats; each reaches the kernels as an f32 scalar.
  const double t = double(h.step);
  const double bias_correction1 = 1 - std::pow(h.beta1, t), bias_correction2 = 1 - std::pow(h.beta2, t);
  const AdamWScalars s{.decay = float(1 - h.lr * h.weight_decay),
                       .lerp_weight = float(1 - h.beta1),
                       .beta2 = float(h.beta2),
                       .one_minus_beta2 = float(1 - h.beta2),
                       .bias_correction2_sqrt = float(std::pow(bias_correction2, 0.5)),
                       .neg_step_size = float(-(h.lr / bias_correction1)),
                       .eps = float(h.eps),
                       .grad_scale = float(h.grad_scale),
                       .inv_grad_scale = grad_inverse(h.grad_scale),
                       .has_decay = h.weight_decay != 0};
  if (param.numel() > 0) adamw_kernel(param.device(), param, g, exp_avg, exp_avg_sq, s);
}

void sgd_step(const Tensor& param, const Tensor& grad, const Tensor& momentum_buf, const SgdStep& h) {
  const bool has_momentum = h.momentum != 0;
  const Tensor g =
      has_momentum ? check_update("sgd_step", param, grad, {&momentum_buf}) : check_update("sgd_step", param, grad, {});
  check_hyper("sgd_step", h.lr, h.grad_scale);
  GLINT_CHECK(h.momentum >= 0 && h.weight_decay >= 0, "sgd_step", "invalid momentum ", h.momentum, " or weight decay ",
              h.weight_decay);
  GLINT_CHECK(!h.nesterov || (has_momentum && h.dampening == 0), "sgd_step",
              "nesterov momentum requires a momentum and zero dampening");
  const SgdScalars s{.weight_decay = float(h.weight_decay),
                     .momentum = float(h.momentum),
                     .one_minus_dampening = float(1 - h.dampening),
                     .neg_lr = float(-h.lr),
                     .grad_scale = float(h.grad_scale),
                     .inv_grad_scale = grad_inverse(h.grad_scale),
                     .has_decay = h.weight_decay != 0,
                     .has_momentum = has_momentum,
                     .nesterov = h.nesterov,
                     .first = h.first};
  if (param.numel() > 0) sgd_kernel(param.device(), param, g, has_momentum ? momentum_buf : Tensor(), s);
}

void nonfinite_check(const Tensor& x, const Tensor& found_inf, float inv_scale) {
  GLINT_CHECK(x.defined() && is_floating(x.dtype()), "nonfinite_check", "needs a floating tensor, got ",
              x.defined() ? x.str() : "an undefined tensor");
  GLINT_CHECK(found_inf.defined() && found_inf.ndim() == 0 && found_inf.dtype() == DType::f32, "nonfinite_check",
              "found_inf must be a 0-d f32 tensor");
  GLINT_CHECK(found_inf.device() == x.device(), "nonfinite_check", "found_inf on ", found_inf.device().str(),
              " but the tensor on ", x.device().str());
  GLINT_CHECK(inv_scale == 1.f || x.is_contiguous(), "nonfinite_check", "unscaling in place needs a contiguous tensor");
  if (x.numel() > 0) nonfinite_kernel(x.device(), x.contiguous(), found_inf, inv_scale);
}

bool has_nonfinite(const Tensor& x) {
  const Tensor found = zeros({}, DType::f32, x.device());
  nonfinite_check(x, found);
  return found.to_f32()[0] != 0;
}

Tensor sum_squares(const Tensor& x) {
  GLINT_CHECK(x.defined() && is_floating(x.dtype()), "sum_squares", "needs a floating tensor, got ",
              x.defined() ? x.str() : "an undefined tensor");
  if (!sum_squares_kernel.supports(x.device().kind)) {
    const Tensor xf = x.to(DType::f32);
    return sum_all(mul(xf, xf));
  }
  Tensor out = Tensor::empty({}, DType::f32, x.device());
  sum_squares_kernel(x.device(), x, out);
  return out;
}

}  // namespace glint
