#include "models/vae/autoencoder_kl.h"

#include "runtime/core/error.h"
#include "runtime/ops/elementwise.h"

namespace glint {
namespace {

constexpr double kEps = 1e-6;  // the VAE's resnets, attention and output norms

void check_all(const io::JsonFile& j, const char* key, const std::string& want, size_t n) {
  const auto types = j.get<std::vector<std::string>>(key);
  GLINT_CHECK(types.size() == n, "vae", j.where, ": ", key, " has ", types.size(), " entries but block_out_channels ",
              n);
  for (const auto& t : types) GLINT_CHECK(t == want, "vae", j.where, ": unsupported ", key, " entry '", t, "'");
}

}  // namespace

AutoencoderKLConfig AutoencoderKLConfig::from_json(const io::JsonFile& j) {
  AutoencoderKLConfig c;
  c.in_channels = j.get_or<int64_t>("in_channels", c.in_channels);
  c.out_channels = j.get_or<int64_t>("out_channels", c.out_channels);
  c.latent_channels = j.get_or<int64_t>("latent_channels", c.latent_channels);
  c.layers_per_block = j.get_or<int64_t>("layers_per_block", c.layers_per_block);
  c.norm_num_groups = j.get_or<int64_t>("norm_num_groups", c.norm_num_groups);
  c.block_out_channels = j.get<std::vector<int64_t>>("block_out_channels");
  c.scaling_factor = j.get_or<double>("scaling_factor", c.scaling_factor);
  // An int, or [height, width] in some configs, of which diffusers' tiling reads the first
  c.sample_size = j.has("sample_size") && j.json["sample_size"].is_array()
                      ? j.get<std::vector<int64_t>>("sample_size").at(0)
                      : j.get_or<int64_t>("sample_size", c.sample_size);
  c.use_quant_conv = j.get_or<bool>("use_quant_conv", c.use_quant_conv);
  c.use_post_quant_conv = j.get_or<bool>("use_post_quant_conv", c.use_post_quant_conv);
  c.mid_block_add_attention = j.get_or<bool>("mid_block_add_attention", c.mid_block_add_attention);
  GLINT_CHECK(!c.block_out_channels.empty(), "vae", j.where, ": block_out_channels is empty");
  check_all(j, "down_block_types", "DownEncoderBlock2D", c.block_out_channels.size());
  check_all(j, "up_block_types", "UpDecoderBlock2D", c.block_out_channels.size());
  const auto act = j.get_or<std::string>("act_fn", "silu");
  GLINT_CHECK(act == "silu", "vae", j.where, ": unsupported act_fn '", act, "'");
  for (int64_t ch : c.block_out_channels)
    GLINT_CHECK(ch > 0 && ch % c.norm_num_groups == 0, "vae", j.where, ": block_out_channels entry ", ch,
                " is not divisible by norm_num_groups ", c.norm_num_groups);
  return c;
}

std::unique_ptr<AutoencoderKL> AutoencoderKL::from_pretrained(const std::string& folder, Device device, DType dtype) {
  const auto weights = diffusion::open_diffusers_weights(folder);
  const nn::VarBuilder vb(nn::checkpoint_weights(weights), device, dtype);
  return std::make_unique<AutoencoderKL>(AutoencoderKLConfig::from_json(io::load_json(folder + "/config.json")), vb);
}

AutoencoderKL::MidBlock AutoencoderKL::mid_block(const nn::VarBuilder& vb) const {
  const int64_t C = config_.block_out_channels.back(), G = config_.norm_num_groups;
  MidBlock m;
  m.first = diffusion::ResnetBlock2D(vb.pp("resnets").pp(0), C, C, 0, G, kEps);
  m.second = diffusion::ResnetBlock2D(vb.pp("resnets").pp(1), C, C, 0, G, kEps);
  m.has_attention = config_.mid_block_add_attention;
  if (m.has_attention) m.attention = diffusion::SpatialSelfAttention(vb.pp("attentions").pp(0), C, G, kEps);
  return m;
}

Tensor AutoencoderKL::MidBlock::forward(const Tensor& x) const {
  const Tensor h = first.forward(x);
  return second.forward(has_attention ? attention.forward(h) : h);
}

AutoencoderKL::AutoencoderKL(const AutoencoderKLConfig& config, const nn::VarBuilder& vb)
    : config_(config), device_(vb.device()), dtype_(vb.dtype().value_or(DType::f32)) {
  const auto& ch = config.block_out_channels;
  const int64_t G = config.norm_num_groups, L = config.latent_channels, n = int64_t(ch.size());
  const nn::VarBuilder enc = vb.pp("encoder"), dec = vb.pp("decoder");
  enc_in_ = diffusion::Conv2d(enc.pp("conv_in"), config.in_channels, ch[0], 3, 1, 1);
  for (int64_t i = 0; i < n; ++i) {
    const nn::VarBuilder b = enc.pp("down_blocks").pp(i);
    Stage s;
    for (int64_t j = 0; j < config.layers_per_block; ++j)
      s.resnets.emplace_back(b.pp("resnets").pp(j), j == 0 ? ch[std::max<int64_t>(i - 1, 0)] : ch[i], ch[i], 0, G,
                             kEps);
    s.resample = i + 1 < n;
    if (s.resample) s.down = diffusion::Downsample2D(b.pp("downsamplers").pp(0), ch[i], 0);
    down_.push_back(std::move(s));
  }
  enc_mid_ = mid_block(enc.pp("mid_block"));
  enc_norm_ = diffusion::GroupNorm(enc.pp("conv_norm_out"), G, ch.back(), kEps);
  enc_out_ = diffusion::Conv2d(enc.pp("conv_out"), ch.back(), 2 * L, 3, 1, 1);
  if (config.use_quant_conv) quant_ = diffusion::Conv2d(vb.pp("quant_conv"), 2 * L, 2 * L, 1);

  if (config.use_post_quant_conv) post_quant_ = diffusion::Conv2d(vb.pp("post_quant_conv"), L, L, 1);
  dec_in_ = diffusion::Conv2d(dec.pp("conv_in"), L, ch.back(), 3, 1, 1);
  dec_mid_ = mid_block(dec.pp("mid_block"));
  for (int64_t i = 0; i < n; ++i) {  // up block i works at the channels of down block n - 1 - i
    const nn::VarBuilder b = dec.pp("up_blocks").pp(i);
    const int64_t in = ch[size_t(n - std::max<int64_t>(i, 1))], out = ch[size_t(n - 1 - i)];
    Stage s;
    for (int64_t j = 0; j <= config.layers_per_block; ++j)
      s.resnets.emplace_back(b.pp("resnets").pp(j), j == 0 ? in : out, out, 0, G, kEps);
    s.resample = i + 1 < n;
    if (s.resample) s.up = diffusion::Upsample2D(b.pp("upsamplers").pp(0), out);
    up_.push_back(std::move(s));
  }
  dec_norm_ = diffusion::GroupNorm(dec.pp("conv_norm_out"), G, ch[0], kEps);
  dec_out_ = diffusion::Conv2d(dec.pp("conv_out"), ch[0], config.out_channels, 3, 1, 1);
}

Tensor AutoencoderKL::moments(const Tensor& images) const {
  GLINT_CHECK(images.ndim() == 4 && images.dim(1) == config_.in_channels, "vae", "images must be (N, ",
              config_.in_channels, ", H, W), got ", images.str());
  GLINT_CHECK(images.dim(2) % downscale() == 0 && images.dim(3) % downscale() == 0, "vae", "image size ", images.dim(2),
              "x", images.dim(3), " is not a multiple of ", downscale());
  Tensor x = enc_in_.forward(images.to(device_).to(dtype_).contiguous());
  for (const Stage& s : down_) {
    for (const auto& r : s.resnets) x = r.forward(x);
    if (s.resample) x = s.down.forward(x);
  }
  x = enc_out_.forward(enc_norm_.forward(enc_mid_.forward(x), true));
  return config_.use_quant_conv ? quant_.forward(x) : x;
}

Tensor AutoencoderKL::encode_mean(const Tensor& images) const {
  const Tensor m = moments(images);
  return m.slice(1, 0, config_.latent_channels).contiguous().to(DType::f32);
}

Tensor AutoencoderKL::encode_sample(const Tensor& images, const Tensor& noise) const {
  const Tensor m = moments(images).to(DType::f32);
  const int64_t L = config_.latent_channels;
  const Tensor mean = m.slice(1, 0, L), logvar = clamp(m.slice(1, L, 2 * L), -30.0, 20.0);
  GLINT_CHECK(noise.shape() == mean.shape(), "vae", "noise ", noise.str(), " does not match the latents ",
              shape_str(mean.shape()));
  return add(mean, mul(exp(mul(logvar, 0.5)), noise.to(device_).to(DType::f32)));
}

Tensor AutoencoderKL::decode(const Tensor& latents) const {
  GLINT_CHECK(latents.ndim() == 4 && latents.dim(1) == config_.latent_channels, "vae", "latents must be (N, ",
              config_.latent_channels, ", h, w), got ", latents.str());
  Tensor x = latents.to(device_).to(dtype_).contiguous();
  if (config_.use_post_quant_conv) x = post_quant_.forward(x);
  x = dec_mid_.forward(dec_in_.forward(x));
  for (const Stage& s : up_) {
    for (const auto& r : s.resnets) x = r.forward(x);
    if (s.resample) x = s.up.forward(x);
  }
  return dec_out_.forward(dec_norm_.forward(x, true)).to(DType::f32);
}

}  // namespace glint
