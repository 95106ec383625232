// QLoRA on the tiny Llama: a model loaded with load_in_4bit computes what the same model with the dequantised
// weights computes; LoRA gradients through the frozen 4-bit layers equal those through the dense dequantised
// layers; AdamW on the adapter lowers the loss; the adapter merged into the dequantised base keeps the logits.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

#include "models/auto.h"
#include "models/peft/lora.h"
#include "runtime/autograd/autograd.h"
#include "runtime/io/bnb_4bit.h"
#include "runtime/io/checkpoint.h"
#include "runtime/io/config.h"
#include "runtime/ops/quant.h"
#include "tests/harness.h"
#include "tests/models/json_fixture.h"
#include "tests/peft/lora_fixture.h"

namespace glint::test {
namespace {

// The dense model with every weight the 4-bit model quantised replaced by its dequantisation.
std::unique_ptr<CausalLM> dequantised_twin(const CausalLM& four_bit, Device device) {
  auto dense = load_llama(device, false);
  const auto& q = four_bit.parameters().linears();
  const auto& d = dense->parameters().linears();
  autograd::NoGradGuard no_grad;
  for (size_t i = 0; i < q.size(); ++i)
    if (q[i].second->quantized) d[i].second->weight.copy_from(dequantize_4bit(*q[i].second->quantized, DType::f32));
  return dense;
}

nlohmann::json fixture_ids() { return read_fixture(model_data_dir() / "llama" / "fixture.json")["input_ids"]; }

TEST(QLoRA, FourBitLoadEqualsDequantisedWeights) {
  for (const Device& device : test_devices()) {
    for (bool dq : {false, true}) {
      SCOPED_TRACE(device.str() + (dq ? " double quant" : ""));
      auto model = load_llama(device, true, dq);
      int quantized = 0;
      for (const auto& [name, state] : model->parameters().linears()) {
        EXPECT_EQ(state->quantized != nullptr, name != "lm_head") << name;
        EXPECT_EQ(state->weight.defined(), name == "lm_head") << name;
        quantized += state->quantized != nullptr;
        if (state->quantized) {
          EXPECT_EQ(state->quantized->state.nested(), dq) << name;
        }
      }
      EXPECT_EQ(quantized, 2 * 7);
      for (const auto& [name, p] : model->parameters().entries())
        EXPECT_TRUE(name == "lm_head.weight" || name.find("proj.weight") == std::string::npos) << name;
      const Tensor ids = ids_tensor(fixture_ids(), device);
      const double diff = max_abs_diff(logits(*model, ids), logits(*dequantised_twin(*model, device), ids));
      std::printf("[qlora] %-9s %s logits max |diff| 4-bit vs dequantised dense: %.2e\n", device.str().c_str(),
                  dq ? "dq" : "  ", diff);
      EXPECT_LE(diff, 1e-4);
    }
  }
}

// A transformers load_in_4bit save (tests/data/nf4/tiny_llama_bnb4) loads its packed weights as bitsandbytes
// wrote them, and computes what its dequantised weights compute.
TEST(QLoRA, LoadsATransformersBnb4bitCheckpoint) {
  const std::filesystem::path dir = model_data_dir() / ".." / "nf4" / "tiny_llama_bnb4";
  const auto ckpt = io::Checkpoint::open((dir / "model.safetensors").string());
  for (const Device& device : test_devices()) {
    SCOPED_TRACE(device.str());
    ModelLoadOptions opts;
    opts.device = device;
    auto model = AutoModelForCausalLM::from_pretrained(dir.string(), opts);
    int quantized = 0;
    for (const auto& [name, state] : model->parameters().linears()) {
      if (!state->quantized) continue;
      ++quantized;
      const QuantizedTensor want = io::load_bnb_4bit(*ckpt, name + ".weight");
      EXPECT_TRUE(state->quantized->state.nested()) << name;
      EXPECT_EQ(state->quantized->packed.to(Device::cpu()).to_vector<uint8_t>(), want.packed.to_vector<uint8_t>())
          << name;
    }
    EXPECT_EQ(quantized, 7);
    const Tensor ids = ids_tensor(nlohmann::json::array({{1, 5, 9, 2, 7, 3}}), device);
    const std::vector<float> four_bit = logits(*model, ids);
    nn::dequantize_linears(model->parameters(), DType::f32);
    EXPECT_LE(max_abs_diff(logits(*model, ids), four_bit), 1e-4);
  }
}

TEST(QLoRA, RandomInitFromConfigLoadsInFourBits) {
  ModelLoadOptions opts;
  opts.device = Device::cpu();
  opts.load_in_4bit = true;
  opts.quant4.type = Quant4Type::fp4;
  auto model = AutoModelForCausalLM::from_config(io::load_json((model_data_dir() / "llama" / "config.json").string()),
                                                 opts, 0);
  for (const auto& [name, state] : model->parameters().linears()) {
    ASSERT_EQ(state->quantized != nullptr, name != "lm_head") << name;
    if (state->quantized) {
      EXPECT_EQ(state->quantized->state.quant_type, Quant4Type::fp4) << name;
    }
  }
}

peft::LoraConfig all_linear(int64_t r) {
  peft::LoraConfig config;
  config.r = r;
  config.lora_alpha = 2.0 * double(r);
  config.all_linear = true;
  config.init = peft::LoraInit::random;  // B nonzero, so every adapter tensor gets a gradient that depends on the base
  return config;
}

TEST(QLoRA, AdapterGradientsThroughFourBitLayersMatchDequantisedDense) {
  for (const Device& device : test_devices()) {
    SCOPED_TRACE(device.str());
    auto model = load_llama(device, true, true);
    auto dense = dequantised_twin(*model, device);
    peft::LoraModel qlora(*model), lora(*dense);
    qlora.add_adapter("default", all_linear(4), 3);
    lora.add_adapter("default", all_linear(4), 3);
    const Tensor ids = ids_tensor(fixture_ids(), device);
    const Tensor lq = model->loss(ids, ids), ld = dense->loss(ids, ids);
    EXPECT_NEAR(lq.to_f32()[0], ld.to_f32()[0], 1e-5);
    lq.backward();
    ld.backward();
    const auto pq = qlora.parameters("default"), pd = lora.parameters("default");
    ASSERT_EQ(pq.size(), pd.size());
    double worst = 0;
    for (size_t i = 0; i < pq.size(); ++i) {
      ASSERT_TRUE(pq[i].second.grad().defined()) << pq[i].first;
      const double e = relative_error(pq[i].second.grad(), pd[i].second.grad());
      worst = std::max(worst, e);
      EXPECT_LE(e, 1e-4) << pq[i].first;
    }
    std::printf("[qlora] %-9s adapter grads, worst relative error vs dense: %.2e\n", device.str().c_str(), worst);
    for (const auto& [name, p] : model->parameters().entries()) EXPECT_FALSE(p.grad().defined()) << name;
  }
}

TEST(QLoRA, TrainingLowersTheLossAndMergesIntoTheDequantisedBase) {
  for (const Device& device : test_devices()) {
    SCOPED_TRACE(device.str());
    auto model = load_llama(device, true);
    peft::LoraModel lora(*model);
    peft::LoraConfig config = all_linear(8);
    config.init = peft::LoraInit::kaiming;
    lora.add_adapter("default", config, 5);
    const Tensor ids = ids_tensor(fixture_ids(), device);
    const auto [first, last] = train_adapter(*model, lora, ids, 10, 1e-2);
    std::printf("[qlora] %-9s 10 AdamW steps: loss %.3f -> %.3f\n", device.str().c_str(), first, last);
    EXPECT_LT(last, first - 0.5);
    const std::vector<float> unmerged = logits(*model, ids);
    EXPECT_GLINT_ERROR(lora.merge(), "4-bit layer");
    nn::dequantize_linears(model->parameters(), DType::f32);
    EXPECT_LE(max_abs_diff(logits(*model, ids), unmerged), 1e-4);
    lora.merge();
    const double diff = max_abs_diff(logits(*model, ids), unmerged);
    std::printf("[qlora] %-9s merged into the dequantised base: logits max |diff| %.2e\n", device.str().c_str(), diff);
    EXPECT_LE(diff, 1e-3);
  }
}

TEST(QLoRA, FourBitLayersCannotBeSavedWhole) {
  auto model = load_llama(Device::cpu(), true);
  peft::LoraModel lora(*model);
  peft::LoraConfig config;
  config.target_names = {"q_proj"};
  config.modules_to_save = {"k_proj"};
  EXPECT_GLINT_ERROR(lora.add_adapter("default", config), "is a 4-bit layer");
  for (const auto& [name, state] : model->parameters().linears()) EXPECT_EQ(state->adapter, nullptr) << name;
}

}  // namespace
}  // namespace glint::test
