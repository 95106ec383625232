// Where a tensor lives: the CPU or one Vulkan device ("cpu", "vulkan:0"), and the process-wide default.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace glint {

enum class DeviceKind : uint8_t { cpu, vulkan };
inline constexpr int kDeviceKinds = 2;

struct Device {
  DeviceKind kind = DeviceKind::cpu;
  int index = 0;

  static Device cpu() { return {DeviceKind::cpu, 0}; }
  static Device vulkan(int i) { return {DeviceKind::vulkan, i}; }
  // "cpu", "vulkan", "vulkan:N" (also "gpu"/"gpu:N"); throws on anything else.
  static Device parse(std::string_view s);
  std::string str() const;
  bool is_cpu() const { return kind == DeviceKind::cpu; }
  bool operator==(const Device&) const = default;
};

// The default device: set_default_device(), else GLINT_DEVICE, else the first Vulkan GPU, else the CPU.
// CPU-type Vulkan devices (lavapipe) are used only when named: on such machines the CPU backend is faster.
Device default_device();
void set_default_device(Device d);

}  // namespace glint
