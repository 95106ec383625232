// JSON config files: parse errors with line and column, typed accessors with clear errors, and the loaders of
// config.json, generation_config.json, tokenizer_config.json, special_tokens_map.json and model_index.json.
#include "runtime/core/error.h"
#include "runtime/io/config.h"
#include "runtime/io/hf_configs.h"
#include "tests/harness.h"
#include "tests/io/io_test_util.h"

namespace glint::test {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

io::JsonFile config(const std::string& text) {
  return io::json_object(io::parse_json(text, "config.json"), "config.json");
}

TEST(Config, ParseErrorsGiveLineAndColumn) {
  EXPECT_GLINT_ERROR(io::parse_json("{\n  \"a\": 1,\n  \"b\": ]\n}", "config.json"),
                     "[config] config.json:3:8: syntax error");
  EXPECT_GLINT_ERROR(io::parse_json("", "empty.json"), "[config] empty.json:1:1:");
  EXPECT_GLINT_ERROR(io::parse_json("{\"a\": 1} x", "t.json", "tokenizer"), "[tokenizer] t.json:1:10:");
  EXPECT_GLINT_ERROR(io::parse_json("{\"e\": 1e400}", "big.json"),
                     "[config] big.json: number overflow parsing '1e400'");
  TempDir dir;
  EXPECT_GLINT_ERROR(io::read_json_file(dir / "nope.json"), "nope.json: cannot open");
  EXPECT_GLINT_ERROR(io::load_json((write_file(dir / "list.json", "[1]"), dir / "list.json")),
                     "list.json: expected a JSON object, found [1] (array)");
}

TEST(Config, TypedAccessorsSayWhatIsWrong) {
  io::JsonFile c = config(R"({"hidden_size": 64, "eps": 1e-6, "theta": 10000, "name": "x", "flag": true,
    "big": 2048.0, "frac": 1.5, "ids": [1, 2], "names": ["a", 3], "nested": {"n": 1}, "nothing": null})");
  EXPECT_EQ(c.get<int64_t>("hidden_size"), 64);
  EXPECT_EQ(c.get<int>("hidden_size"), 64);
  EXPECT_EQ(c.get<double>("eps"), 1e-6);
  EXPECT_EQ(c.get<float>("theta"), 10000.f);  // integers are fine where a number is wanted
  EXPECT_EQ(c.get<int64_t>("big"), 2048);     // and exact floats where an integer is
  EXPECT_EQ(c.get<std::string>("name"), "x");
  EXPECT_TRUE(c.get<bool>("flag"));
  EXPECT_EQ(c.get<std::vector<int64_t>>("ids"), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(c.sub("nested").get<int>("n"), 1);
  EXPECT_EQ(c.get_or<int64_t>("absent", 7), 7);
  EXPECT_EQ(c.get_or<int64_t>("nothing", 7), 7);
  EXPECT_FALSE(c.get_opt<std::string>("absent").has_value());
  EXPECT_FALSE(c.has("nothing"));

  EXPECT_GLINT_ERROR(c.get<int64_t>("vocab_size"), "[config] config.json: key 'vocab_size' is missing");
  EXPECT_GLINT_ERROR(c.get<int64_t>("nothing"), "key 'nothing' is null");
  EXPECT_GLINT_ERROR(c.get<int64_t>("name"), "key 'name' should be an integer, found \"x\" (string)");
  EXPECT_GLINT_ERROR(c.get<int64_t>("frac"), "key 'frac' should be an integer, found 1.5 (number)");
  EXPECT_GLINT_ERROR(c.get_or<bool>("hidden_size", false), "key 'hidden_size' should be true or false");
  EXPECT_GLINT_ERROR(c.get<std::vector<std::string>>("names"), "key 'names[1]' should be a string, found 3");
  EXPECT_GLINT_ERROR(c.sub("nested").get<int>("m"), "config.json: nested: key 'm' is missing");
  EXPECT_GLINT_ERROR(c.sub("name"), "key 'name' should be an object");
  EXPECT_GLINT_ERROR(config(R"({"n": 3000000000})").get<int>("n"), "should be a 32-bit integer");
}

TEST(Config, ModelConfigReadsEitherDTypeKey) {
  io::ModelConfig c = io::model_config_from_json(
      config(R"({"model_type": "llama", "architectures": ["LlamaForCausalLM"], "torch_dtype": "bfloat16"})"));
  EXPECT_EQ(c.model_type, "llama");
  EXPECT_EQ(c.architectures, (std::vector<std::string>{"LlamaForCausalLM"}));
  EXPECT_EQ(c.dtype, "bfloat16");
  EXPECT_EQ(io::model_config_from_json(config(R"({"dtype": "float16"})")).dtype, "float16");
  TempDir dir;
  write_file(dir / "config.json", R"({"model_type": "gpt2", "n_embd": 8})");
  EXPECT_EQ(io::load_model_config(dir.path().string()).file.get<int>("n_embd"), 8);  // a folder works
}

TEST(Config, GenerationConfigHasTransformersDefaults) {
  io::GenerationConfig d = io::generation_config_from_json(config("{}"));
  EXPECT_EQ(d.max_length, 20);
  EXPECT_FALSE(d.max_new_tokens);
  EXPECT_FALSE(d.do_sample);
  EXPECT_EQ(d.temperature, 1.0);
  EXPECT_EQ(d.top_k, 50);
  EXPECT_EQ(d.top_p, 1.0);
  EXPECT_FALSE(d.min_p);
  EXPECT_EQ(d.repetition_penalty, 1.0);
  EXPECT_TRUE(d.eos_token_ids.empty());

  // As Qwen3's generation_config.json has it: eos_token_id as a list.
  io::GenerationConfig g = io::generation_config_from_json(config(R"({"bos_token_id": 151643, "do_sample": true,
    "eos_token_id": [151645, 151643], "pad_token_id": 151643, "temperature": 0.6, "top_k": 20, "top_p": 0.95,
    "min_p": 0, "max_new_tokens": 128, "transformers_version": "4.51.0"})"));
  EXPECT_TRUE(g.do_sample);
  EXPECT_EQ(g.eos_token_ids, (std::vector<int64_t>{151645, 151643}));
  EXPECT_EQ(g.bos_token_id, 151643);
  EXPECT_EQ(g.temperature, 0.6);
  EXPECT_EQ(g.top_k, 20);
  EXPECT_EQ(g.min_p, 0.0);
  EXPECT_EQ(g.max_new_tokens, 128);
  EXPECT_EQ(io::generation_config_from_json(config(R"({"eos_token_id": 2})")).eos_token_ids, (std::vector<int64_t>{2}));
  EXPECT_GLINT_ERROR(io::generation_config_from_json(config(R"({"eos_token_id": "2"})")),
                     "key 'eos_token_id' should be an integer");
  EXPECT_GLINT_ERROR(io::generation_config_from_json(config(R"({"top_k": 2.5})")), "key 'top_k'");
}

TEST(Config, SpecialTokensAreStringsOrAddedTokens) {
  io::SpecialTokens s = io::special_tokens_from_json(config(R"({"bos_token": "<s>",
    "eos_token": {"content": "</s>", "lstrip": false, "normalized": false, "rstrip": true, "single_word": false},
    "pad_token": null, "additional_special_tokens": ["<a>", {"content": "<b>", "lstrip": true}]})"));
  EXPECT_EQ(s.content("bos"), "<s>");
  EXPECT_EQ(s.content("eos"), "</s>");
  EXPECT_TRUE(s.named.at("eos").rstrip);
  EXPECT_TRUE(s.named.at("bos").special);
  EXPECT_FALSE(s.content("pad"));
  ASSERT_EQ(s.additional.size(), 2u);
  EXPECT_EQ(s.additional[1].content, "<b>");
  EXPECT_TRUE(s.additional[1].lstrip);
  EXPECT_GLINT_ERROR(io::special_tokens_from_json(config(R"({"unk_token": 5})")),
                     "key 'unk_token' should be a token string or an AddedToken object");
  EXPECT_GLINT_ERROR(io::special_tokens_from_json(config(R"({"unk_token": {"lstrip": true}})")),
                     "config.json: unk_token: key 'content' is missing");
}

TEST(Config, TokenizerConfigReadsTemplatesAndAddedTokens) {
  io::TokenizerConfig c = io::tokenizer_config_from_json(config(R"({
    "added_tokens_decoder": {"0": {"content": "<unk>", "special": true}, "32000": {"content": "<x>", "special": false}},
    "chat_template": [{"name": "default", "template": "{{ messages }}"}, {"name": "tool_use", "template": "T"}],
    "model_max_length": 1000000000000000019884624838656, "padding_side": "left", "add_bos_token": true,
    "eos_token": "</s>", "tokenizer_class": "LlamaTokenizer"})"));
  EXPECT_EQ(c.added_tokens_decoder.at(32000).content, "<x>");
  EXPECT_TRUE(c.added_tokens_decoder.at(32000).normalized);  // non-special tokens default to normalized
  EXPECT_EQ(c.chat_template, "{{ messages }}");
  EXPECT_EQ(c.named_chat_templates.at("tool_use"), "T");
  EXPECT_FALSE(c.model_max_length);  // transformers' "no limit" sentinel
  EXPECT_EQ(c.padding_side, "left");
  EXPECT_EQ(c.add_bos_token, true);
  EXPECT_EQ(c.special.content("eos"), "</s>");
  EXPECT_EQ(c.tokenizer_class, "LlamaTokenizer");
  EXPECT_GLINT_ERROR(io::tokenizer_config_from_json(config(R"({"padding_side": "middle"})")),
                     "key 'padding_side' should be \"left\" or \"right\"");
  EXPECT_GLINT_ERROR(io::tokenizer_config_from_json(config(R"({"added_tokens_decoder": {"x1": {"content": "a"}}})")),
                     "added_tokens_decoder key 'x1' is not a token id");

  // A chat_template.jinja beside the config wins, as in transformers.
  TempDir dir;
  write_file(dir / "tokenizer_config.json", R"({"chat_template": "old", "model_max_length": 512})");
  write_file(dir / "chat_template.jinja", "new {{ x }}");
  io::TokenizerConfig f = io::load_tokenizer_config(dir.path().string());
  EXPECT_EQ(f.chat_template, "new {{ x }}");
  EXPECT_EQ(f.model_max_length, 512);
}

TEST(Config, ReadsTheRealTokenizerConfigs) {
  fs::path shared = io_data_dir() / "tokenizers";  // copies of the real files, with provenance
  io::TokenizerConfig q = io::load_tokenizer_config((shared / "qwen3").string());
  ASSERT_TRUE(q.chat_template);
  EXPECT_NE(q.chat_template->find("<|im_start|>"), std::string::npos);
  EXPECT_EQ(q.special.content("eos"), "<|im_end|>");
  EXPECT_EQ(q.added_tokens_decoder.at(151643).content, "<|endoftext|>");
  io::TokenizerConfig m = io::load_tokenizer_config((shared / "mistral").string());
  EXPECT_EQ(m.special.content("bos"), "<s>");
}

TEST(Config, ModelIndexListsDiffusersComponents) {
  io::ModelIndex m = io::model_index_from_json(config(R"({"_class_name": "StableDiffusionPipeline",
    "_diffusers_version": "0.30.0", "unet": ["diffusers", "UNet2DConditionModel"],
    "tokenizer": ["transformers", "CLIPTokenizer"], "safety_checker": [null, null], "requires_safety_checker": false})"));
  EXPECT_EQ(m.class_name, "StableDiffusionPipeline");
  EXPECT_EQ(m.components.size(), 2u);
  EXPECT_EQ(m.components.at("unet"), (std::pair<std::string, std::string>{"diffusers", "UNet2DConditionModel"}));
  EXPECT_GLINT_ERROR(io::model_index_from_json(config(R"({"_class_name": "P", "vae": ["diffusers"]})")),
                     "component 'vae' should be [library, class]");
  EXPECT_GLINT_ERROR(io::model_index_from_json(config("{}")), "key '_class_name' is missing");
}

}  // namespace
}  // namespace glint::test
