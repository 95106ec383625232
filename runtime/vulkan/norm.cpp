// Vulkan norms: rms_norm and layer_norm share kernels/norm.comp (KIND specialization constant), group_norm has
// kernels/group_norm.comp. Missing weights / biases travel as address 0.
#include "runtime/ops/norm.h"

#include <cstddef>
#include <string>

#include "runtime/core/error.h"
#include "runtime/vulkan/reduce_rows.h"

namespace glint::vk {
namespace {

uint64_t address_or_zero(const Tensor& t) { return t.defined() ? address(t) : 0; }

struct NormPC {  // mirrors kernels/norm.comp
  uint64_t x, weight, bias, dst;
  uint32_t rows, len, stride;
  float eps;
  Dims8 shape, strides;
};
static_assert(sizeof(NormPC) == 112 && offsetof(NormPC, shape) == 48);

enum class NormKind : uint32_t { rms = 0, layer = 1 };

void last_dim_norm(NormKind kind, const Tensor& x, const Tensor& weight, const Tensor& bias, float eps,
                   const Tensor& out) {
  const RowLayout l = row_layout(x, x.ndim() - 1, kind == NormKind::rms ? "rms_norm" : "layer_norm");
  NormPC pc{
      address(x), address_or_zero(weight), address_or_zero(bias), address(out), l.rows, l.len, l.stride, eps, l.shape,
      l.strides};
  dispatch("norm_" + std::string(dtype_name(x.dtype())), pc, row_grid(l.groups()), {x, weight, bias}, {out},
           {uint32_t(kind), l.cols});
}

void rms_norm_vulkan(const Tensor& x, const Tensor& weight, float eps, const Tensor& out) {
  last_dim_norm(NormKind::rms, x, weight, Tensor(), eps, out);
}

void layer_norm_vulkan(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps, const Tensor& out) {
  last_dim_norm(NormKind::layer, x, weight, bias, eps, out);
}

struct GroupNormPC {  // mirrors kernels/group_norm.comp
  uint64_t x, weight, bias, dst, stats;
  uint32_t rows, len, spatial, groups, per_group, splits, chunk;
  float eps;
};
static_assert(sizeof(GroupNormPC) == 72);

enum class GroupNormPhase : uint32_t { whole_rows = 0, split_stats = 1, split_normalise = 2 };

// Rows shared by several workgroups (few, long rows: diffusion models) take two dispatches, statistics per split
// then normalisation; otherwise one.
void group_norm_vulkan(const Tensor& x, int64_t groups, const Tensor& weight, const Tensor& bias, float eps, bool silu,
                       const Tensor& out) {
  GLINT_CHECK(x.numel() < (int64_t(1) << 32), "group_norm", "tensor ", x.str(),
              " is too large for 32-bit element offsets");
  const int64_t channels = x.dim(1), per_group = channels / groups;
  const int64_t spatial = x.numel() / (x.dim(0) * channels);
  const RowLayout l = contiguous_rows(uint32_t(x.dim(0) * groups), uint32_t(per_group * spatial));
  const uint32_t splits = l.splits();
  const Tensor stats = splits > 1 ? Tensor::empty({int64_t(l.rows) * splits * 2}, DType::f32, x.device()) : Tensor();
  const GroupNormPC pc{.x = address(x),
                       .weight = address_or_zero(weight),
                       .bias = address_or_zero(bias),
                       .dst = address(out),
                       .stats = address_or_zero(stats),
                       .rows = l.rows,
                       .len = l.len,
                       .spatial = uint32_t(spatial),
                       .groups = uint32_t(groups),
                       .per_group = uint32_t(per_group),
                       .splits = splits,
                       .chunk = (l.len + splits - 1) / splits,
                       .eps = eps};
  const std::string name = "group_norm_" + std::string(dtype_name(x.dtype()));
  const Grid grid = row_grid(uint64_t(l.groups()) * splits);
  auto run = [&](GroupNormPhase phase, std::initializer_list<Tensor> reads, std::initializer_list<Tensor> writes) {
    dispatch(name, pc, grid, reads, writes, {uint32_t(silu), l.cols, uint32_t(phase)});
  };
  if (splits == 1) return run(GroupNormPhase::whole_rows, {x, weight, bias}, {out});
  run(GroupNormPhase::split_stats, {x}, {stats});
  run(GroupNormPhase::split_normalise, {x, weight, bias, stats}, {out});
}

const OpRegistration reg_rms(rms_norm_kernel, DeviceKind::vulkan, rms_norm_vulkan);
const OpRegistration reg_layer(layer_norm_kernel, DeviceKind::vulkan, layer_norm_vulkan);
const OpRegistration reg_group(group_norm_kernel, DeviceKind::vulkan, group_norm_vulkan);

}  // namespace
}  // namespace glint::vk
