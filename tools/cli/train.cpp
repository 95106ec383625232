// `glint train lm|sft`: pretraining from a config.json (random init) and supervised fine-tuning of a model folder,
// both through train::Trainer. Training arguments come from --args FILE (transformers' TrainingArguments keys) and
// the flags, which win.
//   glint train lm --config models/default/config.json --tokenizer models/default --data data/kjv/kjv.jsonl \
//       --text-template '{book} {chapter}:{verse} {text}\n' --seq-len 128 --output runs/kjv
//   glint train sft --model M --data chat.jsonl --output runs/sft [--completion-only-loss] [--assistant-only-loss]
//       [--lora-r 16 --lora-alpha 32 --target-modules all-linear [--load-in-4bit]]   (LoRA / QLoRA: the output
//       folder gets peft's adapter_config.json + adapter_model.safetensors)
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "models/auto.h"
#include "models/peft/lora.h"
#include "runtime/io/config.h"
#include "runtime/io/hub.h"
#include "tools/cli/commands.h"
#include "tools/cli/train_shared.h"
#include "trainers/datasets/fingerprint.h"
#include "trainers/datasets/load.h"
#include "trainers/sft.h"
#include "trainers/trainer.h"

namespace glint::cli {
namespace {
namespace fs = std::filesystem;

struct TrainFlags {
  std::string args_file, output, device, resume, tokenizer;
  std::vector<std::string> data;
  std::optional<double> epochs, lr;
  std::optional<int64_t> max_steps, batch_size, grad_accum, save_steps, save_total_limit, logging_steps, eval_steps;
  std::optional<uint64_t> seed;
  bool gradient_checkpointing = false, bf16 = false, fp16 = false;
  double eval_fraction = 0;
  int64_t seq_len = 512;
  // lm
  std::string config, text_template = "{text}";
  bool append_eos = false;
  bool packing = false;
  // sft
  std::string model;
  train::SftOptions sft;
  // sft with LoRA (lora_r > 0) and QLoRA (load_in_4bit)
  int64_t lora_r = 0;
  double lora_alpha = 0, lora_dropout = 0;
  std::string target_modules = "all-linear";
  bool load_in_4bit = false;
};

void add_common(CLI::App* cmd, TrainFlags& f) {
  cmd->add_option("--data", f.data, "Training data files or globs (JSON lines, JSON, CSV, text)")->required();
  cmd->add_option("--output", f.output, "Output folder (checkpoints, metrics.jsonl, loss.svg, final model)")
      ->required();
  cmd->add_option("--args", f.args_file, "A JSON file of TrainingArguments (transformers' keys)");
  cmd->add_option("--epochs", f.epochs, "num_train_epochs");
  cmd->add_option("--max-steps", f.max_steps, "max_steps (wins over --epochs)");
  cmd->add_option("--lr", f.lr, "learning_rate");
  cmd->add_option("--batch-size", f.batch_size, "per_device_train_batch_size");
  cmd->add_option("--grad-accum", f.grad_accum, "gradient_accumulation_steps");
  cmd->add_option("--save-steps", f.save_steps, "save a checkpoint every N steps");
  cmd->add_option("--save-total-limit", f.save_total_limit, "save_total_limit: keep only the newest N checkpoints");
  cmd->add_option("--logging-steps", f.logging_steps, "log metrics every N steps");
  cmd->add_option("--eval-steps", f.eval_steps, "evaluate every N steps");
  cmd->add_option("--eval-fraction", f.eval_fraction, "Hold out this fraction of the rows for eval loss");
  cmd->add_option("--seed", f.seed, "seed of data order and the held-out split");
  cmd->add_option("--seq-len", f.seq_len, "Tokens per training sequence (lm: block size; sft: max length)");
  cmd->add_flag("--gradient-checkpointing", f.gradient_checkpointing, "Recompute blocks in backward");
  cmd->add_flag("--bf16", f.bf16, "Compute in bf16 with f32 master weights");
  cmd->add_flag("--fp16", f.fp16, "Compute in f16 with f32 master weights and dynamic loss scaling");
  cmd->add_option("--device", f.device, "cpu, vulkan or vulkan:N");
  cmd->add_option("--resume", f.resume, "'latest' (the output folder's newest checkpoint) or a checkpoint folder");
}

train::TrainingArguments training_args(const TrainFlags& f) {
  nlohmann::json j = nlohmann::json::object();
  if (!f.args_file.empty()) j = io::load_json(f.args_file).json;
  auto set = [&](const char* key, const auto& v) {
    if (v) j[key] = *v;
  };
  j["output_dir"] = f.output;
  set("num_train_epochs", f.epochs);
  set("max_steps", f.max_steps);
  set("learning_rate", f.lr);
  set("per_device_train_batch_size", f.batch_size);
  set("gradient_accumulation_steps", f.grad_accum);
  set("save_steps", f.save_steps);
  set("save_total_limit", f.save_total_limit);
  set("logging_steps", f.logging_steps);
  set("eval_steps", f.eval_steps);
  set("seed", f.seed);
  if (f.gradient_checkpointing) j["gradient_checkpointing"] = true;
  if (f.bf16) j["bf16"] = true;
  if (f.fp16) j["fp16"] = true;
  if (!f.device.empty()) j["device"] = f.device;
  return train::TrainingArguments::from_json(j, f.args_file.empty() ? "--args" : f.args_file);
}

// `template_` with each {column} replaced by that cell of `row` (strings as they are, other values as JSON), and
// the escapes \n and \t.
std::string render(const std::string& template_, const datasets::Value& row) {
  std::string out;
  for (size_t i = 0; i < template_.size(); ++i) {
    if (template_[i] == '\\' && i + 1 < template_.size() && (template_[i + 1] == 'n' || template_[i + 1] == 't')) {
      out += template_[++i] == 'n' ? '\n' : '\t';
    } else if (template_[i] == '{') {
      const size_t close = template_.find('}', i);
      GLINT_CHECK(close != std::string::npos, "train", "--text-template: unclosed '{' in ", template_);
      const std::string key = template_.substr(i + 1, close - i - 1);
      GLINT_CHECK(row.contains(key), "train", "--text-template: the data has no column '", key, "'");
      out += row[key].is_string() ? row[key].get<std::string>() : row[key].dump();
      i = close;
    } else {
      out += template_[i];
    }
  }
  return out;
}

// Splits off the eval rows (the last eval_fraction of a seeded permutation).
std::pair<std::vector<train::TokenizedRow>, std::vector<train::TokenizedRow>> split(
    std::vector<train::TokenizedRow> rows, double fraction, uint64_t seed) {
  if (fraction <= 0) return {std::move(rows), {}};
  const std::vector<size_t> order = train::epoch_order(rows.size(), seed, -1);
  const size_t n_eval = std::max<size_t>(1, size_t(double(rows.size()) * fraction));
  std::vector<train::TokenizedRow> tr, ev;
  for (size_t i = 0; i < order.size(); ++i) (i < order.size() - n_eval ? tr : ev).push_back(std::move(rows[order[i]]));
  return {std::move(tr), std::move(ev)};
}

std::optional<Device> device_of(const train::TrainingArguments& a) {
  return a.device.empty() ? std::optional<Device>() : Device::parse(a.device);
}

void run_lm(const TrainFlags& f) {
  const train::TrainingArguments args = training_args(f);
  const io::JsonFile config = io::load_json(f.config);
  const std::string tok_dir = f.tokenizer.empty() ? fs::path(f.config).parent_path().string() : f.tokenizer;
  const Tokenizer tok = Tokenizer::from_pretrained(tok_dir);
  datasets::Dataset ds = datasets::load_dataset("auto", f.data);
  ds = ds.map([&](const datasets::Value& row) { return datasets::Value{{"text", render(f.text_template, row)}}; },
              ds.column_names());
  datasets::TokenizeSpec spec;
  spec.tokenizer_id = datasets::tokenizer_fingerprint(tok_dir);
  spec.function = "lm_text@1";
  const auto tokenized = datasets::TokenizedDataset::build(ds, datasets::text_tokenize_fn(tok, "text", false), spec);
  const std::optional<uint32_t> eos =
      tok.config().eos_token ? tok.token_to_id(*tok.config().eos_token) : std::optional<uint32_t>();
  auto [train_rows, eval_rows] =
      split(train::pack_rows(train::rows_of(tokenized), f.seq_len, f.append_eos && eos ? int64_t(*eos) : -1),
            f.eval_fraction, args.seed);
  std::printf("%zu blocks of %lld tokens for training, %zu held out%s\n", train_rows.size(), (long long)f.seq_len,
              eval_rows.size(), tokenized.from_cache() ? " (tokens from the cache)" : "");
  ModelLoadOptions lo;
  lo.device = device_of(args);
  auto model = AutoModelForCausalLM::from_config(config, lo, args.seed);
  train::Trainer trainer(*model, args, std::move(train_rows), std::move(eval_rows), config.json,
                         eos ? int64_t(*eos) : 0);
  const train::TrainResult r = trainer.train(f.resume);
  if (!r.interrupted) copy_companion_files(tok_dir, args.output_dir);
  report(r, args, false);
}

void run_sft(const TrainFlags& f) {
  train::TrainingArguments args = training_args(f);
  const std::string path = io::resolve_model(f.model);
  const Tokenizer tok = Tokenizer::from_pretrained(path);
  const datasets::Dataset ds = datasets::load_dataset("auto", f.data);
  train::SftOptions o = f.sft;
  o.max_length = f.seq_len;
  const train::SftFormat format = train::detect_sft_format(ds, o);
  datasets::TokenizeSpec spec;
  spec.tokenizer_id = datasets::tokenizer_fingerprint(path);
  spec.function = "sft@1";
  spec.options = train::sft_options_json(format, o);
  const auto tokenized = datasets::TokenizedDataset::build(ds, train::sft_tokenize_fn(tok, format, o), spec);
  std::vector<train::TokenizedRow> rows = train::rows_of(tokenized);
  if (f.packing) rows = train::pack_examples(rows, f.seq_len);
  auto [train_rows, eval_rows] = split(std::move(rows), f.eval_fraction, args.seed);
  ModelLoadOptions lo;
  lo.device = device_of(args);
  lo.dtype = DType::f32;  // f32 master weights (the compute dtype of a 4-bit base)
  GLINT_CHECK(!f.load_in_4bit || f.lora_r > 0, "train", "--load-in-4bit trains a LoRA adapter: give --lora-r");
  lo.load_in_4bit = f.load_in_4bit;
  auto model = AutoModelForCausalLM::from_pretrained(path, lo);
  const io::JsonFile config = io::load_json((fs::path(path) / "config.json").string());
  const std::optional<uint32_t> pad =
      tok.config().pad_token ? tok.token_to_id(*tok.config().pad_token) : std::optional<uint32_t>();
  std::unique_ptr<peft::LoraModel> lora;
  std::optional<train::TrainableParameters> trainable;
  if (f.lora_r > 0) {
    lora = std::make_unique<peft::LoraModel>(*model);
    peft::LoraConfig lc;
    lc.r = f.lora_r;
    lc.lora_alpha = f.lora_alpha > 0 ? f.lora_alpha : double(f.lora_r);  // peft's default alpha is 8 at r 8
    lc.lora_dropout = f.lora_dropout;
    lc.base_model_name_or_path = f.model;
    if (f.target_modules == "all-linear") {
      lc.all_linear = true;
    } else {
      std::stringstream names(f.target_modules);
      for (std::string n; std::getline(names, n, ',');)
        if (!n.empty()) lc.target_names.push_back(n);
    }
    lora->add_adapter("default", lc, args.seed);
    lora->train();
    trainable = train::TrainableParameters{lora->parameters("default"), [&lora](const std::string& dir) {
                                             lora->save_adapter(dir);
                                           }};
  }
  train::Trainer trainer(*model, args, std::move(train_rows), std::move(eval_rows), config.json, pad ? *pad : 0,
                         std::move(trainable));
  const train::TrainResult r = trainer.train(f.resume);
  if (!r.interrupted) copy_companion_files(path, args.output_dir);  // the Trainer wrote the adapter
  report(r, args, lora != nullptr);
}

void add_train_command(CLI::App& app) {
  CLI::App* train = train_command(app);

  auto lm = std::make_shared<TrainFlags>();
  auto* lm_cmd = train->add_subcommand("lm", "Pretrain a causal LM from a config.json (random init) on text data");
  lm_cmd->add_option("--config", lm->config, "The model's config.json")->required();
  lm_cmd->add_option("--tokenizer", lm->tokenizer, "Tokenizer folder (default: the config's folder)");
  lm_cmd->add_option("--text-template", lm->text_template,
                     "Text of a row: {column} substituted, \\n a newline (default '{text}')");
  lm_cmd->add_flag("--append-eos", lm->append_eos, "End every row with the EOS token before packing");
  add_common(lm_cmd, *lm);
  lm_cmd->callback([lm] { run_lm(*lm); });

  auto sft = std::make_shared<TrainFlags>();
  sft->seq_len = 1024;
  auto* sft_cmd = train->add_subcommand("sft", "Supervised fine-tuning (text, prompt/completion or messages data)");
  sft_cmd->add_option("--model", sft->model, "Model folder or hub id")->required();
  sft_cmd->add_option("--text-column", sft->sft.text_column, "The text column of text datasets");
  sft_cmd->add_flag("--completion-only-loss,!--no-completion-only-loss", sft->sft.completion_only_loss,
                    "prompt/completion data: loss on the completion only (default on)");
  sft_cmd->add_flag("--assistant-only-loss", sft->sft.assistant_only_loss,
                    "messages data: loss on assistant turns only");
  sft_cmd->add_flag("--packing", sft->packing,
                    "Pack whole examples into --seq-len rows; attention and positions stay within each example");
  sft_cmd->add_option("--lora-r", sft->lora_r, "Train a LoRA adapter of this rank instead of the whole model");
  sft_cmd->add_option("--lora-alpha", sft->lora_alpha, "LoRA scale numerator (default: r)");
  sft_cmd->add_option("--lora-dropout", sft->lora_dropout, "Dropout on the adapter's input while training");
  sft_cmd->add_option("--target-modules", sft->target_modules,
                      "all-linear (every Linear but lm_head, the default) or names: q_proj,v_proj");
  sft_cmd->add_flag("--load-in-4bit", sft->load_in_4bit, "QLoRA: the base's Linear layers as frozen NF4");
  add_common(sft_cmd, *sft);
  sft_cmd->callback([sft] { run_sft(*sft); });
}

const CommandRegistration reg(add_train_command);

}  // namespace

CLI::App* train_command(CLI::App& app) {
  for (CLI::App* sub : app.get_subcommands([](CLI::App* s) { return s->get_name() == "train"; })) return sub;
  CLI::App* train = app.add_subcommand("train", "Train a model: pretraining (lm), fine-tuning (sft), preference "
                                                "and reward training (dpo, kto, orpo, simpo, reward)");
  train->require_subcommand(1);
  return train;
}

}  // namespace glint::cli
