// The lr_lambda functions of transformers/optimization.py, operation for operation (Python's left-to-right float
// arithmetic, int differences taken before converting), so that the multipliers agree to the last bit.
#include "trainers/schedules.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <numbers>
#include <utility>

#include "runtime/core/error.h"

namespace glint::train {
namespace {

constexpr std::array<std::pair<std::string_view, ScheduleType>, 7> kNames{{
    {"constant", ScheduleType::constant},
    {"constant_with_warmup", ScheduleType::constant_with_warmup},
    {"linear", ScheduleType::linear},
    {"cosine", ScheduleType::cosine},
    {"cosine_with_restarts", ScheduleType::cosine_with_restarts},
    {"polynomial", ScheduleType::polynomial},
    {"inverse_sqrt", ScheduleType::inverse_sqrt},
}};

// transformers' other SchedulerType values: named in the error so that it says "not supported", not "unknown".
constexpr std::array<std::string_view, 5> kUnsupported{"reduce_lr_on_plateau", "cosine_with_min_lr",
                                                       "cosine_warmup_with_min_lr", "warmup_stable_decay", "greedy"};

std::string supported_list() {
  std::string s;
  for (const auto& [name, type] : kNames) s += (s.empty() ? "" : ", ") + std::string(name);
  return s;
}

bool needs_training_steps(ScheduleType t) {
  return t == ScheduleType::linear || t == ScheduleType::cosine || t == ScheduleType::cosine_with_restarts ||
         t == ScheduleType::polynomial;
}

}  // namespace

ScheduleType parse_schedule_type(std::string_view name) {
  for (const auto& [n, type] : kNames)
    if (n == name) return type;
  const bool known = std::find(kUnsupported.begin(), kUnsupported.end(), name) != kUnsupported.end();
  fail("lr_scheduler_type", known ? "'" : "unknown scheduler '", name,
       known ? "' is not supported; supported: " : "'; expected one of: ", supported_list());
}

std::string_view schedule_type_name(ScheduleType type) {
  for (const auto& [n, t] : kNames)
    if (t == type) return n;
  return "unknown";
}

LrSchedule::LrSchedule(ScheduleConfig config, double base_lr) : config_(std::move(config)), base_lr_(base_lr) {
  const std::string_view name = schedule_type_name(config_.type);
  GLINT_CHECK(std::isfinite(base_lr) && base_lr >= 0, "lr_scheduler", "invalid base learning rate ", base_lr);
  GLINT_CHECK(config_.warmup_steps >= 0, "lr_scheduler", name, ": warmup steps must be >= 0, got ",
              config_.warmup_steps);
  GLINT_CHECK(!needs_training_steps(config_.type) || config_.training_steps > 0, "lr_scheduler", name,
              " requires the number of training steps (> 0), got ", config_.training_steps);
  if (!config_.num_cycles) config_.num_cycles = config_.type == ScheduleType::cosine_with_restarts ? 1.0 : 0.5;
  if (config_.type == ScheduleType::polynomial)
    GLINT_CHECK(base_lr > config_.lr_end, "lr_scheduler", "polynomial: lr_end (", config_.lr_end,
                ") must be smaller than the initial lr (", base_lr, ")");
  if (config_.type == ScheduleType::inverse_sqrt) {
    if (!config_.timescale) config_.timescale = config_.warmup_steps ? config_.warmup_steps : 10'000;
    GLINT_CHECK(*config_.timescale > 0, "lr_scheduler", "inverse_sqrt: timescale must be positive, got ",
                *config_.timescale);
  }
}

double LrSchedule::warmup(int64_t step) const {
  return double(step) / double(std::max<int64_t>(1, config_.warmup_steps));
}

double LrSchedule::multiplier(int64_t step) const {
  GLINT_CHECK(step >= 0, "lr_scheduler", "step must be >= 0, got ", step);
  const int64_t w = config_.warmup_steps, total = config_.training_steps;
  if (config_.type == ScheduleType::constant) return 1.0;
  if (step < w) return warmup(step);
  const double progress = double(step - w) / double(std::max<int64_t>(1, total - w));
  const double pi = std::numbers::pi, cycles = *config_.num_cycles;
  switch (config_.type) {
    case ScheduleType::constant:
    case ScheduleType::constant_with_warmup:
      return 1.0;
    case ScheduleType::linear:
      return std::max(0.0, double(total - step) / double(std::max<int64_t>(1, total - w)));
    case ScheduleType::cosine:
      return std::max(0.0, 0.5 * (1.0 + std::cos(pi * cycles * 2.0 * progress)));
    case ScheduleType::cosine_with_restarts:
      if (progress >= 1.0) return 0.0;
      return std::max(0.0, 0.5 * (1.0 + std::cos(pi * std::fmod(cycles * progress, 1.0))));
    case ScheduleType::polynomial: {
      if (step > total) return config_.lr_end / base_lr_;  // LambdaLR multiplies by the initial lr
      const int64_t decay_steps = total - w;
      GLINT_CHECK(decay_steps > 0, "lr_scheduler", "polynomial: no decay steps (warmup ", w, " >= training steps ",
                  total, ")");
      const double pct_remaining = 1 - double(step - w) / double(decay_steps);
      const double decay = (base_lr_ - config_.lr_end) * std::pow(pct_remaining, config_.power) + config_.lr_end;
      return decay / base_lr_;
    }
    case ScheduleType::inverse_sqrt: {
      const int64_t timescale = *config_.timescale, shift = timescale - w;
      return 1.0 / std::sqrt(double(step + shift) / double(timescale));
    }
  }
  return 1.0;
}

}  // namespace glint::train
