#include "models/diffusion/schedulers/euler.h"

#include <algorithm>
#include <cmath>

#include "runtime/core/error.h"
#include "runtime/ops/elementwise.h"

namespace glint::diffusion::detail {

EulerDiscreteScheduler::EulerDiscreteScheduler(const io::JsonFile& c, bool sigma_options,
                                               std::initializer_list<std::string_view> prediction_types)
    : schedule_(read_noise_schedule(c)),
      prediction_type_(read_choice(c, "prediction_type", "epsilon", prediction_types)),
      spacing_(read_choice(c, "timestep_spacing", "linspace", {"linspace", "leading", "trailing"})),
      sigma_kind_("interpolated"),
      final_sigmas_type_("zero"),
      steps_offset_(read_int_at_least(c, "steps_offset", 0, 0)) {
  if (!sigma_options) return;
  read_choice(c, "interpolation_type", "linear", {"linear"});
  read_choice(c, "timestep_type", "discrete", {"discrete"});
  reject_option(c, "use_beta_sigmas", true, "beta sigmas are not implemented");
  const bool karras = c.get_or<bool>("use_karras_sigmas", false);
  const bool exponential = c.get_or<bool>("use_exponential_sigmas", false);
  if (karras && exponential)
    fail("scheduler", c.where, ": only one of use_karras_sigmas and use_exponential_sigmas can be set");
  sigma_kind_ = karras ? "karras" : exponential ? "exponential" : "interpolated";
  final_sigmas_type_ = read_choice(c, "final_sigmas_type", "zero", {"zero", "sigma_min"});
  sigma_min_ = c.get_opt<double>("sigma_min");
  sigma_max_ = c.get_opt<double>("sigma_max");
}

void EulerDiscreteScheduler::build_schedule(int64_t n) {
  schedule_.check_steps(n, class_name());
  std::vector<double> ts = spaced_timesteps(spacing_, schedule_.num_train_timesteps, n, steps_offset_, false);
  const std::vector<double> train = schedule_.train_sigmas();
  std::vector<double> sig;
  for (double t : ts) sig.push_back(interp_index(t, train));
  if (sigma_kind_ != "interpolated") {
    const double lo = sigma_min_.value_or(sig.back()), hi = sigma_max_.value_or(sig.front());
    sig = sigma_kind_ == "karras" ? karras_sigmas(lo, hi, n) : exponential_sigmas(lo, hi, n);
    const std::vector<double> log_train = log_f32(train);
    ts.clear();
    for (double s : sig) ts.push_back(sigma_to_t(s, log_train));
  }
  sig.push_back(final_sigmas_type_ == "zero" ? 0.0 : train.front());
  sigmas_.clear();
  for (double s : sig) sigmas_.push_back(f32(s));
  full_timesteps_.clear();
  for (double t : ts) full_timesteps_.push_back(f32(t));
}

double EulerDiscreteScheduler::init_noise_sigma() const {
  check_ready("init_noise_sigma");
  const auto max_sigma = float(*std::max_element(sigmas_.begin(), sigmas_.end()));
  return spacing_ == "leading" ? double(std::sqrt(max_sigma * max_sigma + 1.f)) : double(max_sigma);
}

Tensor EulerDiscreteScheduler::scale_model_input(const Tensor& sample, double t) {
  check_ready("scale_model_input");
  const double sigma = sigmas_[size_t(step_index(t))];
  return (compute_dtype(sample) / std::sqrt(sigma * sigma + 1)).to(sample.dtype());
}

Tensor EulerDiscreteScheduler::predict_original(const Tensor& x, const Tensor& model_output, double sigma) const {
  if (prediction_type_ == "epsilon") return x - model_output * sigma;
  if (prediction_type_ == "v_prediction")
    return axpby(-sigma / std::sqrt(sigma * sigma + 1), model_output, 1 / (sigma * sigma + 1), x);
  return model_output;  // "sample"
}

SchedulerStep EulerDiscreteScheduler::step(const Tensor& model_output, double t, const Tensor& sample, const Tensor&) {
  check_ready("step");
  const int64_t i = step_index(t);
  const double sigma = sigmas_[size_t(i)], dt = sigmas_[size_t(i + 1)] - sigma;
  const Tensor x = compute_dtype(sample), out = compute_dtype(model_output);
  const Tensor x0 = predict_original(x, out, sigma);
  const Tensor prev = x + (x - x0) / sigma * dt;  // x + derivative * dt
  ++step_index_;
  return {prev.to(model_output.dtype()), x0.to(model_output.dtype())};
}

Tensor EulerDiscreteScheduler::add_noise(const Tensor& original, const Tensor& noise,
                                         const std::vector<double>& ts) const {
  check_add_noise(original, noise, ts);
  const Tensor x = compute_dtype(original);
  return (x + compute_dtype(noise) * per_item(noise_sigmas(ts), x, "add_noise")).to(original.dtype());
}

std::unique_ptr<Scheduler> make_euler(const io::JsonFile& c) {
  return std::make_unique<EulerDiscreteScheduler>(
      c, true, std::initializer_list<std::string_view>{"epsilon", "v_prediction", "sample"});
}

}  // namespace glint::diffusion::detail
