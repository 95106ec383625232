// `glint devices`: every Vulkan device with what glint's kernels care about, and the CPU backend.
#include <cblas.h>

#include <cstdio>
#include <thread>

#include "runtime/core/device.h"
#include "runtime/vulkan/device.h"
#include "tools/cli/commands.h"

namespace glint::cli {
namespace {

std::string gib(uint64_t n) {
  char buf[32];
  if (n < (1ull << 30)) std::snprintf(buf, sizeof buf, "%.0f MiB", double(n) / (1ull << 20));
  else std::snprintf(buf, sizeof buf, "%.2f GiB", double(n) / (1ull << 30));
  return buf;
}

void list_devices() {
  int n = vk::device_count();
  Device def = default_device();
  for (int i = 0; i < n; ++i) {
    const vk::PhysicalDeviceInfo& d = vk::device(i).info();
    std::printf("vulkan:%d%s  %s\n", i, def == Device::vulkan(i) ? " (default)" : "", d.name.c_str());
    std::printf("  type %s, driver %s (%s), Vulkan %u.%u.%u\n", d.type.c_str(), d.driver_name.c_str(),
                d.driver_info.c_str(), VK_API_VERSION_MAJOR(d.api_version), VK_API_VERSION_MINOR(d.api_version),
                VK_API_VERSION_PATCH(d.api_version));
    std::printf("  memory heaps:");
    for (const auto& h : d.heaps) std::printf(" %s%s", gib(h.size).c_str(), h.device_local ? " (device-local)" : "");
    std::printf("\n  subgroup size %u%s, shared memory %u KiB\n", d.subgroup_size,
                d.subgroup_arithmetic ? " (arithmetic ops)" : "", d.max_shared_memory / 1024);
    std::printf("  fp16 %s, bf16 %s, int8 %s, cooperative matrix %s\n", d.fp16 ? "yes" : "no", d.bf16 ? "yes" : "no",
                d.int8 ? "yes" : "no", d.cooperative_matrix ? "yes" : "no");
    std::printf("  max storage buffer range %s, max allocation %s, max buffer %s\n",
                gib(d.max_storage_buffer_range).c_str(), gib(d.max_allocation).c_str(), gib(d.max_buffer_size).c_str());
  }
  if (n == 0) std::printf("no Vulkan devices\n");
  const char* threading[] = {"sequential", "pthreads", "OpenMP"};
  int par = openblas_get_parallel();
  std::printf("cpu%s  %u threads, OpenBLAS %s (%s threading)\n", def.is_cpu() ? " (default)" : "",
              std::thread::hardware_concurrency(), openblas_get_config(), par >= 0 && par <= 2 ? threading[par] : "unknown");
}

}  // namespace

namespace {
void add_devices_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("devices", "List the Vulkan devices and the CPU backend");
  cmd->callback(list_devices);
}

const CommandRegistration reg(add_devices_command);
}  // namespace

}  // namespace glint::cli
