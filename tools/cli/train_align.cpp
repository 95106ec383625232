// `glint train dpo|orpo|simpo|kto|reward`: TRL's alignment trainers on glint's training loop (train::Trainer with a
// RowsLossFn from trainers/alignment). JSONL data: {"prompt", "chosen", "rejected"} rows, or {"prompt",
// "completion", "label"} for kto, as plain text or chat messages (trainers/alignment/preference_data.h). The reference
// model of dpo and kto is --ref-model, else a frozen copy of --model, or with --lora-r (and --load-in-4bit, QLoRA) the
// policy's base with its adapters disabled; dpo --precompute-ref-log-probs scores it once before training. reward
// trains LlamaForSequenceClassification (one label) and saves it in transformers' layout, or with --lora-r (QLoRA
// with --load-in-4bit) peft's SEQ_CLS adapter: LoRA on every Linear of the backbone plus the score head as
// modules_to_save, as TRL's RewardTrainer does with a peft LoraConfig. Registers
// under the `train` subcommand that tools/cli/train.cpp adds (registration runs in link order, and train.cpp sorts
// before train_align.cpp).
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

#include "models/auto.h"
#include "models/llama/sequence_classification.h"
#include "models/peft/lora.h"
#include "runtime/core/error.h"
#include "runtime/io/config.h"
#include "runtime/io/hub.h"
#include "tools/cli/commands.h"
#include "tools/cli/train_shared.h"
#include "trainers/alignment/alignment_trainer.h"
#include "trainers/trainer.h"

namespace glint::cli {
namespace {
namespace fs = std::filesystem;
using namespace train::alignment;

struct AlignFlags : LoopFlags {
  std::string method, model, ref_model, data, loss_type = "sigmoid";
  std::optional<double> beta, lr;
  double label_smoothing = 0.0, simpo_gamma = 0.5, cpo_alpha = 0.0;
  double desirable_weight = 1.0, undesirable_weight = 1.0;
  int64_t lora_r = 0;  // 0: full fine-tuning
  double lora_alpha = 16;
  bool load_in_4bit = false;              // QLoRA: the base's Linear layers frozen in NF4
  bool precompute_ref_log_probs = false;  // dpo: score the reference once before training
  int64_t max_length = 512;
};

// TRL's default beta per trainer: DPO, ORPO and KTO 0.1; CPOTrainer with SimPO 2.0 as its docs recommend.
double default_beta(const std::string& method) { return method == "simpo" ? 2.0 : 0.1; }


// With --lora-r: a LoRA adapter "default" of that rank on every Linear of `model` (peft's all-linear for
// `task_type`; a SEQ_CLS model's score head trains whole as modules_to_save), its parameters put in `trained`.
std::unique_ptr<peft::LoraModel> lora_if_asked(const nn::ParameterStore& model, const AlignFlags& f,
                                               const std::string& task_type, nn::ParameterStore& trained) {
  if (f.lora_r <= 0) return nullptr;
  auto lora = std::make_unique<peft::LoraModel>(model);
  peft::LoraConfig c;
  c.r = f.lora_r;
  c.lora_alpha = f.lora_alpha;
  c.all_linear = true;
  c.task_type = task_type;
  if (task_type == "SEQ_CLS") c.modules_to_save = {"score"};
  c.base_model_name_or_path = f.model;
  lora->add_adapter("default", c, f.seed);
  for (auto [name, t] : lora->parameters("default")) trained.add(name, t);
  return lora;
}

void run_align(const AlignFlags& f) {
  // TRL's default learning rates: 1e-5 for RewardTrainer, 1e-6 for the others.
  const train::TrainingArguments args = training_args(f, f.lr.value_or(f.method == "reward" ? 1e-5 : 1e-6));
  const std::string path = io::resolve_model(f.model);
  const Tokenizer tok = Tokenizer::from_pretrained(path);
  const io::JsonFile config = io::load_json((fs::path(path) / "config.json").string());
  const std::optional<uint32_t> pad_tok =
      tok.config().pad_token ? tok.token_to_id(*tok.config().pad_token)
                             : (tok.config().eos_token ? tok.token_to_id(*tok.config().eos_token) : std::nullopt);
  const int64_t pad = pad_tok ? int64_t(*pad_tok) : 0;
  const double beta = f.beta.value_or(default_beta(f.method));
  ModelLoadOptions lo;
  if (!f.device.empty()) lo.device = Device::parse(f.device);
  lo.dtype = DType::f32;  // f32 master weights (the compute dtype of a 4-bit base)
  GLINT_CHECK(!f.load_in_4bit || f.lora_r > 0, "train", "--load-in-4bit trains a LoRA adapter: give --lora-r");
  lo.load_in_4bit = f.load_in_4bit;

  if (f.method == "reward") {
    const std::vector<PreferenceRow> rows = read_preference_jsonl(f.data, tok, f.max_length);
    auto model = LlamaForSequenceClassification::from_pretrained(path, lo, 1, pad, args.seed);
    // With LoRA (as TRL with a peft_config): the adapters and the whole score head train, the head as
    // modules_to_save.
    nn::ParameterStore trained;
    const std::unique_ptr<peft::LoraModel> lora = lora_if_asked(model->parameters(), f, "SEQ_CLS", trained);
    train::Trainer trainer(lora ? trained : model->parameters(), args, rows.size(), reward_rows_loss(*model, rows, pad),
                           model->config_json());
    const train::TrainResult r = trainer.train(f.resume);
    if (!r.interrupted) {
      if (!lora) model->save_pretrained(args.output_dir);
      finish_output(path, args.output_dir, lora.get());
    }
    report(r, args, lora != nullptr);
    return;
  }
  auto policy = AutoModelForCausalLM::from_pretrained(path, lo);
  // With LoRA only the adapters train, and the reference is the base with adapters disabled unless --ref-model.
  nn::ParameterStore trained;
  const std::unique_ptr<peft::LoraModel> lora = lora_if_asked(policy->parameters(), f, "CAUSAL_LM", trained);
  std::unique_ptr<CausalLM> ref_copy;
  std::optional<Reference> ref;
  if ((f.method == "dpo" || f.method == "kto") && lora && f.ref_model.empty()) {
    ref.emplace(*lora);
  } else if (f.method == "dpo" || f.method == "kto") {
    ref_copy = AutoModelForCausalLM::from_pretrained(f.ref_model.empty() ? path : io::resolve_model(f.ref_model), lo);
    ref.emplace(*ref_copy);
  }
  train::RowsLossFn loss;
  std::vector<PreferenceRow> pairs;
  std::vector<UnpairedRow> unpaired;
  size_t n = 0;
  if (f.method == "kto") {
    unpaired = read_unpaired_jsonl(f.data, tok, f.max_length);
    KtoOptions o;
    o.beta = beta;
    o.desirable_weight = f.desirable_weight;
    o.undesirable_weight = f.undesirable_weight;
    loss = kto_rows_loss(*policy, *ref, unpaired, o, pad);
    n = unpaired.size();
  } else {
    pairs = read_preference_jsonl(f.data, tok, f.max_length);
    n = pairs.size();
    if (f.method == "dpo") {
      DpoOptions o;
      o.loss_type = parse_dpo_loss_type(f.loss_type);
      o.beta = beta;
      o.label_smoothing = f.label_smoothing;
      if (f.precompute_ref_log_probs) {  // scored once; the frozen copy, if any, leaves memory before training
        ref.emplace(precompute_reference_logprobs(*policy, *ref, pairs, pad, f.batch_size));
        ref_copy.reset();
      }
      loss = dpo_rows_loss(*policy, *ref, pairs, o, pad);
    } else if (f.method == "simpo") {
      CpoOptions o;
      o.beta = beta;
      o.simpo_gamma = f.simpo_gamma;
      o.label_smoothing = f.label_smoothing;
      o.cpo_alpha = f.cpo_alpha;
      loss = cpo_rows_loss(*policy, pairs, o, pad);
    } else {
      loss = orpo_rows_loss(*policy, pairs, beta, pad);
    }
  }
  std::printf("%zu %s rows\n", n, f.method == "kto" ? "unpaired" : "preference");
  train::Trainer trainer(lora ? trained : policy->parameters(), args, n, loss, config.json);
  const train::TrainResult r = trainer.train(f.resume);
  if (!r.interrupted) finish_output(path, args.output_dir, lora.get());
  report(r, args, lora != nullptr);
}

void add_method(CLI::App* train, const std::string& method, const std::string& help) {
  auto f = std::make_shared<AlignFlags>();
  f->method = method;
  auto* cmd = train->add_subcommand(method, help);
  cmd->add_option("--model", f->model, "Model folder or hub id (the policy; reward: the backbone)")->required();
  cmd->add_option("--data", f->data,
                  "JSON lines: prompt/chosen/rejected (kto: prompt/completion/label), text or chat messages")
      ->required();
  add_loop_options(cmd, *f, "pairs (kto: rows) per micro-batch", "seed of the data order");
  if (method == "dpo" || method == "kto")
    cmd->add_option("--ref-model", f->ref_model, "Reference model (default: a frozen copy of --model)");
  if (method == "dpo")
    cmd->add_flag("--precompute-ref-log-probs", f->precompute_ref_log_probs,
                  "Score the reference once before training and free it (TRL's precompute_ref_log_probs)");
  if (method != "reward") cmd->add_option("--beta", f->beta, "beta (default as TRL: 0.1; simpo 2.0)");
  if (method == "dpo") {
    cmd->add_option("--loss-type", f->loss_type, "sigmoid, ipo, hinge or robust");
    cmd->add_option("--label-smoothing", f->label_smoothing, "robust: the assumed label noise, in [0, 0.5)");
  }
  if (method == "simpo") {
    cmd->add_option("--simpo-gamma", f->simpo_gamma, "the target reward margin gamma");
    cmd->add_option("--cpo-alpha", f->cpo_alpha, "weight of the chosen NLL (0: SimPO)");
    cmd->add_option("--label-smoothing", f->label_smoothing, "conservative loss smoothing");
  }
  if (method == "kto") {
    cmd->add_option("--desirable-weight", f->desirable_weight, "weight of desirable rows");
    cmd->add_option("--undesirable-weight", f->undesirable_weight, "weight of undesirable rows");
  }
  cmd->add_option("--lora-r", f->lora_r,
                  method == "reward" ? "Train a LoRA adapter of this rank on every linear layer and the score head "
                                       "whole (0: full)"
                                     : "Train a LoRA adapter of this rank on every linear layer (0: full)");
  cmd->add_option("--lora-alpha", f->lora_alpha, "LoRA alpha");
  cmd->add_flag("--load-in-4bit", f->load_in_4bit,
                method == "reward" ? "QLoRA: the backbone's Linear layers as frozen NF4 (the score head stays dense)"
                                   : "QLoRA: the base's Linear layers as frozen NF4 (the reference: the same base, "
                                     "adapters disabled)");
  cmd->add_option("--lr", f->lr, "learning_rate (default as TRL: 1e-6; reward 1e-5)");
  cmd->add_option("--max-length", f->max_length, "tokens of prompt + completion (completions are cut)");
  cmd->callback([f] { run_align(*f); });
}

void add_train_align_commands(CLI::App& app) {
  CLI::App* train = train_command(app);
  add_method(train, "dpo", "Direct Preference Optimization (TRL's DPOTrainer) on prompt/chosen/rejected data");
  add_method(train, "orpo", "Odds Ratio Preference Optimization (no reference model)");
  add_method(train, "simpo", "SimPO: length-normalised preference loss with a target margin (no reference model)");
  add_method(train, "kto", "Kahneman-Tversky Optimization on unpaired prompt/completion/label data");
  add_method(train, "reward", "A reward model (LlamaForSequenceClassification) on prompt/chosen/rejected pairs");
}

const CommandRegistration reg(add_train_align_commands);

}  // namespace
}  // namespace glint::cli
