// BertModel against transformers on a tiny random checkpoint, and SentenceEmbedder against sentence-transformers on
// all-MiniLM-L6-v2 when its folder is found (tools/make_model_fixtures_gpt2_bert.py writes both).
#include <cmath>
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
  const auto expected = read_fixture(model_data_dir() / "all-MiniLM-L6-v2" / "expected_embeddings.json");
  const auto sentences = expected["sentences"].get<std::vector<std::string>>();
  const auto want = expected["embeddings"].get<std::vector<std::vector<float>>>();
  for (Device d : test_devices()) {
    SCOPED_TRACE(d.str());
    auto embedder = SentenceEmbedder::from_pretrained(dir.string(), d);
    ASSERT_EQ(embedder->dim(), 384);
    // Batches of 4: rows padded to different lengths than sentence-transformers' batches.
    const Tensor got = embedder->embed(sentences, 4);
    ASSERT_EQ(got.shape(), (Shape{int64_t(sentences.size()), 384}));
    const auto g = got.to_f32();
    for (size_t i = 0; i < sentences.size(); ++i) {
      double dot = 0, ng = 0, nw = 0;
      for (size_t j = 0; j < 384; ++j) {
        dot += double(g[i * 384 + j]) * want[i][j];
        ng += double(g[i * 384 + j]) * g[i * 384 + j];
        nw += double(want[i][j]) * want[i][j];
      }
      EXPECT_GE(dot / std::sqrt(ng * nw), 0.99999) << sentences[i];
      EXPECT_NEAR(std::sqrt(ng), 1.0, 1e-5) << "normalised: " << sentences[i];
    }
  }
}

}  // namespace
}  // namespace glint::test
