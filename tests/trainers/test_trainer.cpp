// The Trainer and its data side: packing, collation, data order, training arguments, a short run that learns, its
// metrics, loss curve and checkpoints, and the SFT formats' labels.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "models/auto.h"
#include "runtime/io/config.h"
#include "runtime/ops/elementwise.h"
#include "runtime/ops/reduce.h"
#include "tests/harness.h"
#include "tests/models/json_fixture.h"
#include "trainers/sft.h"
#include "trainers/trainer.h"

namespace glint::test {
namespace {
namespace fs = std::filesystem;

fs::path data_dir() { return fs::path(__FILE__).parent_path() / "../data"; }

TEST(TrainBatches, PackCollateAndOrder) {
  const std::vector<train::TokenizedRow> rows{{{1, 2, 3}, {}}, {{4, 5}, {}}, {{6, 7, 8, 9}, {}}};
  const auto blocks = train::pack_rows(rows, 4, 0);  // 1 2 3 0 | 4 5 0 6 | 7 8 9 0
  ASSERT_EQ(blocks.size(), 3u);
  EXPECT_EQ(blocks[1].ids, (std::vector<int32_t>{4, 5, 0, 6}));
  EXPECT_EQ(blocks[1].labels, blocks[1].ids);
  EXPECT_EQ(train::pack_rows(rows, 5, -1).size(), 1u);  // 9 tokens: one block of 5, the rest dropped

  const train::TokenizedRow a{{1, 2, 3}, {-100, 2, 3}}, b{{4, 5}, {}};
  const train::Batch batch = train::collate({&a, &b}, 99);
  EXPECT_EQ(batch.input_ids.to_vector<int64_t>(), (std::vector<int64_t>{1, 2, 3, 4, 5, 99}));
  EXPECT_EQ(batch.labels.to_vector<int64_t>(), (std::vector<int64_t>{-100, 2, 3, 4, 5, -100}));
  EXPECT_EQ(batch.attention_mask.to_vector<int64_t>(), (std::vector<int64_t>{1, 1, 1, 1, 1, 0}));
  EXPECT_EQ(batch.tokens, 5);
  EXPECT_EQ(batch.targets, 3);  // 2, 3 and 5 are predicted; 4 is a first token

  EXPECT_EQ(train::epoch_order(10, 42, 0), train::epoch_order(10, 42, 0));
  EXPECT_NE(train::epoch_order(10, 42, 0), train::epoch_order(10, 42, 1));
}

TEST(TrainBatches, PackedExamplesDoNotSeeEachOther) {
  // Three examples packed into one row give the summed loss of the three run alone: positions restart and attention
  // never crosses an example (a leak would change the later examples' logits).
  const std::vector<train::TokenizedRow> examples{{{5, 9, 2, 7, 1}, {}}, {{3, 3, 8, 4}, {}}, {{6, 1, 0, 9, 2, 5}, {}}};
  const auto packed = train::pack_examples(examples, 16);
  ASSERT_EQ(packed.size(), 1u);
  EXPECT_EQ(packed[0].positions, (std::vector<int32_t>{0, 1, 2, 3, 4, 0, 1, 2, 3, 0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(packed[0].labels[5], -100);  // nothing predicts an example's first token from the one before
  EXPECT_EQ(train::pack_examples(examples, 9).size(), 2u);  // 5 + 4 fill a row; the 6 start the next
  CrossEntropyOptions sum;
  sum.normalizer = 1.0;
  for (const Device& device : test_devices()) {
    ModelLoadOptions lo;
    lo.device = device;
    auto model = AutoModelForCausalLM::from_pretrained((model_data_dir() / "llama").string(), lo);
    double alone = 0;
    for (const auto& e : examples) {
      const train::Batch b = train::collate({&e}, 0);
      alone += model->loss(b.input_ids, b.labels, b.attention_mask, sum).to_f32()[0];
    }
    const train::TokenizedRow short_row{{4, 4}, {}};  // a second, shorter row: padding under the packed one
    const train::Batch b = train::collate({&packed[0], &short_row}, 0);
    ASSERT_EQ(b.attention_mask.ndim(), 4);
    const double together = model->loss(b.input_ids, b.labels, b.attention_mask, sum, b.position_ids).to_f32()[0];
    const double short_loss = [&] {
      const train::Batch s = train::collate({&short_row}, 0);
      return double(model->loss(s.input_ids, s.labels, s.attention_mask, sum).to_f32()[0]);
    }();
    EXPECT_NEAR(together, alone + short_loss, 1e-4 * (alone + short_loss)) << device.str();
  }
}

TEST(TrainArguments, FromJson) {
  const auto a = train::TrainingArguments::from_json(
      {{"output_dir", "x"}, {"learning_rate", 1e-3}, {"report_to", "none"}, {"max_steps", 5}}, "args.json");
  EXPECT_EQ(a.learning_rate, 1e-3);
  EXPECT_EQ(a.max_steps, 5);
  EXPECT_EQ(a.lr_scheduler_type, "linear");
  EXPECT_EQ(train::TrainingArguments::from_json(a.to_json(), "roundtrip").to_json(), a.to_json());
  EXPECT_GLINT_ERROR(train::TrainingArguments::from_json({{"learning_rat", 1e-3}}, "args.json"),
                     "[train] args.json: unknown training argument 'learning_rat'");
  EXPECT_GLINT_ERROR(train::TrainingArguments::from_json({{"max_steps", "ten"}}, "args.json"),
                     "[train] args.json: max_steps:");
}

TEST(Trainer, ShortRunLearnsAndWritesItsRecords) {
  const fs::path out = fs::temp_directory_path() / "glint-trainer-test";
  fs::remove_all(out);
  // Memorise 6 fixed sequences: the loss must fall far below log(vocab) = 4.85.
  std::vector<train::TokenizedRow> rows;
  for (int r = 0; r < 6; ++r) {
    train::TokenizedRow row;
    for (int i = 0; i < 12; ++i) row.ids.push_back((r * 7 + i * 3) % 128);
    rows.push_back(row);
  }
  train::TrainingArguments args;
  args.output_dir = out.string();
  args.max_steps = 60;
  args.per_device_train_batch_size = 3;
  args.learning_rate = 1e-2;
  args.warmup_steps = 5;
  args.logging_steps = 10;
  args.save_steps = 20;
  args.save_total_limit = 2;
  const io::JsonFile config = io::load_json((model_data_dir() / "llama" / "config.json").string());
  ModelLoadOptions lo;
  lo.device = Device::cpu();
  auto model = AutoModelForCausalLM::from_config(config, lo, 7);
  train::Trainer trainer(*model, args, rows, rows, config.json);
  const double before = trainer.evaluate();
  EXPECT_NEAR(before, std::log(128.0), 0.3);
  const train::TrainResult r = trainer.train();
  EXPECT_EQ(r.global_step, 60);
  ASSERT_TRUE(r.eval_loss.has_value());
  EXPECT_LT(*r.eval_loss, 1.0);
  EXPECT_LT(r.last_loss, before / 2);

  std::ifstream metrics(out / "metrics.jsonl");
  int lines = 0, evals = 0;
  for (std::string line; std::getline(metrics, line); ++lines) {
    const auto j = nlohmann::json::parse(line);
    evals += j.contains("eval_loss");
    if (j.contains("loss")) EXPECT_GT(j["tokens_per_second"].get<double>(), 0);
  }
  EXPECT_EQ(lines, 7);  // 6 training logs and the final eval
  EXPECT_EQ(evals, 1);
  EXPECT_TRUE(fs::exists(out / "loss.svg"));
  EXPECT_TRUE(fs::exists(out / "model.safetensors"));
  EXPECT_FALSE(fs::exists(out / "checkpoint-20"));  // save_total_limit 2 keeps 40 and 60
  EXPECT_TRUE(fs::exists(out / "checkpoint-40" / "optimizer.safetensors"));
  EXPECT_EQ(train::latest_checkpoint(out.string()), (out / "checkpoint-60").string());

  // The saved model loads back with the trained weights.
  auto reloaded = AutoModelForCausalLM::from_pretrained(out.string(), lo);
  train::Trainer again(*reloaded, args, rows, rows, config.json);
  EXPECT_NEAR(again.evaluate(), *r.eval_loss, 1e-5);
  fs::remove_all(out);
}

// A RowsLossFn's metrics are logged as their mean over the logging window, skipping NaN ("does not apply"), as TRL
// averages its own between two logs.
TEST(Trainer, RowsLossMetricsAreWindowMeans) {
  const fs::path out = fs::temp_directory_path() / ("glint-trainer-metrics-" + std::to_string(::getpid()));
  fs::remove_all(out);
  nn::ParameterStore store;
  Tensor w = Tensor::from_vector(std::vector<float>{0.5f, -1.f}, {2}, DType::f32, Device::cpu());
  store.add("w", w);
  train::TrainingArguments args;
  args.output_dir = out.string();
  args.max_steps = 4;
  args.logging_steps = 2;
  args.per_device_train_batch_size = 1;
  int step = 0;
  train::Trainer trainer(
      store, args, 4,
      [&](const std::vector<size_t>&) {
        ++step;
        train::RowsLoss r;
        r.loss = sum_all(w * w);
        r.metrics["call"] = step;
        r.metrics["even_only"] = step % 2 ? std::nan("") : 10.0 * step;
        return r;
      },
      nlohmann::json::object());
  trainer.train();
  std::ifstream metrics(out / "metrics.jsonl");
  std::vector<nlohmann::json> logs;
  for (std::string line; std::getline(metrics, line);) logs.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(logs.size(), 2u);
  EXPECT_DOUBLE_EQ(logs[0]["call"].get<double>(), 1.5);
  EXPECT_DOUBLE_EQ(logs[1]["call"].get<double>(), 3.5);
  EXPECT_DOUBLE_EQ(logs[0]["even_only"].get<double>(), 20.0);
  EXPECT_DOUBLE_EQ(logs[1]["even_only"].get<double>(), 40.0);
  fs::remove_all(out);
}

TEST(SftFormats, LabelsFollowTheFormat) {
  const Tokenizer tok = Tokenizer::from_pretrained((model_data_dir() / "tiny-chat").string());
  train::SftOptions o;
  auto prompt = train::sft_tokenize_fn(tok, train::SftFormat::prompt_completion,
                                       o)({{{"prompt", "Hello"}, {"completion", " world"}}})[0];
  const size_t n_prompt = tok.encode("Hello", false).ids.size();
  ASSERT_GT(prompt.ids.size(), n_prompt);
  for (size_t i = 0; i < prompt.ids.size(); ++i) EXPECT_EQ(prompt.labels[i], i < n_prompt ? -100 : prompt.ids[i]) << i;

  o.assistant_only_loss = true;
  const datasets::Value chat = {
      {"messages", nlohmann::ordered_json::array(
                       {{{"role", "user"}, {"content", "Hi"}}, {{"role", "assistant"}, {"content", "Yo"}}})}};
  auto conv = train::sft_tokenize_fn(tok, train::SftFormat::messages, o)({chat})[0];
  const std::string user_part = tok.apply_chat_template(nlohmann::ordered_json::array({chat["messages"][0]}), false);
  const size_t n_user = tok.encode(user_part, false).ids.size();
  size_t masked = 0;
  for (int32_t l : conv.labels) masked += l == -100;
  EXPECT_EQ(masked, n_user);
  EXPECT_GT(conv.ids.size(), n_user);

  const auto ds = datasets::Dataset::from_rows({{{"question", "x"}}});
  EXPECT_GLINT_ERROR(train::detect_sft_format(ds, {}), "[sft] no SFT format fits the columns (question)");
}

}  // namespace
}  // namespace glint::test
