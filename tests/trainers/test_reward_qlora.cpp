// A reward model trained with QLoRA as `glint train reward --lora-r R --load-in-4bit` does: the decoder's Linear layers
// frozen in NF4, LoRA on each of them and the dense score head trained whole (modules_to_save), through the Trainer's
// RowsLossFn hook. A few steps lower the pairwise loss and raise the accuracy while the NF4 base stays byte for byte.
#include <gtest/gtest.h>

#include "models/llama/sequence_classification.h"
#include "models/peft/lora.h"
#include "runtime/autograd/autograd.h"
#include "tests/harness.h"
#include "tests/models/json_fixture.h"
#include "tests/peft/lora_fixture.h"
#include "tests/trainers/alignment_fixture.h"
#include "trainers/alignment/alignment_trainer.h"
#include "trainers/trainer.h"

namespace glint::test {
namespace {

using namespace glint::train::alignment;

// The packed NF4 bytes of every 4-bit layer, by module name.
std::map<std::string, std::vector<uint8_t>> nf4_bytes(const nn::ParameterStore& store) {
  std::map<std::string, std::vector<uint8_t>> out;
  for (const auto& [module, state] : store.linears())
    if (state->quantized) out[module] = state->quantized->packed.to(Device::cpu()).to_vector<uint8_t>();
  return out;
}

TEST(RewardQLora, StepsRaiseAccuracyAndKeepTheNf4Base) {
  auto model = load_reward_model(Device::cpu(), 0, /*four_bit=*/true);
  const nn::ParameterStore& store = model->parameters();
  const auto base_before = nf4_bytes(store);
  ASSERT_EQ(base_before.size(), 2u * 7u);  // every decoder Linear, not the score head
  ASSERT_FALSE(base_before.count("score"));

  peft::LoraModel lora(store);
  peft::LoraConfig config;
  config.r = 4;
  config.lora_alpha = 8;
  config.all_linear = true;
  config.task_type = "SEQ_CLS";
  config.modules_to_save = {"score"};
  lora.add_adapter("default", config, 3);
  nn::ParameterStore trained;
  for (auto [name, t] : lora.parameters("default")) trained.add(name, t);

  // The chosen completion ends in one token, the rejected one in another: a preference the head can learn.
  std::vector<PreferenceRow> rows;
  for (int32_t i = 0; i < 6; ++i) rows.push_back({{5 + i, 9, 11 + i}, {20 + i, 21}, {20 + i, 47}});
  const train::RowsLossFn loss = reward_rows_loss(*model, rows, 0);
  std::vector<size_t> all(rows.size());
  for (size_t i = 0; i < all.size(); ++i) all[i] = i;
  auto evaluate = [&] {
    autograd::NoGradGuard no_grad;
    const train::RowsLoss r = loss(all);
    return std::pair(double(r.loss.to_f32()[0]), r.metrics.at("accuracy"));
  };
  const auto [loss_before, accuracy_before] = evaluate();

  train::TrainingArguments args;
  args.output_dir = scratch_dir("glint_reward_qlora").string();
  std::filesystem::remove_all(args.output_dir);
  args.max_steps = 10;
  args.per_device_train_batch_size = 3;
  args.learning_rate = 1e-2;
  args.logging_steps = 5;
  train::Trainer trainer(trained, args, rows.size(), loss, model->config_json());
  EXPECT_EQ(trainer.train().global_step, 10);
  std::filesystem::remove_all(args.output_dir);

  const auto [loss_after, accuracy_after] = evaluate();
  EXPECT_LT(loss_after, loss_before - 0.1);
  EXPECT_EQ(accuracy_after, 1.0);
  EXPECT_GE(accuracy_after, accuracy_before);
  EXPECT_EQ(nf4_bytes(store), base_before);
}

}  // namespace
}  // namespace glint::test
