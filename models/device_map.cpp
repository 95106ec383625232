#include "models/device_map.h"

#include <algorithm>
#include <numeric>
#include <regex>

#include "runtime/core/error.h"
#include "runtime/io/config.h"
#include "runtime/vulkan/device.h"

namespace glint {
namespace {

// Whether map key `key` covers module or weight `name`.
bool covers(const std::string& key, const std::string& name) {
  return key.empty() || name == key ||
         (name.size() > key.size() && name.compare(0, key.size(), key) == 0 && name[key.size()] == '.');
}

void check_device_exists(Device d) {
  if (d.is_cpu()) return;
  const int n = vk::device_count();
  GLINT_CHECK(d.index < n, "device_map", d.str(), " does not exist (", n, " Vulkan device", n == 1 ? "" : "s",
              "; GLINT_VULKAN_DEVICES=0,0 makes two of one GPU)");
}

}  // namespace

std::vector<DeviceBudget> vulkan_budgets() {
  std::vector<DeviceBudget> budgets;
  for (int i = 0; i < vk::device_count(); ++i) {
    vk::Device& dev = vk::device(i);
    uint64_t heap = 0;
    for (const vk::MemoryHeapInfo& h : dev.info().heaps)
      if (h.device_local) heap = std::max(heap, h.size);
    const uint64_t used = dev.allocator().bytes_in_use();
    budgets.push_back({Device::vulkan(i), heap > used ? heap - used : 0});
  }
  return budgets;
}

DeviceMap DeviceMap::parse(const std::string& spec) {
  if (spec == "auto" || spec == "balanced") return balanced();
  if (!spec.empty() && spec.front() == '{') return from_json(io::parse_json(spec, "--device-map", "device_map"));
  return from_json(io::read_json_file(spec, "device_map"));
}

DeviceMap DeviceMap::from_json(const nlohmann::json& j) {
  GLINT_CHECK(j.is_object(), "device_map", "expected a JSON object of module -> device, got ", j.dump());
  DeviceMap map(Strategy::explicit_map);
  for (const auto& [module, device] : j.items()) {
    GLINT_CHECK(device.is_string() || device.is_number_integer(), "device_map", "'", module,
                "': a device is \"cpu\", \"vulkan:N\" or N, got ", device.dump());
    // accelerate writes GPU N as the bare number N.
    map.set(module, device.is_string() ? Device::parse(device.get<std::string>()) : Device::vulkan(device.get<int>()));
  }
  return map;
}

void DeviceMap::set(const std::string& module, Device device) {
  static const std::regex range(R"(^(.*?)(\d+)-(\d+)$)");
  std::smatch m;
  const size_t dot = module.rfind('.');
  const std::string last = dot == std::string::npos ? module : module.substr(dot + 1);
  if (std::regex_match(last, m, range) && m[1].str().empty()) {
    const int64_t lo = std::stoll(m[2]), hi = std::stoll(m[3]);
    GLINT_CHECK(lo <= hi, "device_map", "'", module, "': empty range");
    const std::string prefix = dot == std::string::npos ? "" : module.substr(0, dot + 1);
    for (int64_t i = lo; i <= hi; ++i) entries_[prefix + std::to_string(i)] = device;
    return;
  }
  entries_[module] = device;
}

std::optional<Device> DeviceMap::find(const std::string& name) const {
  std::optional<Device> best;
  size_t best_len = 0;
  for (const auto& [key, device] : entries_) {
    if (covers(key, name) && (!best || key.size() >= best_len)) {
      best = device;
      best_len = key.size();
    }
  }
  return best;
}

Device DeviceMap::at(const std::string& name) const {
  const std::optional<Device> d = find(name);
  GLINT_CHECK(d.has_value(), "device_map", "module '", name, "' is not placed");
  return *d;
}

DeviceMap DeviceMap::resolve(const std::vector<ModuleSize>& modules,
                             const std::optional<std::vector<DeviceBudget>>& budgets) const {
  if (strategy_ == Strategy::balanced) return plan(modules, budgets ? *budgets : vulkan_budgets());
  std::string unplaced, names;
  DeviceMap placed(Strategy::explicit_map);
  for (const ModuleSize& m : modules) {
    names += (names.empty() ? "" : ", ") + m.name;
    if (const std::optional<Device> d = find(m.name)) {
      check_device_exists(*d);
      placed.entries_[m.name] = *d;
    } else {
      unplaced += (unplaced.empty() ? "" : ", ") + m.name;
    }
  }
  GLINT_CHECK(unplaced.empty(), "device_map", "modules left unplaced: ", unplaced);
  for (const auto& [key, device] : entries_) {
    const bool used =
        std::any_of(modules.begin(), modules.end(), [&](const ModuleSize& m) { return covers(key, m.name); });
    GLINT_CHECK(used, "device_map", "'", key, "' names no module; placement is per module: ", names);
  }
  return placed;
}

DeviceMap DeviceMap::plan(const std::vector<ModuleSize>& modules, const std::vector<DeviceBudget>& budgets) const {
  const uint64_t total = std::accumulate(modules.begin(), modules.end(), uint64_t{0},
                                         [](uint64_t s, const ModuleSize& m) { return s + m.bytes; });
  const uint64_t free = std::accumulate(budgets.begin(), budgets.end(), uint64_t{0},
                                        [](uint64_t s, const DeviceBudget& b) { return s + b.bytes; });
  // Each device's share of the model is in proportion to its free memory, capped by it; the last device takes up
  // what rounding left over. Modules stay in order, so activations cross each boundary once.
  std::vector<uint64_t> caps;
  for (size_t i = 0; i < budgets.size(); ++i) {
    const double share = free == 0 ? 0.0 : double(std::min(total, free)) * double(budgets[i].bytes) / double(free);
    caps.push_back(i + 1 == budgets.size() ? budgets[i].bytes
                                           : std::min(budgets[i].bytes, static_cast<uint64_t>(share + 0.5)));
  }
  DeviceMap placed(Strategy::explicit_map);
  size_t d = 0;
  uint64_t used = 0;
  for (const ModuleSize& m : modules) {
    while (d < budgets.size() && used + m.bytes > caps[d]) {
      ++d;
      used = 0;
    }
    if (d == budgets.size()) {
      placed.entries_[m.name] = Device::cpu();  // offload: everything after the last device that filled up
      continue;
    }
    placed.entries_[m.name] = budgets[d].device;
    used += m.bytes;
  }
  return placed;
}

}  // namespace glint
