// Device maps (models/device_map.h): the parser, `balanced` placement over a fake memory budget, and the tiny
// llama fixture spread over the CPU and the Vulkan devices giving the logits of one device and of transformers.
// With one Vulkan device the split is cpu + vulkan:0; with GLINT_VULKAN_DEVICES=0,0 it also crosses to vulkan:1.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "models/auto.h"
#include "models/device_map.h"
#include "models/llama/llama.h"
#include "runtime/io/config.h"
#include "runtime/ops/indexing.h"
#include "tests/harness.h"
#include "tests/models/json_fixture.h"

namespace glint::test {
namespace {

namespace fs = std::filesystem;
constexpr double kSameTol = 1e-5;  // one model on one device vs spread: the same kernels, so near-identical
constexpr double kHfTol = 1e-4;    // the issue's bound against transformers

std::vector<ModuleSize> fake_modules() {
  return {{"model.embed_tokens", 100}, {"model.layers.0", 100}, {"model.layers.1", 100}, {"model.layers.2", 100},
          {"model.layers.3", 100},     {"model.norm", 1},       {"lm_head", 100}};
}

// Every boundary kind the devices allow: cpu -> vulkan:0 -> vulkan:1 -> back, or cpu <-> vulkan:0 with one GPU.
DeviceMap split_map() {
  const std::vector<Device> gpus = vulkan_devices();
  const std::string g0 = gpus.empty() ? "cpu" : "vulkan:0", g1 = gpus.size() > 1 ? "vulkan:1" : "cpu";
  return DeviceMap::from_json({{"model.embed_tokens", "cpu"},
                               {"model.layers.0", g0},
                               {"model.layers.1", g1},
                               {"model.norm", g0},
                               {"lm_head", g1 == "cpu" ? g0 : g1}});
}

TEST(DeviceMap, ParsesRangesPrefixesAndGpuNumbers) {
  const DeviceMap map = DeviceMap::from_json(
      {{"model", "cpu"}, {"model.layers.0-1", "vulkan:0"}, {"model.layers.2-3", 1}, {"lm_head", "vulkan:1"}});
  EXPECT_EQ(map.strategy(), DeviceMap::Strategy::explicit_map);
  EXPECT_EQ(map.find("model.layers.1.mlp.up_proj.weight"), Device::vulkan(0));
  EXPECT_EQ(map.find("model.layers.3"), Device::vulkan(1));
  EXPECT_EQ(map.find("model.layers.12"), Device::cpu());  // only "model" covers it; "model.layers.1" does not
  EXPECT_EQ(map.find("model.embed_tokens"), Device::cpu());
  EXPECT_EQ(map.find("lm_head.weight"), Device::vulkan(1));
  EXPECT_EQ(map.find("lm_headx"), std::nullopt);
  EXPECT_EQ(DeviceMap::parse("auto").strategy(), DeviceMap::Strategy::balanced);
  EXPECT_EQ(DeviceMap::parse("balanced").strategy(), DeviceMap::Strategy::balanced);
  EXPECT_EQ(DeviceMap::parse(R"({"": "cpu"})").find("anything"), Device::cpu());
}

TEST(DeviceMap, RejectsUnplacedUnknownAndUnusedEntries) {
  const std::vector<ModuleSize> modules = fake_modules();
  EXPECT_GLINT_ERROR(DeviceMap::from_json({{"model", "cpu"}}).resolve(modules), "modules left unplaced: lm_head");
  EXPECT_GLINT_ERROR(DeviceMap::from_json({{"", "vulkan:7"}}).resolve(modules), "vulkan:7 does not exist");
  EXPECT_GLINT_ERROR(DeviceMap::from_json({{"", "cpu"}, {"model.layers.0.mlp", "cpu"}}).resolve(modules),
                     "'model.layers.0.mlp' names no module");
  EXPECT_GLINT_ERROR(DeviceMap::from_json({{"lm_head", true}}), "a device is");
  EXPECT_GLINT_ERROR(DeviceMap::parse("/nonexistent/map.json"), "/nonexistent/map.json");
}

TEST(DeviceMap, BalancedSplitsByFreeMemoryAndOffloadsTheRest) {
  const std::vector<ModuleSize> modules = fake_modules();  // 601 bytes
  const DeviceMap fits = DeviceMap::balanced().resolve(modules, {{{Device::vulkan(0), 400}, {Device::vulkan(1), 400}}});
  for (const char* m : {"model.embed_tokens", "model.layers.0", "model.layers.1"})
    EXPECT_EQ(fits.at(m), Device::vulkan(0));
  for (const char* m : {"model.layers.2", "model.layers.3", "model.norm", "lm_head"})
    EXPECT_EQ(fits.at(m), Device::vulkan(1));

  const DeviceMap offload =
      DeviceMap::balanced().resolve(modules, {{{Device::vulkan(0), 200}, {Device::vulkan(1), 200}}});
  EXPECT_EQ(offload.at("model.layers.0"), Device::vulkan(0));
  EXPECT_EQ(offload.at("model.layers.2"), Device::vulkan(1));
  for (const char* m : {"model.layers.3", "model.norm", "lm_head"}) EXPECT_EQ(offload.at(m), Device::cpu());

  const DeviceMap no_gpu = DeviceMap::balanced().resolve(modules, std::vector<DeviceBudget>{});
  for (const ModuleSize& m : modules) EXPECT_EQ(no_gpu.at(m.name), Device::cpu());
}

class DeviceMapLlama : public ::testing::Test {
 protected:
  fs::path folder = model_data_dir() / "llama";
  nlohmann::json fx = io::read_json_file((folder / "fixture.json").string());
  std::unique_ptr<CausalLM> load(const DeviceMap& map) const {
    ModelLoadOptions o;
    o.device_map = map;
    return AutoModelForCausalLM::from_pretrained(folder.string(), o);
  }
  std::unique_ptr<CausalLM> reference = AutoModelForCausalLM::from_pretrained(folder.string(), {Device::cpu(), {}});
};

TEST_F(DeviceMapLlama, SplitLogitsMatchOneDeviceAndTransformers) {
  auto model = load(split_map());
  const auto& llama = dynamic_cast<const LlamaForCausalLM&>(*model);
  EXPECT_EQ(model->device(), Device::cpu());
  EXPECT_EQ(llama.layer_devices()[1], split_map().at("model.layers.1"));
  const Tensor logits = model->forward(ids_tensor(fx["input_ids"], Device::cpu()), {}, {}, nullptr);
  EXPECT_EQ(logits.device(), split_map().at("lm_head"));  // logits come back where lm_head is
  const std::vector<float> one =
      reference->forward(ids_tensor(fx["input_ids"], Device::cpu()), {}, {}, nullptr).to_f32();
  const double to_one = max_abs_diff(logits.to_f32(), one);
  const double to_hf = max_abs_diff(logits.to_f32(), read_floats(folder / "logits.bin"));
  std::printf("[device_map] split over %zu Vulkan device(s): max |diff| %.3g to one device, %.3g to transformers\n",
              vulkan_devices().size(), to_one, to_hf);
  EXPECT_LE(to_one, kSameTol);
  EXPECT_LE(to_hf, kHfTol);

  // A left-padded batch: the mask and positions cross the boundaries with the hidden states.
  const Tensor ids = ids_tensor(fx["padded_input_ids"], Device::cpu());
  const Tensor mask = ids_tensor(fx["padded_attention_mask"], Device::cpu());
  const Tensor pos = Tensor::from_vector(std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 1, 1, 1, 0, 1, 2, 3}, {2, 7},
                                         DType::i64, Device::cpu());
  EXPECT_LE(max_abs_diff(model->forward(ids, mask, pos, nullptr).to_f32(),
                         reference->forward(ids, mask, pos, nullptr).to_f32()),
            kSameTol);
}

TEST_F(DeviceMapLlama, KVCacheDecodeAcrossDevices) {
  auto model = load(split_map());
  const Tensor ids = ids_tensor(fx["input_ids"], Device::cpu());
  const int64_t b = ids.dim(0), t = ids.dim(1), prefill = 4;
  KVCache cache = model->new_cache(b, t);
  EXPECT_EQ(cache.keys[0].device(), split_map().at("model.layers.0"));
  EXPECT_EQ(cache.values[1].device(), split_map().at("model.layers.1"));
  std::vector<Tensor> parts{model->forward(ids.slice(1, 0, prefill), {}, {}, &cache).to(Device::cpu())};
  for (int64_t i = prefill; i < t; ++i)
    parts.push_back(model->forward(ids.slice(1, i, i + 1), {}, {}, &cache).to(Device::cpu()));
  EXPECT_EQ(cache.length, t);
  const std::vector<float> full = reference->forward(ids, {}, {}, nullptr).to_f32();
  EXPECT_LE(max_abs_diff(concat(parts, 1).to_f32(), full), kSameTol);
}

TEST_F(DeviceMapLlama, AutoPlacesOnTheVulkanDevices) {
  auto model = load(DeviceMap::balanced());
  const Device first = vulkan_devices().empty() ? Device::cpu() : Device::vulkan(0);
  EXPECT_EQ(model->device(), first);  // the tiny model fits: nothing is offloaded
  const Tensor logits = model->forward(ids_tensor(fx["input_ids"], model->device()), {}, {}, nullptr);
  EXPECT_LE(max_abs_diff(logits.to_f32(), read_floats(folder / "logits.bin")), kHfTol);
}

TEST(DeviceMap, OtherArchitecturesRefuseIt) {
  ModelLoadOptions o;
  o.device_map = DeviceMap::balanced();
  EXPECT_GLINT_ERROR(AutoModelForCausalLM::from_pretrained((model_data_dir() / "gpt2-tiny").string(), o),
                     "does not support device maps");
}

}  // namespace
}  // namespace glint::test
