// Vulkan kernel of the unary ops' backward: kernels/unary_grad.comp, the op chosen by a specialization constant.
#include <cstddef>
#include <string>

#include "runtime/ops/elementwise_grad.h"
#include "runtime/core/error.h"
#include "runtime/vulkan/dispatch.h"

namespace glint::vk {
namespace {

// Mirrors the push constants of kernels/unary_grad.comp.
struct UnaryGradPC {
  uint64_t x, g, out;
  uint32_t n;
  float lo, hi;
};
static_assert(sizeof(UnaryGradPC) == 40 && offsetof(UnaryGradPC, n) == 24);

void unary_grad_vk(UnaryOp op, const Tensor& x, const Tensor& g, const ClampBounds& bounds, const Tensor& out) {
  GLINT_CHECK(out.numel() <= int64_t(UINT32_MAX), op_name(op), "backward of ", out.numel(),
              " elements exceeds the kernel's 32-bit indexing");
  const UnaryGradPC pc{address(x), address(g), address(out), uint32_t(out.numel()), bounds.lo_f, bounds.hi_f};
  dispatch("unary_grad_" + std::string(dtype_name(x.dtype())), pc, grid_1d(out.numel(), 256), {x, g}, {out}, {uint32_t(op)});
}

const OpRegistration reg(unary_grad_kernel, DeviceKind::vulkan, unary_grad_vk);

}  // namespace
}  // namespace glint::vk
