// A reward model's LoRA adapter (task_type SEQ_CLS) against HF peft (tools/make_lora_fixtures.py) on
// LlamaForSequenceClassification over the tiny Llama: the adapter peft made loads in glint with peft's rewards, and the
// adapter glint saves is the committed tests/data/lora/glint_saved_reward, whose rewards in peft the script recorded.
#include <gtest/gtest.h>

#include "models/llama/sequence_classification.h"
#include "models/peft/lora.h"
#include "runtime/autograd/autograd.h"
#include "tests/harness.h"
#include "tests/models/json_fixture.h"
#include "tests/peft/lora_fixture.h"

namespace glint::test {
namespace {

// The rewards (B) of the fixture's right-padded rows, attention mask ids != pad as the script passes it.
std::vector<float> rewards(const LlamaForSequenceClassification& model, const nlohmann::json& fx, Device device) {
  autograd::NoGradGuard no_grad;
  const Tensor ids = ids_tensor(fx["input_ids"], device);
  const int64_t pad = fx["pad_token_id"].get<int64_t>();
  std::vector<int64_t> mask;
  for (const auto& row : fx["input_ids"])
    for (const auto& id : row) mask.push_back(id.get<int64_t>() != pad);
  const Tensor m = Tensor::from_vector(mask, ids.shape(), DType::i64, device);
  return model.forward(ids, m).reshape({ids.dim(0)}).to_f32();
}

// peft's adapter (all-linear LoRA off the head, the head saved whole, modules_to_save as peft lists it: "score",
// "classifier", "score") gives peft's rewards; with the adapter disabled they differ.
TEST(PeftRewardAdapter, LoadsWithPeftsRewards) {
  const std::filesystem::path dir = lora_dir() / "reward_seq_cls";
  const nlohmann::json fx = read_fixture(dir / "fixture.json");
  const std::vector<float> want = fx["rewards"].get<std::vector<float>>();
  for (const Device& device : test_devices()) {
    SCOPED_TRACE(device.str());
    auto model = load_reward_model(device, fx["pad_token_id"].get<int64_t>());
    peft::LoraModel lora(model->parameters());
    lora.load_adapter(dir.string());
    EXPECT_EQ(lora.config("default").task_type, "SEQ_CLS");
    EXPECT_LE(max_abs_diff(rewards(*model, fx, device), want), 1e-4);
    lora.set_adapters_enabled(false);
    EXPECT_GT(max_abs_diff(rewards(*model, fx, device), want), 1e-3);
  }
}

// all-linear with task_type SEQ_CLS keeps LoRA off the score head, which modules_to_save trains whole.
TEST(PeftRewardAdapter, AllLinearLeavesTheScoreHeadToModulesToSave) {
  auto model = load_reward_model(Device::cpu(), 0);
  peft::LoraConfig config;
  config.all_linear = true;
  config.task_type = "SEQ_CLS";
  config.modules_to_save = {"score"};
  peft::LoraModel lora(model->parameters());
  lora.add_adapter("default", config);
  int lora_layers = 0, saved = 0;
  for (const auto& [name, t] : lora.parameters("default")) {
    lora_layers += name.find(".lora_A.") != std::string::npos;
    saved += name == "base_model.model.score.modules_to_save.default.weight";
    EXPECT_EQ(name.find("score.lora_"), std::string::npos) << name;
  }
  EXPECT_EQ(lora_layers, 2 * 7);  // two decoder layers of q, k, v, o, gate, up, down
  EXPECT_EQ(saved, 1);
  // Without SEQ_CLS a missing head name is an error, not something peft's head list explains.
  config.task_type = "CAUSAL_LM";
  config.modules_to_save = {"classifier"};
  auto fresh = load_reward_model(Device::cpu(), 0);
  peft::LoraModel other(fresh->parameters());
  EXPECT_GLINT_ERROR(other.add_adapter("x", config), "modules_to_save 'classifier'");
}

// The adapter glint saves with a fixed seed is tests/data/lora/glint_saved_reward byte for byte, and peft's rewards
// for that folder (peft_rewards.json, by `tools/make_lora_fixtures.py --glint`) are glint's.
// GLINT_UPDATE_LORA_FIXTURES=1 rewrites the folder instead (docs/peft.md).
TEST(GlintSavedRewardAdapter, IsTheCommittedFolderAndPeftAgrees) {
  const std::filesystem::path dir = lora_dir() / "glint_saved_reward";
  const nlohmann::json fx = read_fixture(lora_dir() / "reward_seq_cls" / "fixture.json");
  const int64_t pad = fx["pad_token_id"].get<int64_t>();
  peft::LoraConfig config;
  config.r = 3;
  config.lora_alpha = 5;
  config.all_linear = true;
  config.task_type = "SEQ_CLS";
  config.modules_to_save = {"score"};
  config.init = peft::LoraInit::random;
  config.base_model_name_or_path = "tests/data/models/llama";
  auto model = load_reward_model(Device::cpu(), pad);
  peft::LoraModel lora(model->parameters());
  lora.add_adapter("default", config, /*seed=*/7);
  if (rewrote_committed_adapter(lora, dir))
    GTEST_SKIP() << "wrote " << dir << "; now run tools/make_lora_fixtures.py --glint";
  const std::vector<float> want = read_fixture(dir / "peft_rewards.json")["rewards"].get<std::vector<float>>();
  for (const Device& device : test_devices()) {
    SCOPED_TRACE(device.str());
    auto m = load_reward_model(device, pad);
    peft::LoraModel l(m->parameters());
    l.load_adapter(dir.string());
    EXPECT_LE(max_abs_diff(rewards(*m, fx, device), want), 1e-4);
  }
}

}  // namespace
}  // namespace glint::test
