// Learning-rate schedules of transformers' get_scheduler (TrainingArguments.lr_scheduler_type): the multiplier
// of the base learning rate as a function of the optimizer step, with the formulas of transformers/optimization.py
// evaluated in doubles as Python does.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace glint::train {

// The supported lr_scheduler_type values.
enum class ScheduleType {
  constant,
  constant_with_warmup,
  linear,
  cosine,
  cosine_with_restarts,
  polynomial,
  inverse_sqrt
};

// Parses an lr_scheduler_type string ("linear", "cosine", ...); an unknown or unsupported name is an error listing
// the supported ones.
ScheduleType parse_schedule_type(std::string_view name);
// The lr_scheduler_type string of a type.
std::string_view schedule_type_name(ScheduleType type);

// A schedule's arguments: get_scheduler's num_warmup_steps / num_training_steps and the scheduler_specific_kwargs
// each type takes (unset ones get transformers' defaults).
struct ScheduleConfig {
  ScheduleType type = ScheduleType::linear;
  int64_t warmup_steps = 0;
  int64_t training_steps = 0;         // unused by constant, constant_with_warmup and inverse_sqrt
  std::optional<double> num_cycles;   // cosine: 0.5, cosine_with_restarts: 1
  double lr_end = 1e-7, power = 1.0;  // polynomial
  std::optional<int64_t> timescale;   // inverse_sqrt: warmup_steps, or 10000 without warmup
};

// The schedule of one run: base_lr * multiplier(step) is the learning rate of optimizer step `step` (0 for the
// first; torch's LambdaLR after `step` scheduler steps).
class LrSchedule {
 public:
  // Checks the arguments as get_scheduler and its schedule functions do (polynomial needs base_lr > lr_end).
  LrSchedule(ScheduleConfig config, double base_lr);
  // The lr_lambda value at `step` (>= 0).
  double multiplier(int64_t step) const;
  // base_lr * multiplier(step).
  double lr(int64_t step) const { return base_lr_ * multiplier(step); }
  const ScheduleConfig& config() const { return config_; }

 private:
  // current_step / max(1, warmup_steps): the linear warmup every type but constant shares.
  double warmup(int64_t step) const;

  ScheduleConfig config_;
  double base_lr_;
};

}  // namespace glint::train
