// GRPO's batch layout, loss and advantages, line for line with TRL 1.16's GRPOTrainer (_compute_loss and the
// sum_then_normalize part of _generate_and_score_completions). The trainer around them is grpo_trainer.cpp.
#include "trainers/alignment/grpo.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "runtime/core/error.h"
#include "runtime/ops/elementwise.h"
#include "runtime/ops/reduce.h"
#include "trainers/alignment/logprobs.h"

namespace glint::train::alignment {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// torch.nanmean / trl's nanstd (Bessel-corrected; NaN with fewer than two values) over the non-NaN values.
double nanmean(const std::vector<double>& v) {
  double s = 0;
  int64_t n = 0;
  for (double x : v)
    if (!std::isnan(x)) s += x, ++n;
  return n ? s / double(n) : kNaN;
}

double nanstd(const std::vector<double>& v) {
  const double m = nanmean(v);
  double s = 0;
  int64_t n = 0;
  for (double x : v)
    if (!std::isnan(x)) s += (x - m) * (x - m), ++n;
  return n > 1 ? std::sqrt(s / double(n - 1)) : kNaN;
}

}  // namespace

GrpoLossType parse_grpo_loss_type(const std::string& name) {
  if (name == "grpo") return GrpoLossType::grpo;
  if (name == "bnpo") return GrpoLossType::bnpo;
  if (name == "dr_grpo") return GrpoLossType::dr_grpo;
  if (name == "dapo") return GrpoLossType::dapo;
  fail("grpo", "loss_type '", name, "' is not supported (grpo, bnpo, dr_grpo, dapo)");
}

ScaleRewards parse_scale_rewards(const std::string& name) {
  if (name == "group" || name == "true") return ScaleRewards::group;
  if (name == "batch") return ScaleRewards::batch;
  if (name == "none" || name == "false") return ScaleRewards::none;
  fail("grpo", "scale_rewards '", name, "' is not supported (group, batch, none)");
}

GrpoBatch collate_grpo(const std::vector<const std::vector<int64_t>*>& prompts,
                       const std::vector<const std::vector<int64_t>*>& completions, int64_t pad_id, Device device,
                       const std::vector<bool>& masked) {
  GLINT_CHECK(masked.empty() || masked.size() == prompts.size(), "grpo", "collate: ", masked.size(),
              " masked flags for ", prompts.size(), " rows");
  GLINT_CHECK(!prompts.empty() && prompts.size() == completions.size(), "grpo",
              "collate needs as many completions as prompts (and some), got ", prompts.size(), " and ",
              completions.size());
  size_t p = 0, c = 0;
  for (size_t i = 0; i < prompts.size(); ++i) {
    GLINT_CHECK(!prompts[i]->empty(), "grpo", "prompt ", i, " is empty");
    p = std::max(p, prompts[i]->size());
    c = std::max(c, completions[i]->size());
  }
  GLINT_CHECK(c > 0, "grpo", "every completion of the micro-batch is empty");
  const size_t b = prompts.size(), t = p + c;
  std::vector<int64_t> ids(b * t, pad_id), mask(b * t, 0);
  std::vector<float> completion_mask(b * c, 0.0f);
  GrpoBatch out;
  for (size_t i = 0; i < b; ++i) {
    const std::vector<int64_t>& pr = *prompts[i];
    const std::vector<int64_t>& co = *completions[i];
    const size_t left = p - pr.size();  // prompts are left-padded, completions right-padded
    for (size_t j = 0; j < pr.size(); ++j) ids[i * t + left + j] = pr[j], mask[i * t + left + j] = 1;
    const bool attended = masked.empty() || !masked[i];
    for (size_t j = 0; j < co.size(); ++j) {
      ids[i * t + p + j] = co[j];
      mask[i * t + p + j] = attended;
      completion_mask[i * c + j] = attended ? 1.0f : 0.0f;
    }
    out.tokens += int64_t(pr.size() + (attended ? co.size() : 0));
  }
  out.input_ids = Tensor::from_vector(ids, {int64_t(b), int64_t(t)}, DType::i64, Device::cpu());
  out.attention_mask = Tensor::from_vector(mask, {int64_t(b), int64_t(t)}, DType::i64, Device::cpu());
  out.completion_mask = Tensor::from_vector(completion_mask, {int64_t(b), int64_t(c)}, DType::f32, device);
  return out;
}

Tensor completion_logprobs(const CausalLM& model, const GrpoBatch& batch, double temperature, Tensor* entropy) {
  const int64_t b = batch.input_ids.dim(0), t = batch.input_ids.dim(1), c = batch.completion_mask.dim(1);
  GLINT_CHECK(c < t, "grpo", "the batch has no prompt tokens before its ", c, " completion positions");
  // Only completion tokens are labelled (TRL: input ids, -100 under padding and over the prompt).
  const std::vector<int64_t> ids = batch.input_ids.to_vector<int64_t>(),
                             mask = batch.attention_mask.to_vector<int64_t>();
  std::vector<int64_t> labels(ids.size(), -100);
  for (int64_t i = 0; i < b; ++i)
    for (int64_t j = t - c; j < t; ++j)
      if (mask[size_t(i * t + j)]) labels[size_t(i * t + j)] = ids[size_t(i * t + j)];
  const Tensor lab = Tensor::from_vector(labels, {b, t}, DType::i64, Device::cpu());
  Tensor all_entropy;
  const Tensor per_token = per_token_logprobs(model, batch.input_ids, lab, batch.attention_mask, temperature,
                                              entropy ? &all_entropy : nullptr);
  // (B, C): the positions that predict completion tokens.
  if (entropy) *entropy = all_entropy.slice(1, t - 1 - c, t - 1);
  return per_token.slice(1, t - 1 - c, t - 1);
}

LossOutput grpo_loss(const Tensor& logps, const GrpoBatch& batch, const GrpoConfig& config, const Tensor& entropy) {
  const Tensor& given_mask = batch.completion_mask;
  GLINT_CHECK(logps.ndim() == 2 && given_mask.defined() && logps.shape() == given_mask.shape(), "grpo",
              "log-probs must be (B, C) like the completion mask ",
              given_mask.defined() ? shape_str(given_mask.shape()) : "", ", got ", shape_str(logps.shape()));
  const Device device = logps.device();  // the head's: with a device map, not necessarily the model's first
  const Tensor mask = given_mask.to(device);
  const int64_t b = logps.dim(0);
  GLINT_CHECK(batch.advantages.defined() && batch.advantages.shape() == Shape({b}), "grpo",
              "advantages must be (B) = (", b, ")");
  GLINT_CHECK(config.beta == 0.0 || batch.ref_logps.defined(), "grpo", "beta > 0 needs the reference's log-probs");
  const double eps_low = config.epsilon, eps_high = config.epsilon_high.value_or(config.epsilon);
  const Tensor old = batch.old_logps.defined() ? batch.old_logps.to(device) : logps.detach();
  const Tensor coef_1 = exp(logps - old);  // per-token importance ratio to the generating policy
  const Tensor coef_2 = clamp(coef_1, 1.0 - eps_low, 1.0 + eps_high);
  const Tensor adv = batch.advantages.to(device).reshape({b, 1});
  Tensor per_token_loss = neg(minimum(coef_1 * adv, coef_2 * adv));
  Tensor per_token_kl;
  if (config.beta != 0.0) {
    const Tensor d = batch.ref_logps.to(device) - logps;
    per_token_kl = exp(d) - d - 1.0;  // the k3 estimator of KL(policy || reference)
    per_token_loss = per_token_loss + per_token_kl * config.beta;
  }
  const Tensor masked = per_token_loss * mask;
  const std::vector<float> m = mask.to_f32();
  double tokens = 0;
  for (float x : m) tokens += x;
  LossOutput out;
  switch (config.loss_type) {
    case GrpoLossType::grpo:
      out.loss = sum_all(sum(masked, 1) / clamp(sum(mask, 1), 1.0, std::nullopt)) / double(b);
      break;
    case GrpoLossType::bnpo:
      out.loss = sum_all(masked) / std::max(tokens, 1.0);
      break;
    case GrpoLossType::dr_grpo:
      out.loss = sum_all(masked) / double(b * config.max_completion_length);
      break;
    case GrpoLossType::dapo:  // TRL divides by num_items * accumulation / steps_per_generation; the Trainer by
                              // the accumulation
      out.loss = sum_all(masked) / (std::max(batch.num_items_in_batch, 1.0) / double(batch.steps_per_generation));
      break;
  }

  // Metrics, as TRL's global_masked_mean and per-sequence clip fractions.
  const int64_t c = logps.dim(1);
  const std::vector<float> ratio = coef_1.to_f32(), a = batch.advantages.to_f32();
  const float low = float(1.0 - eps_low), high = float(1.0 + eps_high);
  double low_sum = 0, high_sum = 0, region_sum = 0;
  double low_min = kNaN, high_max = kNaN;
  for (int64_t i = 0; i < b; ++i) {
    double row_tokens = 0, row_low = 0, row_high = 0;
    for (int64_t j = 0; j < c; ++j) {
      const size_t k = size_t(i * c + j);
      const bool is_low = ratio[k] < low && a[size_t(i)]<0, is_high = ratio[k]> high && a[size_t(i)] > 0;
      row_tokens += m[k];
      row_low += m[k] * double(is_low);
      row_high += m[k] * double(is_high);
      region_sum += m[k] * double(is_low || is_high);
    }
    low_sum += row_low;
    high_sum += row_high;
    if (row_tokens > 0) {  // nanmin / nanmax over rows with tokens
      low_min = std::isnan(low_min) ? row_low / row_tokens : std::min(low_min, row_low / row_tokens);
      high_max = std::isnan(high_max) ? row_high / row_tokens : std::max(high_max, row_high / row_tokens);
    }
  }
  const double denom = std::max(tokens, 1.0);
  out.metrics["clip_ratio/low_mean"] = low_sum / denom;
  out.metrics["clip_ratio/high_mean"] = high_sum / denom;
  out.metrics["clip_ratio/region_mean"] = region_sum / denom;
  out.metrics["clip_ratio/low_min"] = low_min;
  out.metrics["clip_ratio/high_max"] = high_max;
  // TRL's global_masked_mean of a per-token value.
  const auto masked_mean = [&](const Tensor& x) {
    GLINT_CHECK(x.shape() == logps.shape(), "grpo", "per-token values must be (B, C) = ", shape_str(logps.shape()),
                ", got ", shape_str(x.shape()));
    const std::vector<float> v = x.to_f32();
    double s = 0;
    for (size_t k = 0; k < v.size(); ++k) s += double(v[k]) * m[k];
    return s / denom;
  };
  if (per_token_kl.defined()) out.metrics["kl"] = masked_mean(per_token_kl);
  if (entropy.defined()) out.metrics["entropy"] = masked_mean(entropy);
  return out;
}

GroupAdvantages group_advantages(const std::vector<std::vector<double>>& rewards, const std::vector<std::string>& names,
                                 const std::vector<double>& weights, int64_t num_generations, ScaleRewards scale) {
  const size_t n = rewards.size(), f = names.size(), g = size_t(num_generations);
  GLINT_CHECK(num_generations >= 1 && n % g == 0, "grpo", n, " completions do not make groups of ", g);
  GLINT_CHECK(weights.empty() || weights.size() == f, "grpo", weights.size(), " reward weights for ", f,
              " reward functions");
  std::vector<double> total(n, 0.0);
  for (size_t i = 0; i < n; ++i) {
    GLINT_CHECK(rewards[i].size() == f, "grpo", "completion ", i, " has ", rewards[i].size(), " rewards, not ", f);
    bool scored = false;
    for (size_t k = 0; k < f; ++k)
      if (!std::isnan(rewards[i][k])) total[i] += rewards[i][k] * (weights.empty() ? 1.0 : weights[k]), scored = true;
    if (!scored) total[i] = kNaN;  // unscorable: out of the baseline, advantage 0
  }
  GroupAdvantages out;
  out.advantages.resize(n);
  const double batch_std = n > 1 ? nanstd(total) : 0.0;
  int64_t zero_std = 0;
  for (size_t start = 0; start < n; start += g) {
    const std::vector<double> group(total.begin() + std::ptrdiff_t(start), total.begin() + std::ptrdiff_t(start + g));
    const double mean = nanmean(group);
    const double sd = scale == ScaleRewards::batch ? batch_std : (g > 1 ? nanstd(group) : 0.0);
    const bool is_zero = std::fabs(sd) <= 1e-8;  // torch.isclose(std, 0)
    for (size_t i = start; i < start + g; ++i) {
      double adv = total[i] - mean;
      if (scale != ScaleRewards::none) adv /= sd + 1e-4;
      out.advantages[i] = std::isnan(adv) ? 0.0 : adv;
      zero_std += is_zero;
    }
  }
  for (size_t k = 0; k < f; ++k) {
    std::vector<double> column(n);
    for (size_t i = 0; i < n; ++i) column[i] = rewards[i][k];
    out.metrics["rewards/" + names[k] + "/mean"] = nanmean(column);
    out.metrics["rewards/" + names[k] + "/std"] = nanstd(column);
  }
  out.metrics["reward"] = nanmean(total);
  out.metrics["reward_std"] = nanstd(total);
  out.metrics["frac_reward_zero_std"] = double(zero_std) / double(n);
  return out;
}

}  // namespace glint::train::alignment
