// What the LoRA and QLoRA tests share: the tiny Llama of tests/data/models/llama (as a language model or as a reward
// model, dense or with 4-bit Linear layers), its logits, a few AdamW steps on an adapter, and the check of an adapter
// glint saves against its committed folder in tests/data/lora.
#pragma once
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <utility>
#include <vector>

#include "models/auto.h"
#include "models/llama/sequence_classification.h"
#include "models/peft/lora.h"
#include "runtime/autograd/autograd.h"
#include "tests/io/io_test_util.h"
#include "tests/models/json_fixture.h"
#include "trainers/optimizers.h"

namespace glint::test {

// tests/data/lora: peft's adapters (tools/make_lora_fixtures.py) and the adapters glint saved.
inline std::filesystem::path lora_dir() { return std::filesystem::path(__FILE__).parent_path() / "../data/lora"; }

// The tiny Llama on `device`, its decoder's Linear layers in 4 bits (NF4) when `four_bit`.
inline std::unique_ptr<CausalLM> load_llama(Device device, bool four_bit = false, bool double_quant = false) {
  ModelLoadOptions opts;
  opts.device = device;
  opts.load_in_4bit = four_bit;
  opts.quant4.double_quant = double_quant;
  return AutoModelForCausalLM::from_pretrained((model_data_dir() / "llama").string(), opts);
}

// The tiny Llama as a one-label reward model whose rows are padded with `pad`, 4-bit as load_llama.
inline std::unique_ptr<LlamaForSequenceClassification> load_reward_model(Device device, int64_t pad,
                                                                         bool four_bit = false) {
  ModelLoadOptions opts;
  opts.device = device;
  opts.load_in_4bit = four_bit;
  return LlamaForSequenceClassification::from_pretrained((model_data_dir() / "llama").string(), opts, 1, pad);
}

// The logits of `model` on `ids`, computed without a graph.
inline std::vector<float> logits(const CausalLM& model, const Tensor& ids) {
  autograd::NoGradGuard no_grad;
  return model.forward(ids, {}, {}, nullptr).to_f32();
}

// `steps` AdamW steps (no weight decay, learning rate `lr`) on the default adapter of `lora` with `model`'s loss of
// `ids` against themselves; returns the loss of the first step and of the last.
inline std::pair<double, double> train_adapter(const CausalLM& model, const peft::LoraModel& lora, const Tensor& ids,
                                               int steps, double lr) {
  train::AdamW adamw(train::AdamWConfig{.weight_decay = 0});
  double first = 0, last = 0;
  for (int step = 0; step < steps; ++step) {
    const Tensor loss = model.loss(ids, ids);
    (step == 0 ? first : last) = loss.to_f32()[0];
    loss.backward();
    std::vector<train::ParamRef> refs;
    for (auto& [name, p] : lora.parameters("default")) refs.push_back({name, p, p.grad()});
    adamw.step(refs, lr);
    for (auto& ref : refs) ref.value.set_grad({});
  }
  return {first, last};
}

// Saves the default adapter of `lora` and expects its two files to be those of the committed folder `dir` byte for
// byte. With GLINT_UPDATE_LORA_FIXTURES set it rewrites `dir` instead (docs/peft.md) and returns true: the caller
// then skips, since peft's outputs for the new folder come from `tools/make_lora_fixtures.py --glint`.
inline bool rewrote_committed_adapter(const peft::LoraModel& lora, const std::filesystem::path& dir) {
  const bool update = std::getenv("GLINT_UPDATE_LORA_FIXTURES") != nullptr;
  const TempDir tmp;
  const std::filesystem::path out = update ? dir : tmp.path() / "adapter";
  lora.save_adapter(out.string());
  if (update) return true;
  for (const char* file : {"adapter_model.safetensors", "adapter_config.json"})
    EXPECT_EQ(read_file(out / file), read_file(dir / file)) << file;
  return false;
}

}  // namespace glint::test
