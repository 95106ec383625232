// Vulkan softmax / log-softmax (kernels/softmax.comp): one dispatch, rows laid out by reduce_rows.
#include "runtime/ops/softmax.h"

#include <cstddef>
#include <string>

#include "runtime/vulkan/reduce_rows.h"

namespace glint::vk {
namespace {

struct SoftmaxPC {  // mirrors kernels/softmax.comp
  uint64_t x, dst;
  uint32_t rows, len, stride, inner;
  Dims8 shape, strides;
};
static_assert(sizeof(SoftmaxPC) == 96 && offsetof(SoftmaxPC, shape) == 32);

void softmax_vulkan(const Tensor& x, int dim, bool log, const Tensor& out) {
  const RowLayout l = row_layout(x, dim, log ? "log_softmax" : "softmax");
  int64_t inner = 1;
  for (int d = dim + 1; d < x.ndim(); ++d) inner *= x.shape()[d];
  SoftmaxPC pc{address(x), address(out), l.rows, l.len, l.stride, uint32_t(inner), l.shape, l.strides};
  dispatch("softmax_" + std::string(dtype_name(x.dtype())), pc, row_grid(l.groups()), {x}, {out},
           {uint32_t(log), l.cols});
}

const OpRegistration reg_softmax(softmax_kernel, DeviceKind::vulkan, softmax_vulkan);

}  // namespace
}  // namespace glint::vk
