// What the schedulers share: reading scheduler_config.json keys, the beta schedules, timestep spacings, sigma
// tables and the tensor helpers. Internal to models/diffusion/schedulers (the public API is scheduler.h).
//
// The tables follow diffusers' arithmetic exactly, including where it rounds to float32 (torch.linspace in f32,
// torch.cumprod accumulating in double and storing f32, sigmas computed with f32 tensor ops), because the timesteps
// are compared for equality and the UNet sees them.
#pragma once
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "models/diffusion/schedulers/scheduler.h"

namespace glint::diffusion::detail {

// Rounds to the nearest float32 (the tables diffusers keeps as f32 tensors).
inline double f32(double x) { return double(static_cast<float>(x)); }

// The value of a string key that must be one of `choices`; the error names the file, key, value and choices.
std::string read_choice(const io::JsonFile& c, std::string_view key, std::string_view fallback,
                        std::initializer_list<std::string_view> choices);
// Fails when a boolean option this implementation does not support is set to `unsupported`.
void reject_option(const io::JsonFile& c, std::string_view key, bool unsupported, std::string_view why);
// An integer key that must be >= lo.
int64_t read_int_at_least(const io::JsonFile& c, std::string_view key, int64_t fallback, int64_t lo);

// The beta-schedule keys and their per-class defaults.
struct BetaDefaults {
  double beta_start = 0.0001;
  double beta_end = 0.02;
  std::string_view beta_schedule = "linear";
};
// The training noise schedule: betas from beta_schedule (linear, scaled_linear, squaredcos_cap_v2) or
// trained_betas, and their cumulative products of (1 - beta), as diffusers' f32 tensors.
struct NoiseSchedule {
  int64_t num_train_timesteps = 1000;
  std::string beta_schedule;
  std::vector<double> alphas_cumprod;  // f32 values

  // alphas_cumprod[t] for an integer timestep in [0, num_train_timesteps); throws otherwise.
  double alpha_cumprod(double t) const;
  // Fails when n inference steps exceed the training timesteps (diffusers checks this for DDIM and PNDM; glint for
  // every scheduler, so a huge count fails cleanly instead of allocating).
  void check_steps(int64_t n, std::string_view class_name) const;
  // sqrt((1 - a) / a) per training timestep, computed in f32 as diffusers does (Euler / DPM-Solver's sigmas).
  std::vector<double> train_sigmas() const;
};
NoiseSchedule read_noise_schedule(const io::JsonFile& c, const BetaDefaults& defaults = {});

// numpy.linspace(start, stop, num) in double.
std::vector<double> np_linspace(double start, double stop, int64_t num);
// Timesteps of the DDIM / Euler family for n steps, descending: linspace (rounded to integers when
// round_linspace, else f32 fractions as Euler keeps them), leading (+ steps_offset) or trailing.
std::vector<double> spaced_timesteps(std::string_view spacing, int64_t num_train, int64_t n, int64_t steps_offset,
                                     bool round_linspace);
// numpy.interp(x, [0, 1, ..., len-1], ys).
double interp_index(double x, const std::vector<double>& ys);
// Karras et al. (2022) noise levels: n values from sigma_max down to sigma_min with rho = 7.
std::vector<double> karras_sigmas(double sigma_min, double sigma_max, int64_t n);
// n noise levels evenly spaced in log(sigma) from sigma_max down to sigma_min.
std::vector<double> exponential_sigmas(double sigma_min, double sigma_max, int64_t n);
// The (fractional) training timestep whose noise level is sigma, interpolating log-sigmas (diffusers' _sigma_to_t);
// log_sigmas are the f32 logs of train_sigmas().
double sigma_to_t(double sigma, const std::vector<double>& log_sigmas);
std::vector<double> log_f32(const std::vector<double>& xs);

// The f32 copy of a latent tensor that the math runs on (itself when already f32).
Tensor compute_dtype(const Tensor& x);
// a * x + b * y.
Tensor axpby(double a, const Tensor& x, double b, const Tensor& y);
// A (B, 1, ..., 1) f32 tensor of per-batch-item values on like's device, broadcasting against like (B, ...).
Tensor per_item(const std::vector<double>& values, const Tensor& like, std::string_view op);
// Checks add_noise's arguments: same shapes, one timestep per batch item.
void check_add_noise(const Tensor& original, const Tensor& noise, const std::vector<double>& timesteps);
// add_noise of the alpha-based schedulers (DDIM, PNDM, LCM): sqrt(a_t) * original + sqrt(1 - a_t) * noise.
Tensor add_noise_alphas(const NoiseSchedule& s, const Tensor& original, const Tensor& noise,
                        const std::vector<double>& timesteps);
// The clean-sample estimate x0 from a model output at alpha_cumprod a_t for prediction_type epsilon, sample or
// v_prediction (DDIM, LCM), and the matching noise estimate when `epsilon` is given.
Tensor predict_original(std::string_view prediction_type, double a_t, const Tensor& sample, const Tensor& model_output,
                        Tensor* epsilon = nullptr);

// The schedulers, built from a config (the factory in scheduler.cpp picks one by _class_name).
std::unique_ptr<Scheduler> make_ddim(const io::JsonFile& c);
std::unique_ptr<Scheduler> make_euler(const io::JsonFile& c);
std::unique_ptr<Scheduler> make_euler_ancestral(const io::JsonFile& c);
std::unique_ptr<Scheduler> make_dpm_solver_multistep(const io::JsonFile& c);
std::unique_ptr<Scheduler> make_pndm(const io::JsonFile& c);
std::unique_ptr<Scheduler> make_lcm(const io::JsonFile& c);

}  // namespace glint::diffusion::detail
