#include "runtime/vulkan/gemm_tiles.h"

#include <algorithm>
#include <iterator>
#include <mutex>
#include <unordered_map>

#include "runtime/vulkan/device.h"

namespace glint::vk {
namespace {

constexpr GemmTiles kTiles[] = {{128, 128, 16, 8, 8}, {64, 64, 16, 4, 4}, {32, 32, 16, 4, 4}};
constexpr int64_t kMinGroups = 128;

}  // namespace

const ComputeLimits& compute_limits(Device& dev) {
  static std::mutex mu;
  static std::unordered_map<const Device*, ComputeLimits> cache;
  std::lock_guard lock(mu);
  auto it = cache.find(&dev);
  if (it != cache.end()) return it->second;
  VkPhysicalDeviceProperties props;
  vkGetPhysicalDeviceProperties(dev.info().handle, &props);
  const auto& l = props.limits;
  const ComputeLimits lim{std::min(l.maxComputeWorkGroupInvocations, l.maxComputeWorkGroupSize[0]),
                          dev.info().max_shared_memory,
                          std::max(dev.info().subgroup_size, 1u),
                          {l.maxComputeWorkGroupCount[0], l.maxComputeWorkGroupCount[1], l.maxComputeWorkGroupCount[2]}};
  return cache.emplace(&dev, lim).first->second;
}

GemmTiles pick_gemm_tiles(const ComputeLimits& lim, int64_t m, int64_t n, int64_t batch) {
  for (const GemmTiles& t : kTiles) {
    if (t.threads() > lim.max_threads || t.shared_bytes() > lim.max_shared) continue;
    if ((m + t.bm - 1) / t.bm * ((n + t.bn - 1) / t.bn) * batch >= kMinGroups) return t;
  }
  return kTiles[std::size(kTiles) - 1];
}

}  // namespace glint::vk
