// The Euler family (Karras et al. 2022, "Elucidating the Design Space of Diffusion-Based Generative Models"): the
// latents live at noise level sigma (x = x0 + sigma * eps, so the UNet input is divided by sqrt(sigma^2 + 1)) and
// each step follows the probability-flow ODE dx/dsigma = (x - x0) / sigma from sigma_i to sigma_{i+1}.
// EulerDiscreteScheduler is the deterministic step; EulerAncestralDiscreteScheduler steps down to sigma_down and
// adds fresh noise of sigma_up. Internal to models/diffusion/schedulers.
#pragma once
#include <optional>

#include "models/diffusion/schedulers/schedule.h"

namespace glint::diffusion::detail {

class EulerDiscreteScheduler : public Scheduler {
 public:
  // sigma_options: read use_karras_sigmas / use_exponential_sigmas / final_sigmas_type / sigma_min / sigma_max
  // (EulerDiscreteScheduler); the ancestral scheduler has none of them.
  EulerDiscreteScheduler(const io::JsonFile& c, bool sigma_options,
                         std::initializer_list<std::string_view> prediction_types);

  std::string_view class_name() const override { return "EulerDiscreteScheduler"; }
  double init_noise_sigma() const override;
  Tensor scale_model_input(const Tensor& sample, double t) override;
  SchedulerStep step(const Tensor& model_output, double t, const Tensor& sample, const Tensor& noise) override;
  Tensor add_noise(const Tensor& original, const Tensor& noise, const std::vector<double>& ts) const override;

 protected:
  void build_schedule(int64_t n) override;
  // x0 estimated from the model output at noise level sigma.
  Tensor predict_original(const Tensor& x, const Tensor& model_output, double sigma) const;

  NoiseSchedule schedule_;
  std::string prediction_type_, spacing_, sigma_kind_, final_sigmas_type_;
  int64_t steps_offset_;
  std::optional<double> sigma_min_, sigma_max_;
};

}  // namespace glint::diffusion::detail
