// GPT2LMHeadModel against transformers on a tiny random checkpoint (tools/make_model_fixtures_gpt2_bert.py):
// logits, KV-cache decoding and greedy generation, on every device.
#include "models/auto.h"
#include "models/gpt2/gpt2.h"
#include "runtime/ops/reduce.h"
#include "tests/harness.h"
#include "tests/models/json_fixture.h"

namespace glint::test {
namespace {

const auto kDir = model_data_dir() / "gpt2-tiny";
constexpr Tol kLogitTol{1e-4, 0};

TEST(GPT2, LogitsMatchTransformers) {
  const auto expected = read_fixture(kDir / "expected.json");
  const Tensor ids = int_matrix(expected["input_ids"]);
  const auto want = expected["logits"].get<std::vector<float>>();
  for (Device d : test_devices()) {
    SCOPED_TRACE(d.str());
    auto model = GPT2LMHeadModel::from_pretrained(kDir.string(), d);
    const Tensor logits = model->forward(ids, {}, {}, nullptr);
    EXPECT_EQ(logits.shape(), (Shape{ids.dim(0), ids.dim(1), 96}));
    EXPECT_CLOSE(logits, want, kLogitTol);
    const Tensor last = model->forward(ids, {}, {}, nullptr, /*last_only=*/true);
    EXPECT_CLOSE(last, logits.slice(1, ids.dim(1) - 1, ids.dim(1)), kLogitTol);
  }
}

TEST(GPT2, AutoModelLoadsIt) {
  const auto expected = read_fixture(kDir / "expected.json");
  auto model = AutoModelForCausalLM::from_pretrained(kDir.string(), {.device = Device::cpu()});
  ASSERT_NE(dynamic_cast<GPT2LMHeadModel*>(model.get()), nullptr);
  EXPECT_EQ(model->config().vocab_size, 96);
  EXPECT_EQ(model->config().eos_token_ids, std::vector<int64_t>{95});
  EXPECT_CLOSE(model->forward(int_matrix(expected["input_ids"]), {}, {}, nullptr),
               expected["logits"].get<std::vector<float>>(), kLogitTol);
}

TEST(GPT2, CachedDecodingEqualsFullRecompute) {
  const Tensor ids = int_matrix(read_fixture(kDir / "expected.json")["input_ids"]);
  const int64_t T = ids.dim(1);
  for (Device d : test_devices()) {
    SCOPED_TRACE(d.str());
    auto model = GPT2LMHeadModel::from_pretrained(kDir.string(), d);
    const Tensor full = model->forward(ids, {}, {}, nullptr);
    KVCache cache = model->new_cache(ids.dim(0), T + 4);
    const Tensor prefix = model->forward(ids.slice(1, 0, 4), {}, {}, &cache);
    EXPECT_CLOSE(prefix, full.slice(1, 0, 4), kLogitTol);
    for (int64_t t = 4; t < T; ++t) {
      const Tensor step = model->forward(ids.slice(1, t, t + 1), {}, {}, &cache);
      EXPECT_CLOSE(step, full.slice(1, t, t + 1), kLogitTol);
    }
    EXPECT_EQ(cache.length, T);
  }
}

TEST(GPT2, GreedyGenerationMatchesTransformers) {
  const auto expected = read_fixture(kDir / "expected.json");
  const auto prompt = expected["prompt"].get<std::vector<int64_t>>();
  const auto want = expected["generated"].get<std::vector<int64_t>>();
  for (Device d : test_devices()) {
    SCOPED_TRACE(d.str());
    auto model = GPT2LMHeadModel::from_pretrained(kDir.string(), d);
    KVCache cache = model->new_cache(1, int64_t(want.size()));
    std::vector<int64_t> tokens = prompt;
    Tensor input = Tensor::from_vector(prompt, {1, int64_t(prompt.size())}, DType::i64, Device::cpu());
    while (tokens.size() < want.size()) {
      const Tensor logits = model->forward(input, {}, {}, &cache, /*last_only=*/true);
      const int64_t next = argmax(logits, -1).to(Device::cpu()).to_vector<int64_t>()[0];
      tokens.push_back(next);
      input = Tensor::from_vector(std::vector<int64_t>{next}, {1, 1}, DType::i64, Device::cpu());
    }
    EXPECT_EQ(tokens, want);
  }
}

TEST(GPT2, LeftPaddedBatchMatchesUnpadded) {
  const Tensor ids = int_matrix(read_fixture(kDir / "expected.json")["input_ids"]);
  const int64_t T = ids.dim(1);
  // Row 1 left-padded by two tokens, with positions counted from its first real token as generate() does.
  const Tensor mask = Tensor::from_vector(std::vector<int64_t>{1, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1}, {2, T},
                                          DType::i64, Device::cpu());
  const Tensor pos = Tensor::from_vector(std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 0, 0, 0, 1, 2, 3, 4}, {2, T},
                                         DType::i64, Device::cpu());
  for (Device d : test_devices()) {
    SCOPED_TRACE(d.str());
    auto model = GPT2LMHeadModel::from_pretrained(kDir.string(), d);
    const Tensor padded = model->forward(ids, mask, pos, nullptr);
    const Tensor alone = model->forward(ids.slice(0, 1, 2).slice(1, 2, T).contiguous(), {}, {}, nullptr);
    EXPECT_CLOSE(padded.slice(0, 1, 2).slice(1, 2, T), alone, kLogitTol);
  }
}

}  // namespace
}  // namespace glint::test
