// diffusers' AutoencoderKL, the Stable Diffusion VAE: an encoder of DownEncoderBlock2D (ResnetBlock2D + Downsample2D)
// and a mid block (resnet, spatial self-attention, resnet) to the mean and log-variance of a diagonal Gaussian over
// latents, and the mirrored decoder of UpDecoderBlock2D. Latents are scaled by `scaling_factor` in the pipelines,
// not here (as in diffusers).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "models/vae/blocks.h"
#include "runtime/io/config.h"

namespace glint {

// The fields of AutoencoderKL's config.json that inference reads (diffusers names).
struct AutoencoderKLConfig {
  int64_t in_channels = 3, out_channels = 3, latent_channels = 4, layers_per_block = 2, norm_num_groups = 32;
  std::vector<int64_t> block_out_channels = {128, 256, 512, 512};
  double scaling_factor = 0.18215;
  int64_t sample_size = 512;  // the training image size; tiled decoding's tile (diffusers' tile_sample_min_size)
  bool use_quant_conv = true, use_post_quant_conv = true, mid_block_add_attention = true;

  // Reads config.json; fails on block types, activations or group counts this implementation does not have.
  static AutoencoderKLConfig from_json(const io::JsonFile& j);
};

class AutoencoderKL {
 public:
  // A vae/ folder holding config.json and diffusion_pytorch_model.safetensors.
  static std::unique_ptr<AutoencoderKL> from_pretrained(const std::string& folder, Device device = default_device(),
                                                        DType dtype = DType::f32);
  AutoencoderKL(const AutoencoderKLConfig& config, const nn::VarBuilder& vb);

  const AutoencoderKLConfig& config() const { return config_; }
  // Latent pixels per image pixel along each side: 2^(number of blocks - 1).
  int64_t downscale() const { return int64_t(1) << (config_.block_out_channels.size() - 1); }

  // images (N, in_channels, H, W) in [-1, 1], H and W multiples of downscale() -> the latent distribution's mean
  // (N, latent_channels, H / downscale, W / downscale) in f32.
  Tensor encode_mean(const Tensor& images) const;
  // A sample of the latent distribution, mean + std * noise, with noise of the latents' shape (diffusers'
  // latent_dist.sample(generator) draws that noise itself).
  Tensor encode_sample(const Tensor& images, const Tensor& noise) const;
  // latents (N, latent_channels, h, w), unscaled -> images (N, out_channels, h * downscale, w * downscale) f32.
  Tensor decode(const Tensor& latents) const;
  // decode() tile by tile, as diffusers' enable_tiling: tiles of sample_size / downscale latents stepping by 3/4 of
  // a tile, each decoded alone, neighbours blended linearly over a quarter tile of pixels; the same as decode() when
  // the latents fit one tile. Bounds the decoder's memory for large images; not equal to decode() otherwise, since
  // the decoder's attention and norms see one tile at a time. (models/vae/tiled_decode.cpp)
  Tensor decode_tiled(const Tensor& latents) const;

 private:
  struct MidBlock {
    diffusion::ResnetBlock2D first, second;
    diffusion::SpatialSelfAttention attention;
    bool has_attention = true;
    Tensor forward(const Tensor& x) const;
  };
  struct Stage {  // one DownEncoderBlock2D or UpDecoderBlock2D
    std::vector<diffusion::ResnetBlock2D> resnets;
    diffusion::Downsample2D down;
    diffusion::Upsample2D up;
    bool resample = false;
  };
  MidBlock mid_block(const nn::VarBuilder& vb) const;
  // The encoder's moments (N, 2 * latent_channels, h, w): mean and log-variance stacked on channels.
  Tensor moments(const Tensor& images) const;

  AutoencoderKLConfig config_;
  Device device_;
  DType dtype_;
  diffusion::Conv2d enc_in_, enc_out_, quant_, post_quant_, dec_in_, dec_out_;
  std::vector<Stage> down_, up_;
  MidBlock enc_mid_, dec_mid_;
  diffusion::GroupNorm enc_norm_, dec_norm_;
};

}  // namespace glint
