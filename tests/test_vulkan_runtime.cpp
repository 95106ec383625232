// The Vulkan runtime: batching and barriers, the allocator (reuse, >maxStorageBufferRange tensors, out-of-memory),
// the pipeline cache file, several logical devices, and the CPU fallback without a driver. Some cases need a
// particular environment and run as their own ctest entries (see tests/CMakeLists.txt); they skip elsewhere.
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>

#include "runtime/core/error.h"
#include "runtime/ops/copy.h"
#include "runtime/vulkan/device.h"
#include "runtime/vulkan/pipelines.h"
#include "tests/harness.h"

namespace glint::test {
namespace {

#define REQUIRE_VULKAN() \
  if (vk::device_count() == 0) GTEST_SKIP() << "no Vulkan device"

TEST(VulkanRuntime, ValidationLayerIsOnWhenInstalled) {
  REQUIRE_VULKAN();
  bool installed = std::filesystem::exists("/usr/share/vulkan/explicit_layer.d/VkLayer_khronos_validation.json");
  if (!installed) GTEST_SKIP() << "vulkan-validationlayers not installed";
  EXPECT_TRUE(vk::Instance::get()->validation_enabled());
}

TEST(VulkanRuntime, IndependentDispatchesShareOneSubmitWithoutBarriers) {
  REQUIRE_VULKAN();
  vk::Device& dev = vk::device(0);
  std::vector<Tensor> ts;
  for (int i = 0; i < 40; ++i) ts.push_back(Tensor::empty({1000}, DType::f32, Device::vulkan(0)));
  dev.synchronize();
  auto& s = dev.stream();
  size_t submits = s.submits(), barriers = s.barriers_recorded(), dispatches = s.dispatches_recorded();
  for (int i = 0; i < 40; ++i) fill_kernel(Device::vulkan(0), ts[i], double(i));
  EXPECT_EQ(s.dispatches_recorded() - dispatches, 40u);
  EXPECT_EQ(s.submits(), submits);                    // nothing submitted before a host read
  EXPECT_LE(s.barriers_recorded() - barriers, 1u);    // the batch-start barrier at most
  EXPECT_EQ(ts[39].to_f32()[999], 39.f);              // the host read submits and waits
  EXPECT_GE(s.submits(), submits + 1);  // staging reads add a submit for the copy
}

TEST(VulkanRuntime, DependentDispatchesGetBarriers) {
  REQUIRE_VULKAN();
  vk::Device& dev = vk::device(0);
  Tensor a = full({257}, 1, DType::f32, Device::vulkan(0));
  Tensor b = Tensor::empty({257}, DType::f32, Device::vulkan(0));
  Tensor c = Tensor::empty({257}, DType::i32, Device::vulkan(0));
  auto& s = dev.stream();
  size_t barriers = s.barriers_recorded();
  b.copy_from(a);  // reads a (written by the fill): barrier
  c.copy_from(b);  // reads b: barrier
  a.copy_from(c);  // writes a, which the first copy read (WAR): barrier
  EXPECT_GE(s.barriers_recorded() - barriers, 3u);
  EXPECT_EQ(a.to_f32()[256], 1.f);
}

TEST(VulkanRuntime, TensorsLargerThanMaxStorageBufferRange) {
  REQUIRE_VULKAN();
  vk::Device& dev = vk::device(0);
  uint64_t range = dev.info().max_storage_buffer_range;
  if (range > (512ull << 20)) GTEST_SKIP() << "maxStorageBufferRange is " << range << " bytes: too big to exceed here";
  int64_t n = int64_t(range / 4) + 1000003;  // f32 elements: past the range by ~4 MB
  Tensor a = full({n}, 3, DType::f32, Device::vulkan(0));
  std::vector<float> tail = {7, 8, 9};
  a.slice(0, n - 3, n).copy_from(Tensor::from_vector(tail, {3}, DType::f32, Device::cpu()));
  Tensor h = a.to(DType::f16);  // a kernel reading and writing far past the range
  std::vector<float> last(5);
  Tensor end = h.slice(0, n - 5, n).to(DType::f32);
  EXPECT_CLOSE(end, (std::vector<float>{3, 3, 7, 8, 9}), Tol{0, 0});
  EXPECT_EQ(h.slice(0, 0, 2).to_f32(), (std::vector<float>{3, 3}));
}

TEST(VulkanRuntime, OutOfMemoryNamesDeviceRequestAndUsage) {
  REQUIRE_VULKAN();
  EXPECT_GLINT_ERROR(Tensor::empty({int64_t(1) << 40}, DType::f32, Device::vulkan(0)), "out of memory");
  try {
    Tensor::empty({int64_t(1) << 40}, DType::f32, Device::vulkan(0));
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("vulkan:0"), std::string::npos) << m;
    EXPECT_NE(m.find("asked for 4194304.0 MiB"), std::string::npos) << m;
    EXPECT_NE(m.find("in use"), std::string::npos) << m;
  }
}

TEST(VulkanRuntime, FreedMemoryIsReused) {
  REQUIRE_VULKAN();
  vk::Device& dev = vk::device(0);
  auto round = [] {
    std::vector<Tensor> ts;
    for (int i = 0; i < 16; ++i) ts.push_back(full({1 << 18}, i, DType::f32, Device::vulkan(0)));  // 1 MiB each
    Tensor big = full({40 << 20}, 1, DType::u8, Device::vulkan(0));                                // dedicated block
    EXPECT_EQ(ts[15].to_f32()[5], 15.f);
  };
  round();
  dev.synchronize();
  size_t reserved = dev.allocator().bytes_reserved(), in_use = dev.allocator().bytes_in_use();
  for (int i = 0; i < 5; ++i) round();
  dev.synchronize();
  EXPECT_EQ(dev.allocator().bytes_reserved(), reserved);
  EXPECT_EQ(dev.allocator().bytes_in_use(), in_use);
}

TEST(VulkanRuntime, HostTransfersGoThroughStagingWhenMemoryIsNotMapped) {
  REQUIRE_VULKAN();
  const char* staging = std::getenv("GLINT_VK_STAGING");
  bool forced = staging && std::string(staging) == "1";
  EXPECT_EQ(vk::device(0).allocator().host_visible(), !forced && vk::device(0).allocator().host_visible());
  if (!forced) GTEST_SKIP() << "runs under GLINT_VK_STAGING=1 (ctest VulkanStaging)";
  EXPECT_FALSE(vk::device(0).allocator().host_visible());
  Tensor t = Tensor::from_vector(std::vector<float>{1, 2, 3, 4}, {2, 2}, DType::f32, Device::vulkan(0));
  EXPECT_CLOSE(t.transpose(0, 1).contiguous(), (std::vector<float>{1, 3, 2, 4}), Tol{0, 0});
}

TEST(VulkanRuntime, PipelineCacheRejectsOtherDeviceDriverOrVersion) {
  REQUIRE_VULKAN();
  vk::PhysicalDeviceInfo info = vk::device(0).info();
  std::vector<uint8_t> payload = {1, 2, 3, 4, 5};
  std::vector<uint8_t> file = vk::pipeline_cache_file(payload, info);
  EXPECT_EQ(vk::pipeline_cache_payload(file, info), payload);
  vk::PhysicalDeviceInfo other_driver = info;
  other_driver.driver_version += 1;
  EXPECT_TRUE(vk::pipeline_cache_payload(file, other_driver).empty());
  vk::PhysicalDeviceInfo other_device = info;
  other_device.pipeline_cache_uuid[0] ^= 1;
  EXPECT_TRUE(vk::pipeline_cache_payload(file, other_device).empty());
  std::vector<uint8_t> other_version = file;
  other_version[8] ^= 1;  // first byte of the glint version string
  EXPECT_TRUE(vk::pipeline_cache_payload(other_version, info).empty());
  file.pop_back();  // truncated
  EXPECT_TRUE(vk::pipeline_cache_payload(file, info).empty());
}

TEST(VulkanRuntime, PipelineCacheIsSavedToDisk) {
  REQUIRE_VULKAN();
  auto dir = std::filesystem::temp_directory_path() / ("glint-cache-test-" + std::to_string(::getpid()));
  setenv("GLINT_CACHE_DIR", dir.c_str(), 1);
  vk::Device& dev = vk::device(0);
  full({4}, 1, DType::f32, Device::vulkan(0)).to_f32();  // at least one pipeline exists
  ASSERT_TRUE(dev.pipelines().save());
  std::string path = vk::pipeline_cache_path(dev.info());
  EXPECT_EQ(path.rfind(dir.string(), 0), 0u);
  std::ifstream f(path, std::ios::binary);
  std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  EXPECT_FALSE(vk::pipeline_cache_payload(bytes, dev.info()).empty());
  unsetenv("GLINT_CACHE_DIR");
  std::filesystem::remove_all(dir);
}

TEST(MultiDevice, TwoLogicalDevicesWorkIndependentlyAndTensorsMoveBetweenAll) {
  if (vk::device_count() < 2) GTEST_SKIP() << "runs with GLINT_VULKAN_DEVICES=0,0 (ctest MultiDevice)";
  EXPECT_NE(vk::device(0).handle(), vk::device(1).handle());
  Tensor a = rand({33, 17}, DType::f32, Device::vulkan(0), 5);
  Tensor b = a.to(Device::vulkan(1));
  EXPECT_EQ(b.device(), Device::vulkan(1));
  Tensor c = b.transpose(0, 1).contiguous().to(Device::cpu()).to(Device::vulkan(0));
  EXPECT_CLOSE(c, a.to(Device::cpu()).transpose(0, 1), Tol{0, 0});
  // Work on both devices from two threads at once.
  std::vector<float> r0, r1;
  std::thread t0([&] {
    Tensor x = full({4096}, 2, DType::f32, Device::vulkan(0));
    for (int i = 0; i < 50; ++i) x = x.to(DType::f16).to(DType::f32);
    r0 = x.to_f32();
  });
  std::thread t1([&] {
    Tensor x = full({4096}, 3, DType::bf16, Device::vulkan(1));
    for (int i = 0; i < 50; ++i) x = x.to(DType::f32).to(DType::bf16);
    r1 = x.to_f32();
  });
  t0.join();
  t1.join();
  EXPECT_EQ(r0, std::vector<float>(4096, 2.f));
  EXPECT_EQ(r1, std::vector<float>(4096, 3.f));
}

TEST(NoVulkan, FallsBackToTheCpu) {
  const char* files = std::getenv("VK_DRIVER_FILES");
  if (!files || std::filesystem::exists(files)) GTEST_SKIP() << "runs with VK_DRIVER_FILES pointing at nothing";
  EXPECT_EQ(vk::device_count(), 0);
  EXPECT_EQ(default_device(), Device::cpu());
  EXPECT_EQ(full({3}, 2).to_f32(), (std::vector<float>{2, 2, 2}));
  EXPECT_GLINT_ERROR(Tensor::empty({3}, DType::f32, Device::vulkan(0)), "[vulkan]");
}

}  // namespace
}  // namespace glint::test

namespace glint::test {
namespace {
// Run alone (ctest ExitWithPendingWork): work recorded on every device and never read must not crash or hang the
// process at exit (it once submitted from inside exit handlers, racing the layer's and driver's teardown).
TEST(ExitWithPendingWork, LeavesWorkUnreadOnEveryDevice) {
  REQUIRE_VULKAN();
  for (Device d : vulkan_devices()) {
    Tensor t = zeros({1024}, DType::f32, d);
    Tensor u = t.to(DType::f16);
  }
}
}  // namespace
}  // namespace glint::test
