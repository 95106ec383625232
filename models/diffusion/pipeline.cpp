#include "models/diffusion/pipeline.h"

#include <filesystem>

#include "runtime/core/error.h"
#include "runtime/ops/elementwise.h"
#include "runtime/ops/indexing.h"

namespace glint::diffusion {
namespace {

// Checks that model_index.json names component `name` with one of `classes`, and that its folder exists.
std::string component(const io::JsonFile& index, const std::string& folder, const std::string& name,
                      const std::vector<std::string>& classes) {
  GLINT_CHECK(index.has(name), "diffusion", index.where, ": missing component '", name, "'");
  const auto entry = index.get<std::vector<std::string>>(name);  // [library, class]
  GLINT_CHECK(entry.size() == 2, "diffusion", index.where, ": component '", name, "' must be [library, class]");
  bool known = classes.empty();
  for (const auto& c : classes) known = known || entry[1] == c;
  GLINT_CHECK(known, "diffusion", index.where, ": component '", name, "' has unsupported class '", entry[1], "'");
  const std::string path = folder + "/" + name;
  GLINT_CHECK(std::filesystem::is_directory(path), "diffusion", index.where, ": component folder '", path,
              "' is missing");
  return path;
}

}  // namespace

std::unique_ptr<StableDiffusionPipeline> StableDiffusionPipeline::from_pretrained(const std::string& folder,
                                                                                  Device device, DType dtype) {
  const io::JsonFile index = io::load_json(folder + "/model_index.json");
  std::unique_ptr<StableDiffusionPipeline> p(new StableDiffusionPipeline());
  p->device_ = device;
  p->tokenizer_ = std::make_unique<Tokenizer>(
      Tokenizer::from_pretrained(component(index, folder, "tokenizer", {"CLIPTokenizer", "CLIPTokenizerFast"})));
  p->max_length_ = p->tokenizer_->config().model_max_length.value_or(77);
  p->text_encoder_ =
      ClipTextModel::from_pretrained(component(index, folder, "text_encoder", {"CLIPTextModel"}), device, dtype);
  GLINT_CHECK(int64_t(p->max_length_) <= p->text_encoder_->config().max_position_embeddings, "diffusion", folder,
              ": the tokenizer's model_max_length ", p->max_length_, " exceeds the text encoder's positions");
  p->unet_ =
      UNet2DConditionModel::from_pretrained(component(index, folder, "unet", {"UNet2DConditionModel"}), device, dtype);
  p->vae_ = AutoencoderKL::from_pretrained(component(index, folder, "vae", {"AutoencoderKL"}), device, dtype);
  p->scheduler_config_ = io::load_json(component(index, folder, "scheduler", {}) + "/scheduler_config.json");
  p->make_scheduler();  // fails now on an unsupported scheduler class rather than at the first txt2img
  return p;
}

std::unique_ptr<Scheduler> StableDiffusionPipeline::make_scheduler() const {
  return scheduler_name_.empty() ? diffusion::make_scheduler(scheduler_config_)
                                 : diffusion::make_scheduler(scheduler_name_, scheduler_config_);
}

void StableDiffusionPipeline::use_scheduler(const std::string& short_name) {
  diffusion::make_scheduler(short_name, scheduler_config_);  // fails here on an unknown name
  scheduler_name_ = short_name;
}

Tensor StableDiffusionPipeline::tokenize(const std::vector<std::string>& prompts) const {
  EncodeOptions o = tokenizer_->default_options();
  o.padding = Padding::kMaxLength;
  o.max_length = max_length_;
  const auto encodings = tokenizer_->encode_batch(prompts, o);
  std::vector<int64_t> ids;
  for (const auto& e : encodings) ids.insert(ids.end(), e.ids.begin(), e.ids.end());
  return Tensor::from_vector(ids, {int64_t(prompts.size()), int64_t(max_length_)}, DType::i64, Device::cpu());
}

Tensor StableDiffusionPipeline::encode_prompts(const std::vector<std::string>& prompts, int64_t clip_skip) const {
  return text_encoder_->forward(tokenize(prompts), clip_skip);
}

Tensor StableDiffusionPipeline::prepare(const Txt2ImgOptions& o, const char* area, int64_t width,
                                        int64_t height) const {
  const int64_t n = int64_t(o.prompts.size()), m = o.images_per_prompt, f = vae_->downscale();
  GLINT_CHECK(n > 0 && m > 0, area, "need at least one prompt and one image per prompt");
  GLINT_CHECK(o.negative_prompts.empty() || int64_t(o.negative_prompts.size()) == n, area, o.negative_prompts.size(),
              " negative prompts for ", n, " prompts: need none or one per prompt");
  GLINT_CHECK(width > 0 && height > 0 && width % f == 0 && height % f == 0, area, "size ", width, "x", height,
              " is not a positive multiple of ", f);
  GLINT_CHECK(o.steps > 0, area, "steps must be positive, got ", o.steps);
  // Text states per image (prompt-major, M copies each); with CFG the unconditional half first, as diffusers
  auto per_image = [&](const Tensor& states) {
    std::vector<Tensor> rows;
    for (int64_t i = 0; i < n; ++i)
      for (int64_t j = 0; j < m; ++j) rows.push_back(states.slice(0, i, i + 1));
    return concat(rows, 0);
  };
  const Tensor context = per_image(encode_prompts(o.prompts, o.clip_skip));
  if (o.guidance <= 1.0) return context;
  const auto negative = o.negative_prompts.empty() ? std::vector<std::string>(size_t(n)) : o.negative_prompts;
  return concat({per_image(encode_prompts(negative, o.clip_skip)), context}, 0);
}

Tensor StableDiffusionPipeline::noise(const Tensor& given, const Shape& shape, const char* area, const char* what,
                                      const std::function<Tensor(int64_t)>& draw) const {
  if (given.defined()) {
    GLINT_CHECK(given.shape() == shape, area, what, " ", given.str(), " do not match ", shape_str(shape));
    return given.to(DType::f32).to(device_);
  }
  std::vector<Tensor> rows;
  for (int64_t i = 0; i < shape[0]; ++i) rows.push_back(draw(i));
  return concat(rows, 0);
}

Tensor StableDiffusionPipeline::denoise(const Txt2ImgOptions& o, Scheduler& scheduler, Tensor latents,
                                        const Tensor& context, const Tensor& extra,
                                        const std::function<Tensor(const Tensor&, size_t)>& after_step) const {
  const int64_t batch = latents.dim(0);
  const bool cfg = o.guidance > 1.0;
  NoiseGenerator step_noise(o.seed ^ 0x9E3779B97F4A7C15ull);  // for ancestral / LCM schedulers only
  const auto& timesteps = scheduler.timesteps();
  for (size_t s = 0; s < timesteps.size(); ++s) {
    const double t = timesteps[s];
    Tensor input = scheduler.scale_model_input(latents, t);
    if (extra.defined()) input = concat({input, extra}, 1);
    Tensor pred = unet_->forward(cfg ? concat({input, input}, 0) : input, {t}, context);
    if (cfg) {  // uncond + guidance * (cond - uncond)
      const Tensor uncond = pred.slice(0, 0, batch), cond = pred.slice(0, batch, 2 * batch);
      pred = add(uncond, mul(sub(cond, uncond), o.guidance));
    }
    latents = scheduler.step(pred, t, latents, step_noise).prev_sample;
    if (after_step) latents = after_step(latents, s);
    if (o.on_step) o.on_step(int64_t(s) + 1, int64_t(timesteps.size()));
  }
  return latents;
}

Tensor StableDiffusionPipeline::txt2img_latents(const Txt2ImgOptions& o) const {
  const Tensor context = prepare(o, "txt2img", o.width, o.height);
  const int64_t f = vae_->downscale();
  const Shape shape{int64_t(o.prompts.size()) * o.images_per_prompt, unet_->config().in_channels, o.height / f,
                    o.width / f};
  const Tensor start = noise(o.latents, shape, "txt2img", "latents", [&](int64_t i) {
    return NoiseGenerator(o.seed + uint64_t(i)).randn({1, shape[1], shape[2], shape[3]}, device_);
  });
  auto scheduler = make_scheduler();
  scheduler->set_timesteps(o.steps);
  return denoise(o, *scheduler, mul(start, scheduler->init_noise_sigma()), context);
}

Tensor StableDiffusionPipeline::img2img_latents(const Img2ImgOptions& o) const {
  const int64_t batch = int64_t(o.prompts.size()) * o.images_per_prompt;
  GLINT_CHECK(o.images.defined() && o.images.ndim() == 4 && o.images.dim(0) == batch && o.images.dim(1) == 3, "img2img",
              "images must be (", batch, ", 3, H, W), one per output image, got ",
              o.images.defined() ? o.images.str() : std::string("none"));
  GLINT_CHECK(o.strength > 0 && o.strength <= 1, "img2img", "strength must be in (0, 1], got ", o.strength);
  const Tensor context = prepare(o, "img2img", o.images.dim(3), o.images.dim(2));
  auto scheduler = make_scheduler();
  scheduler->set_timesteps(o.steps, o.strength);  // fails when strength * steps rounds down to no step
  const int64_t f = vae_->downscale();
  const Shape shape{batch, unet_->config().in_channels, o.images.dim(2) / f, o.images.dim(3) / f};
  // Image i's generator gives its posterior noise first, then its added noise, in the order diffusers draws them.
  std::vector<NoiseGenerator> gens;
  for (int64_t i = 0; i < batch; ++i) gens.emplace_back(o.seed + uint64_t(i));
  auto draw = [&](int64_t i) { return gens[size_t(i)].randn({1, shape[1], shape[2], shape[3]}, device_); };
  const Tensor sample_noise = noise(o.sample_noise, shape, "img2img", "sample_noise", draw);
  const Tensor added = noise(o.latents, shape, "img2img", "latents", draw);
  const Tensor image_latents = encode_pixels(pixels_of(o.images), sample_noise);
  const double t0 = scheduler->timesteps().front();
  const Tensor start = scheduler->add_noise(image_latents, added, std::vector<double>(size_t(batch), t0));
  return denoise(o, *scheduler, start, context);
}

Tensor StableDiffusionPipeline::pixels_of(const Tensor& images) const {
  return sub(mul(images.to(DType::f32).to(device_), 2.0), 1.0);
}

Tensor StableDiffusionPipeline::encode_pixels(const Tensor& pixels, const Tensor& noise) const {
  return mul(vae_->encode_sample(pixels, noise), vae_->config().scaling_factor);
}

Tensor StableDiffusionPipeline::inpaint_latents(const InpaintOptions& o) const {
  const int64_t batch = int64_t(o.prompts.size()) * o.images_per_prompt;
  const auto described = [](const Tensor& t) { return t.defined() ? t.str() : std::string("none"); };
  GLINT_CHECK(o.images.defined() && o.images.ndim() == 4 && o.images.dim(0) == batch && o.images.dim(1) == 3, "inpaint",
              "images must be (", batch, ", 3, H, W), one per output image, got ", described(o.images));
  const int64_t H = o.images.dim(2), W = o.images.dim(3), L = vae_->config().latent_channels;
  GLINT_CHECK(o.masks.defined() && o.masks.shape() == (Shape{batch, 1, H, W}), "inpaint", "masks must be (", batch,
              ", 1, ", H, ", ", W, "), one per image, got ", described(o.masks));
  GLINT_CHECK(o.strength > 0 && o.strength <= 1, "inpaint", "strength must be in (0, 1], got ", o.strength);
  const int64_t unet_in = unet_->config().in_channels;
  const bool blend = unet_in == L;  // a plain UNet; an inpainting UNet takes latents, mask and masked image
  GLINT_CHECK(blend || unet_in == 2 * L + 1, "inpaint", "the UNet takes ", unet_in, " channels: inpainting needs ", L,
              " (any UNet) or ", 2 * L + 1, " (an inpainting UNet)");
  const Tensor context = prepare(o, "inpaint", W, H);
  auto scheduler = make_scheduler();
  scheduler->set_timesteps(o.steps, o.strength);
  const int64_t f = vae_->downscale();
  const Shape shape{batch, L, H / f, W / f};
  std::vector<NoiseGenerator> gens;
  for (int64_t i = 0; i < batch; ++i) gens.emplace_back(o.seed + uint64_t(i));
  auto draw = [&](int64_t i) { return gens[size_t(i)].randn({1, shape[1], shape[2], shape[3]}, device_); };

  const bool from_noise = o.strength == 1.0;  // diffusers' is_strength_max: start from pure noise
  const Tensor pixels = pixels_of(o.images);
  Tensor image_latents;
  if (blend || !from_noise)
    image_latents = encode_pixels(pixels, noise(o.sample_noise, shape, "inpaint", "sample_noise", draw));
  const Tensor added = noise(o.latents, shape, "inpaint", "latents", draw);
  const auto& timesteps = scheduler->timesteps();
  const Tensor start =
      from_noise ? mul(added, scheduler->init_noise_sigma())
                 : scheduler->add_noise(image_latents, added, std::vector<double>(size_t(batch), timesteps[0]));
  // diffusers' mask processor binarises at 0.5; the latent mask is its nearest-neighbour downscale (every f-th pixel).
  const Tensor mask = ge(o.masks.to(DType::f32).to(device_), full({1}, 0.5, DType::f32, device_)).to(DType::f32);
  const Tensor keep = add(neg(mask), 1.0);
  const Tensor latent_mask = mask.slice(2, 0, H, f).slice(3, 0, W, f).contiguous();
  if (!blend) {  // the repainted region is 0 (mid-grey) in [-1, 1], as diffusers' init_image * (mask < 0.5)
    const Tensor masked_latents =
        encode_pixels(mul(pixels, keep), noise(o.masked_sample_noise, shape, "inpaint", "masked_sample_noise", draw));
    return denoise(o, *scheduler, start, context, concat({latent_mask, masked_latents}, 1));
  }
  // After each step the kept region is the image latents noised to the next step's level (none after the last).
  const Tensor keep_mask = add(neg(latent_mask), 1.0);
  return denoise(o, *scheduler, start, context, {}, [&](const Tensor& latents, size_t s) {
    const Tensor known =
        s + 1 < timesteps.size()
            ? scheduler->add_noise(image_latents, added, std::vector<double>(size_t(batch), timesteps[s + 1]))
            : image_latents;
    return add(mul(known, keep_mask), mul(latents, latent_mask));
  });
}

Tensor StableDiffusionPipeline::decode_images(const Tensor& latents, bool tiled) const {
  const Tensor scaled = div(latents.to(DType::f32), vae_->config().scaling_factor);
  const Tensor images = tiled ? vae_->decode_tiled(scaled) : vae_->decode(scaled);
  return clamp(add(mul(images, 0.5), 0.5), 0.0, 1.0);
}

}  // namespace glint::diffusion
