// Noise schedulers for diffusion sampling, compatible with diffusers: each reads the same scheduler_config.json keys
// with the same defaults and produces the same timesteps and, step by step, the same latents (checked against
// diffusers in tests/models/test_schedulers.cpp).
//
// The tensor math uses glint's elementwise ops, so it runs on whatever device the latents live on; the per-step
// scalars (alphas, sigmas, solver coefficients) are computed in double on the host. The tables diffusers keeps in
// float32 (betas, alphas_cumprod, sigmas, Euler's timesteps) are rounded to float32 here too, so that the schedule
// itself is bit-identical. Latents of f16 / bf16 are computed in f32 and the result cast back, as diffusers does.
//
// Use (a denoising loop):
//   auto s = load_scheduler("model/scheduler/scheduler_config.json");
//   s->set_timesteps(25);
//   Tensor x = noise * s->init_noise_sigma();
//   for (double t : s->timesteps()) x = s->step(unet(s->scale_model_input(x, t), t), t, x, gen).prev_sample;
#pragma once
#include <cstdint>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/core/tensor.h"
#include "runtime/io/config.h"

namespace glint::diffusion {

// Gaussian noise from a seed, reproducible across platforms (Box-Muller over mt19937_64; not torch's stream).
class NoiseGenerator {
 public:
  explicit NoiseGenerator(uint64_t seed) : rng_(seed) {}
  // A tensor of standard normal f32 values, drawn on the host and moved to `device`.
  Tensor randn(const Shape& shape, Device device);

 private:
  std::mt19937_64 rng_;
};

// What one step returns. pred_original_sample (the model's estimate of the clean latents, LCM's "denoised") is
// undefined for the multistep schedulers (PNDM, DPM-Solver), which do not form it.
struct SchedulerStep {
  Tensor prev_sample;
  Tensor pred_original_sample;
};

class Scheduler {
 public:
  virtual ~Scheduler() = default;

  // The diffusers class name ("DDIMScheduler", ...).
  virtual std::string_view class_name() const = 0;
  // Builds the schedule for `num_inference_steps` steps. With strength < 1 (img2img) only the last
  // strength * num_inference_steps steps are run, as diffusers' img2img pipelines do: timesteps() then starts
  // there, and add_noise(image, noise, {timesteps()[0]}) makes the starting latents.
  virtual void set_timesteps(int64_t num_inference_steps, double strength = 1.0);
  // The timesteps to run, in order (what to pass to the UNet and to step). Empty before set_timesteps.
  const std::vector<double>& timesteps() const { return timesteps_; }
  // The noise levels of the sigma-based schedulers (Euler, Euler ancestral, DPM-Solver): one per timestep of the
  // full schedule plus the final one; empty for the others.
  const std::vector<double>& sigmas() const { return sigmas_; }
  // The standard deviation of the initial noise (after set_timesteps): multiply unit Gaussian noise by it to start
  // txt2img.
  virtual double init_noise_sigma() const { return 1.0; }
  // The UNet input for `sample` at timestep t (divides by sqrt(sigma^2 + 1) for the Euler schedulers).
  virtual Tensor scale_model_input(const Tensor& sample, double t);
  // True when step() consumes noise (Euler ancestral; LCM before its last step).
  virtual bool needs_noise() const { return false; }
  // One denoising step from `sample` at timestep t, given the model's output there. `noise` (standard normal, shaped
  // like sample) is required when needs_noise(), ignored otherwise. Steps must follow timesteps() in order.
  virtual SchedulerStep step(const Tensor& model_output, double t, const Tensor& sample, const Tensor& noise) = 0;
  // step() drawing its noise, when needed, from `gen`.
  SchedulerStep step(const Tensor& model_output, double t, const Tensor& sample, NoiseGenerator& gen);
  // Forward diffusion: `original` (B, ...) noised to timesteps[b] for each batch item b (img2img start, training).
  virtual Tensor add_noise(const Tensor& original, const Tensor& noise, const std::vector<double>& timesteps) const = 0;

 protected:
  // Fills full_timesteps_ (and sigmas_, and resets any multistep state) for n steps, as diffusers' set_timesteps.
  // (Every scheduler here has diffusers' order 1: one timestep per inference step.)
  virtual void build_schedule(int64_t n) = 0;
  // Index into the full schedule of the current step: begin_index_ when set, else found from t (diffusers'
  // _init_step_index); advanced by each step. Throws when t is not in the schedule or every step has been taken.
  int64_t step_index(double t);
  // Index of timestep t in the full schedule (the second match when t repeats); -1 when absent.
  int64_t index_for_timestep(double t) const;
  void check_ready(std::string_view what) const;
  // The sigma add_noise uses for each timestep (sigma-based schedulers): the current step's once stepping has
  // begun, else begin_index_'s (img2img), else the timestep's own (diffusers' rule).
  std::vector<double> noise_sigmas(const std::vector<double>& timesteps) const;

  std::vector<double> full_timesteps_;  // the whole schedule; timesteps_ is its tail from begin_index_
  std::vector<double> timesteps_;
  std::vector<double> sigmas_;
  int64_t num_inference_steps_ = 0;
  int64_t begin_index_ = -1;  // -1: unset (txt2img), as diffusers' None
  int64_t step_index_ = -1;   // -1: before the first step
};

// A scheduler from a parsed scheduler_config.json; `_class_name` picks the class (the message on an unknown one
// lists the supported classes). Unknown keys are ignored, as diffusers does across compatible classes.
std::unique_ptr<Scheduler> make_scheduler(const io::JsonFile& config);
// Reads and parses a scheduler_config.json.
std::unique_ptr<Scheduler> load_scheduler(const std::string& path);
// A scheduler by short name (ddim, euler, euler_a, dpm++2m, dpm++2m-karras, pndm, lcm) taking its beta schedule
// and other shared keys from `base` (the model's scheduler_config.json), like diffusers' Class.from_config(base).
std::unique_ptr<Scheduler> make_scheduler(std::string_view short_name, const io::JsonFile& base);
// The short names make_scheduler accepts, for help texts.
std::vector<std::string> scheduler_short_names();

}  // namespace glint::diffusion
