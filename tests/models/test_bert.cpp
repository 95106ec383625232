// BertModel against transformers on a tiny random checkpoint, and SentenceEmbedder against sentence-transformers on
// all-MiniLM-L6-v2 when its folder is found (tools/make_model_fixtures_gpt2_bert.py writes both).
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "models/bert/bert.h"
#include "models/bert/sentence_embedder.h"
#include "tests/harness.h"
#include "tests/models/json_fixture.h"

namespace glint::test {
namespace {

namespace fs = std::filesystem;
const auto kTiny = model_data_dir() / "bert-tiny";
constexpr Tol kHiddenTol{1e-4, 0};

TEST(Bert, HiddenStatesMatchTransformers) {
  const auto expected = read_fixture(kTiny / "expected.json");
  const Tensor ids = int_matrix(expected["input_ids"]);
  const Tensor mask = int_matrix(expected["attention_mask"]);
  const Tensor types = int_matrix(expected["token_type_ids"]);
  for (Device d : test_devices()) {
    SCOPED_TRACE(d.str());
    auto model = BertModel::from_pretrained(kTiny.string(), d);
    const Tensor h = model->forward(ids, mask, types);
    EXPECT_EQ(h.shape(), (Shape{2, 6, 32}));
    EXPECT_CLOSE(h, expected["last_hidden_state"].get<std::vector<float>>(), kHiddenTol);
    EXPECT_CLOSE(model->pool(h), expected["pooler_output"].get<std::vector<float>>(), kHiddenTol);
  }
}

TEST(Bert, PaddingDoesNotChangeRealTokens) {
  const Tensor ids = int_matrix(read_fixture(kTiny / "expected.json")["input_ids"]);
  const Tensor mask = Tensor::from_vector(std::vector<int64_t>{1, 1, 1, 0, 0, 0}, {1, 6}, DType::i64, Device::cpu());
  for (Device d : test_devices()) {
    SCOPED_TRACE(d.str());
    auto model = BertModel::from_pretrained(kTiny.string(), d);
    const Tensor row = ids.slice(0, 0, 1);
    const Tensor padded = model->forward(row, mask);
    const Tensor alone = model->forward(row.slice(1, 0, 3).contiguous());
    EXPECT_CLOSE(padded.slice(1, 0, 3), alone, kHiddenTol);
  }
}

// Embeds the fixture's sentences with the model in `dir` on every device (in batches of 4, so rows are padded to other
// lengths than in sentence-transformers' batch) and checks each against sentence-transformers' embedding.
void expect_embeddings_match(const fs::path& dir, const fs::path& fixture, int64_t dim) {
  const auto expected = read_fixture(fixture);
  const auto sentences = expected["sentences"].get<std::vector<std::string>>();
  const auto want = expected["embeddings"].get<std::vector<std::vector<float>>>();
  for (Device d : test_devices()) {
    SCOPED_TRACE(d.str());
    auto embedder = SentenceEmbedder::from_pretrained(dir.string(), d);
    ASSERT_EQ(embedder->dim(), dim);
    const Tensor got = embedder->embed(sentences, 4);
    ASSERT_EQ(got.shape(), (Shape{int64_t(sentences.size()), dim}));
    const auto g = got.to_f32();
    for (size_t i = 0; i < sentences.size(); ++i) {
      double dot = 0, ng = 0, nw = 0, max_diff = 0;
      for (int64_t j = 0; j < dim; ++j) {
        const double x = g[i * dim + j], y = want[i][j];
        dot += x * y;
        ng += x * x;
        nw += y * y;
        max_diff = std::max(max_diff, std::abs(x - y));
      }
      EXPECT_GE(dot / std::sqrt(ng * nw), 0.99999) << sentences[i];
      EXPECT_LE(max_diff, 1e-4) << sentences[i];
      EXPECT_NEAR(std::sqrt(ng), 1.0, 1e-5) << "normalised: " << sentences[i];
    }
  }
}

// Tokenizer, truncation to max_seq_length, padding, mean pooling and Normalize on the tiny random model.
TEST(SentenceEmbedder, TinyModelMatchesSentenceTransformers) {
  expect_embeddings_match(kTiny, kTiny / "expected_embeddings.json", 32);
}

// $GLINT_MINILM_DIR, else the folder the fixture script unpacks the model into.
fs::path minilm_dir() {
  if (const char* env = std::getenv("GLINT_MINILM_DIR")) return env;
  const char* home = std::getenv("HOME");
  return home ? fs::path(home) / ".cache/glint/all-MiniLM-L6-v2" : fs::path();
}

TEST(SentenceEmbedder, MiniLMMatchesSentenceTransformers) {
  const fs::path dir = minilm_dir();
  if (!fs::exists(dir / "model.safetensors"))
    GTEST_SKIP() << "all-MiniLM-L6-v2 not found at " << dir << " (run tools/make_model_fixtures_gpt2_bert.py)";
  expect_embeddings_match(dir, model_data_dir() / "all-MiniLM-L6-v2" / "expected_embeddings.json", 384);
}

// The glint binary of this build (beside the tests' folder), or an empty path when it was not built.
fs::path glint_binary() {
  const fs::path p = fs::read_symlink("/proc/self/exe").parent_path().parent_path() / "glint";
  return fs::exists(p) ? p : fs::path();
}

TEST(EmbedCli, PrintsTheEmbeddingsAsJson) {
  const fs::path glint = glint_binary();
  if (glint.empty()) GTEST_SKIP() << "the glint CLI is not built";
  const auto expected = read_fixture(kTiny / "expected_embeddings.json");
  const std::string cmd = glint.string() + " embed " + kTiny.string() + " --device cpu --text \"" +
                          expected["sentences"][0].get<std::string>() + "\" --text \"" +
                          expected["sentences"][1].get<std::string>() + "\"";
  FILE* p = popen(cmd.c_str(), "r");
  ASSERT_NE(p, nullptr);
  std::string out;
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  ASSERT_EQ(pclose(p), 0) << out;
  const auto j = nlohmann::json::parse(out);
  EXPECT_EQ(j["model"], kTiny.string());
  EXPECT_EQ(j["dim"], 32);
  ASSERT_EQ(j["embeddings"].size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_CLOSE(Tensor::from_vector(j["embeddings"][i].get<std::vector<float>>(), {32}, DType::f32, Device::cpu()),
                 expected["embeddings"][i].get<std::vector<float>>(), kHiddenTol);
  }
}

}  // namespace
}  // namespace glint::test
