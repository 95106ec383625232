// Dynamic loss scaling for fp16 training, with torch.amp.GradScaler's semantics: the loss is multiplied by a
// scale before backward; a step whose gradients hold an inf or NaN is skipped and the scale backs off; after
// growth_interval clean steps in a row the scale grows.
#pragma once
#include <cstdint>
#include <span>

#include "trainers/optimizers.h"

namespace glint::train {

// torch.amp.GradScaler's constructor arguments and defaults.
struct GradScalerConfig {
  double init_scale = 65536.0, growth_factor = 2.0, backoff_factor = 0.5;
  int64_t growth_interval = 2000;
  bool enabled = true;
};

// Per step: loss * scale() -> backward -> [unscale() -> clip_grad_norm] -> step() -> update().
class GradScaler {
 public:
  explicit GradScaler(GradScalerConfig config = {});
  // The factor to multiply the loss by (1 when disabled).
  double scale() const { return config_.enabled ? double(scale_) : 1.0; }
  // Divides every gradient in place by the scale (times torch's f32 1/scale) and records whether any gradient
  // holds an inf or NaN, which it returns. At most once per step, before step(); needed before clipping.
  bool unscale(std::span<ParamRef> params);
  // Steps the optimizer unless this step's gradients hold an inf or NaN; returns whether it stepped. Gradients not
  // yet unscaled are checked and, when the scale is a power of two (dividing by it is then exact), unscaled inside
  // the optimizer's kernel instead of in place: they are left scaled.
  bool step(Optimizer& optimizer, std::span<ParamRef> params, double lr);
  // After step(): backs the scale off on an inf/NaN step, grows it after growth_interval clean steps.
  void update();
  // scale (0-d f32 tensor) and growth_tracker, as torch's state_dict holds them.
  OptimizerState state_dict() const;
  void load_state_dict(const OptimizerState& state);

 private:
  // Records in found_inf_ whether any gradient is non-finite; multiplies them by inv_scale on the way (1: none).
  void check(std::span<ParamRef> params, float inv_scale);

  enum class Stage { ready, unscaled, stepped };
  GradScalerConfig config_;
  float scale_;  // torch keeps the scale as an f32 tensor
  int64_t growth_tracker_ = 0;
  Stage stage_ = Stage::ready;
  bool found_inf_ = false;
};

}  // namespace glint::train
