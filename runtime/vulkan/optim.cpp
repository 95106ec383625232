// Vulkan optimizer kernels: kernels/adamw.comp, sgd.comp and nonfinite.comp, one thread per element of contiguous
// tensors, the shader variant picked by the gradient's dtype. sum_squares has no kernel here: the op falls back to
// sum_all(x*x) in f32, which is already two bandwidth-bound passes on the GPU.
#include "runtime/ops/optim.h"

#include <cstddef>
#include <string>

#include "runtime/vulkan/dispatch.h"

namespace glint::vk {
namespace {

constexpr uint32_t kLocalSize = 256;

struct AdamWPC {  // mirrors kernels/adamw.comp
  uint64_t param, grad, exp_avg, exp_avg_sq;
  uint32_t n, flags;
  float decay, lerp_weight, beta2, one_minus_beta2, bias_correction2_sqrt, neg_step_size, eps, grad_scale;
  float inv_grad_scale, pad_;
};
static_assert(sizeof(AdamWPC) == 80);

struct SgdPC {  // mirrors kernels/sgd.comp
  uint64_t param, grad, momentum_buf;
  uint32_t n, flags;
  float weight_decay, momentum, one_minus_dampening, neg_lr, grad_scale, inv_grad_scale;
};
static_assert(sizeof(SgdPC) == 56);

struct NonfinitePC {  // mirrors kernels/nonfinite.comp
  uint64_t x, found_inf;
  uint32_t n, flags;
  float inv_scale;
};

// Shaders index with 32-bit element offsets.
uint32_t count(const Tensor& t, const char* op) {
  GLINT_CHECK(t.numel() <= int64_t(UINT32_MAX), op, "tensor of ", t.numel(),
              " elements exceeds the Vulkan kernels' 32-bit indexing");
  return uint32_t(t.numel());
}

std::string variant(const char* shader, const Tensor& t) {
  return std::string(shader) + "_" + std::string(dtype_name(t.dtype()));
}

void adamw_vulkan(const Tensor& param, const Tensor& grad, const Tensor& exp_avg, const Tensor& exp_avg_sq,
                  const AdamWScalars& s) {
  const uint32_t flags = (s.has_decay ? 1u : 0u) | (s.lerp_weight < 0.5f ? 2u : 0u);
  const AdamWPC pc{address(param),
                   address(grad),
                   address(exp_avg),
                   address(exp_avg_sq),
                   count(param, "adamw_step"),
                   flags,
                   s.decay,
                   s.lerp_weight,
                   s.beta2,
                   s.one_minus_beta2,
                   s.bias_correction2_sqrt,
                   s.neg_step_size,
                   s.eps,
                   s.grad_scale,
                   s.inv_grad_scale,
                   0.f};
  dispatch(variant("adamw", grad), pc, grid_1d(param.numel(), kLocalSize), {grad, param, exp_avg, exp_avg_sq},
           {param, exp_avg, exp_avg_sq});
}

void sgd_vulkan(const Tensor& param, const Tensor& grad, const Tensor& momentum_buf, const SgdScalars& s) {
  const uint32_t flags =
      (s.has_decay ? 1u : 0u) | (s.has_momentum ? 2u : 0u) | (s.nesterov ? 4u : 0u) | (s.first ? 8u : 0u);
  const SgdPC pc{address(param),
                 address(grad),
                 s.has_momentum ? address(momentum_buf) : 0,
                 count(param, "sgd_step"),
                 flags,
                 s.weight_decay,
                 s.momentum,
                 s.one_minus_dampening,
                 s.neg_lr,
                 s.grad_scale,
                 s.inv_grad_scale};
  const Grid grid = grid_1d(param.numel(), kLocalSize);
  if (s.has_momentum)
    dispatch(variant("sgd", grad), pc, grid, {grad, param, momentum_buf}, {param, momentum_buf});
  else
    dispatch(variant("sgd", grad), pc, grid, {grad, param}, {param});
}

void nonfinite_vulkan(const Tensor& x, const Tensor& found_inf, float inv_scale) {
  const bool unscale = inv_scale != 1.f;
  const NonfinitePC pc{address(x), address(found_inf), count(x, "nonfinite_check"), unscale ? 1u : 0u, inv_scale};
  const Grid grid = grid_1d(x.numel(), kLocalSize);
  if (unscale)
    dispatch(variant("nonfinite", x), pc, grid, {x, found_inf}, {x, found_inf});
  else
    dispatch(variant("nonfinite", x), pc, grid, {x, found_inf}, {found_inf});
}

const OpRegistration reg_adamw(adamw_kernel, DeviceKind::vulkan, adamw_vulkan);
const OpRegistration reg_sgd(sgd_kernel, DeviceKind::vulkan, sgd_vulkan);
const OpRegistration reg_nonfinite(nonfinite_kernel, DeviceKind::vulkan, nonfinite_vulkan);

}  // namespace
}  // namespace glint::vk
