#include "runtime/core/device.h"

#include <charconv>
#include <cstdlib>
#include <mutex>
#include <optional>

#include "runtime/core/error.h"

namespace glint {
namespace vk {
std::optional<int> first_gpu_index();  // runtime/vulkan: first non-CPU-type Vulkan device, if any
}

Device Device::parse(std::string_view s) {
  if (s == "cpu") return cpu();
  for (std::string_view prefix : {"vulkan", "gpu"}) {
    if (s == prefix) return vulkan(0);
    if (s.starts_with(prefix) && s.size() > prefix.size() + 1 && s[prefix.size()] == ':') {
      std::string_view num = s.substr(prefix.size() + 1);
      int idx = -1;
      auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), idx);
      if (ec == std::errc() && p == num.data() + num.size() && idx >= 0) return vulkan(idx);
    }
  }
  fail("device", "unknown device '", s, "' (expected cpu, vulkan or vulkan:N)");
}

std::string Device::str() const { return kind == DeviceKind::cpu ? "cpu" : "vulkan:" + std::to_string(index); }

namespace {
std::mutex g_default_mutex;
std::optional<Device> g_default;
}  // namespace

Device default_device() {
  std::lock_guard lock(g_default_mutex);
  if (!g_default) {
    if (const char* env = std::getenv("GLINT_DEVICE"); env && *env) {
      g_default = Device::parse(env);
    } else {
      auto gpu = vk::first_gpu_index();
      g_default = gpu ? Device::vulkan(*gpu) : Device::cpu();
    }
  }
  return *g_default;
}

void set_default_device(Device d) {
  std::lock_guard lock(g_default_mutex);
  g_default = d;
}

}  // namespace glint
