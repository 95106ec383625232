// Llama-family parity with transformers on tiny random models (tools/make_model_fixtures_llama.py): logits, KV-cache
// decoding, left-padded batches and greedy generation, on every test device.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "models/auto.h"
#include "models/llama/llama.h"
#include "runtime/io/checkpoint.h"
#include "runtime/io/config.h"
#include "runtime/ops/indexing.h"
#include "tests/harness.h"
#include "tests/models/json_fixture.h"

namespace glint::test {
namespace {

namespace fs = std::filesystem;
constexpr double kLogitTol = 1e-4;  // the bound for f32 logits

struct Fixture {
  fs::path folder;
  nlohmann::json json;

  explicit Fixture(const std::string& name)
      : folder(model_data_dir() / name), json(io::read_json_file(folder / "fixture.json")) {}

  std::vector<float> floats(const std::string& file) const { return read_floats(folder / file); }
};

// Logits (B, T, V) restricted to row b, positions [t0, t1).
std::vector<float> rows_of(const Tensor& logits, int64_t b, int64_t t0, int64_t t1) {
  return logits.select(0, b).slice(0, t0, t1).to_f32();
}

// Greedy decoding with a KV cache: argmax of the last logits, fed back one token at a time.
std::vector<int64_t> greedy(const CausalLM& model, const Tensor& prompt, int64_t n) {
  KVCache cache = model.new_cache(1, prompt.dim(1) + n);
  Tensor logits = model.forward(prompt, {}, {}, &cache, /*last_only=*/true);
  std::vector<int64_t> got;
  while (static_cast<int64_t>(got.size()) < n) {
    const std::vector<float> last = logits.to_f32();
    got.push_back(std::max_element(last.begin(), last.end()) - last.begin());
    const Tensor next = Tensor::from_vector(std::vector<int64_t>{got.back()}, {1, 1}, DType::i64, model.device());
    logits = model.forward(next, {}, {}, &cache, true);
  }
  return got;
}

class LlamaParity : public ::testing::TestWithParam<std::string> {
 protected:
  Fixture fx{GetParam()};
  std::unique_ptr<CausalLM> load(Device device) const {
    return AutoModelForCausalLM::from_pretrained(fx.folder.string(), {device, std::nullopt});
  }
  void report(const char* what, Device device, double diff) const {
    std::printf("[llama] %-20s %-10s %-14s max |diff| %.3g\n", GetParam().c_str(), device.str().c_str(), what, diff);
  }
};

TEST_P(LlamaParity, LogitsMatchTransformers) {
  for (Device device : test_devices()) {
    SCOPED_TRACE(device.str());
    auto model = load(device);
    EXPECT_EQ(model->config().vocab_size, fx.json["logits_shape"][2].get<int64_t>());
    const Tensor logits = model->forward(ids_tensor(fx.json["input_ids"], device), {}, {}, nullptr);
    EXPECT_EQ(logits.shape(), fx.json["logits_shape"].get<Shape>());
    const double diff = max_abs_diff(logits.to_f32(), fx.floats("logits.bin"));
    report("logits", device, diff);
    EXPECT_LE(diff, kLogitTol);
  }
}

TEST_P(LlamaParity, KVCacheDecodeEqualsFullForward) {
  for (Device device : test_devices()) {
    SCOPED_TRACE(device.str());
    auto model = load(device);
    const Tensor ids = ids_tensor(fx.json["input_ids"], device);
    const int64_t b = ids.dim(0), t = ids.dim(1), prefill = 4;
    const Tensor full = model->forward(ids, {}, {}, nullptr);
    KVCache cache = model->new_cache(b, t);
    std::vector<Tensor> parts{model->forward(ids.slice(1, 0, prefill), {}, {}, &cache)};
    for (int64_t i = prefill; i < t; ++i) parts.push_back(model->forward(ids.slice(1, i, i + 1), {}, {}, &cache));
    EXPECT_EQ(cache.length, t);
    const double diff = max_abs_diff(concat(parts, 1).to_f32(), full.to_f32());
    report("kv-cache", device, diff);
    EXPECT_LE(diff, kLogitTol);
  }
}

TEST_P(LlamaParity, LeftPaddedBatchEqualsOneAtATime) {
  const nlohmann::json& mask_json = fx.json["padded_attention_mask"];
  // positions = cumsum(mask) - 1, padding set to 1, as transformers' generate does.
  std::vector<int64_t> pos;
  for (const auto& row : mask_json) {
    int64_t c = 0;
    for (const auto& m : row) {
      c += m.get<int64_t>();
      pos.push_back(m.get<int64_t>() ? c - 1 : 1);
    }
  }
  const std::vector<float> want = fx.floats("padded_logits.bin");
  for (Device device : test_devices()) {
    SCOPED_TRACE(device.str());
    auto model = load(device);
    const Tensor ids = ids_tensor(fx.json["padded_input_ids"], device), mask = ids_tensor(mask_json, device);
    const int64_t b = ids.dim(0), t = ids.dim(1), v = model->config().vocab_size;
    const Tensor positions = Tensor::from_vector(pos, {b, t}, DType::i64, device);
    const Tensor batched = model->forward(ids, mask, positions, nullptr);
    const Tensor want_t = Tensor::from_vector(want, {b, t, v}, DType::f32, Device::cpu());
    double to_hf = 0, to_single = 0;
    for (int64_t r = 0; r < b; ++r) {
      std::vector<int64_t> row = mask.select(0, r).to_vector<int64_t>();
      const int64_t pad = std::count(row.begin(), row.end(), 0);
      const Tensor single = model->forward(ids.slice(0, r, r + 1).slice(1, pad, t), {}, {}, nullptr);
      to_single = std::max(to_single, max_abs_diff(rows_of(batched, r, pad, t), single.to_f32()));
      to_hf = std::max(to_hf, max_abs_diff(rows_of(batched, r, pad, t), rows_of(want_t, r, pad, t)));
    }
    report("padded vs hf", device, to_hf);
    report("padded vs single", device, to_single);
    EXPECT_LE(to_hf, kLogitTol);
    EXPECT_LE(to_single, kLogitTol);
  }
}

TEST_P(LlamaParity, GreedyLoopReproducesGenerate) {
  const std::vector<int64_t> want = fx.json["greedy_tokens"].get<std::vector<int64_t>>();
  for (Device device : test_devices()) {
    SCOPED_TRACE(device.str());
    auto model = load(device);
    const Tensor prompt = ids_tensor(nlohmann::json::array({fx.json["prompt"]}), device);
    EXPECT_EQ(greedy(*model, prompt, static_cast<int64_t>(want.size())), want);
  }
}

INSTANTIATE_TEST_SUITE_P(Models, LlamaParity,
                         ::testing::Values("llama", "llama3-rope-scaling", "mistral", "qwen2", "qwen3",
                                           "mistral-sliding", "qwen2-sliding"),
                         [](const auto& info) {
                           std::string n = info.param;
                           std::replace(n.begin(), n.end(), '-', '_');
                           return n;
                         });

TEST(AutoModelForCausalLM, RejectsIdsOutsideTheVocabulary) {
  for (Device device : test_devices()) {
    SCOPED_TRACE(device.str());
    auto model = AutoModelForCausalLM::from_pretrained((model_data_dir() / "llama").string(), {device, {}});
    const Tensor ids = Tensor::from_vector(std::vector<int64_t>{5, 128}, {1, 2}, DType::i64, Device::cpu());
    EXPECT_GLINT_ERROR(model->forward(ids, {}, {}, nullptr), "[embedding] id 128 out of range");
  }
}

TEST(AutoModelForCausalLM, UnknownArchitectureListsSupported) {
  const nn::VarBuilder vb(nn::checkpoint_weights(io::Checkpoint::open((model_data_dir() / "llama").string())),
                          Device::cpu());
  const io::JsonFile config = io::json_object({{"model_type", "nope"}, {"architectures", {"NopeForCausalLM"}}}, "x");
  EXPECT_GLINT_ERROR(AutoModelForCausalLM::from_config(config, vb), "model_type 'nope' is not supported");
  EXPECT_GLINT_ERROR(AutoModelForCausalLM::from_config(config, vb), "llama, mistral, qwen2, qwen3");
}

// The llama fixture written as GGUF (f32, q/k rows permuted as llama.cpp stores them) gives transformers' logits.
TEST(AutoModelForCausalLM, LoadsGguf) {
  const Fixture fx("llama");
  for (Device device : test_devices()) {
    SCOPED_TRACE(device.str());
    auto model =
        AutoModelForCausalLM::from_pretrained((model_data_dir() / "llama-gguf/model.gguf").string(), {device, {}});
    const Tensor logits = model->forward(ids_tensor(fx.json["input_ids"], device), {}, {}, nullptr);
    const double diff = max_abs_diff(logits.to_f32(), fx.floats("logits.bin"));
    std::printf("[llama] %-20s %-10s %-14s max |diff| %.3g\n", "llama-gguf", device.str().c_str(), "logits", diff);
    EXPECT_LE(diff, kLogitTol);
  }
}

// ModelLoadOptions::dtype casts the weights; the cache follows and logits still come back in f32.
TEST(AutoModelForCausalLM, CastsWeightsOnRequest) {
  const Fixture fx("qwen3");
  for (Device device : test_devices()) {
    SCOPED_TRACE(device.str());
    auto model = AutoModelForCausalLM::from_pretrained(fx.folder.string(), {device, DType::f16});
    EXPECT_EQ(model->config().dtype, DType::f16);
    EXPECT_EQ(model->new_cache(1, 4).keys[0].dtype(), DType::f16);
    const Tensor logits = model->forward(ids_tensor(fx.json["input_ids"], device), {}, {}, nullptr);
    EXPECT_EQ(logits.dtype(), DType::f32);
    const double diff = max_abs_diff(logits.to_f32(), fx.floats("logits.bin"));
    std::printf("[llama] %-20s %-10s %-14s max |diff| %.3g\n", "qwen3", device.str().c_str(), "f16 logits", diff);
    EXPECT_LE(diff, 3e-2);  // f16 rounding of every activation, logits up to 4.2
  }
}

std::string smollm2_path() {
  if (const char* env = std::getenv("GLINT_SMOLLM2_GGUF")) return env;
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  const char* home = std::getenv("HOME");
  const fs::path cache = xdg ? fs::path(xdg) : fs::path(home ? home : "/") / ".cache";
  return (cache / "glint/gguf/SmolLM2-135M-Instruct.Q4_1.gguf").string();
}

// A real model: SmolLM2-135M-Instruct in Q4_1, dequantised to f32 by glint and by transformers alike.
TEST(AutoModelForCausalLM, SmolLM2GgufMatchesTransformers) {
  const std::string path = smollm2_path();
  if (!fs::exists(path)) GTEST_SKIP() << "no " << path << " (run tools/make_gguf_fixtures.py)";
  const nlohmann::json want = io::read_json_file((model_data_dir() / "smollm2_gguf_expected.json").string());
  for (Device device : test_devices()) {
    SCOPED_TRACE(device.str());
    auto model = AutoModelForCausalLM::from_pretrained(path, {device, {}});
    const Tensor ids = ids_tensor(nlohmann::json::array({want["input_ids"]}), device);
    const Tensor logits = model->forward(ids, {}, {}, nullptr);  // (1, T, V)
    const int64_t t = ids.dim(1), head = want["logits_head"][0].size();
    std::vector<float> expected;
    for (const auto& row : want["logits_head"])
      for (const auto& x : row) expected.push_back(x.get<float>());
    const double diff = max_abs_diff(logits.select(0, 0).slice(1, 0, head).to_f32(), expected);
    std::printf("[llama] %-20s %-10s %-14s max |diff| %.3g\n", "smollm2-q4_1", device.str().c_str(), "logits", diff);
    // 30 layers and logits up to 31 in magnitude: summation order alone moves the last digits (measured 7e-5).
    EXPECT_LE(diff, 1e-3);
    std::vector<int64_t> argmax;
    for (int64_t i = 0; i < t; ++i) {
      const std::vector<float> row = logits.select(0, 0).select(0, i).to_f32();
      argmax.push_back(std::max_element(row.begin(), row.end()) - row.begin());
    }
    EXPECT_EQ(argmax, want["argmax"].get<std::vector<int64_t>>());
    const std::vector<int64_t> tokens = want["greedy_tokens"].get<std::vector<int64_t>>();
    EXPECT_EQ(greedy(*model, ids_tensor(nlohmann::json::array({want["prompt"]}), device),
                     static_cast<int64_t>(tokens.size())),
              tokens);
  }
}

TEST(AutoModelForCausalLM, ReadsRopeScalingAndDefaults) {
  const io::JsonFile j = io::json_object({{"model_type", "llama"},
                                          {"vocab_size", 10},
                                          {"hidden_size", 8},
                                          {"intermediate_size", 16},
                                          {"num_hidden_layers", 1},
                                          {"num_attention_heads", 2},
                                          {"rope_theta", 500000.0},
                                          {"rope_scaling", {{"type", "linear"}, {"factor", 4.0}}},
                                          {"eos_token_id", {7, 9}}},
                                         "config.json");
  const LlamaConfig c = LlamaConfig::from_json(j);
  EXPECT_EQ(c.num_key_value_heads, 2);
  EXPECT_EQ(c.head_dim, 4);
  EXPECT_EQ(c.rope.theta, 500000.0);
  EXPECT_EQ(c.rope.scaling.type, RopeScaling::Type::linear);
  EXPECT_EQ(c.rope.scaling.factor, 4.0);
  EXPECT_EQ(c.eos_token_ids, (std::vector<int64_t>{7, 9}));
  EXPECT_FALSE(c.qkv_bias);
  EXPECT_EQ(c.sliding_window, 0);
  nlohmann::json mistral = j.json;
  mistral["model_type"] = "mistral";
  mistral["sliding_window"] = 4096;
  EXPECT_EQ(LlamaConfig::from_json(io::json_object(mistral, "config.json")).sliding_window, 4096);
  EXPECT_EQ(LlamaConfig::from_json(io::json_object(mistral, "config.json")).sliding_layers, std::vector<bool>{true});
}

// Qwen2 slides only layers >= max_window_layers (or those layer_types marks), and only with use_sliding_window.
TEST(AutoModelForCausalLM, ReadsQwenSlidingLayers) {
  nlohmann::json j = {{"model_type", "qwen2"},   {"vocab_size", 10},       {"hidden_size", 8},
                      {"intermediate_size", 16}, {"num_hidden_layers", 3}, {"num_attention_heads", 2},
                      {"sliding_window", 5},     {"max_window_layers", 1}};
  EXPECT_EQ(LlamaConfig::from_json(io::json_object(j, "config.json")).sliding_window, 0);
  j["use_sliding_window"] = true;
  LlamaConfig c = LlamaConfig::from_json(io::json_object(j, "config.json"));
  EXPECT_EQ(c.sliding_layers, (std::vector<bool>{false, true, true}));
  EXPECT_EQ(c.window(0), 0);
  EXPECT_EQ(c.window(2), 5);
  j["layer_types"] = {"sliding_attention", "full_attention", "sliding_attention"};
  c = LlamaConfig::from_json(io::json_object(j, "config.json"));
  EXPECT_EQ(c.sliding_layers, (std::vector<bool>{true, false, true}));
  j["layer_types"] = {"full_attention"};
  EXPECT_GLINT_ERROR(LlamaConfig::from_json(io::json_object(j, "config.json")), "layer_types has 1 entries for 3");
}

}  // namespace
}  // namespace glint::test
