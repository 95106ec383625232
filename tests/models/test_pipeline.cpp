// The text-generation pipeline and generation on real architectures: the tiny random Llama-family fixtures of
// tools/make_model_fixtures_llama.py (greedy tokens from transformers' generate), and the pipeline's prompt and
// chat paths on a scripted fake model with a real tokenizer and chat template.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "models/auto.h"
#include "models/pipeline.h"
#include "tests/harness.h"

namespace glint {
namespace {

const std::filesystem::path kData = std::filesystem::path(__FILE__).parent_path() / "../data";

nlohmann::json fixture(const std::string& model) {
  std::ifstream f(kData / "models" / model / "fixture.json");
  return nlohmann::json::parse(f);
}

class GenerateModel : public ::testing::TestWithParam<std::string> {};

// transformers' greedy generate (eos ignored, 32 tokens) reproduced token for token on every device.
TEST_P(GenerateModel, GreedyMatchesTransformers) {
  const nlohmann::json fx = fixture(GetParam());
  for (const Device& device : test::test_devices()) {
    SCOPED_TRACE(device.str());
    const auto model =
        AutoModelForCausalLM::from_pretrained((kData / "models" / GetParam()).string(), {device, std::nullopt});
    GenerationOptions o;
    o.max_new_tokens = int64_t(fx["greedy_tokens"].size());
    o.eos_token_ids = std::vector<int64_t>{};
    EXPECT_EQ(generate(*model, nullptr, {fx["prompt"].get<std::vector<int64_t>>()}, o)[0],
              fx["greedy_tokens"].get<std::vector<int64_t>>());
  }
}

// Left padding, masks and positions through a real model: each row of a batch equals generating it alone.
TEST_P(GenerateModel, BatchedWithPaddingEqualsOneAtATime) {
  const nlohmann::json fx = fixture(GetParam());
  const auto model =
      AutoModelForCausalLM::from_pretrained((kData / "models" / GetParam()).string(), {Device::cpu(), std::nullopt});
  const std::vector<int64_t> prompt = fx["prompt"];
  const std::vector<std::vector<int64_t>> prompts = {prompt, {prompt[0]}, {7, 8, 9, 10, 11, 12, 13, 14}};
  GenerationOptions o;
  o.max_new_tokens = 12;
  o.eos_token_ids = std::vector<int64_t>{};
  const auto batched = generate(*model, nullptr, prompts, o);
  for (size_t i = 0; i < prompts.size(); ++i)
    EXPECT_EQ(batched[i], generate(*model, nullptr, {prompts[i]}, o)[0]) << "prompt " << i;
}

INSTANTIATE_TEST_SUITE_P(Llama, GenerateModel,
                         ::testing::Values("llama", "mistral", "qwen2", "qwen3", "mistral-sliding", "qwen2-sliding"));

// A model that records the prompt it is given and then says `reply`.
class ScriptedLM : public CausalLM {
 public:
  ScriptedLM(int64_t vocab, std::vector<int64_t> reply) : reply_(std::move(reply)) { config_.vocab_size = vocab; }
  const CausalLMConfig& config() const override { return config_; }
  Device device() const override { return Device::cpu(); }
  KVCache new_cache(int64_t, int64_t max_length) const override { return {{}, {}, 0, max_length}; }
  Tensor forward(const Tensor& input_ids, const Tensor&, const Tensor&, KVCache* cache, bool) const override {
    if (cache->length == 0) prompt = input_ids.to_vector<int64_t>();
    const auto step = size_t(std::max<int64_t>(cache->length + input_ids.dim(1) - int64_t(prompt.size()), 0));
    cache->length += input_ids.dim(1);
    std::vector<float> logits(size_t(config_.vocab_size), 0.f);
    logits[size_t(reply_[std::min(step, reply_.size() - 1)])] = 1.f;
    return Tensor::from_vector(logits, {1, 1, config_.vocab_size}, DType::f32, Device::cpu());
  }
  mutable std::vector<int64_t> prompt;

 private:
  CausalLMConfig config_;
  std::vector<int64_t> reply_;
};

std::vector<int64_t> ids_of(const Tokenizer& t, const std::string& text, bool special) {
  const std::vector<uint32_t> ids = t.encode(text, special).ids;
  return {ids.begin(), ids.end()};
}

TEST(Pipeline, ChatUsesTheTemplateAndStopsAtEos) {
  Tokenizer tokenizer = Tokenizer::from_pretrained((kData / "tokenizers/qwen3").string());
  const int64_t im_end = *tokenizer.token_to_id("<|im_end|>");
  std::vector<int64_t> reply = ids_of(tokenizer, "Hello! 👋 How can I help?", false);
  reply.push_back(im_end);
  auto model = std::make_unique<ScriptedLM>(int64_t(tokenizer.vocab_size()), reply);
  const ScriptedLM& lm = *model;
  GenerationOptions o;
  o.eos_token_ids = std::vector<int64_t>{im_end};
  const TextGenerationPipeline pipe(std::move(model), tokenizer, o);

  const nlohmann::ordered_json messages = {{{"role", "user"}, {"content", "Hi"}}};
  EXPECT_EQ(pipe.chat(messages), "Hello! 👋 How can I help?");
  EXPECT_EQ(lm.prompt, ids_of(tokenizer, tokenizer.apply_chat_template(messages, true), false));

  std::string streamed;
  o.on_text = [&](int64_t, const std::string& piece) { streamed += piece; };
  EXPECT_EQ(pipe("Say hello", o), "Hello! 👋 How can I help?");
  EXPECT_EQ(streamed, "Hello! 👋 How can I help?");
  EXPECT_EQ(lm.prompt, ids_of(tokenizer, "Say hello", true));
}

TEST(Pipeline, UnknownTaskIsAnError) {
  EXPECT_GLINT_ERROR(pipeline("fill-mask", (kData / "models/llama").string()), "[pipeline]");
}

}  // namespace
}  // namespace glint
