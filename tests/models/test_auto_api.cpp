// The transformers-style entry points: AutoTokenizer (folder, file in a folder, GGUF), AutoModelForCausalLM with
// model.generate against transformers' tokens for tiny-chat (tools/make_pipeline_fixtures.py), and AutoModel
// sentence embeddings against sentence-transformers for bert-tiny (tools/make_model_fixtures_gpt2_bert.py).
#include <cmath>
#include <filesystem>

#include "models/auto.h"
#include "models/generation/generate.h"
#include "models/tokenizers/auto_tokenizer.h"
#include "tests/harness.h"
#include "tests/models/json_fixture.h"

namespace glint::test {
namespace {

namespace fs = std::filesystem;
const fs::path kTinyChat = model_data_dir() / "tiny-chat";
const fs::path kBertTiny = model_data_dir() / "bert-tiny";
const fs::path kGguf = model_data_dir() / "../gguf";

// A folder, or any file inside it, gives the folder's tokenizer.
TEST(AutoApiTokenizer, FolderOrFileInItMatchesTokenizerFromPretrained) {
  const Tokenizer want = Tokenizer::from_pretrained(kTinyChat.string());
  const std::string text = "The quick brown fox jumps over the lazy dog";
  for (const fs::path& p : {kTinyChat, kTinyChat / "model.safetensors"}) {
    SCOPED_TRACE(p.string());
    const Tokenizer got = AutoTokenizer::from_pretrained(p.string());
    EXPECT_EQ(got.encode(text).ids, want.encode(text).ids);
    EXPECT_EQ(got.config().chat_template, want.config().chat_template);
  }
}

// A GGUF file's embedded tokenizer (ids from the fixture's vocabularies) and its special tokens.
TEST(AutoApiTokenizer, GgufFileCarriesItsTokenizer) {
  const Tokenizer bpe = AutoTokenizer::from_pretrained((kGguf / "tiny_llama_bpe.gguf").string());
  EXPECT_EQ(bpe.encode("hello world").ids, (std::vector<uint32_t>{38, 43}));
  EXPECT_EQ(bpe.config().eos_token, "<|im_end|>");
  const Tokenizer spm = AutoTokenizer::from_pretrained((kGguf / "tiny_llama_spm.gguf").string());
  EXPECT_EQ(spm.encode("hello world").ids, (std::vector<uint32_t>{1, 272, 277}));
  EXPECT_EQ(spm.config().bos_token, "<s>");
}

TEST(AutoApiTokenizer, MissingModelIsAnError) {
  EXPECT_GLINT_ERROR(AutoTokenizer::from_pretrained((kTinyChat / "nope").string()), "nope");
}

// AutoTokenizer + AutoModelForCausalLM + model.generate reproduce transformers' greedy completion.
TEST(AutoApiCausalLM, GenerateMemberMatchesTransformers) {
  const nlohmann::json fx = read_fixture(kTinyChat / "expected.json");
  const Tokenizer tokenizer = AutoTokenizer::from_pretrained(kTinyChat.string());
  const std::vector<uint32_t> prompt = tokenizer.encode(fx["prompt"].get<std::string>()).ids;
  EXPECT_EQ(std::vector<int64_t>(prompt.begin(), prompt.end()),
            fx["completion"]["prompt_ids"].get<std::vector<int64_t>>());
  GenerationOptions options;
  options.max_new_tokens = fx["max_new_tokens"];
  options.eos_token_ids = std::vector<int64_t>{};
  const std::vector<int64_t> want = fx["completion"]["ids"];
  for (Device device : test_devices()) {
    SCOPED_TRACE(device.str());
    const auto model = AutoModelForCausalLM::from_pretrained(kTinyChat.string(), {.device = device});
    const std::vector<uint32_t> ids = model->generate(prompt, options, &tokenizer);
    EXPECT_EQ(std::vector<int64_t>(ids.begin(), ids.end()), want);
    EXPECT_EQ(tokenizer.decode(ids, true), fx["completion"]["text"].get<std::string>());
    // The batch form is glint::generate() itself.
    const std::vector<int64_t> prompt64(prompt.begin(), prompt.end());
    EXPECT_EQ(model->generate({prompt64, prompt64}, options), (std::vector<std::vector<int64_t>>{want, want}));
  }
}

// AutoModel gives sentence-transformers' pooled, normalised embeddings; its BertModel the hidden states.
TEST(AutoApiModel, EncodeMatchesSentenceTransformers) {
  const nlohmann::json fx = read_fixture(kBertTiny / "expected_embeddings.json");
  const auto sentences = fx["sentences"].get<std::vector<std::string>>();
  const auto want = fx["embeddings"].get<std::vector<std::vector<float>>>();
  for (Device device : test_devices()) {
    SCOPED_TRACE(device.str());
    const auto model = AutoModel::from_pretrained(kBertTiny.string(), {.device = device});
    const Tensor got = model->encode(sentences);
    ASSERT_EQ(got.shape(), (Shape{int64_t(sentences.size()), model->dim()}));
    std::vector<float> flat;
    for (const auto& row : want) flat.insert(flat.end(), row.begin(), row.end());
    EXPECT_CLOSE(got, flat, Tol{1e-4, 0});
    EXPECT_EQ(model->model().device(), device);
  }
}

TEST(AutoApiModel, RejectsOtherArchitecturesAndDeviceMaps) {
  EXPECT_GLINT_ERROR(AutoModel::from_pretrained(kTinyChat.string()),
                     "model_type 'llama' is not supported by AutoModel (supported: bert)");
  EXPECT_GLINT_ERROR(AutoModel::from_pretrained(kBertTiny.string(), {.device_map = DeviceMap::balanced()}),
                     "does not support device maps");
}

}  // namespace
}  // namespace glint::test
