#include "trainers/trainer.h"

#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>

#include "runtime/autograd/autocast.h"
#include "runtime/autograd/autograd.h"
#include "runtime/core/error.h"
#include "runtime/io/atomic_file.h"
#include "runtime/io/checkpoint.h"
#include "runtime/io/progress_bar.h"
#include "runtime/io/safetensors.h"
#include "runtime/ops/elementwise.h"
#include "trainers/loss_curve.h"

namespace glint::train {
namespace fs = std::filesystem;
namespace {

std::atomic<bool> g_interrupted{false};
extern "C" void on_sigint(int) { g_interrupted = true; }

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) / 1024.0;  // Linux reports KiB
}

std::unique_ptr<Optimizer> make_optimizer(const TrainingArguments& a) {
  if (a.optim == "adamw_torch" || a.optim == "adamw") {
    AdamWConfig c;
    c.beta1 = a.adam_beta1;
    c.beta2 = a.adam_beta2;
    c.eps = a.adam_epsilon;
    c.weight_decay = a.weight_decay;
    return std::make_unique<AdamW>(c);
  }
  if (a.optim == "sgd") {
    SgdConfig c;
    c.weight_decay = a.weight_decay;
    return std::make_unique<Sgd>(c);
  }
  fail("train", "optim '", a.optim, "' is not supported (adamw_torch, sgd)");
}

}  // namespace

std::string latest_checkpoint(const std::string& output_dir) {
  std::string best;
  int64_t best_step = -1;
  if (!fs::is_directory(output_dir)) return best;
  for (const auto& e : fs::directory_iterator(output_dir)) {
    const std::string name = e.path().filename().string();
    if (!e.is_directory() || name.rfind("checkpoint-", 0) != 0) continue;
    const int64_t step = std::strtoll(name.c_str() + 11, nullptr, 10);
    if (step > best_step && fs::exists(e.path() / "trainer_state.json")) best_step = step, best = e.path().string();
  }
  return best;
}

Trainer::Trainer(CausalLM& model, TrainingArguments args, std::vector<TokenizedRow> train_rows,
                 std::vector<TokenizedRow> eval_rows, nlohmann::json model_config, int64_t pad_id,
                 std::optional<TrainableParameters> trainable)
    : model_(&model),
      args_(std::move(args)),
      train_rows_(std::move(train_rows)),
      eval_rows_(std::move(eval_rows)),
      model_config_(std::move(model_config)),
      pad_id_(pad_id),
      scaler_(GradScalerConfig{.enabled = args_.fp16}) {
  GLINT_CHECK(!args_.output_dir.empty(), "train", "output_dir is required");
  GLINT_CHECK(!train_rows_.empty(), "train", "the training set is empty");
  model_->set_gradient_checkpointing(args_.gradient_checkpointing);
  num_rows_ = train_rows_.size();
  if (trainable) save_final_ = std::move(trainable->save);
  setup(trainable ? trainable->parameters : model_->parameters().entries());
}

Trainer::Trainer(const nn::ParameterStore& parameters, TrainingArguments args, size_t num_rows, RowsLossFn loss,
                 nlohmann::json model_config)
    : args_(std::move(args)),
      model_config_(std::move(model_config)),
      pad_id_(0),
      scaler_(GradScalerConfig{.enabled = args_.fp16}) {
  GLINT_CHECK(!args_.output_dir.empty(), "train", "output_dir is required");
  GLINT_CHECK(num_rows > 0, "train", "the training set is empty");
  GLINT_CHECK(bool(loss), "train", "no loss function given");
  rows_loss_ = std::move(loss);
  num_rows_ = num_rows;
  setup(parameters.entries());
}

void Trainer::setup(const std::vector<std::pair<std::string, Tensor>>& parameters) {
  for (const auto& [name, value] : parameters) {
    Tensor p = value;
    p.requires_grad_();
    params_.push_back({name, p, {}});
  }
  GLINT_CHECK(!params_.empty(), "train", "the model has no parameters to train");
  optimizer_ = make_optimizer(args_);
  const int64_t bs = args_.per_device_train_batch_size, accum = args_.gradient_accumulation_steps;
  batches_per_epoch_ = (int64_t(num_rows_) + bs - 1) / bs;
  const int64_t steps_per_epoch = std::max<int64_t>(1, batches_per_epoch_ / accum);
  total_steps_ = args_.max_steps > 0 ? args_.max_steps
                                     : int64_t(std::ceil(args_.num_train_epochs * double(steps_per_epoch)));
  ScheduleConfig sc;
  sc.type = parse_schedule_type(args_.lr_scheduler_type);
  sc.warmup_steps = args_.warmup_steps > 0 ? args_.warmup_steps
                                           : int64_t(std::ceil(args_.warmup_ratio * double(total_steps_)));
  sc.training_steps = total_steps_;
  schedule_ = std::make_unique<LrSchedule>(sc, args_.learning_rate);
}

std::vector<size_t> Trainer::micro_batch_rows(int64_t index) const {
  const int64_t epoch = index / batches_per_epoch_, j = index % batches_per_epoch_;
  if (order_epoch_ != epoch) {  // one permutation per epoch, not one per micro-batch
    order_ = epoch_order(num_rows_, args_.seed, epoch);
    order_epoch_ = epoch;
  }
  const std::vector<size_t>& order = order_;
  const size_t begin = size_t(j * args_.per_device_train_batch_size);
  const size_t end = std::min(order.size(), begin + size_t(args_.per_device_train_batch_size));
  return std::vector<size_t>(order.begin() + std::ptrdiff_t(begin), order.begin() + std::ptrdiff_t(end));
}

Batch Trainer::micro_batch(int64_t index) const {
  std::vector<const TokenizedRow*> rows;
  for (size_t i : micro_batch_rows(index)) rows.push_back(&train_rows_[i]);
  return collate(rows, pad_id_);
}

double Trainer::rows_loss_step() {
  const int64_t accum = args_.gradient_accumulation_steps;
  double loss = 0;
  last_metrics_.clear();
  last_tokens_ = 0;
  for (int64_t i = 0; i < accum; ++i) {
    const RowsLoss out = rows_loss_(micro_batch_rows(pos_.micro_batches + i));
    const Tensor l = out.loss / double(accum);
    (scaler_.scale() == 1.0 ? l : l * scaler_.scale()).backward();
    loss += double(l.to_f32()[0]);
    for (const auto& [key, value] : out.metrics) last_metrics_[key] += value / double(accum);
    last_tokens_ += out.tokens;
  }
  return loss;
}

double Trainer::train_step() {
  double loss;
  {
    const autograd::AutocastGuard autocast(args_.bf16   ? std::optional<DType>(DType::bf16)
                                           : args_.fp16 ? std::optional<DType>(DType::f16)
                                                        : std::nullopt);
    loss = rows_loss_ ? rows_loss_step() : causal_lm_step();
  }
  pos_.micro_batches += args_.gradient_accumulation_steps;
  for (ParamRef& p : params_) p.grad = p.value.grad();
  if (args_.fp16) {  // unscaled before clipping; a step with inf/NaN gradients is skipped and the scale backs off
    scaler_.unscale(params_);
    last_grad_norm_ = args_.max_grad_norm > 0 ? clip_grad_norm(params_, args_.max_grad_norm) : grad_norm(params_);
    scaler_.step(*optimizer_, params_, schedule_->lr(pos_.step));
    scaler_.update();
  } else {
    last_grad_norm_ = args_.max_grad_norm > 0 ? clip_grad_norm(params_, args_.max_grad_norm) : grad_norm(params_);
    optimizer_->step(params_, schedule_->lr(pos_.step));
  }
  for (ParamRef& p : params_) {
    p.value.set_grad({});
    p.grad = {};
  }
  ++pos_.step;
  return loss;
}

double Trainer::causal_lm_step() {
  std::vector<Batch> micro;
  int64_t targets = 0;
  for (int64_t i = 0; i < args_.gradient_accumulation_steps; ++i) {
    micro.push_back(micro_batch(pos_.micro_batches + i));
    targets += micro.back().targets;
  }
  // Each micro-batch's summed loss over the whole step's target count, so the accumulated gradient is that of
  // the step's mean token loss (transformers' num_items_in_batch).
  CrossEntropyOptions opts;
  opts.normalizer = double(std::max<int64_t>(targets, 1));
  double loss = 0;
  last_tokens_ = 0;
  for (const Batch& b : micro) {
    const Tensor l = model_->loss(b.input_ids, b.labels, b.attention_mask, opts, b.position_ids);
    (scaler_.scale() == 1.0 ? l : l * scaler_.scale()).backward();
    loss += double(l.to_f32()[0]);
    last_tokens_ += b.tokens;
  }
  return loss;
}

double Trainer::evaluate() {
  GLINT_CHECK(!eval_rows_.empty(), "train", "no eval set");
  autograd::NoGradGuard no_grad;
  CrossEntropyOptions opts;
  opts.normalizer = 1.0;  // summed; divided by the total target count below
  double sum = 0;
  int64_t targets = 0;
  const size_t bs = size_t(args_.per_device_eval_batch_size);
  for (size_t i = 0; i < eval_rows_.size(); i += bs) {
    std::vector<const TokenizedRow*> rows;
    for (size_t j = i; j < std::min(eval_rows_.size(), i + bs); ++j) rows.push_back(&eval_rows_[j]);
    const Batch b = collate(rows, pad_id_);
    if (b.targets == 0) continue;
    sum += double(model_->loss(b.input_ids, b.labels, b.attention_mask, opts, b.position_ids).to_f32()[0]);
    targets += b.targets;
  }
  return targets ? sum / double(targets) : std::nan("");
}

void Trainer::log(nlohmann::json record) {
  record["step"] = pos_.step;
  record["epoch"] = double(pos_.micro_batches) / double(batches_per_epoch_);
  history_.push_back(record);
  std::ofstream(fs::path(args_.output_dir) / "metrics.jsonl", std::ios::app) << record.dump() << "\n";
  write_loss_svg((fs::path(args_.output_dir) / "loss.svg").string(), history_, "glint train: " + args_.output_dir);
}

void Trainer::save_model(const std::string& dir) const {
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const ParamRef& p : params_) tensors.emplace_back(p.name, p.value.detach());
  io::save_safetensors((fs::path(dir) / "model.safetensors").string(), tensors, {{"format", "pt"}});
  io::write_file_atomically((fs::path(dir) / "config.json").string(), model_config_.dump(2) + "\n", "train");
}

void Trainer::save_checkpoint() const {
  const fs::path out(args_.output_dir);
  const fs::path final_dir = out / ("checkpoint-" + std::to_string(pos_.step));
  const fs::path tmp = out / (".checkpoint-" + std::to_string(pos_.step) + ".tmp");
  fs::remove_all(tmp);
  fs::create_directories(tmp);
  save_model(tmp.string());
  OptimizerState state = optimizer_->state_dict();
  for (auto& [k, v] : scaler_.state_dict().tensors) state.tensors["grad_scaler." + k] = v;
  for (auto& [k, v] : scaler_.state_dict().counters) state.counters["grad_scaler." + k] = v;
  std::vector<std::pair<std::string, Tensor>> tensors(state.tensors.begin(), state.tensors.end());
  io::save_safetensors((tmp / "optimizer.safetensors").string(), tensors);
  nlohmann::json ts;
  ts["global_step"] = pos_.step;
  ts["micro_batches"] = pos_.micro_batches;
  ts["optimizer_counters"] = state.counters;
  ts["log_history"] = history_;
  ts["args"] = args_.to_json();
  io::write_file_atomically((tmp / "trainer_state.json").string(), ts.dump(1) + "\n", "train");
  // A checkpoint appears whole or not at all: the folder is renamed into place after every file is on disk.
  fs::remove_all(final_dir);
  fs::rename(tmp, final_dir);
  if (args_.save_total_limit > 0) {
    std::vector<std::pair<int64_t, fs::path>> all;
    for (const auto& e : fs::directory_iterator(out)) {
      const std::string name = e.path().filename().string();
      if (e.is_directory() && name.rfind("checkpoint-", 0) == 0)
        all.emplace_back(std::strtoll(name.c_str() + 11, nullptr, 10), e.path());
    }
    std::sort(all.begin(), all.end());
    for (size_t i = 0; i + size_t(args_.save_total_limit) < all.size(); ++i) fs::remove_all(all[i].second);
  }
}

void Trainer::load_checkpoint(const std::string& dir) {
  const fs::path d(dir);
  std::ifstream in(d / "trainer_state.json");
  GLINT_CHECK(in, "train", (d / "trainer_state.json").string(), ": cannot read the checkpoint's trainer state");
  nlohmann::json ts;
  try {
    ts = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    fail("train", (d / "trainer_state.json").string(), ": ", e.what());
  }
  pos_.step = ts.at("global_step").get<int64_t>();
  pos_.micro_batches = ts.at("micro_batches").get<int64_t>();
  history_ = ts.at("log_history").get<std::vector<nlohmann::json>>();
  const auto weights = io::Checkpoint::open((d / "model.safetensors").string());
  {
    autograd::NoGradGuard no_grad;
    for (ParamRef& p : params_) p.value.copy_from(weights->tensor(p.name, p.value.device(), p.value.dtype()));
  }
  // One file holds the optimizer's state and, under "grad_scaler.", the loss scaler's.
  OptimizerState state, scaler;
  const auto opt = io::Checkpoint::open((d / "optimizer.safetensors").string());
  const std::string prefix = "grad_scaler.";
  for (const std::string& name : opt->names())
    (name.rfind(prefix, 0) == 0 ? scaler.tensors[name.substr(prefix.size())] : state.tensors[name]) =
        opt->tensor(name);
  for (const auto& [name, v] : ts.at("optimizer_counters").get<std::map<std::string, int64_t>>())
    (name.rfind(prefix, 0) == 0 ? scaler.counters[name.substr(prefix.size())] : state.counters[name]) = v;
  optimizer_->load_state_dict(state);
  scaler_.load_state_dict(scaler);
  // The metrics file holds what the checkpoint knew: lines a killed run logged after it are dropped.
  std::string lines;
  for (const nlohmann::json& r : history_) lines += r.dump() + "\n";
  io::write_file_atomically((fs::path(args_.output_dir) / "metrics.jsonl").string(), lines, "train");
}

TrainResult Trainer::train(const std::string& resume_from) {
  fs::create_directories(args_.output_dir);
  const std::string resume = resume_from == "latest" ? latest_checkpoint(args_.output_dir) : resume_from;
  if (!resume.empty()) {
    load_checkpoint(resume);
  } else {
    fs::remove(fs::path(args_.output_dir) / "metrics.jsonl");
  }
  g_interrupted = false;
  auto previous = std::signal(SIGINT, on_sigint);
  TrainResult result;
  using Clock = std::chrono::steady_clock;
  const auto start = Clock::now();
  auto window_start = start;
  int64_t window_tokens = 0, window_steps = 0;
  double window_loss = 0;
  // A RowsLossFn's metrics, averaged over the logging window as TRL averages its own (NaN, "does not apply", skipped).
  std::map<std::string, std::pair<double, int64_t>> window_metrics;
  io::ProgressBar bar(total_steps_, pos_.step);
  while (pos_.step < total_steps_) {
    const double loss = train_step();
    window_loss += loss;
    window_tokens += last_tokens_;
    ++window_steps;
    for (const auto& [key, value] : last_metrics_) {
      auto& [sum, count] = window_metrics[key];
      if (!std::isnan(value)) sum += value, ++count;
    }
    const double lr = schedule_->lr(pos_.step - 1);
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    if (bar.active()) {
      char text[64];
      std::snprintf(text, sizeof text, "loss %.4f lr %.2e", loss, lr);
      bar.update(pos_.step, text);
    }
    const bool last = pos_.step == total_steps_;
    if (pos_.step % std::max<int64_t>(1, args_.logging_steps) == 0 || last) {
      const double secs = std::chrono::duration<double>(Clock::now() - window_start).count();
      result.last_loss = window_loss / double(window_steps);
      nlohmann::json record = {{"loss", result.last_loss},
                               {"learning_rate", lr},
                               {"grad_norm", last_grad_norm_},
                               {"tokens_per_second", double(window_tokens) / std::max(secs, 1e-9)},
                               {"peak_rss_mb", peak_rss_mb()},
                               {"elapsed_seconds", elapsed}};
      for (const auto& [key, acc] : window_metrics)
        record[key] = acc.second ? acc.first / double(acc.second) : std::numeric_limits<double>::quiet_NaN();
      log(std::move(record));
      window_start = Clock::now();
      window_tokens = window_steps = 0;
      window_loss = 0;
      window_metrics.clear();
    }
    if (!eval_rows_.empty() && ((args_.eval_steps > 0 && pos_.step % args_.eval_steps == 0) || last)) {
      result.eval_loss = evaluate();
      log({{"eval_loss", *result.eval_loss}, {"eval_perplexity", std::exp(*result.eval_loss)}});
    }
    if ((args_.save_steps > 0 && pos_.step % args_.save_steps == 0) || last || g_interrupted) save_checkpoint();
    if (g_interrupted) {
      result.interrupted = true;
      break;
    }
  }
  bar.finish();
  std::signal(SIGINT, previous);
  if (!result.interrupted) save_final_ ? save_final_(args_.output_dir) : save_model(args_.output_dir);
  result.global_step = pos_.step;
  return result;
}

}  // namespace glint::train
