// Stable Diffusion from a diffusers folder (model_index.json with text_encoder/, tokenizer/, unet/, vae/, scheduler/):
// prompts -> CLIP states, a denoising loop over the scheduler with classifier-free guidance, VAE decode; txt2img,
// img2img and inpainting. Follows diffusers' StableDiffusion(Img2Img|Inpaint)Pipeline: prompts padded to the
// tokenizer's model_max_length, the unconditional (negative-prompt) and conditional halves run as one UNet batch, N
// prompts x M images per prompt as one batch.
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "models/clip/clip_text.h"
#include "models/diffusion/schedulers/scheduler.h"
#include "models/tokenizers/tokenizer.h"
#include "models/unet/unet_2d_condition.h"
#include "models/vae/autoencoder_kl.h"

namespace glint::diffusion {

// What txt2img makes.
struct Txt2ImgOptions {
  std::vector<std::string> prompts;
  // One per prompt, or empty for "" (diffusers' default unconditional input).
  std::vector<std::string> negative_prompts;
  int64_t width = 512, height = 512;  // multiples of the VAE's downscale (8 for SD)
  int64_t steps = 25;
  double guidance = 7.5;  // <= 1 runs the conditional half only, as diffusers does
  int64_t images_per_prompt = 1;
  // Image i (in prompt-major order) starts from NoiseGenerator(seed + i), so one image does not depend on the batch.
  uint64_t seed = 0;
  // Optional fixed initial latents (N * M, latent channels, height / downscale, width / downscale) of unit variance,
  // used instead of the seeded noise (diffusers' `latents` argument).
  Tensor latents;
  int64_t clip_skip = 0;  // as ClipTextModel::forward
  // Called after each step with (steps done, steps in all), e.g. for a progress bar.
  std::function<void(int64_t, int64_t)> on_step;
  // Decode with AutoencoderKL::decode_tiled (diffusers' enable_vae_tiling), for images larger than the VAE's tile.
  bool tiled_vae = false;
};

// What img2img makes: the txt2img options (width / height are taken from the images; `latents`, when given, is the
// noise added to the image latents) plus the images and how much of the schedule to run.
struct Img2ImgOptions : Txt2ImgOptions {
  // (N * M, 3, H, W) in [0, 1], one per output image, H and W multiples of the VAE's downscale.
  Tensor images;
  // The fraction of the steps run, from the noise level of the first (diffusers' strength; 1 ignores the images).
  double strength = 0.8;
  // Optional noise (unit variance, latent shape) of the VAE's posterior sample (see img2img_latents).
  Tensor sample_noise;
};

// What inpainting makes (diffusers' StableDiffusionInpaintPipeline): the img2img options, strength 1 by default as
// there, plus a mask per image. A 4-channel UNet denoises everything and the kept region is blended back, noised to
// the next timestep, after every step; a 9-channel inpainting UNet sees the mask and the masked image's latents
// beside the latents instead.
struct InpaintOptions : Img2ImgOptions {
  InpaintOptions() { strength = 1.0; }
  // (N * M, 1, H, W) in [0, 1], binarised at 0.5: 1 repaints, 0 keeps the image. Same H, W as the images.
  Tensor masks;
  // Optional noise (unit variance, latent shape) of the masked image's posterior sample (9-channel UNets only).
  Tensor masked_sample_noise;
};

class StableDiffusionPipeline {
 public:
  // Loads every component of `folder`; fails naming model_index.json and the component that is missing or of an
  // unsupported class.
  static std::unique_ptr<StableDiffusionPipeline> from_pretrained(const std::string& folder,
                                                                  Device device = default_device(),
                                                                  DType dtype = DType::f32);

  // The token ids (B, model_max_length) i64 of `prompts`, padded and truncated as diffusers does.
  Tensor tokenize(const std::vector<std::string>& prompts) const;
  // Text states (B, model_max_length, hidden) for `prompts`.
  Tensor encode_prompts(const std::vector<std::string>& prompts, int64_t clip_skip = 0) const;
  // The denoised latents (N * M, C, h, w), unscaled as the UNet sees them, before the VAE.
  Tensor txt2img_latents(const Txt2ImgOptions& options) const;
  // The latents of img2img (diffusers' StableDiffusionImg2ImgPipeline): the images encoded (a posterior sample,
  // times scaling_factor), noised to the first timestep of the last strength * steps, then denoised as txt2img.
  // Without given noises, image i draws its posterior noise and then its added noise from NoiseGenerator(seed + i).
  Tensor img2img_latents(const Img2ImgOptions& options) const;
  // The latents of inpainting. The start is pure noise at strength 1 (the `latents` noise times init_noise_sigma),
  // else the image latents noised as img2img. Without given noises, image i draws from NoiseGenerator(seed + i): its
  // image posterior noise (4-channel UNets, or strength < 1), its added noise, its masked-image posterior noise
  // (9-channel UNets), as diffusers draws them.
  Tensor inpaint_latents(const InpaintOptions& options) const;
  // Images in [0, 1] as the VAE's pixels in [-1, 1], on the pipeline's device.
  Tensor pixels_of(const Tensor& images) const;
  // The latents of img2img and inpainting: `pixels` encoded to a posterior sample with `noise`, times scaling_factor.
  Tensor encode_pixels(const Tensor& pixels, const Tensor& noise) const;
  // Latents -> images (N, 3, H, W) f32 in [0, 1]: divided by the VAE's scaling_factor, decoded (tile by tile when
  // `tiled`), mapped from [-1, 1].
  Tensor decode_images(const Tensor& latents, bool tiled = false) const;
  // The latents of each mode, then decode_images.
  Tensor txt2img(const Txt2ImgOptions& o) const { return decode_images(txt2img_latents(o), o.tiled_vae); }
  Tensor img2img(const Img2ImgOptions& o) const { return decode_images(img2img_latents(o), o.tiled_vae); }
  Tensor inpaint(const InpaintOptions& o) const { return decode_images(inpaint_latents(o), o.tiled_vae); }

  // The loaded components.
  const ClipTextModel& text_encoder() const { return *text_encoder_; }
  const UNet2DConditionModel& unet() const { return *unet_; }
  const AutoencoderKL& vae() const { return *vae_; }
  // A fresh scheduler of the folder's scheduler_config.json, or of the class use_scheduler chose on that config
  // (schedulers keep per-run state).
  std::unique_ptr<Scheduler> make_scheduler() const;
  // Runs later calls with the scheduler of a short name (see diffusion::make_scheduler), configured from the
  // folder's scheduler_config.json as diffusers' Class.from_config(pipe.scheduler.config); fails on an unknown name.
  void use_scheduler(const std::string& short_name);

 private:
  StableDiffusionPipeline() = default;
  // Checks the options both modes share (messages under `area`) for images of width x height; returns the text
  // states of the UNet batch (the unconditional half first with guidance).
  Tensor prepare(const Txt2ImgOptions& o, const char* area, int64_t width, int64_t height) const;
  // `given` noise on the device, checked against `shape`, or one row per image from draw(i).
  Tensor noise(const Tensor& given, const Shape& shape, const char* area, const char* what,
               const std::function<Tensor(int64_t)>& draw) const;
  // The scheduler's loop from `latents` (already at its first timestep's noise level) with guidance. `extra`, when
  // defined, is appended on channels to every UNet input (inpainting UNets); `after_step(latents, step index)`, when
  // set, replaces the latents after each step (the 4-channel inpainting blend).
  Tensor denoise(const Txt2ImgOptions& o, Scheduler& scheduler, Tensor latents, const Tensor& context,
                 const Tensor& extra = {},
                 const std::function<Tensor(const Tensor&, size_t)>& after_step = nullptr) const;

  std::unique_ptr<Tokenizer> tokenizer_;
  size_t max_length_ = 77;
  std::unique_ptr<ClipTextModel> text_encoder_;
  std::unique_ptr<UNet2DConditionModel> unet_;
  std::unique_ptr<AutoencoderKL> vae_;
  io::JsonFile scheduler_config_;
  std::string scheduler_name_;  // empty: the config's own class
  Device device_;
};

}  // namespace glint::diffusion
