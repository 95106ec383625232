// Vulkan gather (embedding / index_select / gather), scatter_add and topk: push constants mirroring
// kernels/{gather,scatter_add,topk}.comp, shader variant selection and grids.
#include "runtime/ops/indexing.h"

#include <cstddef>
#include <string>

#include "runtime/core/error.h"
#include "runtime/vulkan/dispatch.h"

namespace glint::vk {
namespace {

constexpr uint32_t kLocalSize = 256;

uint32_t u32(int64_t v) { return static_cast<uint32_t>(v); }

// base has stride 0 along the indexed dim, so its own extent misses the rows that idx selects. The command stream
// orders dispatches by the bytes they declare, so declare all that the gather may read.
Tensor reachable(const Tensor& base, int64_t stride, int64_t bound) {
  int64_t last = (bound - 1) * stride;
  for (int d = 0; d < base.ndim(); ++d) last += (base.shape()[d] - 1) * base.strides()[d];
  return Tensor(base.storage_ptr(), {bound > 0 ? last + 1 : 0}, {1}, base.offset(), base.dtype());
}

struct GatherPC {  // mirrors kernels/gather.comp
  uint64_t base, idx, out;
  uint32_t bound, stride;
  Dims8 shape, base_strides, idx_strides;
};
static_assert(sizeof(GatherPC) == 128 && offsetof(GatherPC, shape) == 32);

void gather_vk(const Tensor& base, const Tensor& idx, const Tensor& out, int64_t stride, int64_t bound) {
  const GatherPC pc{address(base),
                    address(idx),
                    address(out),
                    u32(bound),
                    u32(stride),
                    pack_dims(out.shape(), 1),
                    pack_dims(base.strides(), 0),
                    pack_dims(idx.strides(), 0)};
  const std::string shader =
      "gather_u" + std::to_string(8 * dtype_size(out.dtype())) + "_" + std::string(dtype_name(idx.dtype()));
  dispatch(shader, pc, grid_1d(uint64_t(out.numel()), kLocalSize), {reachable(base, stride, bound), idx}, {out});
}

struct ScatterAddPC {  // mirrors kernels/scatter_add.comp
  uint64_t acc, idx, src;
  uint32_t bound, stride;
  Dims8 shape, acc_strides, src_strides;
};
static_assert(sizeof(ScatterAddPC) == 128 && offsetof(ScatterAddPC, shape) == 32);

void scatter_add_vk(const Tensor& acc, int dim, const Tensor& idx, const Tensor& src) {
  const ScatterAddPC pc{address(acc),
                        address(idx),
                        address(src),
                        u32(acc.shape()[dim]),
                        u32(acc.strides()[dim]),
                        pack_dims(idx.shape(), 1),
                        pack_dims(indexed_base(acc, dim, idx.shape()).strides(), 0),
                        pack_dims(src.strides(), 0)};
  const std::string shader =
      "scatter_add_" + std::string(dtype_name(src.dtype())) + "_" + std::string(dtype_name(idx.dtype()));
  // acc is read as well as written: the atomics add to what the preceding copy put there.
  dispatch(shader, pc, grid_1d(uint64_t(idx.numel()), kLocalSize), {acc, idx, src}, {acc});
}

struct TopkPC {  // mirrors kernels/topk.comp
  uint64_t x, values, indices;
  uint32_t rows, row_len, k, x_stride, inner, pad;
  Dims8 outer, outer_strides;
};
static_assert(sizeof(TopkPC) == 112 && offsetof(TopkPC, outer) == 48);

void topk_vk(const Tensor& x, int dim, int64_t k, bool largest, const Tensor& values, const Tensor& indices) {
  GLINT_CHECK(k <= kTopkMaxK, "topk", "k = ", k, " exceeds the Vulkan kernel's limit of ", kTopkMaxK, " on ",
              x.device().str(), " (move x to the CPU for larger k)");
  const Shape outer = without_dim(x.shape(), dim);
  const int64_t rows = numel_of(outer), inner = values.strides()[dim];
  const TopkPC pc{address(x),
                  address(values),
                  address(indices),
                  u32(rows),
                  u32(x.shape()[dim]),
                  u32(k),
                  u32(x.strides()[dim]),
                  u32(inner),
                  0,
                  pack_dims(outer, 1),
                  pack_dims(without_dim(x.strides(), dim), 0)};
  const std::string shader = "topk_" + std::string(dtype_name(x.dtype()));
  dispatch(shader, pc, grid_1d(uint64_t(rows) * kLocalSize, kLocalSize), {x}, {values, indices}, {largest ? 1u : 0u});
}

const OpRegistration reg_gather(gather_kernel, DeviceKind::vulkan, gather_vk);
const OpRegistration reg_scatter_add(scatter_add_kernel, DeviceKind::vulkan, scatter_add_vk);
const OpRegistration reg_topk(topk_kernel, DeviceKind::vulkan, topk_vk);

}  // namespace
}  // namespace glint::vk
