// PNDMScheduler (Liu et al. 2022, "Pseudo Numerical Methods for Diffusion Models on Manifolds"): DDIM's transfer
// step driven by a linear multistep combination of past noise predictions (PLMS, up to 4th-order Adams-Bashforth).
// Without skip_prk_steps the first steps are pseudo Runge-Kutta (4 model calls per step) to warm up the history;
// Stable Diffusion's config skips them and instead runs the first PLMS step twice (a 2nd-order Heun-like start).
#include <cmath>

#include "models/diffusion/schedulers/schedule.h"
#include "runtime/core/error.h"
#include "runtime/ops/elementwise.h"

namespace glint::diffusion::detail {
namespace {

class PNDMScheduler final : public Scheduler {
 public:
  explicit PNDMScheduler(const io::JsonFile& c)
      : schedule_(read_noise_schedule(c)),
        prediction_type_(read_choice(c, "prediction_type", "epsilon", {"epsilon", "v_prediction"})),
        spacing_(read_choice(c, "timestep_spacing", "leading", {"leading", "trailing", "linspace"})),
        steps_offset_(read_int_at_least(c, "steps_offset", 0, 0)),
        skip_prk_steps_(c.get_or<bool>("skip_prk_steps", false)),
        final_alpha_cumprod_(c.get_or<bool>("set_alpha_to_one", false) ? 1.0 : schedule_.alphas_cumprod[0]) {}

  std::string_view class_name() const override { return "PNDMScheduler"; }

  SchedulerStep step(const Tensor& model_output, double t, const Tensor& sample, const Tensor&) override {
    check_ready("step");
    GLINT_CHECK(counter_ < int64_t(full_timesteps_.size()), "scheduler", "PNDMScheduler: stepped past the last of ",
                full_timesteps_.size(), " timesteps");
    const Tensor x = compute_dtype(sample), out = compute_dtype(model_output);
    const Tensor prev = counter_ < num_prk_ ? step_prk(out, t, x) : step_plms(out, t, x);
    ++counter_;
    return {prev.to(model_output.dtype()), Tensor()};
  }

  Tensor add_noise(const Tensor& original, const Tensor& noise, const std::vector<double>& ts) const override {
    return add_noise_alphas(schedule_, original, noise, ts);
  }

 protected:
  void build_schedule(int64_t n) override {
    const int64_t num_train = schedule_.num_train_timesteps;
    schedule_.check_steps(n, class_name());
    std::vector<double> asc = spaced_timesteps(spacing_, num_train, n, steps_offset_, true);
    std::reverse(asc.begin(), asc.end());
    full_timesteps_.clear();
    if (skip_prk_steps_) {  // ascending with the second-to-last repeated, then reversed
      num_prk_ = 0;
      full_timesteps_.assign(asc.begin(), asc.end() - 1);
      if (asc.size() >= 2) full_timesteps_.push_back(asc[asc.size() - 2]);
      full_timesteps_.push_back(asc.back());
      std::reverse(full_timesteps_.begin(), full_timesteps_.end());
    } else {
      // Each of the last 4 timesteps and its midpoint, every value twice, trimmed at both ends, descending.
      const double half = double(num_train / n / 2);
      std::vector<double> pairs;
      for (size_t k = asc.size() >= 4 ? asc.size() - 4 : 0; k < asc.size(); ++k) {
        pairs.push_back(asc[k]);
        pairs.push_back(asc[k] + half);
      }
      pairs.pop_back();
      std::vector<double> prk;
      for (double v : pairs) prk.insert(prk.end(), 2, v);
      prk = std::vector<double>(prk.rbegin() + 1, prk.rend() - 1);
      num_prk_ = int64_t(prk.size());
      full_timesteps_ = prk;
      for (auto it = asc.rbegin() + std::min<size_t>(3, asc.size()); it != asc.rend(); ++it)
        full_timesteps_.push_back(*it);
    }
    ets_.clear();
    counter_ = 0;
    cur_model_output_ = cur_sample_ = Tensor();
  }

 private:
  int64_t step_ratio() const { return schedule_.num_train_timesteps / num_inference_steps_; }

  // One Runge-Kutta stage: stages 0-2 step with the raw output from the stage's start sample, stage 3 with the
  // weighted average (1, 2, 2, 1) / 6 of the four outputs.
  Tensor step_prk(const Tensor& out, double t, const Tensor& x) {
    const double prev_t = t - double(counter_ % 2 ? 0 : step_ratio() / 2);
    const double start_t = full_timesteps_[size_t(counter_ / 4 * 4)];
    const int64_t stage = counter_ % 4;
    Tensor model_output = out;
    const double weight = stage == 0 || stage == 3 ? 1.0 / 6 : 1.0 / 3;
    if (stage == 3) {
      model_output = cur_model_output_ + out * weight;
      cur_model_output_ = Tensor();
    } else {
      cur_model_output_ = cur_model_output_.defined() ? cur_model_output_ + out * weight : out * weight;
    }
    if (stage == 0) {
      ets_.push_back(out);
      cur_sample_ = x;
    }
    return prev_sample(cur_sample_.defined() ? cur_sample_ : x, start_t, prev_t, model_output);
  }

  // One PLMS step: the Adams-Bashforth combination of the last (up to 4) noise predictions.
  Tensor step_plms(const Tensor& out, double t, const Tensor& x) {
    double prev_t = t - double(step_ratio());
    if (counter_ != 1) {
      if (ets_.size() > 3) ets_.erase(ets_.begin(), ets_.end() - 3);
      ets_.push_back(out);
    } else {  // the repeated first step: evaluate again from the same start
      prev_t = t;
      t = t + double(step_ratio());
    }
    const size_t k = ets_.size();
    Tensor sample = x, model_output = out;
    if (k == 1 && counter_ == 0) {
      cur_sample_ = x;
    } else if (k == 1 && counter_ == 1) {
      model_output = (out + ets_[0]) / 2.0;
      sample = cur_sample_;
      cur_sample_ = Tensor();
    } else if (k == 2) {
      model_output = (ets_[1] * 3.0 - ets_[0]) / 2.0;
    } else if (k == 3) {
      model_output = (ets_[2] * 23.0 - ets_[1] * 16.0 + ets_[0] * 5.0) / 12.0;
    } else {
      model_output = (ets_[3] * 55.0 - ets_[2] * 59.0 + ets_[1] * 37.0 - ets_[0] * 9.0) * (1.0 / 24);
    }
    return prev_sample(sample, t, prev_t, model_output);
  }

  // The DDIM-like transfer from t to prev_t given a noise prediction (formula (9) of the paper).
  Tensor prev_sample(const Tensor& x, double t, double prev_t, Tensor model_output) const {
    const double a_t = schedule_.alpha_cumprod(t);
    const double a_prev = prev_t >= 0 ? schedule_.alpha_cumprod(prev_t) : final_alpha_cumprod_;
    const double b_t = 1 - a_t, b_prev = 1 - a_prev;
    if (prediction_type_ == "v_prediction") model_output = axpby(std::sqrt(a_t), model_output, std::sqrt(b_t), x);
    const double sample_coeff = std::sqrt(a_prev / a_t);
    const double denom = a_t * std::sqrt(b_prev) + std::sqrt(a_t * b_t * a_prev);
    return axpby(sample_coeff, x, -(a_prev - a_t) / denom, model_output);
  }

  NoiseSchedule schedule_;
  std::string prediction_type_, spacing_;
  int64_t steps_offset_;
  bool skip_prk_steps_;
  double final_alpha_cumprod_;
  int64_t num_prk_ = 0, counter_ = 0;
  std::vector<Tensor> ets_;  // past noise predictions, oldest first
  Tensor cur_model_output_, cur_sample_;
};

}  // namespace

std::unique_ptr<Scheduler> make_pndm(const io::JsonFile& c) { return std::make_unique<PNDMScheduler>(c); }

}  // namespace glint::diffusion::detail
