// Vulkan rotary embedding (kernels/rope.comp); the pair layout is a specialization constant.
#include "runtime/ops/rope.h"

#include <cstddef>
#include <string>

#include "runtime/vulkan/dispatch.h"

namespace glint::vk {
namespace {

struct RopePC {  // mirrors kernels/rope.comp
  uint64_t x, out, pos, inv_freq;
  uint32_t shape[4], x_stride[4];
  uint32_t pos_stride_b, pos_stride_t, rotary_dim, n;
};
static_assert(sizeof(RopePC) == 80 && offsetof(RopePC, shape) == 32);

void rope_vulkan(const Tensor& x, const Tensor& positions, const Tensor& inv_freq, bool interleaved,
                 const Tensor& out) {
  const int64_t rot = 2 * inv_freq.numel(), D = x.dim(3), rows = x.dim(0) * x.dim(1) * x.dim(2);
  const int64_t items = rows * (rot / 2 + D - rot);
  int64_t span = 0;  // last element offset of the view of x
  for (int d = 0; d < 4; ++d) span += (x.dim(d) - 1) * x.strides()[d];
  GLINT_CHECK(out.numel() <= int64_t(UINT32_MAX) && span <= int64_t(UINT32_MAX), "rope",
              "tensor too large for the Vulkan kernel's 32-bit indexing: ", x.str());
  RopePC pc{};
  pc.x = address(x);
  pc.out = address(out);
  pc.pos = address(positions);
  pc.inv_freq = address(inv_freq);
  for (int d = 0; d < 4; ++d) {
    pc.shape[d] = uint32_t(x.dim(d));
    pc.x_stride[d] = uint32_t(x.strides()[d]);
  }
  pc.pos_stride_b = uint32_t(positions.strides()[0]);
  pc.pos_stride_t = uint32_t(positions.strides()[1]);
  pc.rotary_dim = uint32_t(rot);
  pc.n = uint32_t(items);
  dispatch("rope_" + std::string(dtype_name(x.dtype())), pc, grid_1d(items, 256), {x, positions, inv_freq}, {out},
           {interleaved ? 1u : 0u});
}

const OpRegistration reg_rope(rope_kernel, DeviceKind::vulkan, rope_vulkan);

}  // namespace
}  // namespace glint::vk
