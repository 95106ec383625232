// LCMScheduler (Luo et al. 2023, "Latent Consistency Models"): a consistency model maps any noisy latent straight
// to a clean estimate, denoised = c_out * x0 + c_skip * x (boundary-condition scalings with sigma_data = 0.5); a
// multi-step run re-noises that estimate to the next timestep with fresh noise. Its timesteps are a subset of the
// distillation schedule (original_inference_steps evenly spaced training steps); strength shortens that schedule.
#include <cmath>

#include "models/diffusion/schedulers/schedule.h"
#include "runtime/core/error.h"
#include "runtime/ops/elementwise.h"

namespace glint::diffusion::detail {
namespace {

class LCMScheduler final : public Scheduler {
 public:
  explicit LCMScheduler(const io::JsonFile& c)
      : schedule_(read_noise_schedule(c, {0.00085, 0.012, "scaled_linear"})),
        prediction_type_(read_choice(c, "prediction_type", "epsilon", {"epsilon", "sample", "v_prediction"})),
        original_steps_(read_int_at_least(c, "original_inference_steps", 50, 1)),
        clip_sample_(c.get_or<bool>("clip_sample", false)),
        clip_range_(c.get_or<double>("clip_sample_range", 1.0)),
        final_alpha_cumprod_(c.get_or<bool>("set_alpha_to_one", true) ? 1.0 : schedule_.alphas_cumprod[0]),
        timestep_scaling_(c.get_or<double>("timestep_scaling", 10.0)) {
    reject_option(c, "thresholding", true, "dynamic thresholding is not implemented");
    if (original_steps_ > schedule_.num_train_timesteps)
      fail("scheduler", c.where, ": original_inference_steps ", original_steps_, " exceeds num_train_timesteps ",
           schedule_.num_train_timesteps);
  }

  std::string_view class_name() const override { return "LCMScheduler"; }
  bool needs_noise() const override { return true; }

  // LCM applies strength to its distillation schedule itself (diffusers' LCMScheduler.set_timesteps(strength=)).
  void set_timesteps(int64_t num_inference_steps, double strength) override {
    GLINT_CHECK(strength > 0 && strength <= 1, "scheduler", "LCMScheduler: strength must be in (0, 1], got ", strength);
    strength_ = strength;
    Scheduler::set_timesteps(num_inference_steps, 1.0);
  }

  SchedulerStep step(const Tensor& model_output, double t, const Tensor& sample, const Tensor& noise) override {
    check_ready("step");
    const int64_t i = step_index(t);
    const bool last = i == num_inference_steps_ - 1;
    GLINT_CHECK(last || (noise.defined() && noise.shape() == sample.shape()), "scheduler",
                "LCMScheduler: step needs noise shaped like the sample ", sample.str(), ", got ",
                noise.defined() ? noise.str() : "none");
    const double prev_t = i + 1 < int64_t(full_timesteps_.size()) ? full_timesteps_[size_t(i + 1)] : t;
    const double a_t = schedule_.alpha_cumprod(t);
    const double a_prev = prev_t >= 0 ? schedule_.alpha_cumprod(prev_t) : final_alpha_cumprod_;
    const double scaled = t * timestep_scaling_, sigma_data2 = 0.25;
    const double c_skip = sigma_data2 / (scaled * scaled + sigma_data2);
    const double c_out = scaled / std::sqrt(scaled * scaled + sigma_data2);

    const Tensor x = compute_dtype(sample);
    Tensor x0 = predict_original(prediction_type_, a_t, x, compute_dtype(model_output));
    if (clip_sample_) x0 = clamp(x0, -clip_range_, clip_range_);
    const Tensor denoised = axpby(c_out, x0, c_skip, x);
    const Tensor prev =
        last ? denoised : axpby(std::sqrt(a_prev), denoised, std::sqrt(1 - a_prev), compute_dtype(noise));
    ++step_index_;
    return {prev.to(model_output.dtype()), denoised.to(model_output.dtype())};
  }

  Tensor add_noise(const Tensor& original, const Tensor& noise, const std::vector<double>& ts) const override {
    return add_noise_alphas(schedule_, original, noise, ts);
  }

 protected:
  void build_schedule(int64_t n) override {
    const int64_t k = schedule_.num_train_timesteps / original_steps_;
    const auto count = int64_t(double(original_steps_) * strength_);
    GLINT_CHECK(n <= original_steps_, "scheduler", "LCMScheduler: num_inference_steps ", n,
                " exceeds original_inference_steps ", original_steps_);
    GLINT_CHECK(count / n >= 1, "scheduler", "LCMScheduler: original_inference_steps x strength (", count,
                ") is smaller than num_inference_steps ", n);
    // The distillation timesteps k*j - 1 for j = count .. 1, sampled at floor(i * count / n).
    full_timesteps_.clear();
    const double stride = double(count) / double(n);
    for (int64_t i = 0; i < n; ++i) {
      const auto j = int64_t(std::floor(double(i) * stride));
      full_timesteps_.push_back(double((count - j) * k - 1));
    }
  }

 private:
  NoiseSchedule schedule_;
  std::string prediction_type_;
  int64_t original_steps_;
  bool clip_sample_;
  double clip_range_, final_alpha_cumprod_, timestep_scaling_;
  double strength_ = 1.0;
};

}  // namespace

std::unique_ptr<Scheduler> make_lcm(const io::JsonFile& c) { return std::make_unique<LCMScheduler>(c); }

}  // namespace glint::diffusion::detail
