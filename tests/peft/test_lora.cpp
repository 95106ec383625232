// LoRA against HF peft (tools/make_lora_fixtures.py) on the tiny Llama: adapters peft made load with peft's logits,
// loss and adapter gradients on every device; merge / unmerge / disable / several adapters keep the logits; an
// adapter glint saves is the committed tests/data/lora/glint_saved, whose logits in peft the script recorded.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

#include "models/auto.h"
#include "models/peft/lora.h"
#include "runtime/io/checkpoint.h"
#include "tests/harness.h"
#include "tests/io/io_test_util.h"
#include "tests/models/json_fixture.h"
#include "tests/peft/lora_fixture.h"

namespace glint::test {
namespace {

// The input ids of tests/data/lora/qv/fixture.json on `device`.
Tensor qv_ids(Device device) {
  return ids_tensor(read_fixture(lora_dir() / "qv" / "fixture.json")["input_ids"], device);
}

class PeftAdapter : public ::testing::TestWithParam<std::string> {};

TEST_P(PeftAdapter, LogitsMatchPeftAndSurviveMergeUnmergeDisable) {
  const std::filesystem::path dir = lora_dir() / GetParam();
  const nlohmann::json fx = read_fixture(dir / "fixture.json");
  const std::vector<float> want = read_floats(dir / "logits.bin"),
                           base = read_floats(model_data_dir() / "llama" / "logits.bin");
  for (const Device& device : test_devices()) {
    SCOPED_TRACE(device.str());
    auto model = load_llama(device);
    peft::LoraModel lora(*model);
    lora.load_adapter(dir.string());
    const Tensor ids = ids_tensor(fx["input_ids"], device);
    const double diff = max_abs_diff(logits(*model, ids), want);
    std::printf("[lora] %-18s %-9s logits max |diff| vs peft %.2e\n", GetParam().c_str(), device.str().c_str(), diff);
    EXPECT_LE(diff, 1e-4);
    {
      peft::DisableAdapterGuard off(lora);
      EXPECT_LE(max_abs_diff(logits(*model, ids), base), 1e-4);
    }
    lora.merge();
    EXPECT_LE(max_abs_diff(logits(*model, ids), want), 1e-4);
    lora.unmerge();
    EXPECT_LE(max_abs_diff(logits(*model, ids), want), 1e-4);
    lora.merge_and_unload();
    EXPECT_LE(max_abs_diff(logits(*model, ids), want), 1e-4);
    for (const auto& [name, state] : model->parameters().linears()) EXPECT_EQ(state->adapter, nullptr) << name;
  }
}

// A half-precision base takes the adapter in its dtype; merging rounds once into the stored weights.
TEST_P(PeftAdapter, HalfPrecisionBaseStaysCloseToPeft) {
  const std::filesystem::path dir = lora_dir() / GetParam();
  const nlohmann::json fx = read_fixture(dir / "fixture.json");
  const std::vector<float> want = read_floats(dir / "logits.bin");
  for (const Device& device : test_devices()) {
    for (DType dtype : {DType::f16, DType::bf16}) {
      SCOPED_TRACE(device.str() + " " + std::string(dtype_name(dtype)));
      ModelLoadOptions opts;
      opts.device = device;
      opts.dtype = dtype;
      auto model = AutoModelForCausalLM::from_pretrained((model_data_dir() / "llama").string(), opts);
      peft::LoraModel lora(*model);
      lora.load_adapter(dir.string());
      EXPECT_EQ(lora.state_dict("default").front().second.dtype(), dtype);
      const Tensor ids = ids_tensor(fx["input_ids"], device);
      // The f16 bound of the Llama model tests (rounding of every activation, logits up to ~5); bf16's unit
      // roundoff is 8x f16's.
      const double bound = dtype == DType::f16 ? 3e-2 : 8 * 3e-2;
      const double unmerged = max_abs_diff(logits(*model, ids), want);
      lora.merge();
      const double merged = max_abs_diff(logits(*model, ids), want);
      std::printf("[lora] %-18s %-9s %-4s max |diff| vs peft f32: %.3g unmerged, %.3g merged\n", GetParam().c_str(),
                  device.str().c_str(), std::string(dtype_name(dtype)).c_str(), unmerged, merged);
      EXPECT_LE(unmerged, bound);
      EXPECT_LE(merged, bound);
    }
  }
}

TEST_P(PeftAdapter, OnlyAdapterParametersGetPeftsGradients) {
  const std::filesystem::path dir = lora_dir() / GetParam();
  const nlohmann::json fx = read_fixture(dir / "fixture.json");
  const auto grads = io::Checkpoint::open((dir / "grads.safetensors").string());
  for (const Device& device : test_devices()) {
    SCOPED_TRACE(device.str());
    auto model = load_llama(device);
    peft::LoraModel lora(*model);
    lora.load_adapter(dir.string(), "default", /*trainable=*/true);
    const Tensor ids = ids_tensor(fx["input_ids"], device);
    const Tensor loss = model->loss(ids, ids);
    EXPECT_NEAR(loss.to_f32()[0], fx["loss"].get<double>(), 1e-5);
    loss.backward();
    const auto params = lora.parameters("default"), saved = lora.state_dict("default");
    ASSERT_EQ(params.size(), grads->names().size());
    for (size_t i = 0; i < params.size(); ++i) {
      ASSERT_TRUE(params[i].second.grad().defined()) << params[i].first;
      EXPECT_LE(relative_error(params[i].second.grad(), grads->tensor(saved[i].first)), 1e-4) << params[i].first;
    }
    for (const auto& [name, p] : model->parameters().entries()) EXPECT_FALSE(p.grad().defined()) << name;
  }
}

TEST_P(PeftAdapter, SavesWhatPeftSaved) {
  const std::filesystem::path dir = lora_dir() / GetParam();
  auto model = load_llama(Device::cpu());
  peft::LoraModel lora(*model);
  lora.load_adapter(dir.string());
  const TempDir tmp;
  const std::filesystem::path out = tmp.path() / "adapter";
  lora.save_adapter(out.string());
  // The same tensors, names and header: the file is byte-identical.
  EXPECT_EQ(read_file(out / "adapter_model.safetensors"), read_file(dir / "adapter_model.safetensors"));
  const nlohmann::json got = read_fixture(out / "adapter_config.json"),
                       want = read_fixture(dir / "adapter_config.json");
  for (const auto& [key, value] : want.items()) EXPECT_TRUE(got.contains(key)) << key;
  for (const auto& [key, value] : got.items()) EXPECT_TRUE(want.contains(key)) << key;
  for (const char* key : {"r", "lora_alpha", "lora_dropout", "use_rslora", "modules_to_save", "peft_type", "task_type",
                          "init_lora_weights", "bias", "base_model_name_or_path"})
    EXPECT_EQ(got[key], want[key]) << key;
}

// No prefix, so that ctest's `--gtest_filter=PeftAdapter.*` selects them.
INSTANTIATE_TEST_SUITE_P(, PeftAdapter, ::testing::Values("qv", "all_linear_rslora", "lm_head_saved"));

// The adapter glint saves with a fixed seed is tests/data/lora/glint_saved byte for byte, and peft's logits for that
// folder (peft_logits.bin, by `tools/make_lora_fixtures.py --glint`) are glint's. GLINT_UPDATE_LORA_FIXTURES=1
// rewrites the folder instead (docs/peft.md).
TEST(GlintSavedAdapter, IsTheCommittedFolderAndPeftAgrees) {
  const std::filesystem::path dir = lora_dir() / "glint_saved";
  peft::LoraConfig config;
  config.r = 3;
  config.lora_alpha = 5;
  config.target_names = {"k_proj", "o_proj", "gate_proj"};
  config.init = peft::LoraInit::random;
  config.base_model_name_or_path = "tests/data/models/llama";
  auto model = load_llama(Device::cpu());
  peft::LoraModel lora(*model);
  lora.add_adapter("default", config, /*seed=*/7);
  if (rewrote_committed_adapter(lora, dir))
    GTEST_SKIP() << "wrote " << dir << "; now run tools/make_lora_fixtures.py --glint";
  const std::vector<float> want = read_floats(dir / "peft_logits.bin");
  for (const Device& device : test_devices()) {
    SCOPED_TRACE(device.str());
    auto m = load_llama(device);
    peft::LoraModel l(*m);
    l.load_adapter(dir.string());
    EXPECT_LE(max_abs_diff(logits(*m, qv_ids(device)), want), 1e-4);
  }
}

TEST(LoraModel, SeveralAdaptersSwitchWithSetAdapter) {
  for (const Device& device : test_devices()) {
    SCOPED_TRACE(device.str());
    auto model = load_llama(device);
    const Tensor ids = qv_ids(device);
    peft::LoraModel lora(*model);
    lora.load_adapter((lora_dir() / "qv").string(), "qv");
    lora.load_adapter((lora_dir() / "lm_head_saved").string(), "head");
    EXPECT_EQ(lora.active_adapter(), "qv");
    for (const char* name : {"head", "qv", "head"}) {
      lora.set_adapter(name);
      const std::string folder = std::string(name) == "qv" ? "qv" : "lm_head_saved";
      EXPECT_LE(max_abs_diff(logits(*model, ids), read_floats(lora_dir() / folder / "logits.bin")), 1e-4) << name;
    }
    lora.merge();
    EXPECT_GLINT_ERROR(lora.set_adapter("qv"), "merged");
    lora.unmerge();
    lora.delete_adapter("qv");
    EXPECT_GLINT_ERROR(lora.set_adapter("qv"), "no adapter 'qv'");
  }
}

TEST(LoraModel, DefaultInitLeavesTheModelUnchangedAndTrainsOnlyAdapters) {
  const Tensor ids = qv_ids(Device::cpu());
  auto model = load_llama(Device::cpu());
  peft::LoraModel lora(*model);
  peft::LoraConfig config;
  config.r = 4;
  config.all_linear = true;
  lora.add_adapter("default", config, 1);
  // B = 0: the base logits; A as nn.Linear initialises it: within +-1/sqrt(in).
  EXPECT_LE(max_abs_diff(logits(*model, ids), read_floats(model_data_dir() / "llama" / "logits.bin")), 1e-4);
  const auto params = lora.parameters("default");
  EXPECT_EQ(params.size(), 2u * 7 * 2);  // 7 Linear layers per block, 2 blocks; not lm_head
  for (const auto& [name, p] : params) {
    EXPECT_TRUE(p.requires_grad()) << name;
    const std::vector<float> v = p.to_f32();
    const bool is_a = name.find(".lora_A.default.weight") != std::string::npos;
    const double bound = is_a ? 1.0 / std::sqrt(double(p.dim(1))) : 0.0;
    for (float x : v) ASSERT_LE(std::fabs(x), bound) << name;
  }
  model->loss(ids, ids).backward();
  for (const auto& [name, p] : params) EXPECT_TRUE(p.grad().defined()) << name;
  for (const auto& [name, p] : model->parameters().entries()) EXPECT_FALSE(p.grad().defined()) << name;
}

// AdamW over LoraModel::parameters() fits the adapter: the loss falls and the base weights stay bit-identical.
TEST(LoraModel, AdamWOnAdapterParametersLowersTheLossAndLeavesTheBase) {
  for (const Device& device : test_devices()) {
    SCOPED_TRACE(device.str());
    auto model = load_llama(device);
    std::vector<std::vector<float>> base;
    for (const auto& [name, p] : model->parameters().entries()) base.push_back(p.to_f32());
    peft::LoraModel lora(*model);
    peft::LoraConfig config;
    config.r = 4;
    config.lora_alpha = 8;
    config.target_names = {"q_proj", "v_proj", "down_proj"};
    lora.add_adapter("default", config, 5);
    const auto [first, last] = train_adapter(*model, lora, qv_ids(device), 10, 1e-2);
    EXPECT_LT(last, first - 0.5);
    size_t i = 0;
    for (const auto& [name, p] : model->parameters().entries()) EXPECT_EQ(p.to_f32(), base[i++]) << name;
  }
}

TEST(LoraModel, DropoutAppliesOnlyInTraining) {
  const Tensor ids = qv_ids(Device::cpu());
  auto model = load_llama(Device::cpu());
  peft::LoraModel lora(*model);
  peft::LoraConfig config;
  config.r = 4;
  config.lora_dropout = 0.5;
  config.target_names = {"q_proj"};
  config.init = peft::LoraInit::random;
  lora.add_adapter("default", config, 2);
  const std::vector<float> eval = logits(*model, ids);
  lora.train();
  const std::vector<float> a = logits(*model, ids), b = logits(*model, ids);
  EXPECT_GT(max_abs_diff(a, eval), 1e-4);
  EXPECT_GT(max_abs_diff(a, b), 1e-4);  // a fresh mask per forward
  lora.train(false);
  EXPECT_EQ(logits(*model, ids), eval);
}

TEST(LoraConfig, MatchesModulesAsPeftDoes) {
  peft::LoraConfig c;
  c.target_names = {"q_proj", "mlp.up_proj"};
  EXPECT_TRUE(c.targets("model.layers.0.self_attn.q_proj"));
  EXPECT_TRUE(c.targets("q_proj"));
  EXPECT_TRUE(c.targets("model.layers.1.mlp.up_proj"));
  EXPECT_FALSE(c.targets("model.layers.0.self_attn.qq_proj"));
  EXPECT_FALSE(c.targets("model.layers.0.self_attn.q_proj.x"));
  c.target_regex = R"(.*\.(0|1)\.self_attn\.k_proj)";
  EXPECT_TRUE(c.targets("model.layers.0.self_attn.k_proj"));
  EXPECT_FALSE(c.targets("model.layers.2.self_attn.k_proj"));
  c.all_linear = true;
  EXPECT_TRUE(c.targets("model.layers.2.mlp.down_proj"));
  EXPECT_FALSE(c.targets("lm_head"));
  c.r = 16;
  c.lora_alpha = 32;
  EXPECT_DOUBLE_EQ(c.scale(), 2.0);
  c.use_rslora = true;
  EXPECT_DOUBLE_EQ(c.scale(), 8.0);
}

TEST(LoraConfig, RejectsWhatItDoesNotImplement) {
  const nlohmann::json ok = read_fixture(lora_dir() / "qv" / "adapter_config.json");
  std::vector<std::string> names = peft::LoraConfig::from_json(ok, "x").target_names;
  std::sort(names.begin(), names.end());  // peft writes its set in any order
  EXPECT_EQ(names, (std::vector<std::string>{"q_proj", "v_proj"}));
  auto with = [&](const char* key, nlohmann::json value) {
    nlohmann::json j = ok;
    j[key] = std::move(value);
    return j;
  };
  EXPECT_GLINT_ERROR(peft::LoraConfig::from_json(with("bias", "all"), "cfg.json"), "cfg.json: bias");
  EXPECT_GLINT_ERROR(peft::LoraConfig::from_json(with("use_dora", true), "c"), "use_dora");
  EXPECT_GLINT_ERROR(peft::LoraConfig::from_json(with("fan_in_fan_out", true), "c"), "fan_in_fan_out");
  EXPECT_GLINT_ERROR(peft::LoraConfig::from_json(with("rank_pattern", {{"q_proj", 2}}), "c"), "rank_pattern");
  EXPECT_GLINT_ERROR(peft::LoraConfig::from_json(with("peft_type", "IA3"), "c"), "IA3");
  EXPECT_GLINT_ERROR(peft::LoraConfig::from_json(with("init_lora_weights", "pissa"), "c"), "pissa");
  EXPECT_GLINT_ERROR(peft::LoraConfig::from_json(with("target_modules", nullptr), "c"), "target_modules");
  EXPECT_GLINT_ERROR(peft::LoraConfig::from_json(with("r", "four"), "c"), "c:");

  auto model = load_llama(Device::cpu());
  peft::LoraModel lora(*model);
  peft::LoraConfig c;
  c.target_names = {"no_such_proj"};
  EXPECT_GLINT_ERROR(lora.add_adapter("x", c), "match no Linear");
  c.target_names = {"q_proj"};
  c.modules_to_save = {"embed_tokens"};
  EXPECT_GLINT_ERROR(lora.add_adapter("x", c), "embed_tokens");
  EXPECT_GLINT_ERROR(lora.load_adapter((lora_dir() / "missing").string()), "adapter_config.json");
  // A failed load leaves nothing attached.
  for (const auto& [name, state] : model->parameters().linears()) EXPECT_EQ(state->adapter, nullptr) << name;
}

}  // namespace
}  // namespace glint::test
