// Training a UNet2DConditionModel as a pixel-space, class-conditional denoising diffusion model (Ho et al. 2020,
// DDPM): each training image gets Gaussian noise at a random timestep of the scheduler's training schedule
// (add_noise), and the UNet learns to predict that noise (epsilon prediction, MSE). The class reaches the UNet
// through its cross-attention: the context is one learned embedding row per class, (N, 1, cross_attention_dim).
// Sampling runs any glint scheduler from pure noise, e.g. DDIM, as diffusers' pipelines do.
//
// The result is written as a diffusers folder: unet/ (config.json + diffusion_pytorch_model.safetensors, loadable
// by diffusers' UNet2DConditionModel), scheduler/scheduler_config.json, and class_embeddings.safetensors (the one
// tensor diffusers has no place for).
#pragma once
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "models/diffusion/schedulers/scheduler.h"
#include "models/unet/unet_2d_condition.h"
#include "trainers/trainer.h"

namespace glint::train {

// The architecture of a small pixel-space UNet (diffusers config.json keys): `channels` image channels, one entry
// of block_out_channels per resolution, cross-attention (class conditioning) at the lowest resolution and in the
// mid block only, `heads` attention heads there, `groups` GroupNorm groups.
nlohmann::json small_unet_config(int64_t channels, const std::vector<int64_t>& block_out_channels,
                                 int64_t layers_per_block, int64_t cross_attention_dim, int64_t heads, int64_t groups,
                                 int64_t sample_size);

// The noise schedule of training and sampling (diffusers' DDIMScheduler config): 1000 steps of the cosine
// (squaredcos_cap_v2) schedule that suits small images, epsilon prediction, x0 clipped to [-1, 1], trailing timestep
// spacing so that sampling starts from pure noise.
nlohmann::json pixel_scheduler_config();

// A UNet with its class embedding table, and every trainable tensor of both by name.
struct ConditionalUNet {
  nlohmann::json config;  // the UNet's diffusers config.json
  std::unique_ptr<UNet2DConditionModel> unet;
  Tensor class_embedding;         // (num_classes, cross_attention_dim)
  nn::ParameterStore parameters;  // the UNet's (diffusers names) and "class_embedding"

  // The cross-attention context (N, 1, cross_attention_dim) of `labels` (each in [0, num_classes)).
  Tensor context(const std::vector<int64_t>& labels) const;
  // Writes unet/, class_embeddings.safetensors and scheduler/scheduler_config.json (from `scheduler_config`) into
  // `dir`.
  void save(const std::string& dir, const nlohmann::json& scheduler_config) const;
};

// Fresh weights (nn::init_weights: normal(0, 0.02) matrices and kernels, unit norms, zero biases) from `seed`.
ConditionalUNet make_conditional_unet(const nlohmann::json& config, int64_t num_classes, uint64_t seed,
                                      Device device = default_device());
// What save() wrote.
ConditionalUNet load_conditional_unet(const std::string& dir, Device device = default_device());

// Produces the clean images (N, C, H, W) in [-1, 1] and their labels for the dataset rows of a micro-batch.
using ImageRowsFn = std::function<void(const std::vector<size_t>& rows, Tensor& images, std::vector<int64_t>& labels)>;

// The DDPM loss of a micro-batch for Trainer's RowsLossFn: mean squared error between the UNet's prediction and
// the noise added to each image. Row r's noise and timestep are drawn from (seed, r) alone, so a run is reproducible
// and resumes exactly. `noise_schedule` gives add_noise and num_train_timesteps of the training schedule.
RowsLossFn ddpm_rows_loss(const ConditionalUNet& model, std::shared_ptr<const diffusion::Scheduler> noise_schedule,
                          int64_t num_train_timesteps, ImageRowsFn images, uint64_t seed);

// Images (N, C, H, W) in [0, 1] of class labels[i], denoised from NoiseGenerator(seed + i) noise by `scheduler`
// over `steps` steps (the model's own sample_size when size is 0).
Tensor sample_images(const ConditionalUNet& model, diffusion::Scheduler& scheduler, const std::vector<int64_t>& labels,
                     int64_t steps, uint64_t seed, int64_t size = 0);

}  // namespace glint::train
