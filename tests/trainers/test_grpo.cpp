// GRPO against TRL (tools/make_grpo_fixtures.py): one micro-batch's loss, metrics and every parameter's gradient for
// each loss type (on-policy; and with old log-probs off the policy, as num_iterations > 1 gives, and beta > 0), on
// the CPU and every Vulkan device; the group-normalised advantages; the reward functions; the batch layout; and
// GrpoTrainer running a few steps end to end (sampling, rewards, LoRA reference, old log-probs, metrics, resume).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>

#include "models/auto.h"
#include "models/peft/lora.h"
#include "runtime/io/checkpoint.h"
#include "runtime/io/config.h"
#include "tests/harness.h"
#include "tests/models/json_fixture.h"
#include "tests/trainers/alignment_fixture.h"
#include "trainers/alignment/grpo.h"

namespace glint::test {
namespace {

using namespace glint::train::alignment;
namespace fs = std::filesystem;

fs::path grpo_dir() { return fs::path(__FILE__).parent_path() / "../data/grpo"; }
fs::path repo_root() { return fs::path(__FILE__).parent_path() / "../.."; }

// The default model's tokenizer; the tiny Llama's config.json (tests/data/training/tiny-lm), and that model at random
// init on the CPU from `seed`.
Tokenizer default_tokenizer() { return Tokenizer::from_pretrained((repo_root() / "models/default").string()); }
io::JsonFile tiny_config() { return io::load_json((repo_root() / "tests/data/training/tiny-lm/config.json").string()); }
std::unique_ptr<CausalLM> tiny_policy(uint64_t seed) {
  ModelLoadOptions lo;
  lo.device = Device::cpu();
  return AutoModelForCausalLM::from_config(tiny_config(), lo, seed);
}

Tensor float_matrix(const nlohmann::json& rows, Device device) {
  std::vector<float> v;
  for (const auto& r : rows)
    for (const auto& x : r) v.push_back(x.get<float>());
  return Tensor::from_vector(v, {int64_t(rows.size()), int64_t(rows[0].size())}, DType::f32, device);
}

class GrpoParity : public ::testing::TestWithParam<std::string> {};

TEST_P(GrpoParity, LossMetricsAndGradientsMatchTrl) {
  const nlohmann::json fx = read_fixture(grpo_dir() / (GetParam() + ".json"));
  const auto expected = io::Checkpoint::open((grpo_dir() / (GetParam() + ".safetensors")).string());
  GrpoConfig config;
  config.loss_type = parse_grpo_loss_type(fx["loss_type"]);
  config.beta = fx["beta"];
  config.epsilon = fx["epsilon"];
  config.epsilon_high = fx["epsilon_high"].get<double>();
  config.max_completion_length = fx["max_completion_length"];
  for (const Device& device : test_devices()) {
    SCOPED_TRACE(device.str());
    auto model = load_trainable_llama(device);
    GrpoBatch b;
    b.input_ids = int_matrix(fx["input_ids"]);
    b.attention_mask = int_matrix(fx["attention_mask"]);
    b.completion_mask = float_matrix(fx["completion_mask"], device);
    const std::vector<float> adv = fx["advantages"].get<std::vector<float>>();
    b.advantages = Tensor::from_vector(adv, {int64_t(adv.size())}, DType::f32, device);
    if (!fx["old_logps"].is_null()) b.old_logps = float_matrix(fx["old_logps"], device);
    if (!fx["ref_logps"].is_null()) b.ref_logps = float_matrix(fx["ref_logps"], device);
    b.num_items_in_batch = fx["num_items_in_batch"];
    b.steps_per_generation = fx["steps_per_generation"];
    Tensor entropy;
    const Tensor logps = completion_logprobs(*model, b, fx["temperature"], &entropy);
    const LossOutput out = grpo_loss(logps, b, config, entropy);
    const double want = fx["loss"];
    EXPECT_NEAR(out.loss.to_f32()[0], want, 1e-5 * std::fabs(want));
    EXPECT_EQ(out.metrics.size(), fx["metrics"].size());
    ASSERT_NO_FATAL_FAILURE(expect_metrics_match(out.metrics, fx["metrics"]));
    out.loss.backward();
    ASSERT_NO_FATAL_FAILURE(expect_gradients_match(model->parameters(), *expected, 0));
  }
}

INSTANTIATE_TEST_SUITE_P(Grpo, GrpoParity, ::testing::Values("grpo_on_policy", "grpo", "bnpo", "dr_grpo", "dapo"));

TEST(GrpoAdvantages, MatchTrlForEveryScaling) {
  const nlohmann::json fx = read_fixture(grpo_dir() / "advantages.json");
  for (const auto& c : fx["cases"]) {
    SCOPED_TRACE(c["scale_rewards"].get<std::string>());
    std::vector<std::vector<double>> rewards;
    for (const auto& row : c["rewards"]) {
      rewards.emplace_back();
      for (const auto& x : row) rewards.back().push_back(x.is_null() ? std::nan("") : x.get<double>());
    }
    const GroupAdvantages got =
        group_advantages(rewards, c["names"].get<std::vector<std::string>>(), c["weights"].get<std::vector<double>>(),
                         c["num_generations"].get<int64_t>(), parse_scale_rewards(c["scale_rewards"]));
    const std::vector<double> want = c["advantages"];
    ASSERT_EQ(got.advantages.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) EXPECT_NEAR(got.advantages[i], want[i], 1e-5) << i;
    for (const auto& [key, value] : c["metrics"].items()) {
      ASSERT_TRUE(got.metrics.count(key)) << key;
      EXPECT_NEAR(got.metrics.at(key), value.get<double>(), 1e-5) << key;
    }
  }
  EXPECT_GLINT_ERROR(group_advantages({{1.0}, {0.0}, {1.0}}, {"r"}, {}, 2, ScaleRewards::group), "groups of 2");
  EXPECT_GLINT_ERROR(parse_grpo_loss_type("ppo"), "not supported");
  EXPECT_GLINT_ERROR(parse_scale_rewards("row"), "not supported");
}

TEST(GrpoRewards, BuiltInsScoreAsDocumented) {
  const nlohmann::json row = {{"answer", "42"}, {"n", 7}};
  const std::vector<int64_t> ids(5, 3);
  const auto score = [&](const RewardFunction& f, std::string_view completion) {
    return f.fn(RewardSample{"q", completion, ids, row});
  };
  const RewardFunction exact = parse_reward("exact_match:answer");
  EXPECT_EQ(exact.name, "exact_match");
  EXPECT_EQ(score(exact, " 42\n"), 1.0);
  EXPECT_EQ(score(exact, "42."), 0.0);
  EXPECT_EQ(score(exact_match_reward("n"), "7"), 1.0);  // numbers compare as JSON writes them
  EXPECT_GLINT_ERROR(score(exact_match_reward("missing"), "1"), "no column 'missing'");
  const RewardFunction format = parse_reward("format:<think>.*?</think>\\s*\\d+$");
  EXPECT_EQ(score(format, "<think>a\nb</think> 12"), 1.0);  // '.' crosses lines (DOTALL)
  EXPECT_EQ(score(format, "x<think>a</think>1"), 0.0);      // anchored at the start, as re.match
  EXPECT_GLINT_ERROR(parse_reward("format:(unclosed"), "does not compile");
  EXPECT_EQ(score(length_reward(10, 4), ""), 0.0);   // 5 tokens <= 10 - 4
  EXPECT_EQ(score(length_reward(6, 4), ""), -0.75);  // (6 - 4 - 5) / 4
  EXPECT_EQ(score(length_reward(4, 2), ""), -1.0);   // beyond max
  EXPECT_EQ(parse_reward("length:10").name, "length");
  EXPECT_GLINT_ERROR(parse_reward("length:x"), "not a token count");
  EXPECT_GLINT_ERROR(parse_reward("bleu:answer"), "is not a reward");
  const std::vector<std::vector<double>> all = score_rewards(
      {exact, format}, {RewardSample{"q", "42", ids, row}, RewardSample{"q", "<think></think>1", ids, row}});
  EXPECT_EQ(all, (std::vector<std::vector<double>>{{1.0, 0.0}, {0.0, 1.0}}));
}

// TRL's layout: prompts left-padded, completions right-padded; a masked row's completion is neither attended nor
// scored.
TEST(GrpoData, CollateLeftPadsPromptsAndRightPadsCompletions) {
  const std::vector<int64_t> p0{5, 6}, p1{7}, c0{8}, c1{9, 10, 11};
  const GrpoBatch b = collate_grpo({&p0, &p1}, {&c0, &c1}, 0, Device::cpu(), {false, true});
  EXPECT_EQ(b.input_ids.to_vector<int64_t>(), (std::vector<int64_t>{5, 6, 8, 0, 0, 0, 7, 9, 10, 11}));
  EXPECT_EQ(b.attention_mask.to_vector<int64_t>(), (std::vector<int64_t>{1, 1, 1, 0, 0, 0, 1, 0, 0, 0}));
  EXPECT_EQ(b.completion_mask.to_f32(), (std::vector<float>{1, 0, 0, 0, 0, 0}));
  EXPECT_EQ(b.tokens, 4);
  EXPECT_GLINT_ERROR(collate_grpo({&p0}, {&c0, &c1}, 0, Device::cpu()), "as many completions");
}

// Plain-text prompts get the tokenizer's special tokens; chat messages go through the chat template with the
// generation prompt (and no added special tokens); the other columns stay for the rewards.
TEST(GrpoData, ReadsPlainAndChatPrompts) {
  const Tokenizer tok = Tokenizer::from_pretrained((model_data_dir() / "tiny-chat").string());
  const fs::path dir = scratch_dir("glint_grpo_prompts");
  fs::create_directories(dir);
  std::ofstream(dir / "plain.jsonl") << R"({"prompt": "2 plus 3 is", "answer": 5})"
                                     << "\n";
  std::ofstream(dir / "chat.jsonl") << R"({"prompt": [{"role": "user", "content": "2 plus 3?"}], "answer": 5})"
                                    << "\n";
  const std::vector<PromptRow> plain = read_prompt_jsonl((dir / "plain.jsonl").string(), tok);
  ASSERT_EQ(plain.size(), 1u);
  EXPECT_EQ(plain[0].prompt, "2 plus 3 is");
  const std::vector<uint32_t> want_plain = tok.encode("2 plus 3 is", true).ids;
  EXPECT_EQ(plain[0].ids, std::vector<int64_t>(want_plain.begin(), want_plain.end()));
  EXPECT_EQ(plain[0].row["answer"], 5);
  const std::vector<PromptRow> chat = read_prompt_jsonl((dir / "chat.jsonl").string(), tok, 3);
  ASSERT_EQ(chat.size(), 1u);
  EXPECT_EQ(chat[0].prompt, "<|im_start|>user\n2 plus 3?<|im_end|>\n<|im_start|>assistant\n");
  const std::vector<uint32_t> want_chat = tok.encode(chat[0].prompt, false).ids;
  ASSERT_GT(want_chat.size(), 3u);
  EXPECT_EQ(chat[0].ids, std::vector<int64_t>(want_chat.end() - 3, want_chat.end()));  // the last max_prompt_length
  std::ofstream(dir / "bad.jsonl") << R"({"question": "2 plus 3 is"})"
                                   << "\n";
  EXPECT_GLINT_ERROR(read_prompt_jsonl((dir / "bad.jsonl").string(), tok), "column 'prompt'");
  fs::remove_all(dir);
}

// A few GRPO steps on a tiny random Llama with the default tokenizer, LoRA adapters and the base (adapters off) as
// the KL reference: completions are sampled in the loop, scored, and the second pass over the generation batch
// (num_iterations 2) sees old log-probs off the updated policy. The base weights stay as they were.
TEST(GrpoTrainer, StepsWithLoraLogTrlMetricsAndResume) {
  const Tokenizer tok = default_tokenizer();
  auto policy = tiny_policy(7);
  const std::vector<float> base_before = policy->parameters().at("model.layers.0.self_attn.q_proj.weight").to_f32();
  peft::LoraModel lora(*policy);
  peft::LoraConfig lc;
  lc.r = 4;
  lc.lora_alpha = 8;
  lc.all_linear = true;
  lc.init = peft::LoraInit::random;  // B != 0: the adapted policy differs from the reference at once
  lora.add_adapter("default", lc, 3);
  nn::ParameterStore adapters;
  for (auto [name, t] : lora.parameters("default")) adapters.add(name, t);

  std::vector<PromptRow> prompts;
  for (int i = 0; i < 4; ++i) {
    PromptRow r;
    r.prompt = std::to_string(i) + " plus " + std::to_string(i) + " is";
    const Encoding e = tok.encode(r.prompt, true);
    r.ids.assign(e.ids.begin(), e.ids.end());
    r.row = {{"prompt", r.prompt}, {"answer", std::to_string(2 * i)}};
    prompts.push_back(std::move(r));
  }
  // A callback with spread, so advantages are not all zero: longer texts score higher.
  const RewardFunction chars{"chars", [](const RewardSample& s) { return double(s.completion.size()) / 10.0; }};
  GrpoConfig gc;
  gc.num_generations = 4;
  gc.max_completion_length = 6;
  gc.beta = 0.1;
  gc.num_iterations = 2;
  gc.loss_type = GrpoLossType::grpo;
  gc.reward_weights = {1.0, 0.5};
  train::TrainingArguments args;
  args.output_dir = scratch_dir("glint_grpo_trainer").string();
  fs::remove_all(args.output_dir);
  args.per_device_train_batch_size = 8;  // completions: two prompts' groups per micro-batch
  args.max_steps = 3;
  args.learning_rate = 1e-2;
  args.logging_steps = 1;
  args.save_steps = 2;
  {
    GrpoTrainer trainer(*policy, Reference(lora), tok, prompts, {parse_reward("exact_match:answer"), chars}, gc, args,
                        adapters, tiny_config().json);
    EXPECT_EQ(trainer.total_steps(), 3);
    const train::TrainResult r = trainer.train();
    EXPECT_EQ(r.global_step, 3);
  }
  const std::vector<nlohmann::json> records = read_metrics(args.output_dir);
  ASSERT_EQ(records.size(), 3u);
  for (const nlohmann::json& rec : records) {
    for (const char* key : {"loss", "reward", "reward_std", "rewards/exact_match/mean", "rewards/chars/mean", "kl",
                            "entropy", "completions/mean_length", "clip_ratio/region_mean", "frac_reward_zero_std"})
      ASSERT_TRUE(rec.contains(key)) << key << " in " << rec.dump();
    EXPECT_TRUE(std::isfinite(rec["loss"].get<double>()));
    EXPECT_GT(rec["completions/mean_length"].get<double>(), 0.0);
    EXPECT_LE(rec["completions/max_length"].get<double>(), 6.0);
    EXPECT_GT(rec["generation/tokens_per_second"].get<double>(), 0.0);
    EXPECT_GT(rec["reward_std"].get<double>(), 0.0);
    EXPECT_GT(rec["kl"].get<double>(), 0.0);  // randomly initialised adapters move the policy off the base
  }
  // Step 2 re-uses step 1's completions (num_iterations 2) with old log-probs from before step 1's update.
  EXPECT_EQ(records[0]["reward"], records[1]["reward"]);
  EXPECT_NE(records[1]["reward"], records[2]["reward"]);
  EXPECT_EQ(policy->parameters().at("model.layers.0.self_attn.q_proj.weight").to_f32(), base_before);
  EXPECT_TRUE(fs::exists(fs::path(args.output_dir) / "reward.svg"));

  // Resuming from the step-2 checkpoint runs step 3 again on a fresh generation batch, as TRL does.
  fs::remove_all(fs::path(args.output_dir) / "checkpoint-3");
  GrpoTrainer again(*policy, Reference(lora), tok, prompts, {parse_reward("exact_match:answer"), chars}, gc, args,
                    adapters, tiny_config().json);
  EXPECT_EQ(again.train("latest").global_step, 3);
  const std::vector<nlohmann::json> resumed = read_metrics(args.output_dir);
  ASSERT_EQ(resumed.size(), 3u);
  // Sampling is seeded by the generation batch's index and the weights are restored: the same completions again.
  EXPECT_EQ(resumed[2]["reward"], records[2]["reward"]);
  EXPECT_EQ(resumed[2]["completions/mean_length"], records[2]["completions/mean_length"]);
  fs::remove_all(args.output_dir);
}

// The direction of learning: on a random tiny Llama, a reward for completion tokens from the lower half of the
// vocabulary (about 0.5 at the start) rises clearly within 30 steps (to about 0.97 here).
TEST(GrpoTrainer, RaisesTheRewardOnAToyTask) {
  const Tokenizer tok = default_tokenizer();
  auto policy = tiny_policy(11);
  std::vector<PromptRow> prompts;
  for (int64_t i = 0; i < 8; ++i) prompts.push_back({"p", {5 + i, 9}, {{"prompt", "p"}}});
  const RewardFunction low{"low_half", [](const RewardSample& s) {
                             double n = 0;
                             for (int64_t id : s.completion_ids) n += id < 1024 ? 1.0 : 0.0;
                             return n / double(s.completion_ids.size());
                           }};
  GrpoConfig gc;
  gc.num_generations = 8;
  gc.max_completion_length = 4;
  gc.loss_type = GrpoLossType::grpo;
  gc.temperature = 0.3;  // sampling (and scoring) sharpened: a few likely tokens per step, not 2048 near-equal ones
  train::TrainingArguments args;
  args.output_dir = scratch_dir("glint_grpo_toy").string();
  fs::remove_all(args.output_dir);
  args.per_device_train_batch_size = 16;
  args.max_steps = 30;
  args.learning_rate = 1e-2;
  args.logging_steps = 1;
  args.save_steps = 0;
  GrpoTrainer trainer(*policy, std::nullopt, tok, prompts, {low}, gc, args, policy->parameters(), tiny_config().json);
  trainer.train();
  const std::vector<nlohmann::json> records = read_metrics(args.output_dir);
  ASSERT_EQ(records.size(), 30u);
  double first = 0, last = 0;
  for (size_t i = 0; i < 5; ++i) first += records[i]["reward"].get<double>() / 5;
  for (size_t i = 25; i < 30; ++i) last += records[i]["reward"].get<double>() / 5;
  EXPECT_GT(last, first + 0.2) << "first steps " << first << ", last steps " << last;
  fs::remove_all(args.output_dir);
}

// QLoRA: the base's Linear layers frozen in NF4, LoRA adapters trained, the KL reference the 4-bit base with the
// adapters off; a couple of steps move only the adapters.
TEST(GrpoTrainer, StepsWithQLora) {
  const Tokenizer tok = default_tokenizer();
  ModelLoadOptions lo;
  lo.device = Device::cpu();
  lo.load_in_4bit = true;
  auto policy = AutoModelForCausalLM::from_pretrained((model_data_dir() / "llama").string(), lo);
  peft::LoraModel lora(*policy);
  peft::LoraConfig lc;
  lc.r = 4;
  lc.all_linear = true;
  lc.init = peft::LoraInit::random;
  lora.add_adapter("default", lc, 5);
  nn::ParameterStore adapters;
  std::vector<std::vector<float>> before;
  for (auto [name, t] : lora.parameters("default")) {
    adapters.add(name, t);
    before.push_back(t.to_f32());
  }
  std::vector<PromptRow> prompts;  // ids below the tiny model's 128-token vocabulary
  for (int64_t i = 0; i < 4; ++i) prompts.push_back({"p", {1, 10 + i, 20 + i}, {{"prompt", "p"}}});
  const RewardFunction low{"low", [](const RewardSample& s) { return s.completion_ids.front() < 64 ? 1.0 : 0.0; }};
  GrpoConfig gc;
  gc.num_generations = 4;
  gc.max_completion_length = 3;
  gc.beta = 0.1;
  gc.loss_type = GrpoLossType::bnpo;
  train::TrainingArguments args;
  args.output_dir = scratch_dir("glint_grpo_qlora").string();
  fs::remove_all(args.output_dir);
  args.per_device_train_batch_size = 8;
  args.max_steps = 2;
  args.learning_rate = 1e-2;
  args.logging_steps = 1;
  args.save_steps = 0;
  GrpoTrainer trainer(*policy, Reference(lora), tok, prompts, {low}, gc, args, adapters, nlohmann::json::object());
  EXPECT_EQ(trainer.train().global_step, 2);
  const std::vector<nlohmann::json> records = read_metrics(args.output_dir);
  ASSERT_EQ(records.size(), 2u);
  for (const nlohmann::json& rec : records) {
    EXPECT_TRUE(std::isfinite(rec["loss"].get<double>())) << rec.dump();
    EXPECT_GT(rec["kl"].get<double>(), 0.0);
  }
  size_t changed = 0, i = 0;
  for (auto [name, t] : lora.parameters("default")) changed += t.to_f32() != before[i++];
  EXPECT_GT(changed, 0u);
  fs::remove_all(args.output_dir);
}

TEST(GrpoTrainer, BadConfigurationsAreErrors) {
  const Tokenizer tok = default_tokenizer();
  auto policy = tiny_policy(7);
  std::vector<PromptRow> prompts(2, PromptRow{"a", {5, 6}, {{"prompt", "a"}}});
  train::TrainingArguments args;
  args.output_dir = scratch_dir("glint_grpo_bad").string();
  args.per_device_train_batch_size = 6;
  GrpoConfig gc;
  gc.num_generations = 4;
  std::vector<RewardFunction> rewards{parse_reward("length:4")};
  const auto construct = [&] {
    GrpoTrainer t(*policy, std::nullopt, tok, prompts, rewards, gc, args, policy->parameters(), {});
  };
  EXPECT_GLINT_ERROR(construct(), "multiple of num_generations");
  args.per_device_train_batch_size = 4;
  gc.beta = 0.1;
  EXPECT_GLINT_ERROR(construct(), "needs a reference");
  gc.beta = 0;
  gc.num_generations = 1;
  EXPECT_GLINT_ERROR(construct(), "at least 2");
  gc.num_generations = 4;
  rewards.push_back(rewards[0]);
  EXPECT_GLINT_ERROR(construct(), "named twice");
}

}  // namespace
}  // namespace glint::test
