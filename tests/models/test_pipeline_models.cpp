// glint::pipeline and `glint generate` end to end on real files: tests/data/models/tiny-chat (a tiny random Llama
// with a tokenizer and a ChatML template, tools/make_pipeline_fixtures.py), the tiny GGUF files that carry a
// tokenizer, and the SmolLM2-135M-Instruct GGUF when it is present.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "models/pipeline.h"
#include "tests/harness.h"

namespace glint {
namespace {

namespace fs = std::filesystem;
const fs::path kData = fs::path(__FILE__).parent_path() / "../data";
const fs::path kTinyChat = kData / "models" / "tiny-chat";

nlohmann::json read_json(const fs::path& path) {
  std::ifstream f(path);
  return nlohmann::json::parse(f);
}

std::vector<int64_t> ids_of(const Tokenizer& t, const std::string& text, bool special) {
  const std::vector<uint32_t> ids = t.encode(text, special).ids;
  return {ids.begin(), ids.end()};
}

GenerationOptions greedy(int64_t max_new_tokens, bool stop_at_eos) {
  GenerationOptions o;
  o.max_new_tokens = max_new_tokens;
  if (!stop_at_eos) o.eos_token_ids = std::vector<int64_t>{};
  return o;
}

// Prompt and chat ids, and transformers' greedy tokens and text, on every device.
TEST(PipelineModels, TinyChatMatchesTransformers) {
  const nlohmann::json fx = read_json(kTinyChat / "expected.json");
  const int64_t n = fx["max_new_tokens"];
  for (const Device& device : test::test_devices()) {
    SCOPED_TRACE(device.str());
    const TextGenerationPipeline pipe = pipeline("text-generation", kTinyChat.string(), {device, std::nullopt});
    const Tokenizer& tok = pipe.tokenizer();
    EXPECT_EQ(ids_of(tok, fx["prompt"], true), fx["completion"]["prompt_ids"].get<std::vector<int64_t>>());
    EXPECT_EQ(tok.apply_chat_template(fx["messages"], true), fx["chat_text"].get<std::string>());
    EXPECT_EQ(ids_of(tok, fx["chat_text"], false), fx["chat"]["prompt_ids"].get<std::vector<int64_t>>());
    EXPECT_EQ(generate(pipe.model(), &tok, {fx["completion"]["prompt_ids"]}, greedy(n, false))[0],
              fx["completion"]["ids"].get<std::vector<int64_t>>());
    EXPECT_EQ(pipe(fx["prompt"], greedy(n, false)), fx["completion"]["text"].get<std::string>());
    EXPECT_EQ(pipe.chat(fx["messages"], greedy(n, false)), fx["chat"]["text"].get<std::string>());
  }
}

// A GGUF file's embedded tokenizer encodes the prompt, and the pipeline's greedy text is generate()'s.
TEST(PipelineModels, TinyGgufUsesItsTokenizer) {
  for (const char* name : {"tiny_llama_bpe.gguf", "tiny_llama_spm.gguf"}) {
    SCOPED_TRACE(name);
    const std::string path = (kData / "gguf" / name).string();
    const TextGenerationPipeline pipe = pipeline("text-generation", path, {Device::cpu(), std::nullopt});
    const Tokenizer& tok = pipe.tokenizer();
    const std::vector<int64_t> prompt = ids_of(tok, "hello world", true);
    ASSERT_FALSE(prompt.empty());
    const std::vector<int64_t> ids = generate(pipe.model(), &tok, {prompt}, greedy(8, false))[0];
    EXPECT_EQ(pipe("hello world", greedy(8, false)),
              tok.decode(std::vector<uint32_t>(ids.begin(), ids.end()), /*skip_special_tokens=*/true));
  }
}

fs::path smollm2_gguf() {
  if (const char* env = std::getenv("GLINT_SMOLLM2_GGUF")) return env;
  const char* home = std::getenv("HOME");
  return home ? fs::path(home) / ".cache/glint/gguf/SmolLM2-135M-Instruct.Q4_1.gguf" : fs::path();
}

// The real model: the chat reply transformers gives with tokenizer and weights both loaded from the GGUF file.
TEST(PipelineModels, SmolLM2GgufChatMatchesTransformers) {
  const fs::path file = smollm2_gguf();
  if (file.empty() || !fs::exists(file)) GTEST_SKIP() << "SmolLM2 GGUF not found (set GLINT_SMOLLM2_GGUF)";
  const nlohmann::json fx = read_json(kData / "models" / "smollm2_gguf_pipeline.json");
  const TextGenerationPipeline pipe = pipeline("text-generation", file.string(), {Device::cpu(), std::nullopt});
  EXPECT_EQ(pipe.tokenizer().apply_chat_template(fx["messages"], true), fx["chat_text"].get<std::string>());
  EXPECT_EQ(ids_of(pipe.tokenizer(), fx["chat_text"], false), fx["chat"]["prompt_ids"].get<std::vector<int64_t>>());
  EXPECT_EQ(pipe.chat(fx["messages"], greedy(fx["max_new_tokens"], true)), fx["chat"]["text"].get<std::string>());
}

// The `glint` binary of this build (beside the test binary's folder), or an empty path when it was not built.
fs::path glint_binary() {
  const fs::path p = fs::read_symlink("/proc/self/exe").parent_path().parent_path() / "glint";
  return fs::exists(p) ? p : fs::path();
}

// Runs `cmd` and returns its stdout and exit status.
std::pair<std::string, int> run(const std::string& cmd) {
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  return {out, pclose(p)};
}

TEST(GenerateCli, TinyChatPrintsTransformersCompletion) {
  const fs::path glint = glint_binary();
  if (glint.empty()) GTEST_SKIP() << "the glint CLI was not built";
  const nlohmann::json fx = read_json(kTinyChat / "expected.json");
  const std::string base =
      glint.string() + " generate " + kTinyChat.string() + " --device cpu --max-new-tokens 16 --greedy";
  auto [out, rc] = run(base + " --prompt '" + fx["prompt"].get<std::string>() + "' 2>/dev/null");
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(out, fx["completion"]["text"].get<std::string>() + "\n");

  std::tie(out, rc) =
      run(base + " --chat --prompt '" + fx["messages"][0]["content"].get<std::string>() + "' 2>/dev/null");
  EXPECT_EQ(rc, 0);
  EXPECT_EQ(out, fx["chat"]["text"].get<std::string>() + "\n");
}

}  // namespace
}  // namespace glint
