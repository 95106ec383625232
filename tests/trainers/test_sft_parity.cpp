// A 100-step supervised fine-tuning run against transformers' Trainer (tools/make_sft_fixtures.py): same model, rows,
// data order and hyperparameters; the logged loss must be within 1% of transformers' at every logged step.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "models/auto.h"
#include "runtime/io/config.h"
#include "tests/models/json_fixture.h"
#include "trainers/trainer.h"

namespace glint::test {
namespace {
namespace fs = std::filesystem;

TEST(SftParity, HundredStepsTrackTransformersTrainer) {
  const fs::path dir = fs::path(__FILE__).parent_path() / "../data/training";
  const nlohmann::json fx = read_fixture(dir / "sft_run.json");
  std::vector<train::TokenizedRow> rows;
  for (const auto& r : fx["rows"]) rows.push_back({r["ids"].get<std::vector<int32_t>>(), r["labels"].get<std::vector<int32_t>>()});
  nlohmann::json args = fx["args"];
  const fs::path out = fs::temp_directory_path() / "glint-sft-parity";
  fs::remove_all(out);
  args["output_dir"] = out.string();
  args["save_steps"] = 0;
  const train::TrainingArguments ta = train::TrainingArguments::from_json(args, "sft_run.json");
  ModelLoadOptions lo;
  lo.device = Device::cpu();
  auto model = AutoModelForCausalLM::from_pretrained((model_data_dir() / "llama").string(), lo);
  const io::JsonFile config = io::load_json((model_data_dir() / "llama" / "config.json").string());
  train::Trainer trainer(*model, ta, rows, {}, config.json);
  trainer.train();

  std::ifstream metrics(out / "metrics.jsonl");
  std::vector<nlohmann::json> logged;
  for (std::string line; std::getline(metrics, line);) logged.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(logged.size(), fx["logged"].size());
  for (size_t i = 0; i < logged.size(); ++i) {
    const double want = fx["logged"][i]["loss"].get<double>(), got = logged[i]["loss"].get<double>();
    EXPECT_EQ(logged[i]["step"].get<int64_t>(), fx["logged"][i]["step"].get<int64_t>());
    EXPECT_NEAR(got, want, 0.01 * want) << "step " << logged[i]["step"];
  }
  fs::remove_all(out);
}

}  // namespace
}  // namespace glint::test
