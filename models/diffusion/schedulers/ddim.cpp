// DDIMScheduler (Song et al. 2020, "Denoising Diffusion Implicit Models"), deterministic (eta = 0): each step
// estimates the clean sample x0 and the noise, then re-noises x0 to the previous timestep along the same noise
// direction: x_prev = sqrt(a_prev) * x0 + sqrt(1 - a_prev) * eps.
#include <cmath>

#include "models/diffusion/schedulers/schedule.h"
#include "runtime/core/error.h"
#include "runtime/ops/elementwise.h"

namespace glint::diffusion::detail {
namespace {

class DDIMScheduler final : public Scheduler {
 public:
  explicit DDIMScheduler(const io::JsonFile& c)
      : schedule_(read_noise_schedule(c)),
        prediction_type_(read_choice(c, "prediction_type", "epsilon", {"epsilon", "sample", "v_prediction"})),
        spacing_(read_choice(c, "timestep_spacing", "leading", {"leading", "trailing", "linspace"})),
        steps_offset_(read_int_at_least(c, "steps_offset", 0, 0)),
        clip_sample_(c.get_or<bool>("clip_sample", true)),
        clip_range_(c.get_or<double>("clip_sample_range", 1.0)),
        final_alpha_cumprod_(c.get_or<bool>("set_alpha_to_one", true) ? 1.0 : schedule_.alphas_cumprod[0]) {
    reject_option(c, "thresholding", true, "dynamic thresholding is not implemented");
  }

  std::string_view class_name() const override { return "DDIMScheduler"; }

  SchedulerStep step(const Tensor& model_output, double t, const Tensor& sample, const Tensor&) override {
    check_ready("step");
    const double prev_t = t - double(schedule_.num_train_timesteps / num_inference_steps_);
    const double a_t = schedule_.alpha_cumprod(t);
    const double a_prev = prev_t >= 0 ? schedule_.alpha_cumprod(prev_t) : final_alpha_cumprod_;
    const Tensor x = compute_dtype(sample), out = compute_dtype(model_output);
    Tensor eps;
    Tensor x0 = predict_original(prediction_type_, a_t, x, out, &eps);
    if (clip_sample_) x0 = clamp(x0, -clip_range_, clip_range_);
    const Tensor prev = axpby(std::sqrt(a_prev), x0, std::sqrt(1 - a_prev), eps);
    return {prev.to(model_output.dtype()), x0.to(model_output.dtype())};
  }

  Tensor add_noise(const Tensor& original, const Tensor& noise, const std::vector<double>& ts) const override {
    return add_noise_alphas(schedule_, original, noise, ts);
  }

 protected:
  void build_schedule(int64_t n) override {
    schedule_.check_steps(n, class_name());
    full_timesteps_ = spaced_timesteps(spacing_, schedule_.num_train_timesteps, n, steps_offset_, true);
  }

 private:
  NoiseSchedule schedule_;
  std::string prediction_type_, spacing_;
  int64_t steps_offset_;
  bool clip_sample_;
  double clip_range_, final_alpha_cumprod_;
};

}  // namespace

std::unique_ptr<Scheduler> make_ddim(const io::JsonFile& c) { return std::make_unique<DDIMScheduler>(c); }

}  // namespace glint::diffusion::detail
