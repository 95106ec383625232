// Generation: logits processors against transformers' own classes (tools/make_generation_fixtures.py), and the
// generation loop on a small deterministic fake CausalLM whose next token depends on the unmasked history and the
// position ids, so wrong padding, masks or positions change the output.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <nlohmann/json.hpp>

#include "models/generation/generate.h"
#include "models/generation/logits_processors.h"
#include "tests/harness.h"

namespace glint {
namespace {

const std::filesystem::path kData = std::filesystem::path(__FILE__).parent_path() / "../data";

// A CausalLM whose "KV cache" stores the token ids. The logits at a position are a pseudo-random spread that
// depends on the unmasked history and the position id, plus a bonus on rule(history, position).
class FakeLM : public CausalLM {
 public:
  using Rule = std::function<int64_t(const std::vector<int64_t>& history, int64_t position)>;
  FakeLM(int64_t vocab, Rule rule, float bonus = 8) : rule_(std::move(rule)), bonus_(bonus) {
    config_.vocab_size = vocab;
    config_.num_layers = 1;
    config_.num_kv_heads = 1;
    config_.head_dim = 1;
  }
  const CausalLMConfig& config() const override { return config_; }
  Device device() const override { return Device::cpu(); }
  KVCache new_cache(int64_t batch, int64_t max_length) const override {
    KVCache c;
    c.keys = {full({batch, 1, max_length, 1}, -1, DType::i64, Device::cpu())};
    c.values = {zeros({batch, 1, max_length, 1}, DType::i64, Device::cpu())};  // unused
    c.max_length = max_length;
    return c;
  }
  Tensor forward(const Tensor& input_ids, const Tensor& attention_mask, const Tensor& positions, KVCache* cache,
                 bool last_only) const override {
    const int64_t batch = input_ids.dim(0), t = input_ids.dim(1), past = cache->length, v = config_.vocab_size;
    EXPECT_LE(past + t, cache->max_length);
    EXPECT_EQ(attention_mask.dim(1), past + t);
    const std::vector<int64_t> ids = input_ids.to_vector<int64_t>(), pos = positions.to_vector<int64_t>();
    const std::vector<int64_t> mask = attention_mask.to_vector<int64_t>();
    int64_t* tokens = cache->keys[0].data<int64_t>();  // (B, max_length)
    std::vector<float> logits;
    for (int64_t b = 0; b < batch; ++b) {
      for (int64_t i = 0; i < t; ++i) tokens[b * cache->max_length + past + i] = ids[size_t(b * t + i)];
      for (int64_t i = last_only ? t - 1 : 0; i < t; ++i) {
        std::vector<int64_t> history;
        for (int64_t j = 0; j <= past + i; ++j)
          if (mask[size_t(b * (past + t) + j)] != 0) history.push_back(tokens[b * cache->max_length + j]);
        const int64_t p = pos[size_t(b * t + i)];
        uint64_t h = 1469598103934665603ull ^ uint64_t(p);
        for (int64_t x : history) h = (h ^ uint64_t(x)) * 1099511628211ull;
        const int64_t favourite = rule_(history, p);
        for (int64_t k = 0; k < v; ++k) {
          const uint64_t r = (h + uint64_t(k) * 0x9E3779B97F4A7C15ull) * 0xBF58476D1CE4E5B9ull;
          logits.push_back(float((r >> 40) % 1000) / 250.f - 2.f + (k == favourite ? bonus_ : 0.f));
        }
      }
    }
    cache->length += t;
    return Tensor::from_vector(logits, {batch, last_only ? 1 : t, v}, DType::f32, Device::cpu());
  }

 private:
  CausalLMConfig config_;
  Rule rule_;
  float bonus_;
};

// The next token from everything unmasked so far and the position id of the last token.
int64_t arithmetic_rule(const std::vector<int64_t>& history, int64_t position) {
  int64_t sum = 0;
  for (int64_t x : history) sum += x;
  return (sum * 31 + position * 7 + 3) % 64;
}

// Greedy decoding written out by hand: what generate() must reproduce for one prompt.
std::vector<int64_t> reference_greedy(const std::vector<int64_t>& prompt, int64_t n) {
  std::vector<int64_t> history = prompt, out;
  for (int64_t i = 0; i < n; ++i) {
    out.push_back(arithmetic_rule(history, int64_t(history.size()) - 1));
    history.push_back(out.back());
  }
  return out;
}

// Each prompt's first token picks a script of tokens to emit, whatever the position.
FakeLM::Rule scripted(std::vector<std::vector<int64_t>> scripts, std::vector<size_t> prompt_lengths) {
  return [scripts, prompt_lengths](const std::vector<int64_t>& history, int64_t) {
    const auto which = size_t(history.front());
    const std::vector<int64_t>& s = scripts[which];
    const size_t i = history.size() - prompt_lengths[which];
    return i < s.size() ? s[i] : s.back();
  };
}

TEST(LogitsProcessors, MatchTransformers) {
  std::ifstream f(kData / "generation/logits_processors.json");
  ASSERT_TRUE(f) << "missing fixture";
  const nlohmann::json j = nlohmann::json::parse(f);
  const auto logits = j["logits"].get<std::vector<std::vector<float>>>();
  const auto input_ids = j["input_ids"].get<std::vector<std::vector<int64_t>>>();
  const auto b = int64_t(logits.size()), v = int64_t(logits[0].size());
  std::vector<float> flat;
  for (const auto& row : logits) flat.insert(flat.end(), row.begin(), row.end());

  for (const auto& c : j["cases"]) {
    const std::string name = c["name"];
    const nlohmann::json& p = c["params"];
    Tensor scores = Tensor::from_vector(flat, {b, v}, DType::f32, Device::cpu());
    if (name == "repetition_penalty")
      apply_repetition_penalty(scores, input_ids, p["penalty"]);
    else if (name == "temperature")
      apply_temperature(scores, p["temperature"]);
    else if (name == "top_k")
      apply_top_k(scores, p["top_k"]);
    else if (name == "top_p")
      apply_top_p(scores, p["top_p"]);
    else if (name == "min_p")
      apply_min_p(scores, p["min_p"]);
    else if (name == "warpers")
      apply_warpers(scores, {p["temperature"], p["top_p"], p["min_p"], p["top_k"]});
    else
      FAIL() << "unknown case " << name;

    const std::vector<float> got = scores.to_f32();
    int removed = 0;
    for (int64_t r = 0; r < b; ++r)
      for (int64_t k = 0; k < v; ++k) {
        const nlohmann::json& want = c["expected"][size_t(r)][size_t(k)];
        const float g = got[size_t(r * v + k)];
        if (want.is_null()) {
          EXPECT_TRUE(std::isinf(g) && g < 0) << name << " " << p << " [" << r << "," << k << "] kept";
          ++removed;
        } else {
          EXPECT_NEAR(g, want.get<float>(), 1e-6f * (1 + std::abs(want.get<float>())))
              << name << " " << p << " [" << r << "," << k << "]";
        }
      }
    if (name == "top_k" || name == "top_p" || name == "min_p") EXPECT_GT(removed, 0) << name << " " << p;
  }
}

TEST(Generate, GreedyMatchesReferenceLoop) {
  FakeLM model(64, arithmetic_rule);
  GenerationOptions o;
  o.max_new_tokens = 12;
  const std::vector<int64_t> prompt = {5, 9, 1};
  GenerationStats stats;
  const auto out = generate(model, nullptr, {prompt}, o, &stats);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0], reference_greedy(prompt, 12));
  EXPECT_EQ(stats.prompt_tokens, 3);
  EXPECT_EQ(stats.generated_tokens, 12);
}

TEST(Generate, BatchedWithLeftPaddingEqualsOneAtATime) {
  FakeLM model(64, arithmetic_rule);
  GenerationOptions o;
  o.max_new_tokens = 10;
  const std::vector<std::vector<int64_t>> prompts = {{3}, {10, 20, 30, 40, 50, 60, 7}, {1, 2, 3, 4}};
  const auto batched = generate(model, nullptr, prompts, o);
  for (size_t i = 0; i < prompts.size(); ++i) {
    EXPECT_EQ(batched[i], generate(model, nullptr, {prompts[i]}, o)[0]) << "prompt " << i;
    EXPECT_EQ(batched[i], reference_greedy(prompts[i], 10)) << "prompt " << i;
  }
}

TEST(Generate, EosEndsEachSequenceOnItsOwn) {
  const int64_t eos = 2;
  FakeLM model(16, scripted({{5, 6, eos, 7}, {8, 9, 9, 9, eos, 4}, {3}}, {1, 2, 1}));
  GenerationOptions o;
  o.max_new_tokens = 8;
  o.eos_token_ids = std::vector<int64_t>{eos};
  const auto out = generate(model, nullptr, {{0}, {1, 1}, {2}}, o);
  EXPECT_EQ(out[0], (std::vector<int64_t>{5, 6, eos}));
  EXPECT_EQ(out[1], (std::vector<int64_t>{8, 9, 9, 9, eos}));
  EXPECT_EQ(out[2], std::vector<int64_t>(8, 3));  // never emits eos: runs to max_new_tokens
}

TEST(Generate, SeededSamplingIsReproducible) {
  FakeLM model(64, arithmetic_rule, /*bonus=*/1);
  GenerationOptions o;
  o.max_new_tokens = 24;
  o.do_sample = true;
  o.temperature = 1.3;
  o.top_k = 20;
  o.top_p = 0.95;
  o.min_p = 0.01;
  o.repetition_penalty = 1.2;
  o.seed = 42;
  const std::vector<std::vector<int64_t>> prompts = {{1, 2, 3}, {4}};
  const auto a = generate(model, nullptr, prompts, o);
  EXPECT_EQ(a, generate(model, nullptr, prompts, o));
  o.seed = 43;
  EXPECT_NE(a, generate(model, nullptr, prompts, o));
  o.do_sample = false;  // and greedy differs from the samples: they are not argmax in disguise
  EXPECT_NE(a, generate(model, nullptr, prompts, o));
}

TEST(Generate, GenerationConfigDefaults) {
  io::JsonFile file{"generation_config.json",
                    nlohmann::json::parse(R"({"do_sample": true, "temperature": 0.6, "top_p": 0.9,
                                              "eos_token_id": [7, 8], "max_new_tokens": 5})")};
  const GenerationOptions o = generation_options_from(io::generation_config_from_json(file));
  EXPECT_TRUE(o.do_sample);
  EXPECT_DOUBLE_EQ(o.temperature, 0.6);
  EXPECT_DOUBLE_EQ(o.top_p, 0.9);
  EXPECT_EQ(o.top_k, 50);
  EXPECT_EQ(o.eos_token_ids, (std::vector<int64_t>{7, 8}));
  EXPECT_FALSE(generation_options_from(io::GenerationConfig{}).eos_token_ids);  // the model config's then
  EXPECT_EQ(o.max_new_tokens, 5);
}

class GenerateText : public ::testing::Test {
 protected:
  Tokenizer tokenizer = Tokenizer::from_pretrained((kData / "tokenizers/gpt2").string());
  std::vector<int64_t> ids(const std::string& text) const {
    std::vector<int64_t> out;
    for (uint32_t id : tokenizer.encode(text, false).ids) out.push_back(id);
    return out;
  }
  std::string text(const std::vector<int64_t>& ids) const {
    return tokenizer.decode(std::vector<uint32_t>(ids.begin(), ids.end()), true);
  }
};

TEST_F(GenerateText, StopStringsEndSequencesIndependently) {
  const std::vector<int64_t> a = ids("The answer is 42. END of story, more text"),
                             b = ids("Nothing stops this one, it runs all the way to its end");
  // Prompts start with token 0 and 1 so the scripted model can tell them apart.
  FakeLM model(int64_t(tokenizer.vocab_size()), scripted({a, b}, {1, 1}));
  GenerationOptions o;
  o.max_new_tokens = int64_t(b.size());
  o.stop_strings = {"END", "never"};
  const auto out = generate(model, &tokenizer, {{0}, {1}}, o);
  EXPECT_EQ(text(out[0]), "The answer is 42. END");
  EXPECT_EQ(out[1], std::vector<int64_t>(b.begin(), b.end())) << text(out[1]);
}

TEST_F(GenerateText, StreamingConcatenatesToTheDecodedTextWithoutSplittingCharacters) {
  const std::string want = "Hi 👋🏽 there 🌍! Café, 日本語 and 🤖🤖.";
  const std::vector<int64_t> script = ids(want);
  // The test means something only if some token holds part of a character.
  bool split = false;
  for (int64_t id : script) split = split || text({id}).find("\xEF\xBF\xBD") != std::string::npos;
  ASSERT_TRUE(split);

  FakeLM model(int64_t(tokenizer.vocab_size()), scripted({script, ids(" plain ascii text")}, {1, 1}));
  std::vector<std::string> streamed(2);
  int64_t calls = 0;
  GenerationOptions o;
  o.max_new_tokens = int64_t(script.size());
  o.on_text = [&](int64_t seq, const std::string& piece) {
    EXPECT_EQ(piece.find("\xEF\xBF\xBD"), std::string::npos) << "split character in " << piece;
    streamed[size_t(seq)] += piece;
    ++calls;
  };
  const auto out = generate(model, &tokenizer, {{0}, {1}}, o);
  EXPECT_EQ(streamed[0], want);
  EXPECT_EQ(streamed[0], text(out[0]));
  EXPECT_EQ(streamed[1], text(out[1]));
  EXPECT_GT(calls, 10);  // streamed piece by piece, not at the end
}

}  // namespace
}  // namespace glint
