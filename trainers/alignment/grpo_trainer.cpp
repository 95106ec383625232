// GrpoTrainer: TRL's generation-batch bookkeeping (_prepare_inputs, _generate_and_score_completions) over
// train::Trainer's RowsLossFn hook. The loss itself is grpo.cpp's.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "models/generation/generate.h"
#include "models/peft/lora.h"
#include "runtime/autograd/autograd.h"
#include "runtime/core/error.h"
#include "trainers/alignment/grpo.h"
#include "trainers/batches.h"
#include "trainers/datasets/load.h"
#include "trainers/loss_curve.h"

namespace glint::train::alignment {
namespace fs = std::filesystem;
namespace {

// TRL's completions/* metrics of a generation batch.
std::map<std::string, double> completion_metrics(const std::vector<std::vector<int64_t>>& completions,
                                                 const std::vector<bool>& truncated) {
  double sum = 0, lo = 1e300, hi = 0, terminated_sum = 0, terminated = 0;
  for (size_t i = 0; i < completions.size(); ++i) {
    const double len = double(completions[i].size());
    sum += len, lo = std::min(lo, len), hi = std::max(hi, len);
    if (!truncated[i]) terminated_sum += len, ++terminated;
  }
  const double n = double(completions.size());
  return {{"completions/mean_length", sum / n},
          {"completions/min_length", lo},
          {"completions/max_length", hi},
          {"completions/clipped_ratio", (n - terminated) / n},
          {"completions/mean_terminated_length", terminated > 0 ? terminated_sum / terminated : 0.0}};
}

}  // namespace

std::vector<PromptRow> read_prompt_jsonl(const std::string& path, const Tokenizer& tok, int64_t max_prompt_length) {
  const datasets::Dataset ds = datasets::load_dataset("auto", {path});
  GLINT_CHECK(ds.num_rows() > 0, "grpo", path, ": no rows");
  GLINT_CHECK(ds.has_column("prompt"), "grpo", path, ": the prompts need a column 'prompt'");
  std::vector<PromptRow> rows;
  for (size_t i = 0; i < ds.num_rows(); ++i) {
    PromptRow r;
    const datasets::Value row = ds.row(i);
    r.row = nlohmann::json::parse(row.dump());
    const datasets::Value& prompt = row["prompt"];
    GLINT_CHECK(prompt.is_string() || prompt.is_array(), "grpo", path, ": row ", i + 1,
                ": 'prompt' must be a string or a list of chat messages");
    if (prompt.is_array()) {
      // Conversational, as TRL: the chat template with the generation prompt, tokenised without special tokens
      // (the template writes them).
      r.prompt = tok.apply_chat_template(prompt, true);
      const Encoding e = tok.encode(r.prompt, false);
      r.ids.assign(e.ids.begin(), e.ids.end());
    } else {
      r.prompt = prompt.get<std::string>();
      const Encoding e = tok.encode(r.prompt, true);
      r.ids.assign(e.ids.begin(), e.ids.end());
    }
    if (max_prompt_length > 0 && int64_t(r.ids.size()) > max_prompt_length)
      r.ids.erase(r.ids.begin(), r.ids.end() - max_prompt_length);
    GLINT_CHECK(!r.ids.empty(), "grpo", path, ": row ", i + 1, ": the prompt has no tokens");
    rows.push_back(std::move(r));
  }
  return rows;
}

GrpoTrainer::GrpoTrainer(CausalLM& policy, std::optional<Reference> ref, const Tokenizer& tokenizer,
                         std::vector<PromptRow> prompts, std::vector<RewardFunction> rewards, GrpoConfig config,
                         TrainingArguments args, const nn::ParameterStore& trainable, nlohmann::json model_config)
    : policy_(policy),
      ref_(ref),
      tokenizer_(tokenizer),
      prompts_(std::move(prompts)),
      rewards_(std::move(rewards)),
      config_(std::move(config)),
      args_(std::move(args)) {
  GrpoConfig& c = config_;
  GLINT_CHECK(c.num_generations >= 2, "grpo", "num_generations must be at least 2 to compare completions, got ",
              c.num_generations);
  GLINT_CHECK(c.max_completion_length > 0, "grpo", "max_completion_length must be positive");
  GLINT_CHECK(c.num_iterations >= 1, "grpo", "num_iterations must be at least 1");
  GLINT_CHECK(!rewards_.empty(), "grpo", "no reward functions");
  GLINT_CHECK(c.reward_weights.empty() || c.reward_weights.size() == rewards_.size(), "grpo", c.reward_weights.size(),
              " reward weights for ", rewards_.size(), " reward functions");
  std::set<std::string> names;
  for (const RewardFunction& r : rewards_)
    GLINT_CHECK(bool(r.fn) && names.insert(r.name).second, "grpo", "reward function '", r.name,
                "' is empty or named twice (its metrics would collide)");
  GLINT_CHECK(c.beta == 0.0 || ref_.has_value(), "grpo", "beta ", c.beta, " needs a reference model");
  if (c.steps_per_generation <= 0) c.steps_per_generation = args_.gradient_accumulation_steps;
  const int64_t rows = args_.per_device_train_batch_size * c.steps_per_generation;
  GLINT_CHECK(rows % c.num_generations == 0, "grpo", "the generation batch (per_device_train_batch_size ",
              args_.per_device_train_batch_size, " x steps_per_generation ", c.steps_per_generation,
              ") must be a multiple of num_generations ", c.num_generations);
  prompts_per_generation_ = rows / c.num_generations;
  GLINT_CHECK(int64_t(prompts_.size()) >= prompts_per_generation_, "grpo", prompts_.size(),
              " prompts do not fill one generation batch of ", prompts_per_generation_);
  const TokenizerConfig& tc = tokenizer_.config();
  const std::optional<uint32_t> pad = tc.pad_token   ? tokenizer_.token_to_id(*tc.pad_token)
                                      : tc.eos_token ? tokenizer_.token_to_id(*tc.eos_token)
                                                     : std::nullopt;
  pad_id_ = pad ? int64_t(*pad) : 0;
  const size_t trainer_rows = prompts_.size() * size_t(c.num_generations * c.num_iterations);
  trainer_ = std::make_unique<Trainer>(
      trainable, args_, trainer_rows, [this](const std::vector<size_t>&) { return micro_batch_loss(); },
      std::move(model_config));
}

std::vector<size_t> GrpoTrainer::generation_prompts(int64_t index) const {
  // TRL's RepeatSampler: a seeded permutation of the prompts per epoch, cut into whole generation batches.
  const int64_t per_epoch = int64_t(prompts_.size()) / prompts_per_generation_;
  const std::vector<size_t> order = epoch_order(prompts_.size(), args_.seed, index / per_epoch);
  const auto begin = order.begin() + std::ptrdiff_t((index % per_epoch) * prompts_per_generation_);
  return std::vector<size_t>(begin, begin + std::ptrdiff_t(prompts_per_generation_));
}

void GrpoTrainer::generate_batch(int64_t index) {
  const GrpoConfig& c = config_;
  const size_t g = size_t(c.num_generations);
  std::vector<const PromptRow*> rows;  // one per completion: each prompt num_generations times in a row
  std::vector<std::vector<int64_t>> inputs;
  for (size_t p : generation_prompts(index))
    for (size_t k = 0; k < g; ++k) {
      rows.push_back(&prompts_[p]);
      inputs.push_back(prompts_[p].ids);
    }
  GenerationOptions o;
  o.max_new_tokens = c.max_completion_length;
  o.do_sample = true;
  o.temperature = c.temperature;
  o.top_p = c.top_p;
  o.top_k = c.top_k;
  // Seeded by (run seed, batch index): reproducible, and a resumed run samples the batch it would have.
  o.seed = args_.seed * 1000003ULL + uint64_t(index);
  std::vector<std::vector<int64_t>> completions;
  const auto generate_start = std::chrono::steady_clock::now();
  {
    autograd::NoGradGuard no_grad;
    completions = policy_.generate(inputs, o);
  }
  const double generate_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - generate_start).count();

  // Rewards of the decoded completions, then advantages per group of num_generations.
  const std::vector<int64_t>& eos = policy_.config().eos_token_ids;
  const size_t n = completions.size();
  std::vector<std::string> texts(n);
  std::vector<RewardSample> samples;
  std::vector<bool> truncated(n);  // cut at max_completion_length rather than ended by EOS
  double sampled_tokens = 0;
  for (size_t i = 0; i < n; ++i) {
    const std::vector<int64_t>& ids = completions[i];
    sampled_tokens += double(ids.size());
    texts[i] = tokenizer_.decode(std::vector<uint32_t>(ids.begin(), ids.end()), true);
    samples.push_back({rows[i]->prompt, texts[i], ids, rows[i]->row});
    truncated[i] = ids.empty() || (std::find(eos.begin(), eos.end(), ids.back()) == eos.end() && ids.back() != pad_id_);
  }
  std::vector<std::string> names;
  for (const RewardFunction& r : rewards_) names.push_back(r.name);
  const GroupAdvantages adv =
      group_advantages(score_rewards(rewards_, samples), names, c.reward_weights, c.num_generations, c.scale_rewards);
  generation_metrics_ = adv.metrics;
  for (const auto& [key, value] : completion_metrics(completions, truncated)) generation_metrics_[key] = value;
  // Sampling speed: completion tokens (EOS included, as TRL's completion mask counts them) per second of generate.
  generation_metrics_["generation/seconds"] = generate_seconds;
  generation_metrics_["generation/tokens_per_second"] = generate_seconds > 0 ? sampled_tokens / generate_seconds : 0.0;

  // Shuffled (TRL's shuffle_sequence_dict) and split into steps_per_generation micro-batches.
  const std::vector<size_t> order = epoch_order(n, args_.seed + 1, index);
  const int64_t s = c.steps_per_generation;
  const size_t per_batch = n / size_t(s);
  double items = 0;
  for (size_t i = 0; i < n; ++i)
    items += c.mask_truncated_completions && truncated[i] ? 0.0 : double(completions[i].size());
  // Old log-probs are needed unless every pass over this batch falls in one optimizer step (TRL's test).
  const bool need_old = args_.gradient_accumulation_steps % (s * c.num_iterations) != 0;
  const Device device = policy_.device();
  buffer_.clear();
  for (int64_t k = 0; k < s; ++k) {
    std::vector<const std::vector<int64_t>*> pr, co;
    std::vector<bool> masked;
    std::vector<float> a;
    for (size_t j = size_t(k) * per_batch; j < size_t(k + 1) * per_batch; ++j) {
      const size_t i = order[j];
      pr.push_back(&rows[i]->ids);
      co.push_back(&completions[i]);
      masked.push_back(c.mask_truncated_completions && truncated[i]);
      a.push_back(float(adv.advantages[i]));
    }
    GrpoBatch b = collate_grpo(pr, co, pad_id_, device, masked);
    b.advantages = Tensor::from_vector(a, {int64_t(a.size())}, DType::f32, device);
    b.num_items_in_batch = items;
    b.steps_per_generation = s;
    autograd::NoGradGuard no_grad;
    if (need_old) b.old_logps = completion_logprobs(policy_, b, c.temperature);
    if (c.beta != 0.0) {
      if (ref_->adapters) {
        peft::DisableAdapterGuard base_only(*ref_->adapters);
        b.ref_logps = completion_logprobs(policy_, b, c.temperature);
      } else {
        b.ref_logps = completion_logprobs(*ref_->model, b, c.temperature);
      }
    }
    buffer_.push_back(std::move(b));
  }
}

RowsLoss GrpoTrainer::micro_batch_loss() {
  const int64_t s = config_.steps_per_generation;
  // A new generation batch every steps_per_generation x num_iterations micro-batches (or first after a resume).
  if (calls_ % (s * config_.num_iterations) == 0 || buffer_.empty())
    generate_batch(calls_ / (s * config_.num_iterations));
  const GrpoBatch& b = buffer_.at(size_t(calls_ % s));
  ++calls_;
  Tensor entropy;
  const Tensor logps = completion_logprobs(policy_, b, config_.temperature, &entropy);
  LossOutput out = grpo_loss(logps, b, config_, entropy);
  for (const auto& [key, value] : generation_metrics_) out.metrics[key] = value;
  return {std::move(out.loss), std::move(out.metrics), b.tokens};
}

TrainResult GrpoTrainer::train(const std::string& resume_from) {
  const std::string dir = resume_from == "latest" ? latest_checkpoint(args_.output_dir) : resume_from;
  calls_ = 0;
  buffer_.clear();
  if (!dir.empty()) {  // continue the sampler where the checkpoint left it
    std::ifstream in(fs::path(dir) / "trainer_state.json");
    GLINT_CHECK(in, "grpo", dir, ": no trainer_state.json to resume from");
    try {
      calls_ = nlohmann::json::parse(in).at("micro_batches").get<int64_t>();
    } catch (const nlohmann::json::exception& e) {
      fail("grpo", dir, "/trainer_state.json: ", e.what());
    }
  }
  const TrainResult r = trainer_->train(dir);
  // The mean reward of each logged step, and its trend over 10 logs, beside the Trainer's loss.svg.
  const fs::path out(args_.output_dir);
  if (fs::exists(out / "metrics.jsonl"))
    write_curves_svg((out / "reward.svg").string(), read_metrics_jsonl((out / "metrics.jsonl").string()),
                     "glint train grpo: " + args_.output_dir,
                     {{"reward", "mean reward", "#9ecae1"}, {"reward", "mean of 10 logs", "#08519c", false, 10}});
  return r;
}

}  // namespace glint::train::alignment
