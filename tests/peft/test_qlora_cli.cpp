// `glint train sft --lora-r ... [--load-in-4bit]` end to end on tiny-chat: only the adapter trains, the eval loss
// falls, and the output folder holds peft's adapter files, which load back onto the base (4-bit or dense);
// `glint quantize` writes a bnb-4bit folder; `glint merge` folds an adapter made on a 4-bit base into the dequantised
// weights.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>

#include "models/auto.h"
#include "models/peft/lora.h"
#include "runtime/autograd/autograd.h"
#include "runtime/io/checkpoint.h"
#include "tests/harness.h"
#include "tests/io/cli_test_util.h"
#include "tests/io/io_test_util.h"
#include "tests/models/json_fixture.h"

namespace glint::test {
namespace {

namespace fs = std::filesystem;

// The eval_loss values of metrics.jsonl in order.
std::vector<double> eval_losses(const fs::path& metrics) {
  std::ifstream in(metrics);
  std::vector<double> out;
  for (std::string line; std::getline(in, line);) {
    const nlohmann::json j = nlohmann::json::parse(line);
    if (j.contains("eval_loss")) out.push_back(j["eval_loss"].get<double>());
  }
  return out;
}

TEST(QLoraCli, TrainSftWritesAnAdapterAndLowersEvalLoss) {
  const fs::path glint = glint_binary();
  if (glint.empty()) GTEST_SKIP() << "the glint CLI was not built";
  const TempDir tmp;
  const fs::path chat = model_data_dir() / "tiny-chat";
  const std::string verses = (io_data_dir() / "training" / "verses.jsonl").string();
  for (bool four_bit : {true, false}) {
    SCOPED_TRACE(four_bit ? "QLoRA" : "LoRA");
    const std::string out_dir = tmp / (four_bit ? "qlora" : "lora");
    const std::string cmd = glint.string() + " train sft --model " + chat.string() + " --data " + verses +
                            " --text-column text --output " + out_dir +
                            " --device cpu --max-steps 24 --batch-size 8 --lr 5e-3 --seq-len 48 --eval-fraction 0.1"
                            " --eval-steps 4 --logging-steps 4 --lora-r 8 --lora-alpha 16 --target-modules all-linear" +
                            (four_bit ? " --load-in-4bit" : "");
    const auto [out, rc] = run_command(cmd);
    ASSERT_EQ(rc, 0) << out;
    EXPECT_TRUE(fs::exists(fs::path(out_dir) / "adapter_config.json"));
    EXPECT_TRUE(fs::exists(fs::path(out_dir) / "adapter_model.safetensors"));
    EXPECT_FALSE(fs::exists(fs::path(out_dir) / "model.safetensors"));
    const std::vector<double> evals = eval_losses(fs::path(out_dir) / "metrics.jsonl");
    ASSERT_GE(evals.size(), 2u);
    std::printf("[qlora-cli] %s eval loss %.4f (step 4) -> %.4f (step 24)\n", four_bit ? "QLoRA" : "LoRA ",
                evals.front(), evals.back());
    EXPECT_LT(evals.back(), evals.front());

    ModelLoadOptions opts;
    opts.device = Device::cpu();
    opts.load_in_4bit = four_bit;
    auto model = AutoModelForCausalLM::from_pretrained(chat.string(), opts);
    peft::LoraModel lora(*model);
    lora.load_adapter(out_dir);
    EXPECT_EQ(lora.config("default").r, 8);
    EXPECT_TRUE(lora.config("default").all_linear);
    EXPECT_EQ(lora.parameters("default").size(), 2u * 7 * 2);
  }
  const auto [out, rc] = run_command(glint.string() + " train sft --model " + chat.string() + " --data " + verses +
                                     " --output " + tmp / "x" + " --load-in-4bit");
  EXPECT_EQ(rc, 1);
  EXPECT_NE(out.find("give --lora-r"), std::string::npos) << out;
}

// `glint quantize` writes transformers' bnb-4bit layout: the keys bitsandbytes saves, transformers'
// quantization_config, and packed weights identical to loading the dense model with load_in_4bit.
TEST(QuantizeCli, WritesABnb4bitFolderThatLoadsAsTheFourBitModel) {
  const fs::path glint = glint_binary();
  if (glint.empty()) GTEST_SKIP() << "the glint CLI was not built";
  const TempDir tmp;
  const fs::path llama = model_data_dir() / "llama";
  auto [out, rc] =
      run_command(glint.string() + " quantize " + llama.string() + " " + tmp / "q" + " --nf4 --double-quant");
  ASSERT_EQ(rc, 0) << out;
  const nlohmann::json config = read_fixture(tmp.path() / "q" / "config.json");
  EXPECT_EQ(config["quantization_config"]["quant_method"], "bitsandbytes");
  EXPECT_EQ(config["quantization_config"]["bnb_4bit_quant_type"], "nf4");
  EXPECT_EQ(config["quantization_config"]["bnb_4bit_use_double_quant"], true);
  const auto ckpt = io::Checkpoint::open((tmp.path() / "q" / "model.safetensors").string());
  for (const char* key :
       {"model.layers.0.self_attn.q_proj.weight", "model.layers.0.self_attn.q_proj.weight.absmax",
        "model.layers.0.self_attn.q_proj.weight.nested_absmax", "model.layers.0.self_attn.q_proj.weight.quant_map",
        "model.layers.1.mlp.down_proj.weight.quant_state.bitsandbytes__nf4", "lm_head.weight", "model.norm.weight"})
    EXPECT_TRUE(ckpt->contains(key)) << key;
  EXPECT_EQ(ckpt->tensor("model.layers.0.self_attn.q_proj.weight").dtype(), DType::u8);

  ModelLoadOptions opts;
  opts.device = Device::cpu();
  auto loaded = AutoModelForCausalLM::from_pretrained(tmp / "q", opts);
  opts.load_in_4bit = true;
  opts.quant4.double_quant = true;
  auto direct = AutoModelForCausalLM::from_pretrained(llama.string(), opts);
  const auto& a = loaded->parameters().linears();
  const auto& b = direct->parameters().linears();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].second->quantized != nullptr, b[i].second->quantized != nullptr) << a[i].first;
    if (a[i].second->quantized) {
      EXPECT_EQ(a[i].second->quantized->packed.to_vector<uint8_t>(),
                b[i].second->quantized->packed.to_vector<uint8_t>())
          << a[i].first;
    }
  }
  const Tensor ids = ids_tensor(read_fixture(llama / "fixture.json")["input_ids"], Device::cpu());
  autograd::NoGradGuard no_grad;
  EXPECT_LE(
      max_abs_diff(loaded->forward(ids, {}, {}, nullptr).to_f32(), direct->forward(ids, {}, {}, nullptr).to_f32()),
      1e-6);

  std::tie(out, rc) = run_command(glint.string() + " quantize " + llama.string() + " " + tmp / "q" + " --nf4");
  EXPECT_EQ(rc, 1);
  EXPECT_NE(out.find("not overwriting"), std::string::npos) << out;
  std::tie(out, rc) = run_command(glint.string() + " quantize " + llama.string() + " " + tmp / "r");
  EXPECT_EQ(rc, 1);
  EXPECT_NE(out.find("exactly one of --nf4 and --fp4"), std::string::npos) << out;
}

// Logits of `model` on the llama fixture's input ids.
std::vector<float> fixture_logits(const CausalLM& model) {
  const Tensor ids = ids_tensor(read_fixture(model_data_dir() / "llama" / "fixture.json")["input_ids"], Device::cpu());
  autograd::NoGradGuard no_grad;
  return model.forward(ids, {}, {}, nullptr).to_f32();
}

// `glint merge` of an adapter made on a 4-bit base (a dense base quantised with --load-in-4bit, and a bnb-4bit
// folder from `glint quantize`): the merged folder is a dense model without quantization_config whose logits
// reproduce the 4-bit base with the adapter unmerged.
TEST(QLoraCli, MergeIntoTheDequantisedBaseReproducesTheUnmergedAdapter) {
  const fs::path glint = glint_binary();
  if (glint.empty()) GTEST_SKIP() << "the glint CLI was not built";
  const TempDir tmp;
  const fs::path llama = model_data_dir() / "llama";
  auto [out, rc] =
      run_command(glint.string() + " quantize " + llama.string() + " " + tmp / "bnb" + " --nf4 --double-quant");
  ASSERT_EQ(rc, 0) << out;
  struct Case {
    std::string name, base, flags;
    bool double_quant;
  };
  for (const Case& c :
       {Case{"load-in-4bit", llama.string(), " --load-in-4bit", false}, Case{"bnb-4bit", tmp / "bnb", "", true}}) {
    SCOPED_TRACE(c.name);
    ModelLoadOptions opts;
    opts.device = Device::cpu();
    opts.load_in_4bit = !c.flags.empty();
    opts.quant4.double_quant = c.double_quant;
    auto base = AutoModelForCausalLM::from_pretrained(c.base, opts);
    ASSERT_NE(base->parameters().linears().front().second->quantized, nullptr);
    peft::LoraModel lora(*base);
    peft::LoraConfig config;
    config.r = 4;
    config.lora_alpha = 8;
    config.all_linear = true;
    config.init = peft::LoraInit::random;  // B nonzero: the merge changes every targeted weight
    lora.add_adapter("default", config, 7);
    const std::string adapter = tmp / (c.name + "-adapter");
    lora.save_adapter(adapter);
    const std::vector<float> want = fixture_logits(*base);

    const std::string merged = tmp / (c.name + "-merged");
    std::tie(out, rc) = run_command(glint.string() + " merge " + c.base + " " + adapter + " " + merged + c.flags);
    ASSERT_EQ(rc, 0) << out;
    EXPECT_NE(out.find("4-bit layers dequantised to f32"), std::string::npos) << out;
    const nlohmann::json cfg = read_fixture(fs::path(merged) / "config.json");
    EXPECT_FALSE(cfg.contains("quantization_config"));
    EXPECT_EQ(cfg["torch_dtype"], "float32");
    ModelLoadOptions dense;
    dense.device = Device::cpu();
    auto model = AutoModelForCausalLM::from_pretrained(merged, dense);
    for (const auto& [module, state] : model->parameters().linears()) EXPECT_EQ(state->quantized, nullptr) << module;
    const double err = max_abs_diff(fixture_logits(*model), want);
    std::printf("[qlora-merge] %s: merged vs unmerged logits differ by %.2e\n", c.name.c_str(), err);
    EXPECT_LE(err, 1e-3);
  }
  // Merged into the dense weights instead, the same adapter misses the 4-bit model by the quantisation error.
  ModelLoadOptions four_bit;
  four_bit.device = Device::cpu();
  four_bit.load_in_4bit = true;
  auto base = AutoModelForCausalLM::from_pretrained(llama.string(), four_bit);
  peft::LoraModel lora(*base);
  lora.load_adapter(tmp / "load-in-4bit-adapter");
  const std::vector<float> want = fixture_logits(*base);
  std::tie(out, rc) = run_command(glint.string() + " merge " + llama.string() + " " + tmp / "load-in-4bit-adapter" +
                                  " " + tmp / "dense-merged");
  ASSERT_EQ(rc, 0) << out;
  ModelLoadOptions dense;
  dense.device = Device::cpu();
  const double dense_err =
      max_abs_diff(fixture_logits(*AutoModelForCausalLM::from_pretrained(tmp / "dense-merged", dense)), want);
  std::printf("[qlora-merge] merged into the dense base instead: %.2e\n", dense_err);
  EXPECT_GT(dense_err, 1e-3);
}

}  // namespace
}  // namespace glint::test
