#include "trainers/alignment/losses.h"

#include <algorithm>
#include <cmath>

#include "runtime/autograd/autograd.h"
#include "runtime/core/error.h"
#include "runtime/ops/elementwise.h"
#include "runtime/ops/reduce.h"

namespace glint::train::alignment {
namespace {

Tensor mean_all(const Tensor& x) { return sum_all(x) / double(x.numel()); }

// The host mean of a detached (B) tensor, for metrics.
double host_mean(const Tensor& x) {
  const std::vector<float> v = x.detach().to_f32();
  double s = 0;
  for (float f : v) s += f;
  return v.empty() ? std::nan("") : s / double(v.size());
}

void check_same(const char* op, std::initializer_list<Tensor> ts) {
  const Tensor& first = *ts.begin();
  for (const Tensor& t : ts) {
    GLINT_CHECK(t.defined() && t.ndim() == 1 && t.shape() == first.shape() && t.device() == first.device(), op,
                "inputs must be (B) tensors of one shape on one device, got ", t.defined() ? t.str() : "undefined",
                " beside ", first.str());
  }
  GLINT_CHECK(first.dim(0) > 0, op, "the batch is empty");
}

// log(1 - exp(x)) for x < 0 (the log-probability of "not this sequence").
Tensor log1mexp(const Tensor& x) { return log(neg(exp(x)) + 1.0); }

// Metrics of paired rewards, under TRL's names.
void reward_metrics(LossOutput& out, const Tensor& chosen_rewards, const Tensor& rejected_rewards) {
  const std::vector<float> c = chosen_rewards.detach().to_f32(), r = rejected_rewards.detach().to_f32();
  double acc = 0;
  for (size_t i = 0; i < c.size(); ++i) acc += c[i] > r[i] ? 1.0 : 0.0;
  out.metrics["rewards/chosen"] = host_mean(chosen_rewards);
  out.metrics["rewards/rejected"] = host_mean(rejected_rewards);
  out.metrics["rewards/accuracies"] = acc / double(c.size());
  out.metrics["rewards/margins"] = host_mean(chosen_rewards - rejected_rewards);
}

}  // namespace

Tensor log_sigmoid(const Tensor& x) {
  const Tensor m = clamp(x, std::nullopt, 0.0);  // min(x, 0); 2m - x = -|x|
  return m - log(exp(m * 2.0 - x) + 1.0);
}

DpoLossType parse_dpo_loss_type(const std::string& name) {
  if (name == "sigmoid") return DpoLossType::sigmoid;
  if (name == "ipo") return DpoLossType::ipo;
  if (name == "hinge") return DpoLossType::hinge;
  if (name == "robust") return DpoLossType::robust;
  fail("dpo", "loss type '", name, "' is not supported (sigmoid, ipo, hinge, robust)");
}

LossOutput dpo_loss(const Tensor& chosen, const Tensor& rejected, const Tensor& ref_chosen, const Tensor& ref_rejected,
                    const Tensor& chosen_tokens, const Tensor& rejected_tokens, const DpoOptions& opts) {
  check_same("dpo", {chosen, rejected, ref_chosen, ref_rejected, chosen_tokens, rejected_tokens});
  GLINT_CHECK(opts.beta > 0, "dpo", "beta must be positive, got ", opts.beta);
  const double ls = opts.label_smoothing, beta = opts.beta;
  const Tensor chosen_ratio = chosen - ref_chosen.detach(), rejected_ratio = rejected - ref_rejected.detach();
  const Tensor delta = chosen_ratio - rejected_ratio;
  Tensor per_pair;
  switch (opts.loss_type) {
    case DpoLossType::sigmoid:
      per_pair = neg(log_sigmoid(delta * beta));
      break;
    case DpoLossType::hinge:
      per_pair = relu(neg(delta * beta) + 1.0);
      break;
    case DpoLossType::ipo: {
      // Per-token averages (TRL normalises IPO by completion length), squared distance to 1 / (2 beta).
      const Tensor avg = chosen_ratio / clamp(chosen_tokens, 1.0, std::nullopt) -
                         rejected_ratio / clamp(rejected_tokens, 1.0, std::nullopt);
      const Tensor d = avg - 1.0 / (2.0 * beta);
      per_pair = d * d;
      break;
    }
    case DpoLossType::robust:
      GLINT_CHECK(ls >= 0 && ls < 0.5, "dpo", "label_smoothing must be in [0, 0.5) for the robust loss, got ", ls);
      per_pair = (log_sigmoid(delta * beta) * -(1.0 - ls) + log_sigmoid(neg(delta) * beta) * ls) / (1.0 - 2.0 * ls);
      break;
  }
  LossOutput out{mean_all(per_pair), {}};
  reward_metrics(out, chosen_ratio.detach() * beta, rejected_ratio.detach() * beta);
  out.metrics["logps/chosen"] = host_mean(chosen);
  out.metrics["logps/rejected"] = host_mean(rejected);
  return out;
}

LossOutput cpo_loss(const Tensor& chosen, const Tensor& rejected, const Tensor& nll, const CpoOptions& opts) {
  check_same("cpo", {chosen, rejected});
  GLINT_CHECK(opts.beta > 0, "cpo", "beta must be positive, got ", opts.beta);
  const double beta = opts.beta, ls = opts.label_smoothing;
  Tensor logits = chosen - rejected;
  if (opts.simpo) logits = logits - opts.simpo_gamma / beta;
  const Tensor per_pair = log_sigmoid(logits * beta) * -(1.0 - ls) - log_sigmoid(neg(logits) * beta) * ls;
  Tensor loss = mean_all(per_pair);
  if (opts.cpo_alpha != 0.0) loss = loss + nll * opts.cpo_alpha;
  LossOutput out{loss, {}};
  reward_metrics(out, chosen.detach() * beta, rejected.detach() * beta);
  out.metrics["nll_loss"] = double(nll.detach().to_f32()[0]);
  return out;
}

LossOutput orpo_loss(const Tensor& chosen, const Tensor& rejected, const Tensor& nll, double beta) {
  check_same("orpo", {chosen, rejected});
  const Tensor log_odds = (chosen - rejected) - (log1mexp(chosen) - log1mexp(rejected));
  const Tensor ratio = log_sigmoid(log_odds);
  LossOutput out{nll - mean_all(ratio * beta), {}};
  reward_metrics(out, chosen.detach() * beta, rejected.detach() * beta);
  out.metrics["log_odds_ratio"] = host_mean(ratio);
  out.metrics["log_odds_chosen"] = host_mean(log_odds);
  out.metrics["nll_loss"] = double(nll.detach().to_f32()[0]);
  return out;
}

LossOutput kto_loss(const Tensor& logps, const Tensor& ref_logps, const std::vector<bool>& desirable,
                    const Tensor& kl_logps, const Tensor& ref_kl_logps, const KtoOptions& opts) {
  check_same("kto", {logps, ref_logps});
  check_same("kto", {kl_logps, ref_kl_logps});
  GLINT_CHECK(desirable.size() == size_t(logps.dim(0)), "kto", desirable.size(), " labels for ", logps.dim(0), " rows");
  // The KL estimate is a batch constant: mean over the mismatched pairs, clamped at 0, without gradient.
  const double kl = std::max(0.0, host_mean(kl_logps.detach() - ref_kl_logps.detach()));
  std::vector<float> sign(desirable.size()), weight(desirable.size());
  for (size_t i = 0; i < desirable.size(); ++i) {
    sign[i] = desirable[i] ? 1.0f : -1.0f;
    weight[i] = float(desirable[i] ? opts.desirable_weight : opts.undesirable_weight);
  }
  const int64_t n = logps.dim(0);
  const Tensor s = Tensor::from_vector(sign, {n}, DType::f32, logps.device());
  const Tensor w = Tensor::from_vector(weight, {n}, DType::f32, logps.device());
  const Tensor ratio = logps - ref_logps.detach();
  // Desirable: 1 - sigmoid(beta (ratio - kl)); undesirable: 1 - sigmoid(beta (kl - ratio)).
  const Tensor per_row = (neg(sigmoid((ratio - kl) * s * opts.beta)) + 1.0) * w;
  LossOutput out{mean_all(per_row), {}};
  out.metrics["kl"] = kl;
  const std::vector<float> r = (ratio.detach() * opts.beta).to_f32();
  double sc = 0, sr = 0;
  int64_t nc = 0, nr = 0;
  for (size_t i = 0; i < r.size(); ++i) (desirable[i] ? (sc += r[i], ++nc) : (sr += r[i], ++nr));
  if (nc) out.metrics["rewards/chosen"] = sc / double(nc);
  if (nr) out.metrics["rewards/rejected"] = sr / double(nr);
  return out;
}

LossOutput reward_loss(const Tensor& chosen_rewards, const Tensor& rejected_rewards, const Tensor& margin) {
  check_same("reward", {chosen_rewards, rejected_rewards});
  Tensor diff = chosen_rewards - rejected_rewards;
  if (margin.defined()) diff = diff - margin;
  LossOutput out{mean_all(neg(log_sigmoid(diff))), {}};
  const std::vector<float> c = chosen_rewards.detach().to_f32(), r = rejected_rewards.detach().to_f32();
  double acc = 0;
  for (size_t i = 0; i < c.size(); ++i) acc += c[i] > r[i] ? 1.0 : 0.0;
  out.metrics["accuracy"] = acc / double(c.size());
  out.metrics["margin"] = host_mean(chosen_rewards - rejected_rewards);
  out.metrics["mean_reward"] = (host_mean(chosen_rewards) + host_mean(rejected_rewards)) / 2.0;
  return out;
}

}  // namespace glint::train::alignment
