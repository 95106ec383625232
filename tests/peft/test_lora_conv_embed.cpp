// LoRA on Embedding and Conv2d layers against HF peft (tools/make_lora_fixtures.py, tests/data/lora/conv_embed): a
// tiny module with an Embedding feeding a Linear and a padded, strided 3x3 Conv2d feeding a 1x1 Conv2d. The adapter
// peft made loads with peft's outputs and adapter gradients on every device; merge / unmerge / disable keep the
// outputs; peft's initialisation leaves the outputs alone; an adapter glint saves is the committed
// tests/data/lora/glint_saved_conv_embed, whose outputs in peft the script recorded.
#include <gtest/gtest.h>

#include <algorithm>

#include "models/nn/layers.h"
#include "models/peft/lora.h"
#include "runtime/autograd/autograd.h"
#include "runtime/io/checkpoint.h"
#include "runtime/io/safetensors.h"
#include "runtime/ops/elementwise.h"
#include "runtime/ops/reduce.h"
#include "tests/harness.h"
#include "tests/io/io_test_util.h"
#include "tests/models/json_fixture.h"
#include "tests/peft/lora_fixture.h"

namespace glint::test {
namespace {

namespace fs = std::filesystem;

// The fixture script's ConvEmbed, its layers built by the module names peft sees.
struct ConvEmbed {
  explicit ConvEmbed(Device device)
      : vb(nn::checkpoint_weights(io::Checkpoint::open((lora_dir() / "conv_embed" / "base.safetensors").string())),
           device),
        embed(vb.pp("embed"), 40, 12),
        proj(vb.pp("proj"), 12, 6, true),
        conv(vb.pp("conv"), 3, 8, 3, 2, 1),
        conv_1x1(vb.pp("conv_1x1"), 8, 5, 1) {}
  // (tokens (B, T, 6), pixels (B, 5, OH, OW)) for ids (B, T) and image (B, 3, H, W).
  std::pair<Tensor, Tensor> forward(const Tensor& ids, const Tensor& image) const {
    return {proj.forward(embed.forward(ids)), conv_1x1.forward(conv.forward(image))};
  }
  const nn::ParameterStore& parameters() const { return *vb.parameters(); }

  nn::VarBuilder vb;
  nn::Embedding embed;
  nn::Linear proj;
  nn::Conv2d conv, conv_1x1;
};

Tensor fixture(const std::string& file, const std::string& key, Device device = Device::cpu()) {
  return io::SafetensorsFile::open((lora_dir() / file).string())->tensor(key).to(device);
}

// Outputs of `model` on the fixture's inputs, as f32 vectors.
std::pair<std::vector<float>, std::vector<float>> outputs(const ConvEmbed& model, Device device) {
  autograd::NoGradGuard no_grad;
  const auto [tokens, pixels] = model.forward(fixture("conv_embed/outputs.safetensors", "ids", device),
                                              fixture("conv_embed/outputs.safetensors", "image", device));
  return {tokens.to_f32(), pixels.to_f32()};
}

// The expected (tokens, pixels) outputs of a fixture file, as f32 vectors.
std::pair<std::vector<float>, std::vector<float>> expected_outputs(const std::string& file) {
  return {fixture(file, "tokens").to_f32(), fixture(file, "pixels").to_f32()};
}

TEST(LoraConvEmbed, PeftAdapterGivesPeftOutputsAndGradients) {
  const auto [tokens, pixels] = expected_outputs("conv_embed/outputs.safetensors");
  for (const Device& device : test_devices()) {
    SCOPED_TRACE(device.str());
    ConvEmbed model(device);
    const auto base = outputs(model, device);
    peft::LoraModel lora(model.parameters());
    lora.load_adapter((lora_dir() / "conv_embed").string(), "default", /*trainable=*/true);
    const auto got = outputs(model, device);
    EXPECT_LE(max_abs_diff(got.first, tokens), 1e-4);
    EXPECT_LE(max_abs_diff(got.second, pixels), 1e-4);
    EXPECT_GT(max_abs_diff(base.first, tokens), 1e-2);  // the adapter changes both outputs
    EXPECT_GT(max_abs_diff(base.second, pixels), 1e-2);

    const auto [t, p] = model.forward(fixture("conv_embed/outputs.safetensors", "ids", device),
                                      fixture("conv_embed/outputs.safetensors", "image", device));
    (sum_all(t * t) * (1.0 / double(t.numel())) + sum_all(p * p) * (1.0 / double(p.numel()))).backward();
    const auto params = lora.parameters("default"), saved = lora.state_dict("default");
    ASSERT_EQ(params.size(), 8u);
    for (size_t i = 0; i < params.size(); ++i) {
      SCOPED_TRACE(saved[i].first);
      ASSERT_TRUE(params[i].second.grad().defined());
      EXPECT_LE(relative_error(params[i].second.grad(), fixture("conv_embed/grads.safetensors", saved[i].first)), 1e-5);
    }
  }
}

TEST(LoraConvEmbed, MergeUnmergeAndDisableKeepTheOutputs) {
  const auto [tokens, pixels] = expected_outputs("conv_embed/outputs.safetensors");
  for (const Device& device : test_devices()) {
    SCOPED_TRACE(device.str());
    ConvEmbed model(device);
    const auto base = outputs(model, device);
    const std::vector<float> embed_weight = model.embed.weight().to_f32();
    peft::LoraModel lora(model.parameters());
    lora.load_adapter((lora_dir() / "conv_embed").string());
    lora.merge();
    auto got = outputs(model, device);
    EXPECT_LE(max_abs_diff(got.first, tokens), 1e-4);
    EXPECT_LE(max_abs_diff(got.second, pixels), 1e-4);
    EXPECT_GT(max_abs_diff(model.embed.weight().to_f32(), embed_weight), 1e-2);  // folded into the table
    lora.unmerge();
    EXPECT_LE(max_abs_diff(model.embed.weight().to_f32(), embed_weight), 1e-5);
    got = outputs(model, device);
    EXPECT_LE(max_abs_diff(got.first, tokens), 1e-4);
    EXPECT_LE(max_abs_diff(got.second, pixels), 1e-4);
    {
      peft::DisableAdapterGuard off(lora);
      got = outputs(model, device);
      EXPECT_LE(max_abs_diff(got.first, base.first), 1e-6);
      EXPECT_LE(max_abs_diff(got.second, base.second), 1e-6);
    }
    lora.merge_and_unload();
    got = outputs(model, device);
    EXPECT_LE(max_abs_diff(got.first, tokens), 1e-4);
    EXPECT_LE(max_abs_diff(got.second, pixels), 1e-4);
  }
}

// peft's default initialisation makes every update zero (Embedding: A zeros; Conv2d: B zeros) while the other
// factor is not.
TEST(LoraConvEmbed, DefaultInitLeavesOutputsAlone) {
  ConvEmbed model(Device::cpu());
  const auto base = outputs(model, Device::cpu());
  peft::LoraModel lora(model.parameters());
  peft::LoraConfig config;
  config.r = 2;
  config.target_names = {"embed", "conv"};
  config.task_type = "";
  lora.add_adapter("default", config, 3);
  const auto got = outputs(model, Device::cpu());
  EXPECT_EQ(got.first, base.first);
  EXPECT_EQ(got.second, base.second);
  for (const auto& [key, t] : lora.state_dict("default")) {
    const std::vector<float> v = t.to_f32();
    const bool zero = std::all_of(v.begin(), v.end(), [](float x) { return x == 0.f; });
    const bool want_zero =
        key == "base_model.model.embed.lora_embedding_A" || key == "base_model.model.conv.lora_B.weight";
    EXPECT_EQ(zero, want_zero) << key;
  }
  EXPECT_EQ(lora.state_dict("default").size(), 4u);
  EXPECT_GLINT_ERROR(
      [&] {
        peft::LoraConfig bad = config;
        bad.target_names = {"nothing"};
        lora.add_adapter("other", bad);
      }(),
      "target_modules match no Linear, Embedding or Conv2d layer");
}

// The adapter glint saves with a fixed seed is tests/data/lora/glint_saved_conv_embed byte for byte, and peft's
// outputs for that folder (peft_outputs.safetensors, by `tools/make_lora_fixtures.py --glint`) are glint's.
// GLINT_UPDATE_LORA_FIXTURES=1 rewrites the folder instead (docs/peft.md).
TEST(LoraConvEmbed, GlintSavedAdapterIsTheCommittedFolderAndPeftAgrees) {
  const fs::path dir = lora_dir() / "glint_saved_conv_embed";
  peft::LoraConfig config;
  config.r = 3;
  config.lora_alpha = 5;
  config.target_names = {"embed", "conv", "conv_1x1"};
  config.init = peft::LoraInit::random;
  config.task_type = "";
  ConvEmbed model(Device::cpu());
  peft::LoraModel lora(model.parameters());
  lora.add_adapter("default", config, /*seed=*/7);
  if (rewrote_committed_adapter(lora, dir))
    GTEST_SKIP() << "wrote " << dir << "; now run tools/make_lora_fixtures.py --glint";
  const auto [tokens, pixels] = expected_outputs("glint_saved_conv_embed/peft_outputs.safetensors");
  for (const Device& device : test_devices()) {
    SCOPED_TRACE(device.str());
    ConvEmbed m(device);
    const auto base = outputs(m, device);
    peft::LoraModel l(m.parameters());
    l.load_adapter(dir.string());
    const auto got = outputs(m, device);
    EXPECT_LE(max_abs_diff(got.first, tokens), 1e-4);
    EXPECT_LE(max_abs_diff(got.second, pixels), 1e-4);
    EXPECT_GT(max_abs_diff(base.first, tokens), 1e-2);
    EXPECT_GT(max_abs_diff(base.second, pixels), 1e-2);
  }
}

}  // namespace
}  // namespace glint::test
