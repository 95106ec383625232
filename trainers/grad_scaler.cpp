// GradScaler: inf/NaN checks through the nonfinite_check op (one flag per device, read back once per step) and
// torch's _amp_update_scale_ arithmetic in f32.
#include "trainers/grad_scaler.h"

#include <algorithm>
#include <cmath>
#include <utility>
#include <vector>

#include "runtime/core/error.h"
#include "runtime/ops/optim.h"

namespace glint::train {

GradScaler::GradScaler(GradScalerConfig config) : config_(config), scale_(float(config.init_scale)) {
  GLINT_CHECK(config_.init_scale > 0 && std::isfinite(float(config_.init_scale)), "GradScaler", "invalid init_scale ",
              config_.init_scale);
  GLINT_CHECK(config_.growth_factor > 1, "GradScaler", "growth_factor must be > 1, got ", config_.growth_factor);
  GLINT_CHECK(config_.backoff_factor > 0 && config_.backoff_factor < 1, "GradScaler",
              "backoff_factor must be in (0, 1), got ", config_.backoff_factor);
  GLINT_CHECK(config_.growth_interval > 0, "GradScaler", "growth_interval must be positive, got ",
              config_.growth_interval);
}

void GradScaler::check(std::span<ParamRef> params, float inv_scale) {
  std::vector<std::pair<Device, Tensor>> flags;  // one found_inf per device, as torch keeps them
  for (ParamRef& p : params) {
    if (!p.grad.defined()) continue;
    const Device d = p.grad.device();
    auto it = std::find_if(flags.begin(), flags.end(), [&](const auto& f) { return f.first == d; });
    if (it == flags.end()) it = flags.insert(flags.end(), {d, zeros({}, DType::f32, d)});
    nonfinite_check(p.grad, it->second, inv_scale);
  }
  found_inf_ = false;
  for (const auto& [device, flag] : flags) found_inf_ = found_inf_ || flag.to_f32()[0] != 0;
}

bool GradScaler::unscale(std::span<ParamRef> params) {
  GLINT_CHECK(stage_ == Stage::ready, "GradScaler",
              stage_ == Stage::unscaled ? "unscale() was already called since the last update()"
                                        : "unscale() is being called after step()");
  if (config_.enabled) check(params, float(1.0 / double(scale_)));  // torch: scale.double().reciprocal().float()
  stage_ = Stage::unscaled;
  return found_inf_;
}

bool GradScaler::step(Optimizer& optimizer, std::span<ParamRef> params, double lr) {
  GLINT_CHECK(stage_ != Stage::stepped, "GradScaler", "step() was already called since the last update()");
  if (!config_.enabled) {
    optimizer.step(params, lr);
    stage_ = Stage::stepped;
    return true;
  }
  double grad_scale = 1.0;
  if (stage_ == Stage::ready) {
    if (grad_inverse(scale_) != 0) {  // a power of two: the optimizer's kernel divides exactly
      check(params, 1.f);
      grad_scale = scale_;
    } else {
      check(params, float(1.0 / double(scale_)));
    }
  }
  stage_ = Stage::stepped;
  if (found_inf_) return false;
  optimizer.step(params, lr, grad_scale);
  return true;
}

void GradScaler::update() {
  if (!config_.enabled) {
    stage_ = Stage::ready;
    return;
  }
  GLINT_CHECK(stage_ != Stage::ready, "GradScaler", "update() without an inf check: call unscale() or step() first");
  if (found_inf_) {
    scale_ = scale_ * float(config_.backoff_factor);
    growth_tracker_ = 0;
  } else if (growth_tracker_ + 1 == config_.growth_interval) {
    const float grown = scale_ * float(config_.growth_factor);
    if (std::isfinite(grown)) scale_ = grown;  // torch keeps the old scale rather than overflow to inf
    growth_tracker_ = 0;
  } else {
    ++growth_tracker_;
  }
  stage_ = Stage::ready;
  found_inf_ = false;
}

OptimizerState GradScaler::state_dict() const {
  OptimizerState out;
  out.tensors["scale"] = full({}, scale_, DType::f32, Device::cpu());
  out.counters["growth_tracker"] = growth_tracker_;
  return out;
}

void GradScaler::load_state_dict(const OptimizerState& state) {
  auto s = state.tensors.find("scale");
  auto g = state.counters.find("growth_tracker");
  GLINT_CHECK(s != state.tensors.end() && s->second.numel() == 1 && g != state.counters.end(), "GradScaler",
              "state dict needs a one-element 'scale' tensor and a 'growth_tracker' counter");
  const float scale = s->second.to_f32()[0];
  GLINT_CHECK(scale > 0 && std::isfinite(scale) && g->second >= 0, "GradScaler", "invalid state: scale ", scale,
              ", growth_tracker ", g->second);
  scale_ = scale;
  growth_tracker_ = g->second;
  stage_ = Stage::ready;
  found_inf_ = false;
}

}  // namespace glint::train
