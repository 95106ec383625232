// `glint merge` and `glint generate --adapter` end to end: the merged folder loads with peft's adapter logits, and
// generating with an adapter prints what generating with the merged model prints.
#include <gtest/gtest.h>

#include <cstdio>

#include "models/auto.h"
#include "models/peft/lora.h"
#include "runtime/autograd/autograd.h"
#include "tests/harness.h"
#include "tests/io/cli_test_util.h"
#include "tests/io/io_test_util.h"
#include "tests/models/json_fixture.h"

namespace glint::test {
namespace {

namespace fs = std::filesystem;

// Runs `cmd` and returns its stdout alone (stderr dropped) and exit status.
std::pair<std::string, int> run_stdout(const std::string& cmd) { return run_command("(" + cmd + " 2>/dev/null)"); }

TEST(MergeCli, MergedFolderGivesTheAdaptersLogits) {
  const fs::path glint = glint_binary();
  if (glint.empty()) GTEST_SKIP() << "the glint CLI was not built";
  const TempDir tmp;
  const fs::path base = model_data_dir() / "llama", adapter = io_data_dir() / "lora" / "all_linear_rslora";
  const std::string cmd = glint.string() + " merge " + base.string() + " " + adapter.string() + " " + tmp / "merged";
  auto [out, rc] = run_command(cmd);
  ASSERT_EQ(rc, 0) << out;
  for (const char* f : {"config.json", "generation_config.json", "model.safetensors"})
    EXPECT_TRUE(fs::exists(tmp.path() / "merged" / f)) << f;
  ModelLoadOptions opts;
  opts.device = Device::cpu();
  auto model = AutoModelForCausalLM::from_pretrained(tmp / "merged", opts);
  autograd::NoGradGuard no_grad;
  const nlohmann::json fx = read_fixture(adapter / "fixture.json");
  EXPECT_LE(max_abs_diff(model->forward(ids_tensor(fx["input_ids"], Device::cpu()), {}, {}, nullptr).to_f32(),
                         read_floats(adapter / "logits.bin")),
            1e-4);

  std::tie(out, rc) = run_command(cmd);
  EXPECT_EQ(rc, 1);
  EXPECT_NE(out.find("[merge]"), std::string::npos) << out;
  std::tie(out, rc) = run_command(glint.string() + " merge " + base.string() + " " + base.string() + " " + tmp / "x");
  EXPECT_EQ(rc, 1);
  EXPECT_NE(out.find("no adapter_config.json"), std::string::npos) << out;
}

TEST(GenerateCli, AdapterPrintsWhatTheMergedModelPrints) {
  const fs::path glint = glint_binary();
  if (glint.empty()) GTEST_SKIP() << "the glint CLI was not built";
  const TempDir tmp;
  const fs::path chat = model_data_dir() / "tiny-chat";
  {
    ModelLoadOptions opts;
    opts.device = Device::cpu();
    auto model = AutoModelForCausalLM::from_pretrained(chat.string(), opts);
    peft::LoraModel lora(*model);
    peft::LoraConfig config;
    config.r = 4;
    config.lora_alpha = 16;
    config.all_linear = true;
    config.init = peft::LoraInit::random;
    lora.add_adapter("default", config, 3);
    lora.save_adapter(tmp / "adapter");
  }
  auto [out, rc] =
      run_command(glint.string() + " merge " + chat.string() + " " + tmp / "adapter" + " " + tmp / "merged");
  ASSERT_EQ(rc, 0);
  const std::string args = " --device cpu --greedy -n 12 --prompt 'The quick brown fox'";
  const auto [plain, rc1] = run_stdout(glint.string() + " generate " + chat.string() + args);
  const auto [adapted, rc2] =
      run_stdout(glint.string() + " generate " + chat.string() + " --adapter " + tmp / "adapter" + args);
  const auto [merged, rc3] = run_stdout(glint.string() + " generate " + tmp / "merged" + args);
  EXPECT_EQ(rc1 + rc2 + rc3, 0);
  EXPECT_EQ(adapted, merged);
  EXPECT_NE(adapted, plain);  // the adapter changes the greedy text
}

}  // namespace
}  // namespace glint::test
