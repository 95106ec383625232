// Vulkan copy (strided, with dtype conversion) and fill.
#include <cstddef>
#include <string>

#include "runtime/ops/copy.h"
#include "runtime/vulkan/dispatch.h"

namespace glint::vk {
namespace {

struct CopyPC {  // mirrors kernels/copy.comp
  uint64_t src, dst;
  uint32_t n, pad_;
  Dims8 shape, src_stride, dst_stride;
};
static_assert(sizeof(CopyPC) == 128 && offsetof(CopyPC, shape) == 32);

void copy_vulkan(const Tensor& src, const Tensor& dst) {
  CopyPC pc{address(src), address(dst), uint32_t(dst.numel()), 0, pack_dims(dst.shape(), 1),
            pack_dims(src.strides(), 0), pack_dims(dst.strides(), 0)};
  std::string name = "copy_" + std::string(dtype_name(src.dtype())) + "_" + std::string(dtype_name(dst.dtype()));
  dispatch(name, pc, grid_1d(dst.numel(), 256), {src}, {dst});
}

struct FillPC {  // mirrors kernels/fill.comp
  uint64_t dst;
  int64_t ivalue;
  float fvalue;
  uint32_t n;
};

void fill_vulkan(const Tensor& dst, double value) {
  FillPC pc{address(dst), int64_t(value), float(value), uint32_t(dst.numel())};
  dispatch("fill_" + std::string(dtype_name(dst.dtype())), pc, grid_1d(dst.numel(), 256), {}, {dst});
}

const OpRegistration reg_copy(copy_kernel, DeviceKind::vulkan, copy_vulkan);
const OpRegistration reg_fill(fill_kernel, DeviceKind::vulkan, fill_vulkan);

}  // namespace
}  // namespace glint::vk
