// `glint train grpo`: TRL's GRPOTrainer (trainers/alignment/grpo.h) on a prompt dataset, sampling in the loop.
//   glint train grpo --model M --data prompts.jsonl --output runs/grpo --num-generations 8
//       --reward exact_match:answer --reward 'format:^\d+$' --reward-weights 1 0.2 [--beta 0.04] [--loss-type grpo]
//       [--max-completion-length 64] [--temperature 0.9] [--lora-r 16 [--load-in-4bit]]
// Data: JSON lines (or any load_dataset format) with a string "prompt"; other columns reach the rewards
// (exact_match:COLUMN compares with one). With beta > 0 the KL reference is --ref-model, the base with LoRA's
// adapters disabled (--lora-r), or else a frozen copy of --model.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "models/auto.h"
#include "models/peft/lora.h"
#include "runtime/core/error.h"
#include "runtime/io/config.h"
#include "runtime/io/hub.h"
#include "tools/cli/commands.h"
#include "tools/cli/train_shared.h"
#include "trainers/alignment/grpo.h"

namespace glint::cli {
namespace {
namespace fs = std::filesystem;
using namespace train::alignment;

struct GrpoFlags : LoopFlags {
  GrpoFlags() { batch_size = 8; }
  std::string model, ref_model, data;
  std::vector<std::string> rewards;
  std::string loss_type = "dapo", scale_rewards = "group";
  train::alignment::GrpoConfig config;
  std::optional<double> epsilon_high;
  int64_t max_prompt_length = 0;
  int64_t lora_r = 0;  // 0: full fine-tuning
  double lora_alpha = 0;
  bool load_in_4bit = false, bf16 = false;
  double lr = 1e-6;  // TRL's GRPOConfig learning rate
};


void run_grpo(const GrpoFlags& f) {
  train::TrainingArguments args = training_args(f, f.lr);
  args.bf16 = f.bf16;
  GrpoConfig config = f.config;
  config.loss_type = parse_grpo_loss_type(f.loss_type);
  config.scale_rewards = parse_scale_rewards(f.scale_rewards);
  config.epsilon_high = f.epsilon_high;
  GLINT_CHECK(!f.rewards.empty(), "train", "grpo needs at least one --reward");
  GLINT_CHECK(!f.load_in_4bit || f.lora_r > 0, "train", "--load-in-4bit trains a LoRA adapter: give --lora-r");
  std::vector<RewardFunction> rewards;
  for (const std::string& spec : f.rewards) rewards.push_back(parse_reward(spec));

  const std::string path = io::resolve_model(f.model);
  const Tokenizer tok = Tokenizer::from_pretrained(path);
  const io::JsonFile model_config = io::load_json((fs::path(path) / "config.json").string());
  std::vector<PromptRow> prompts = read_prompt_jsonl(f.data, tok, f.max_prompt_length);
  ModelLoadOptions lo;
  if (!f.device.empty()) lo.device = Device::parse(f.device);
  lo.dtype = DType::f32;  // f32 master weights (QLoRA: the compute dtype of what is not 4-bit)
  lo.load_in_4bit = f.load_in_4bit;
  auto policy = AutoModelForCausalLM::from_pretrained(path, lo);

  std::unique_ptr<peft::LoraModel> lora;
  nn::ParameterStore trained;
  if (f.lora_r > 0) {
    lora = std::make_unique<peft::LoraModel>(*policy);
    peft::LoraConfig c;
    c.r = f.lora_r;
    c.lora_alpha = f.lora_alpha > 0 ? f.lora_alpha : double(f.lora_r);
    c.all_linear = true;
    c.base_model_name_or_path = f.model;
    lora->add_adapter("default", c, args.seed);
    for (auto [name, t] : lora->parameters("default")) trained.add(name, t);
  }
  std::unique_ptr<CausalLM> ref_copy;
  std::optional<Reference> ref;
  if (config.beta != 0.0 && lora && f.ref_model.empty()) {
    ref.emplace(*lora);
  } else if (config.beta != 0.0) {
    ref_copy = AutoModelForCausalLM::from_pretrained(f.ref_model.empty() ? path : io::resolve_model(f.ref_model), lo);
    ref.emplace(*ref_copy);
  }
  std::printf("%zu prompts, %lld completions each\n", prompts.size(), (long long)config.num_generations);
  GrpoTrainer trainer(*policy, ref, tok, std::move(prompts), std::move(rewards), config, args,
                      lora ? trained : policy->parameters(), model_config.json);
  const train::TrainResult r = trainer.train(f.resume);
  if (!r.interrupted) finish_output(path, args.output_dir, lora.get());
  report(r, args, lora != nullptr);
}

void add_train_grpo_command(CLI::App& app) {
  auto f = std::make_shared<GrpoFlags>();
  auto* cmd = train_command(app)->add_subcommand(
      "grpo", "Group Relative Policy Optimization (TRL's GRPOTrainer): sample, reward and learn on prompts");
  GrpoConfig& c = f->config;
  cmd->add_option("--model", f->model, "Model folder or hub id (the policy)")->required();
  cmd->add_option("--data", f->data, "Prompts: JSON lines with a string 'prompt' (other columns reach the rewards)")
      ->required();
  add_loop_options(cmd, *f, "completions per micro-batch", "seed of the prompt order and of sampling");
  cmd->add_option("--reward", f->rewards, "exact_match:COLUMN, format:REGEX or length:MAX[:CACHE]; repeatable")
      ->required();
  cmd->add_option("--reward-weights", c.reward_weights, "one weight per --reward (default: all 1)");
  cmd->add_option("--num-generations", c.num_generations, "completions sampled per prompt");
  cmd->add_option("--max-completion-length", c.max_completion_length, "new tokens per completion");
  cmd->add_option("--max-prompt-length", f->max_prompt_length, "keep a prompt's last N tokens (0: all)");
  cmd->add_option("--temperature", c.temperature, "sampling temperature (log-probs are scored at it too)");
  cmd->add_option("--top-p", c.top_p, "nucleus sampling");
  cmd->add_option("--top-k", c.top_k, "top-k sampling (0: off)");
  cmd->add_option("--beta", c.beta, "KL coefficient (0: no reference model)");
  cmd->add_option("--ref-model", f->ref_model, "KL reference (default: the base under LoRA, else a copy of --model)");
  cmd->add_option("--loss-type", f->loss_type, "grpo, bnpo, dr_grpo or dapo");
  cmd->add_option("--scale-rewards", f->scale_rewards, "group, batch or none");
  cmd->add_option("--epsilon", c.epsilon, "lower clipping bound of the ratio (1 - epsilon)");
  cmd->add_option("--epsilon-high", f->epsilon_high, "upper clipping bound (1 + epsilon_high; default epsilon)");
  cmd->add_option("--num-iterations", c.num_iterations, "optimisation passes over each generation batch");
  cmd->add_option("--steps-per-generation", c.steps_per_generation,
                  "micro-batches per generation batch (default: --grad-accum)");
  cmd->add_flag("--mask-truncated-completions", c.mask_truncated_completions,
                "completions cut at --max-completion-length take no loss");
  cmd->add_option("--lora-r", f->lora_r, "Train a LoRA adapter of this rank on every linear layer (0: full)");
  cmd->add_option("--lora-alpha", f->lora_alpha, "LoRA alpha (default: r)");
  cmd->add_flag("--load-in-4bit", f->load_in_4bit, "QLoRA: the base's Linear layers as frozen NF4");
  cmd->add_flag("--bf16", f->bf16, "Compute in bf16 with f32 master weights");
  cmd->add_option("--lr", f->lr, "learning_rate (default as TRL: 1e-6)");
  cmd->callback([f] { run_grpo(*f); });
}

const CommandRegistration reg(add_train_grpo_command);

}  // namespace
}  // namespace glint::cli
