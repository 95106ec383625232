#include "models/unet/unet_2d_condition.h"

#include <cmath>

#include "runtime/core/error.h"
#include "runtime/ops/elementwise.h"
#include "runtime/ops/indexing.h"

namespace glint {
namespace {

// An int repeated per block, or a list of one entry per block.
std::vector<int64_t> per_block(const io::JsonFile& j, const char* key, size_t n) {
  if (j.json.at(key).is_number_integer()) return std::vector<int64_t>(n, j.get<int64_t>(key));
  auto v = j.get<std::vector<int64_t>>(key);
  GLINT_CHECK(v.size() == n, "unet", j.where, ": ", key, " has ", v.size(), " entries for ", n, " blocks");
  return v;
}

// Fails unless `key` is absent or holds `want` (options this implementation does not have).
template <class T>
void require(const io::JsonFile& j, const char* key, const T& want) {
  const auto got = j.get_opt<T>(key);
  GLINT_CHECK(!got || *got == want, "unet", j.where, ": unsupported ", key, " (only ", want, " is implemented)");
}

}  // namespace

UNet2DConditionConfig UNet2DConditionConfig::from_json(const io::JsonFile& j) {
  UNet2DConditionConfig c;
  c.in_channels = j.get_or<int64_t>("in_channels", c.in_channels);
  c.out_channels = j.get_or<int64_t>("out_channels", c.out_channels);
  c.layers_per_block = j.get_or<int64_t>("layers_per_block", c.layers_per_block);
  c.norm_num_groups = j.get_or<int64_t>("norm_num_groups", c.norm_num_groups);
  c.cross_attention_dim = j.get_or<int64_t>("cross_attention_dim", c.cross_attention_dim);
  c.freq_shift = j.get_or<int64_t>("freq_shift", c.freq_shift);
  c.block_out_channels = j.get<std::vector<int64_t>>("block_out_channels");
  c.down_block_types = j.get<std::vector<std::string>>("down_block_types");
  c.up_block_types = j.get<std::vector<std::string>>("up_block_types");
  c.norm_eps = j.get_or<double>("norm_eps", c.norm_eps);
  c.flip_sin_to_cos = j.get_or<bool>("flip_sin_to_cos", c.flip_sin_to_cos);
  c.use_linear_projection = j.get_or<bool>("use_linear_projection", c.use_linear_projection);
  const size_t n = c.block_out_channels.size();
  GLINT_CHECK(n > 0 && c.down_block_types.size() == n && c.up_block_types.size() == n, "unet", j.where,
              ": down_block_types and up_block_types need one entry per block_out_channels entry (", n, ")");
  c.heads = per_block(j, j.has("num_attention_heads") ? "num_attention_heads" : "attention_head_dim", n);
  c.transformer_layers_per_block = j.has("transformer_layers_per_block")
                                       ? per_block(j, "transformer_layers_per_block", n)
                                       : std::vector<int64_t>(n, 1);
  for (const auto& t : c.down_block_types)
    GLINT_CHECK(t == "CrossAttnDownBlock2D" || t == "DownBlock2D", "unet", j.where, ": unsupported down block '", t,
                "'");
  for (const auto& t : c.up_block_types)
    GLINT_CHECK(t == "CrossAttnUpBlock2D" || t == "UpBlock2D", "unet", j.where, ": unsupported up block '", t, "'");
  for (int64_t ch : c.block_out_channels)
    GLINT_CHECK(ch > 0 && ch % c.norm_num_groups == 0, "unet", j.where, ": block_out_channels entry ", ch,
                " is not divisible by norm_num_groups ", c.norm_num_groups);
  GLINT_CHECK(c.block_out_channels[0] % 2 == 0, "unet", j.where, ": block_out_channels[0] must be even");
  require<std::string>(j, "mid_block_type", "UNetMidBlock2DCrossAttn");
  require<std::string>(j, "act_fn", "silu");
  require<std::string>(j, "resnet_time_scale_shift", "default");
  require<std::string>(j, "time_embedding_type", "positional");
  require<std::string>(j, "attention_type", "default");
  require<double>(j, "mid_block_scale_factor", 1.0);
  require<double>(j, "resnet_out_scale_factor", 1.0);
  require<bool>(j, "resnet_skip_time_act", false);
  require<int64_t>(j, "conv_in_kernel", 3);
  require<int64_t>(j, "conv_out_kernel", 3);
  require<bool>(j, "center_input_sample", false);
  require<bool>(j, "only_cross_attention", false);
  require<bool>(j, "dual_cross_attention", false);
  for (const char* key : {"class_embed_type", "num_class_embeds", "addition_embed_type", "time_cond_proj_dim",
                          "encoder_hid_dim", "time_embedding_dim", "timestep_post_act", "cross_attention_norm"})
    GLINT_CHECK(!j.has(key), "unet", j.where, ": unsupported option ", key);
  return c;
}

std::unique_ptr<UNet2DConditionModel> UNet2DConditionModel::from_pretrained(const std::string& folder, Device device,
                                                                            DType dtype) {
  const auto weights = diffusion::open_diffusers_weights(folder);
  const nn::VarBuilder vb(nn::checkpoint_weights(weights), device, dtype);
  return std::make_unique<UNet2DConditionModel>(
      UNet2DConditionConfig::from_json(io::load_json(folder + "/config.json")), vb);
}

diffusion::Transformer2D UNet2DConditionModel::transformer(const nn::VarBuilder& vb, int64_t channels,
                                                           size_t block) const {
  return diffusion::Transformer2D(vb, channels, config_.heads[block], config_.transformer_layers_per_block[block],
                                  config_.cross_attention_dim, config_.norm_num_groups, config_.use_linear_projection);
}

UNet2DConditionModel::UNet2DConditionModel(const UNet2DConditionConfig& config, const nn::VarBuilder& vb)
    : config_(config), device_(vb.device()), dtype_(vb.dtype().value_or(DType::f32)) {
  const auto& ch = config.block_out_channels;
  const size_t n = ch.size();
  const int64_t G = config.norm_num_groups, temb = 4 * ch[0];
  const double eps = config.norm_eps;
  time_1_ = nn::Linear(vb.pp("time_embedding").pp("linear_1"), ch[0], temb, true);
  time_2_ = nn::Linear(vb.pp("time_embedding").pp("linear_2"), temb, temb, true);
  conv_in_ = diffusion::Conv2d(vb.pp("conv_in"), config.in_channels, ch[0], 3, 1, 1);
  for (size_t i = 0; i < n; ++i) {
    const nn::VarBuilder b = vb.pp("down_blocks").pp(int64_t(i));
    const bool cross = config.down_block_types[i] == "CrossAttnDownBlock2D";
    Block blk;
    for (int64_t j = 0; j < config.layers_per_block; ++j) {
      blk.resnets.emplace_back(b.pp("resnets").pp(j), j == 0 ? ch[i == 0 ? 0 : i - 1] : ch[i], ch[i], temb, G, eps);
      if (cross) blk.attentions.push_back(transformer(b.pp("attentions").pp(j), ch[i], i));
    }
    blk.resample = i + 1 < n;
    if (blk.resample) blk.down = diffusion::Downsample2D(b.pp("downsamplers").pp(0), ch[i], 1);
    down_.push_back(std::move(blk));
  }
  const nn::VarBuilder mid = vb.pp("mid_block");
  mid_first_ = diffusion::ResnetBlock2D(mid.pp("resnets").pp(0), ch.back(), ch.back(), temb, G, eps);
  mid_attention_ = transformer(mid.pp("attentions").pp(0), ch.back(), n - 1);
  mid_second_ = diffusion::ResnetBlock2D(mid.pp("resnets").pp(1), ch.back(), ch.back(), temb, G, eps);
  for (size_t i = 0; i < n; ++i) {  // up block i mirrors down block n - 1 - i
    const nn::VarBuilder b = vb.pp("up_blocks").pp(int64_t(i));
    const bool cross = config.up_block_types[i] == "CrossAttnUpBlock2D";
    const int64_t out = ch[n - 1 - i], prev = ch[n - std::max<size_t>(i, 1)], in = ch[n - 1 - std::min(i + 1, n - 1)];
    Block blk;
    for (int64_t j = 0; j <= config.layers_per_block; ++j) {
      // resnet j concatenates the skip state of down resnet (or downsample) in reverse order to its input
      const int64_t skip = j == config.layers_per_block ? in : out;
      blk.resnets.emplace_back(b.pp("resnets").pp(j), (j == 0 ? prev : out) + skip, out, temb, G, eps);
      if (cross) blk.attentions.push_back(transformer(b.pp("attentions").pp(j), out, n - 1 - i));
    }
    blk.resample = i + 1 < n;
    if (blk.resample) blk.up = diffusion::Upsample2D(b.pp("upsamplers").pp(0), out);
    up_.push_back(std::move(blk));
  }
  norm_out_ = diffusion::GroupNorm(vb.pp("conv_norm_out"), G, ch[0], eps);
  conv_out_ = diffusion::Conv2d(vb.pp("conv_out"), ch[0], config.out_channels, 3, 1, 1);
}

Tensor UNet2DConditionModel::timestep_features(const std::vector<double>& timesteps, int64_t n) const {
  GLINT_CHECK(timesteps.size() == 1 || int64_t(timesteps.size()) == n, "unet", timesteps.size(),
              " timesteps for a batch of ", n, ": need 1 or one per item");
  const int64_t dim = config_.block_out_channels[0], half = dim / 2;
  std::vector<float> features(size_t(n * dim));
  for (int64_t b = 0; b < n; ++b) {
    const float t = float(timesteps[timesteps.size() == 1 ? 0 : size_t(b)]);
    for (int64_t i = 0; i < half; ++i) {
      // exp(-ln(10000) * i / (half - freq_shift)), each step rounded to f32 as torch computes it
      const float exponent = float(-std::log(10000.0)) * float(i) / float(half - config_.freq_shift);
      const float arg = t * std::exp(exponent);
      const float s = std::sin(arg), c = std::cos(arg);
      features[size_t(b * dim + i)] = config_.flip_sin_to_cos ? c : s;
      features[size_t(b * dim + half + i)] = config_.flip_sin_to_cos ? s : c;
    }
  }
  return Tensor::from_vector(features, {n, dim}, DType::f32, Device::cpu()).to(device_).to(dtype_);
}

Tensor UNet2DConditionModel::forward(const Tensor& sample, const std::vector<double>& timesteps,
                                     const Tensor& encoder_hidden_states) const {
  GLINT_CHECK(sample.ndim() == 4 && sample.dim(1) == config_.in_channels, "unet", "sample must be (N, ",
              config_.in_channels, ", h, w), got ", sample.str());
  const int64_t N = sample.dim(0), factor = int64_t(1) << (down_.size() - 1);
  GLINT_CHECK(sample.dim(2) % factor == 0 && sample.dim(3) % factor == 0, "unet", "latent size ", sample.dim(2), "x",
              sample.dim(3), " is not a multiple of ", factor);
  GLINT_CHECK(encoder_hidden_states.ndim() == 3 && encoder_hidden_states.dim(0) == N &&
                  encoder_hidden_states.dim(2) == config_.cross_attention_dim,
              "unet", "encoder_hidden_states must be (", N, ", S, ", config_.cross_attention_dim, "), got ",
              encoder_hidden_states.str());
  const Tensor temb = time_2_.forward(silu(time_1_.forward(timestep_features(timesteps, N))));
  const Tensor context = encoder_hidden_states.to(device_).to(dtype_);

  Tensor x = conv_in_.forward(sample.to(device_).to(dtype_).contiguous());
  std::vector<Tensor> skips = {x};
  for (const Block& b : down_) {
    for (size_t j = 0; j < b.resnets.size(); ++j) {
      x = b.resnets[j].forward(x, temb);
      if (!b.attentions.empty()) x = b.attentions[j].forward(x, context);
      skips.push_back(x);
    }
    if (b.resample) skips.push_back(x = b.down.forward(x));
  }
  x = mid_second_.forward(mid_attention_.forward(mid_first_.forward(x, temb), context), temb);
  for (const Block& b : up_) {
    for (size_t j = 0; j < b.resnets.size(); ++j) {
      x = b.resnets[j].forward(concat({x, skips.back()}, 1), temb);
      skips.pop_back();
      if (!b.attentions.empty()) x = b.attentions[j].forward(x, context);
    }
    if (b.resample) x = b.up.forward(x);
  }
  return conv_out_.forward(norm_out_.forward(x, true)).to(DType::f32);
}

}  // namespace glint
