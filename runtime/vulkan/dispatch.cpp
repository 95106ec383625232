#include "runtime/vulkan/dispatch.h"

#include <algorithm>
#include <vector>

#include "runtime/core/error.h"
#include "runtime/vulkan/device.h"
#include "runtime/vulkan/storage.h"

namespace glint::vk {
namespace {

VulkanStorage& vulkan_storage(const Tensor& t) {
  auto* s = dynamic_cast<VulkanStorage*>(t.storage_ptr().get());
  if (!s) fail("vulkan", "tensor ", t.str(), " is not on a Vulkan device");
  return *s;
}

// Bytes a (possibly strided, non-negative-stride) view can touch: from element 0 to its farthest element.
Range extent(const Tensor& t) {
  uint64_t a = address(t);
  if (t.numel() == 0) return {a, a};
  int64_t last = 0;
  for (int d = 0; d < t.ndim(); ++d) last += (t.shape()[d] - 1) * t.strides()[d];
  return {a, a + uint64_t(last + 1) * dtype_size(t.dtype())};
}

}  // namespace

Grid grid_1d(uint64_t items, uint32_t local_size) {
  uint64_t groups = std::max<uint64_t>(1, (items + local_size - 1) / local_size);
  uint32_t x = uint32_t(std::min<uint64_t>(groups, 65535));
  uint64_t y = (groups + x - 1) / x;
  if (y > 65535) fail("vulkan", "dispatch of ", items, " items exceeds the grid limit");
  return {x, uint32_t(y), 1};
}

Device& device_of(const Tensor& t) { return vulkan_storage(t).device(); }

uint64_t address(const Tensor& t) {
  return vulkan_storage(t).address() + uint64_t(t.offset()) * dtype_size(t.dtype());
}

void dispatch_raw(Device& dev, std::string_view shader, const void* push, uint32_t push_bytes, Grid grid,
                  std::initializer_list<Tensor> reads, std::initializer_list<Tensor> writes,
                  std::initializer_list<uint32_t> spec_constants) {
  if (grid.x == 0 || grid.y == 0 || grid.z == 0) return;
  const auto& lim = dev.info().max_workgroup_count;
  if (grid.x > lim[0] || grid.y > lim[1] || grid.z > lim[2])
    fail(shader, "grid (", grid.x, ",", grid.y, ",", grid.z, ") exceeds the device limit (", lim[0], ",", lim[1], ",",
         lim[2], ")");
  std::vector<Range> r, w;
  for (const Tensor& t : reads)
    if (t.defined()) r.push_back(extent(t));
  for (const Tensor& t : writes)
    if (t.defined()) w.push_back(extent(t));
  std::lock_guard lock(dev.mutex());
  std::vector<uint32_t> spec(spec_constants);
  VkPipeline p = dev.pipelines().get(shader, spec);
  uint64_t serial = dev.stream().open_serial();
  for (const Tensor& t : reads)
    if (t.defined()) vulkan_storage(t).mark_used(serial);
  for (const Tensor& t : writes)
    if (t.defined()) vulkan_storage(t).mark_used(serial);
  dev.stream().dispatch(p, dev.pipelines().layout(), push, push_bytes, grid, r, w, std::string(shader));
}

Dims8 pack_dims(const Shape& values, int64_t pad) {
  Dims8 d;
  size_t lead = 8 - values.size();
  for (size_t i = 0; i < 8; ++i) d.v[i] = uint32_t(i < lead ? pad : values[i - lead]);
  return d;
}

}  // namespace glint::vk
