// AdamW / SGD state handling and gradient clipping around the fused ops of runtime/ops/optim.h.
#include "trainers/optimizers.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <limits>
#include <vector>

#include "runtime/core/error.h"
#include "runtime/ops/elementwise.h"
#include "runtime/ops/optim.h"
#include "runtime/ops/reduce.h"

namespace glint::train {
namespace {

// A CPU copy that later in-place updates cannot reach.
Tensor snapshot(const Tensor& t) { return t.device().kind == DeviceKind::cpu ? t.clone() : t.to(Device::cpu()); }

// A restored state tensor on the parameter's device, checked against the parameter.
Tensor restored(const char* op, const std::string& key, const Tensor& t, const Tensor& param) {
  GLINT_CHECK(t.shape() == param.shape() && t.dtype() == DType::f32, op, "state ", key, " is ", t.str(),
              " but the parameter is ", param.str());
  return t.device() == param.device() ? t : t.to(param.device());
}

// The tensor a state dict holds under `key` (copied, so that stepping never writes into the caller's tensors).
Tensor take(const char* op, const OptimizerState& s, const std::string& key) {
  auto it = s.tensors.find(key);
  GLINT_CHECK(it != s.tensors.end(), op, "state dict lacks tensor ", key);
  return it->second.clone();
}

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

}  // namespace

bool uses_weight_decay(std::string_view name, bool in_layer_norm) {
  if (in_layer_norm) return false;
  std::string lower(name);
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return char(std::tolower(c)); });
  for (const char* word : {"bias", "layernorm", "rmsnorm"})
    if (lower.find(word) != std::string::npos) return false;
  // The regexes (?:^|\.)norm(?:$|\.) and _norm(?:$|\.): a dot-separated component that is "norm" or ends in "_norm".
  for (size_t begin = 0; begin <= lower.size();) {
    const size_t end = std::min(lower.find('.', begin), lower.size());
    const std::string_view part = std::string_view(lower).substr(begin, end - begin);
    if (part == "norm" || ends_with(part, "_norm")) return false;
    begin = end + 1;
  }
  return true;
}

AdamW::AdamW(AdamWConfig config) : config_(std::move(config)) {
  GLINT_CHECK(config_.decays, "AdamW", "config.decays must be set");
}

void AdamW::step(std::span<ParamRef> params, double lr, double grad_scale) {
  for (ParamRef& p : params) {
    if (!p.grad.defined()) continue;
    GLINT_CHECK(p.value.defined(), "AdamW", "parameter ", p.name, " is undefined");
    State& s = state_[p.name];
    if (!s.exp_avg.defined()) {
      s.exp_avg = zeros(p.value.shape(), DType::f32, p.value.device());
      s.exp_avg_sq = zeros(p.value.shape(), DType::f32, p.value.device());
    } else {
      s.exp_avg = restored("AdamW", p.name + ".exp_avg", s.exp_avg, p.value);
      s.exp_avg_sq = restored("AdamW", p.name + ".exp_avg_sq", s.exp_avg_sq, p.value);
    }
    ++s.step;
    adamw_step(p.value, p.grad, s.exp_avg, s.exp_avg_sq,
               {.lr = lr,
                .beta1 = config_.beta1,
                .beta2 = config_.beta2,
                .eps = config_.eps,
                .weight_decay = config_.decays(p.name) ? config_.weight_decay : 0.0,
                .step = s.step,
                .grad_scale = grad_scale});
  }
}

OptimizerState AdamW::state_dict() const {
  OptimizerState out;
  for (const auto& [name, s] : state_) {
    out.tensors[name + ".exp_avg"] = snapshot(s.exp_avg);
    out.tensors[name + ".exp_avg_sq"] = snapshot(s.exp_avg_sq);
    out.counters[name + ".step"] = s.step;
  }
  return out;
}

void AdamW::load_state_dict(const OptimizerState& state) {
  std::map<std::string, State> loaded;
  for (const auto& [key, step] : state.counters) {
    GLINT_CHECK(ends_with(key, ".step") && step >= 1, "AdamW", "bad state counter ", key, " = ", step);
    const std::string name = key.substr(0, key.size() - 5);
    loaded[name] = {take("AdamW", state, name + ".exp_avg"), take("AdamW", state, name + ".exp_avg_sq"), step};
  }
  GLINT_CHECK(state.tensors.size() == 2 * loaded.size(), "AdamW", "state dict holds ", state.tensors.size(),
              " tensors for ", loaded.size(), " parameters (expected exp_avg and exp_avg_sq each)");
  state_ = std::move(loaded);
}

Sgd::Sgd(SgdConfig config) : config_(std::move(config)) {
  GLINT_CHECK(config_.decays, "SGD", "config.decays must be set");
  GLINT_CHECK(!config_.nesterov || (config_.momentum > 0 && config_.dampening == 0), "SGD",
              "nesterov momentum requires a momentum and zero dampening");
}

void Sgd::step(std::span<ParamRef> params, double lr, double grad_scale) {
  const bool momentum = config_.momentum != 0;
  for (ParamRef& p : params) {
    if (!p.grad.defined()) continue;
    GLINT_CHECK(p.value.defined(), "SGD", "parameter ", p.name, " is undefined");
    Tensor buf;
    bool first = false;
    if (momentum) {
      Tensor& slot = momentum_[p.name];
      first = !slot.defined();
      slot = first ? Tensor::empty(p.value.shape(), DType::f32, p.value.device())
                   : restored("SGD", p.name + ".momentum_buffer", slot, p.value);
      buf = slot;
    }
    sgd_step(p.value, p.grad, buf,
             {.lr = lr,
              .momentum = config_.momentum,
              .dampening = config_.dampening,
              .weight_decay = config_.decays(p.name) ? config_.weight_decay : 0.0,
              .nesterov = config_.nesterov,
              .first = first,
              .grad_scale = grad_scale});
  }
}

OptimizerState Sgd::state_dict() const {
  OptimizerState out;
  for (const auto& [name, buf] : momentum_) out.tensors[name + ".momentum_buffer"] = snapshot(buf);
  return out;
}

void Sgd::load_state_dict(const OptimizerState& state) {
  GLINT_CHECK(state.counters.empty(), "SGD", "unexpected counters in an SGD state dict");
  std::map<std::string, Tensor> loaded;
  for (const auto& [key, t] : state.tensors) {
    GLINT_CHECK(ends_with(key, ".momentum_buffer"), "SGD", "unexpected state tensor ", key);
    loaded[key.substr(0, key.size() - 16)] = t.clone();
  }
  momentum_ = std::move(loaded);
}

double grad_norm(std::span<const ParamRef> params, double norm_type) {
  GLINT_CHECK(norm_type > 0, "clip_grad_norm", "norm_type must be positive or inf, got ", norm_type);
  const bool inf = std::isinf(norm_type);
  const float p = float(norm_type);
  // torch: one norm per gradient (torch.linalg.vector_norm, f32 accumulation) on its own device, then the norm of
  // those norms. Every per-gradient reduction is recorded before the first is read back.
  std::vector<Tensor> partial;
  for (const ParamRef& r : params) {
    if (!r.grad.defined() || r.grad.numel() == 0) continue;
    GLINT_CHECK(is_floating(r.grad.dtype()), "clip_grad_norm", "gradient of ", r.name, " is ", r.grad.str());
    if (norm_type == 2.0) {
      partial.push_back(sum_squares(r.grad));
    } else {
      const Tensor a = abs(r.grad.to(DType::f32));
      partial.push_back(inf ? max(a.flatten(), 0) : norm_type == 1.0 ? sum_all(a) : sum_all(pow(a, norm_type)));
    }
  }
  float total = 0;
  for (const Tensor& t : partial) {
    const float v = t.to_f32()[0];
    const float norm = norm_type == 2.0 ? std::sqrt(v) : inf || norm_type == 1.0 ? v : std::pow(v, 1.f / p);
    if (inf)
      total = std::isnan(norm) || std::isnan(total) ? NAN : std::max(total, norm);
    else if (norm_type == 2.0)
      total += norm * norm;
    else
      total += norm_type == 1.0 ? norm : std::pow(norm, p);
  }
  if (!inf && norm_type != 1.0) total = norm_type == 2.0 ? std::sqrt(total) : std::pow(total, 1.f / p);
  return total;
}

double clip_grad_norm(std::span<ParamRef> params, double max_norm, double norm_type) {
  GLINT_CHECK(max_norm >= 0, "clip_grad_norm", "max_norm must be non-negative, got ", max_norm);
  const float total = float(grad_norm(params, norm_type));
  // torch: clip_coef = max_norm / (total_norm + 1e-6) on an f32 tensor, which Python evaluates as
  // reciprocal(total + 1e-6) * max_norm; clamped to 1 (NaN stays NaN).
  const float coef = (1.f / (total + 1e-6f)) * float(max_norm);
  const float clamped = std::isnan(coef) ? coef : std::min(coef, 1.f);
  if (clamped != 1.f)
    for (ParamRef& r : params)
      if (r.grad.defined() && r.grad.numel() > 0) r.grad.copy_from(mul(r.grad, double(clamped)));
  return total;
}

}  // namespace glint::train
