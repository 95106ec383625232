// Big-model inference placement, as accelerate's device_map: which device holds each module's weights (and the KV
// cache of each decoder layer). Either explicit, from JSON such as
//   {"model.embed_tokens": "cpu", "model.layers.0-11": "vulkan:0", "model.layers.12-23": "vulkan:1",
//    "model.norm": "vulkan:1", "lm_head": "vulkan:1"}
// where a key covers every module under it ("model.layers", or "" for the whole model) and "a-b" names a range of
// numbered modules; or `auto` / `balanced` (the same in accelerate): the modules are split in order across the
// Vulkan devices in proportion to their free memory, and what does not fit stays on the CPU.
#pragma once
#include <cstdint>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "runtime/core/device.h"

namespace glint {

// A module to place, its name as in HF weight names ("model.layers.3") and its weights' size.
struct ModuleSize {
  std::string name;
  uint64_t bytes = 0;
};

// Memory a device offers to the placement.
struct DeviceBudget {
  Device device;
  uint64_t bytes = 0;
};

// Free memory of every Vulkan device: its device-local heap minus what glint's allocator already holds there.
std::vector<DeviceBudget> vulkan_budgets();

class DeviceMap {
 public:
  enum class Strategy { explicit_map, balanced };

  // "auto" or "balanced", else a JSON file holding an explicit map.
  static DeviceMap parse(const std::string& spec);
  static DeviceMap from_json(const nlohmann::json& j);
  static DeviceMap balanced() { return DeviceMap(Strategy::balanced); }

  Strategy strategy() const { return strategy_; }
  // An explicit map entry; `module` may end in a range ("model.layers.0-11").
  void set(const std::string& module, Device device);
  // The device of `name` (a module or weight name): the longest entry equal to it or a prefix of it at a dot.
  std::optional<Device> find(const std::string& name) const;

  // The explicit placement of `modules` (in forward order): `balanced` is planned over `budgets` (vulkan_budgets()
  // when unset), an explicit map is checked: every module placed, every device present, every entry used.
  DeviceMap resolve(const std::vector<ModuleSize>& modules,
                    const std::optional<std::vector<DeviceBudget>>& budgets = {}) const;
  // The device of module `name` in a resolved map; "[device_map] module 'x' is not placed" else.
  Device at(const std::string& name) const;
  const std::map<std::string, Device>& entries() const { return entries_; }

 private:
  explicit DeviceMap(Strategy s) : strategy_(s) {}
  DeviceMap plan(const std::vector<ModuleSize>& modules, const std::vector<DeviceBudget>& budgets) const;

  Strategy strategy_ = Strategy::explicit_map;
  std::map<std::string, Device> entries_;
};

}  // namespace glint
