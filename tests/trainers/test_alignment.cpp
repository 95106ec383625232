// Alignment losses against TRL (tools/make_alignment_fixtures.py): for DPO (sigmoid, ipo, hinge, robust), SimPO,
// ORPO and KTO, one batch's loss and every parameter's gradient on tests/data/models/llama, on the CPU and on every
// Vulkan device; and the blockwise token log-prob op against a double-precision reference.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "models/auto.h"
#include "models/llama/sequence_classification.h"
#include "models/peft/lora.h"
#include "runtime/autograd/autograd.h"
#include "runtime/io/checkpoint.h"
#include "runtime/ops/elementwise.h"
#include "runtime/ops/matmul.h"
#include "runtime/ops/reduce.h"
#include "runtime/ops/sequence_logprobs.h"
#include "tests/harness.h"
#include "tests/models/json_fixture.h"
#include "tests/trainers/alignment_fixture.h"
#include "trainers/alignment/alignment_trainer.h"
#include "trainers/alignment/logprobs.h"
#include "trainers/alignment/losses.h"
#include "trainers/alignment/preference_data.h"

namespace glint::test {
namespace {

using namespace glint::train::alignment;

std::filesystem::path alignment_dir() { return std::filesystem::path(__FILE__).parent_path() / "../data/alignment"; }

Tensor floats(const nlohmann::json& v, Device device) {
  const std::vector<float> f = v.get<std::vector<float>>();
  return Tensor::from_vector(f, {int64_t(f.size())}, DType::f32, device);
}

SequenceLogprobs logprobs_of(const CausalLM& model, const nlohmann::json& fx, const std::string& prefix = "") {
  return sequence_logprobs(model, int_matrix(fx[prefix + "input_ids"]), int_matrix(fx[prefix + "labels"]),
                           int_matrix(fx[prefix + "attention_mask"]));
}

// The loss of a fixture's case, through the library's log-probs and losses as a trainer composes them.
LossOutput case_loss(const CausalLM& model, const nlohmann::json& fx) {
  const std::string kind = fx["kind"];
  const SequenceLogprobs lp = logprobs_of(model, fx);
  const Device device = lp.sum.device();
  const int64_t n = lp.sum.dim(0), half = n / 2;
  const SequenceLogprobs chosen = lp.rows(0, half), rejected = lp.rows(half, n);
  if (kind == "dpo") {
    const Tensor ref = floats(fx["ref_logps"], device);
    DpoOptions o;
    o.loss_type = parse_dpo_loss_type(fx["loss_type"]);
    o.beta = fx["beta"];
    o.label_smoothing = fx["label_smoothing"];
    return dpo_loss(chosen.sum, rejected.sum, ref.slice(0, 0, half), ref.slice(0, half, n), chosen.tokens,
                    rejected.tokens, o);
  }
  if (kind == "simpo") {
    CpoOptions o;
    o.beta = fx["beta"];
    o.simpo_gamma = fx["simpo_gamma"];
    o.label_smoothing = fx["label_smoothing"];
    o.cpo_alpha = fx["cpo_alpha"];
    return cpo_loss(chosen.mean(), rejected.mean(), mean_nll(chosen), o);
  }
  if (kind == "orpo") return orpo_loss(chosen.mean(), rejected.mean(), mean_nll(chosen), fx["beta"]);
  if (kind == "kto") {
    Tensor kl;
    {
      autograd::NoGradGuard no_grad;  // KTOTrainer computes the mismatched pairs' log-probs without gradient
      kl = logprobs_of(model, fx, "kl_").sum;
    }
    KtoOptions o;
    o.beta = fx["beta"];
    o.desirable_weight = fx["desirable_weight"];
    o.undesirable_weight = fx["undesirable_weight"];
    return kto_loss(lp.sum, floats(fx["ref_logps"], device), fx["desirable"].get<std::vector<bool>>(), kl,
                    floats(fx["ref_kl_logps"], device), o);
  }
  ADD_FAILURE() << "unknown case kind " << kind;
  return {};
}

class AlignmentParity : public ::testing::TestWithParam<std::string> {};

TEST_P(AlignmentParity, LossAndGradientsMatchTrl) {
  const std::string name = GetParam();
  const nlohmann::json fx = read_fixture(alignment_dir() / (name + ".json"));
  const auto expected = io::Checkpoint::open((alignment_dir() / (name + ".safetensors")).string());
  for (const Device& device : test_devices()) {
    SCOPED_TRACE(device.str());
    auto model = load_trainable_llama(device);
    const LossOutput out = case_loss(*model, fx);
    const double want = fx["loss"].get<double>();
    EXPECT_NEAR(out.loss.to_f32()[0], want, 1e-5 * std::fabs(want));
    if (fx.contains("metrics")) ASSERT_NO_FATAL_FAILURE(expect_metrics_match(out.metrics, fx["metrics"]));
    out.loss.backward();
    ASSERT_NO_FATAL_FAILURE(expect_gradients_match(model->parameters(), *expected, 0));
  }
}

INSTANTIATE_TEST_SUITE_P(Alignment, AlignmentParity,
                         ::testing::Values("dpo_sigmoid", "dpo_ipo", "dpo_hinge", "dpo_robust", "simpo", "orpo",
                                           "kto"));

// RewardTrainer on LlamaForSequenceClassification: rewards at the last non-padding token, the margin loss, every
// gradient; then save_pretrained and a reload give the same rewards.
TEST(AlignmentReward, LossAndGradientsMatchTrl) {
  const nlohmann::json fx = read_fixture(alignment_dir() / "reward.json");
  const auto expected = io::Checkpoint::open((alignment_dir() / "reward.safetensors").string());
  const Tensor ids = int_matrix(fx["input_ids"]), mask = int_matrix(fx["attention_mask"]);
  const std::vector<float> want_rewards = fx["rewards"].get<std::vector<float>>();
  const int64_t n = ids.dim(0);
  for (const Device& device : test_devices()) {
    SCOPED_TRACE(device.str());
    ModelLoadOptions opts;
    opts.device = device;
    auto model = LlamaForSequenceClassification::from_pretrained((model_data_dir() / "llama").string(), opts, 1,
                                                                 fx["pad_token_id"].get<int64_t>());
    {
      autograd::NoGradGuard no_grad;
      Tensor(model->parameters().at("score.weight")).copy_from(expected->tensor("init.score.weight", device));
    }
    for (const auto& [pname, p] : model->parameters().entries()) Tensor(p).requires_grad_();
    const Tensor rewards = model->forward(ids, mask).reshape({n});
    const std::vector<float> got = rewards.to_f32();
    for (int64_t i = 0; i < n; ++i)
      EXPECT_NEAR(got[size_t(i)], want_rewards[size_t(i)], 1e-5 * std::max(1.0f, std::fabs(want_rewards[size_t(i)])));
    const LossOutput out =
        reward_loss(rewards.slice(0, 0, n / 2), rewards.slice(0, n / 2, n), floats(fx["margin"], device));
    const double want = fx["loss"].get<double>();
    EXPECT_NEAR(out.loss.to_f32()[0], want, 1e-5 * std::fabs(want));
    EXPECT_DOUBLE_EQ(out.metrics.at("accuracy"), fx["metrics"]["accuracy"].get<double>());
    out.loss.backward();
    // Every gradient, plus the initial head.
    ASSERT_NO_FATAL_FAILURE(expect_gradients_match(model->parameters(), *expected, 1));

    const std::filesystem::path dir = std::filesystem::temp_directory_path() / "glint_reward_model";
    model->save_pretrained(dir.string());
    auto reloaded = LlamaForSequenceClassification::from_pretrained(dir.string(), opts);
    EXPECT_EQ(reloaded->config_json()["architectures"][0], "LlamaForSequenceClassification");
    EXPECT_EQ(reloaded->num_labels(), 1);
    const std::vector<float> again = reloaded->forward(ids, mask).reshape({n}).to_f32();
    for (int64_t i = 0; i < n; ++i) EXPECT_FLOAT_EQ(again[size_t(i)], got[size_t(i)]);
    std::filesystem::remove_all(dir);
  }
}

// token_logprobs (and its fused form) against log_softmax in double, with ignored rows, odd sizes, several blocks
// and a transposed (non-contiguous) input; the gradient against (onehot - softmax) * g.
TEST(AlignmentOps, TokenLogprobsMatchDoubleReference) {
  const int64_t n = 7, v = 13, c = 5;
  for (const Device& device : test_devices()) {
    SCOPED_TRACE(device.str());
    const Tensor hidden = rand({n, c}, DType::f32, device, 3);
    const Tensor weight = rand({c, v}, DType::f32, device, 4).transpose(0, 1);  // (V, C), non-contiguous
    const std::vector<int64_t> lab = {3, -100, 12, 0, 7, -100, 5};
    const Tensor labels = Tensor::from_vector(lab, {n}, DType::i64, Device::cpu());
    const std::vector<float> h = hidden.to_f32(), w = weight.contiguous().to_f32();
    std::vector<double> ref(n, 0.0), logits(size_t(n * v));
    for (int64_t i = 0; i < n; ++i) {
      double mx = -1e300;
      for (int64_t j = 0; j < v; ++j) {
        double s = 0;
        for (int64_t k = 0; k < c; ++k) s += double(h[size_t(i * c + k)]) * double(w[size_t(j * c + k)]);
        logits[size_t(i * v + j)] = s;
        mx = std::max(mx, s);
      }
      double z = 0;
      for (int64_t j = 0; j < v; ++j) z += std::exp(logits[size_t(i * v + j)] - mx);
      if (lab[size_t(i)] != -100) ref[size_t(i)] = logits[size_t(i * v + lab[size_t(i)])] - mx - std::log(z);
    }
    for (int64_t chunk : {int64_t(0), int64_t(3)}) {
      TokenLogprobOptions o;
      o.chunk_rows = chunk;
      Tensor hid = hidden.detach();
      hid.requires_grad_();
      const Tensor fused = linear_token_logprobs(hid, weight, labels, o);
      const Tensor from_logits = token_logprobs(linear(hidden, weight), labels, o);
      const std::vector<float> got = fused.to_f32(), got2 = from_logits.to_f32();
      for (int64_t i = 0; i < n; ++i) {
        EXPECT_NEAR(got[size_t(i)], ref[size_t(i)], 1e-5 * std::max(1.0, std::fabs(ref[size_t(i)])));
        EXPECT_NEAR(got2[size_t(i)], ref[size_t(i)], 1e-5 * std::max(1.0, std::fabs(ref[size_t(i)])));
      }
      // d sum(g * out) / d hidden = sum_j g_i (onehot - softmax)_ij w_j.
      const std::vector<float> g = {0.5f, 2.0f, -1.0f, 1.5f, 0.25f, 3.0f, -0.75f};
      const Tensor gt = Tensor::from_vector(g, {n}, DType::f32, device);
      sum_all(fused * gt).backward();
      const std::vector<float> dh = hid.grad().to_f32();
      for (int64_t i = 0; i < n; ++i) {
        double mx = -1e300, z = 0;
        for (int64_t j = 0; j < v; ++j) mx = std::max(mx, logits[size_t(i * v + j)]);
        for (int64_t j = 0; j < v; ++j) z += std::exp(logits[size_t(i * v + j)] - mx);
        for (int64_t k = 0; k < c; ++k) {
          double want = 0;
          if (lab[size_t(i)] != -100)
            for (int64_t j = 0; j < v; ++j) {
              const double p = std::exp(logits[size_t(i * v + j)] - mx) / z;
              want += double(g[size_t(i)]) * ((j == lab[size_t(i)] ? 1.0 : 0.0) - p) * double(w[size_t(j * c + k)]);
            }
          EXPECT_NEAR(dh[size_t(i * c + k)], want, 1e-5 * std::max(1.0, std::fabs(want)));
        }
      }
    }
  }
}

TEST(AlignmentOps, BadInputsAreErrors) {
  const Tensor logits = rand({3, 4});
  EXPECT_GLINT_ERROR(token_logprobs(logits, Tensor::from_vector(std::vector<int64_t>{0, 4, 1}, {3}, DType::i64)),
                     "out of range");
  EXPECT_GLINT_ERROR(token_logprobs(logits, Tensor::from_vector(std::vector<int64_t>{0, 1}, {2}, DType::i64)),
                     "labels must be");
  EXPECT_GLINT_ERROR(parse_dpo_loss_type("nope"), "not supported");
  const Tensor x = rand({2});
  DpoOptions o;
  o.loss_type = DpoLossType::robust;
  o.label_smoothing = 0.5;
  EXPECT_GLINT_ERROR(dpo_loss(x, x, x, x, x, x, o), "label_smoothing");
}

TEST(AlignmentOps, LogSigmoidIsStableAndSmooth) {
  const Tensor x = Tensor::from_vector(std::vector<float>{-200.0f, -1.0f, 0.0f, 2.0f, 200.0f}, {5}, DType::f32);
  Tensor leaf = x.detach();
  leaf.requires_grad_();
  const Tensor y = log_sigmoid(leaf);
  sum_all(y).backward();
  const std::vector<float> got = y.to_f32(), dg = leaf.grad().to_f32(), xs = x.to_f32();
  for (size_t i = 0; i < xs.size(); ++i) {
    const double xi = xs[i];
    const double want = xi < 0 ? xi - std::log1p(std::exp(xi)) : -std::log1p(std::exp(-xi));
    EXPECT_NEAR(got[i], want, 1e-5 * std::max(1.0, std::fabs(want)));
    EXPECT_NEAR(dg[i], 1.0 / (1.0 + std::exp(xi)), 1e-6);  // sigmoid(-x)
  }
}

// The frozen base of a LoRA policy: the dense q_proj weight, or its packed NF4 bytes under QLoRA.
std::vector<float> base_weight(const CausalLM& policy) {
  for (const auto& [name, state] : policy.parameters().linears())
    if (name == "model.layers.0.self_attn.q_proj")
      return state->quantized ? state->quantized->packed.to(DType::f32).to_f32() : state->weight.to_f32();
  return {};
}

// With LoRA (and QLoRA: an NF4 base) the reference is the policy with its adapters disabled (no second copy): the
// first step sits at the reference (loss log 2), training moves only the adapters, and the loss falls.
TEST(AlignmentTrainer, DpoWithLoraUsesTheBaseAsReference) {
  for (bool four_bit : {false, true}) {
    SCOPED_TRACE(four_bit ? "QLoRA" : "LoRA");
    ModelLoadOptions opts;
    opts.device = Device::cpu();
    opts.load_in_4bit = four_bit;
    auto policy = AutoModelForCausalLM::from_pretrained((model_data_dir() / "llama").string(), opts);
    const std::vector<float> base_before = base_weight(*policy);
    ASSERT_FALSE(base_before.empty());
    peft::LoraModel lora(*policy);
    peft::LoraConfig c;
    c.r = 4;
    c.lora_alpha = 8;
    c.all_linear = true;
    lora.add_adapter("default", c, 1);
    nn::ParameterStore adapters;
    for (auto [name, t] : lora.parameters("default")) adapters.add(name, t);
    const std::string some_b = "base_model.model.model.layers.0.self_attn.q_proj.lora_B.default.weight";
    const std::vector<float> b_before = adapters.at(some_b).to_f32();
    std::vector<PreferenceRow> rows;
    for (int32_t i = 0; i < 4; ++i)
      rows.push_back({{5 + i, 9, 11 + i}, {20 + i, 21, 22 + 2 * i}, {40 + 3 * i, 41 + i}});
    train::TrainingArguments args;
    args.output_dir = scratch_dir("glint_dpo_lora").string();
    std::filesystem::remove_all(args.output_dir);
    args.max_steps = 8;
    args.per_device_train_batch_size = 2;
    args.learning_rate = 1e-2;
    args.logging_steps = 1;
    train::Trainer trainer(adapters, args, rows.size(), dpo_rows_loss(*policy, lora, rows, DpoOptions{}, 0),
                           nlohmann::json::object());
    trainer.train();
    std::vector<nlohmann::json> records = read_metrics(args.output_dir);
    ASSERT_EQ(records.size(), 8u);
    EXPECT_NEAR(records.front()["loss"].get<double>(), std::log(2.0), 1e-5);
    EXPECT_TRUE(std::isfinite(records.back()["loss"].get<double>()));
    EXPECT_LT(records.back()["loss"].get<double>(), records.front()["loss"].get<double>());
    EXPECT_NE(adapters.at(some_b).to_f32(), b_before);
    EXPECT_EQ(base_weight(*policy), base_before);
    std::filesystem::remove_all(args.output_dir);
  }
}

// TRL's paired layout: every chosen row, then every rejected row, right-padded, labels only on completions.
TEST(AlignmentData, CollatePairsPutsChosenRowsFirst) {
  const PreferenceRow a{{1, 2}, {3}, {4, 5}}, b{{6}, {7, 8, 9}, {10}};
  const train::Batch batch = collate_pairs({&a, &b}, 0);
  ASSERT_EQ(batch.input_ids.shape(), (Shape{4, 4}));
  EXPECT_EQ(batch.input_ids.to_vector<int64_t>(),
            (std::vector<int64_t>{1, 2, 3, 0, 6, 7, 8, 9, 1, 2, 4, 5, 6, 10, 0, 0}));
  EXPECT_EQ(batch.labels.to_vector<int64_t>(),
            (std::vector<int64_t>{-100, -100, 3, -100, -100, 7, 8, 9, -100, -100, 4, 5, -100, 10, -100, -100}));
  EXPECT_EQ(batch.attention_mask.to_vector<int64_t>(),
            (std::vector<int64_t>{1, 1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0}));
  EXPECT_EQ(batch.targets, 7);
}

// The Trainer's RowsLossFn hook: DPO steps against a frozen copy lower the loss and log TRL's metrics.
TEST(AlignmentTrainer, DpoStepsLowerTheLossAndLogRewards) {
  ModelLoadOptions opts;
  opts.device = Device::cpu();
  auto policy = AutoModelForCausalLM::from_pretrained((model_data_dir() / "llama").string(), opts);
  auto ref = AutoModelForCausalLM::from_pretrained((model_data_dir() / "llama").string(), opts);
  std::vector<PreferenceRow> rows;
  for (int32_t i = 0; i < 4; ++i) rows.push_back({{5 + i, 9, 11 + i}, {20 + i, 21, 22 + 2 * i}, {40 + 3 * i, 41 + i}});
  train::TrainingArguments args;
  args.output_dir = scratch_dir("glint_dpo_trainer").string();
  std::filesystem::remove_all(args.output_dir);
  args.max_steps = 8;
  args.per_device_train_batch_size = 2;
  args.learning_rate = 3e-3;
  args.logging_steps = 1;
  args.save_steps = 0;
  DpoOptions o;
  train::Trainer trainer(policy->parameters(), args, rows.size(), dpo_rows_loss(*policy, *ref, rows, o, 0),
                         nlohmann::json::object());
  const train::TrainResult r = trainer.train();
  EXPECT_EQ(r.global_step, 8);
  std::vector<nlohmann::json> records = read_metrics(args.output_dir);
  ASSERT_EQ(records.size(), 8u);
  // The first step starts at the reference: every log-ratio is 0, the loss log 2.
  EXPECT_NEAR(records.front()["loss"].get<double>(), std::log(2.0), 1e-5);
  EXPECT_LT(records.back()["loss"].get<double>(), records.front()["loss"].get<double>());
  EXPECT_GT(records.back()["rewards/margins"].get<double>(), 0.0);
  EXPECT_TRUE(records.back().contains("rewards/accuracies"));
  std::filesystem::remove_all(args.output_dir);
}

// TRL's precompute_ref_log_probs: the reference scored once before training gives the run a live frozen copy gives
// (its log-probs differ only by the padding of the batches they were scored in), and the copy can then be freed.
TEST(AlignmentTrainer, DpoWithPrecomputedReferenceMatchesTheLiveReference) {
  ModelLoadOptions opts;
  opts.device = Device::cpu();
  std::vector<PreferenceRow> rows;
  for (int32_t i = 0; i < 6; ++i)
    rows.push_back({{5 + i, 9, 11 + i}, {20 + i, 21, 22 + 2 * i, 3 + i}, {40 + 3 * i, 41 + i}});
  std::vector<std::vector<double>> losses;
  for (bool precompute : {false, true}) {
    auto policy = AutoModelForCausalLM::from_pretrained((model_data_dir() / "llama").string(), opts);
    auto frozen = AutoModelForCausalLM::from_pretrained((model_data_dir() / "llama").string(), opts);
    Reference ref(*frozen);
    if (precompute) {
      ref = Reference(precompute_reference_logprobs(*policy, ref, rows, 0, 4));
      frozen.reset();
      ASSERT_EQ(ref.precomputed->size(), rows.size());
    }
    train::TrainingArguments args;
    args.output_dir = scratch_dir("glint_dpo_precompute_" + std::to_string(precompute)).string();
    std::filesystem::remove_all(args.output_dir);
    args.max_steps = 6;
    args.per_device_train_batch_size = 2;
    args.learning_rate = 3e-3;
    args.logging_steps = 1;
    train::Trainer trainer(policy->parameters(), args, rows.size(), dpo_rows_loss(*policy, ref, rows, DpoOptions{}, 0),
                           nlohmann::json::object());
    trainer.train();
    losses.emplace_back();
    for (const nlohmann::json& record : read_metrics(args.output_dir)) losses.back().push_back(record.at("loss"));
    std::filesystem::remove_all(args.output_dir);
  }
  ASSERT_EQ(losses[0].size(), 6u);
  ASSERT_EQ(losses[1].size(), 6u);
  EXPECT_LT(losses[0].back(), losses[0].front());
  for (size_t i = 0; i < 6; ++i) EXPECT_NEAR(losses[1][i], losses[0][i], 1e-5 * std::fabs(losses[0][i])) << i;
  EXPECT_GLINT_ERROR(dpo_rows_loss(*AutoModelForCausalLM::from_pretrained((model_data_dir() / "llama").string(), opts),
                                   Reference(std::make_shared<PrecomputedLogprobs>(2)), rows, DpoOptions{}, 0),
                     "precomputed reference log-probs of 2 pairs for 6 pairs");
}

}  // namespace
}  // namespace glint::test
