// `glint inspect` end to end: runs the built CLI (beside the test binary's folder) on the fixtures.
#include <unistd.h>

#include <cstdio>
#include <nlohmann/json.hpp>
#include <regex>

#include "tests/harness.h"
#include "tests/io/io_test_util.h"

namespace glint::test {
namespace {

namespace fs = std::filesystem;

// The `glint` binary of this build, or an empty path when it was not built.
fs::path glint_binary() {
  fs::path p = fs::read_symlink("/proc/self/exe").parent_path().parent_path() / "glint";
  return fs::exists(p) ? p : fs::path();
}

// Runs the command and returns its standard output and exit status.
std::pair<std::string, int> run(const std::string& cmd) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  int status = pclose(p);
  return {out, WEXITSTATUS(status)};
}

TEST(InspectCli, PrintsTheTensorTableAsJsonAndText) {
  fs::path glint = glint_binary();
  if (glint.empty()) GTEST_SKIP() << "the glint CLI is not built";
  fs::path sharded = io_data_dir() / "safetensors" / "sharded";
  auto [out, rc] = run(glint.string() + " inspect --json " + sharded.string());
  ASSERT_EQ(rc, 0) << out;
  nlohmann::json j = nlohmann::json::parse(out);
  EXPECT_EQ(j["format"], "safetensors, 4 shards");
  EXPECT_EQ(j["total_bytes"], 3136);
  EXPECT_EQ(j["total_parameters"], 784);
  ASSERT_EQ(j["tensors"].size(), 8u);
  EXPECT_EQ(j["tensors"][0]["name"], "lm_head.weight");
  EXPECT_EQ(j["tensors"][0]["shape"], nlohmann::json::parse("[16, 8]"));
  EXPECT_FALSE(j.contains("config"));

  TempDir dir;
  fs::copy(io_data_dir() / "safetensors" / "x.safetensors", dir.path() / "model.safetensors");
  write_file(dir.path() / "config.json", R"({"model_type": "llama", "hidden_size": 64, "vocab_size": 100})");
  std::tie(out, rc) = run(glint.string() + " inspect " + dir.path().string());
  ASSERT_EQ(rc, 0) << out;
  EXPECT_TRUE(std::regex_search(out, std::regex(R"(\nx +F32 +\[2, 3\] +24\n)"))) << out;
  EXPECT_NE(out.find("1 tensors, 6 parameters, 24 B (24 bytes)"), std::string::npos) << out;
  EXPECT_NE(out.find("config.json: model_type \"llama\", hidden_size 64, vocab_size 100"), std::string::npos) << out;

  std::tie(out, rc) = run(glint.string() + " inspect " + (dir.path() / "config.json").string());
  EXPECT_EQ(rc, 1);
  EXPECT_NE(out.find("[inspect] " + (dir.path() / "config.json").string() + ": not a file or folder of a known format"),
            std::string::npos)
      << out;
}

TEST(InspectCli, PrintsGgufTensorsWithGgmlTypesMetadataAndDerivedConfig) {
  fs::path glint = glint_binary();
  if (glint.empty()) GTEST_SKIP() << "the glint CLI is not built";
  fs::path file = io_data_dir() / "gguf" / "tiny_llama_bpe.gguf";
  auto [out, rc] = run(glint.string() + " inspect --json " + file.string());
  ASSERT_EQ(rc, 0) << out;
  nlohmann::json j = nlohmann::json::parse(out);
  EXPECT_EQ(j["format"], "gguf v3");
  EXPECT_EQ(j["tensors"][0]["name"], "token_embd.weight");
  EXPECT_EQ(j["tensors"][0]["dtype"], "Q8_0");
  EXPECT_EQ(j["tensors"][0]["shape"], nlohmann::json::parse("[46, 32]"));
  EXPECT_EQ(j["tensors"][0]["bytes"], 46 * 34);
  EXPECT_EQ(j["metadata"]["llama.block_count"], "2");
  EXPECT_EQ(j["metadata"]["tokenizer.ggml.merges"],
            R"(["h e", "l l", "he ll", "hell o", "Ġ w", "o r", "Ġw or", "l d", ... (10 items)])");
  EXPECT_EQ(j["config"]["num_key_value_heads"], 2);

  std::tie(out, rc) = run(glint.string() + " inspect " + file.string());
  ASSERT_EQ(rc, 0) << out;
  EXPECT_TRUE(std::regex_search(out, std::regex(R"(\ndq\.Q6_K +Q6_K +\[3, 256\] +630\n)"))) << out;
  EXPECT_NE(out.find("config.json: model_type \"llama\", architectures [\"LlamaForCausalLM\"]"), std::string::npos)
      << out;
}

}  // namespace
}  // namespace glint::test
