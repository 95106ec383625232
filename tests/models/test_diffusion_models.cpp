// The diffusion models against diffusers / transformers on the tiny random-weight pipeline that
// tools/make_diffusion_fixtures.py writes into tests/data/diffusion: CLIP text-encoder states, one UNet forward and
// the VAE's decode and encode, a whole txt2img and img2img, within 1e-3 (f32) on every device; f16 / bf16 within
// a bound for reduced precision.
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "models/clip/clip_text.h"
#include "models/diffusion/pipeline.h"
#include "models/unet/unet_2d_condition.h"
#include "models/vae/autoencoder_kl.h"
#include "runtime/io/checkpoint.h"
#include "runtime/io/safetensors.h"
#include "tests/harness.h"
#include "tests/models/diffusion_fixture.h"

namespace glint::test {
namespace {

namespace fs = std::filesystem;

// An input or expected output of the fixture by name, on the CPU.
Tensor fixture(const std::string& name) { return diffusion_fixture("expected.safetensors", name); }

TEST(Clip, LastHiddenStateMatchesTransformers) {
  for (Device d : test_devices()) {
    SCOPED_TRACE(d.str());
    const auto model = ClipTextModel::from_pretrained((tiny_sd_dir() / "text_encoder").string(), d);
    const Tensor h = model->forward(fixture("text.ids"));
    EXPECT_EQ(h.shape(), (Shape{2, 16, 16}));
    EXPECT_CLOSE(h, fixture("text.last"), kDiffusionTol);
  }
}

TEST(Clip, ClipSkipIsThePenultimateLayerNormalised) {
  for (Device d : test_devices()) {
    SCOPED_TRACE(d.str());
    const auto model = ClipTextModel::from_pretrained((tiny_sd_dir() / "text_encoder").string(), d);
    EXPECT_CLOSE(model->forward(fixture("text.ids"), 1), fixture("text.skip1"), kDiffusionTol);
  }
}

TEST(Clip, GeluVariantMatchesTransformers) {
  for (Device d : test_devices()) {
    SCOPED_TRACE(d.str());
    const auto model = ClipTextModel::from_pretrained((diffusion_dir() / "clip-gelu").string(), d);
    EXPECT_CLOSE(model->forward(fixture("text.ids")), fixture("text_gelu.last"), kDiffusionTol);
  }
}

TEST(Clip, RejectsBadInputs) {
  const auto model = ClipTextModel::from_pretrained((tiny_sd_dir() / "text_encoder").string(), Device::cpu());
  const Tensor ids = fixture("text.ids");
  EXPECT_GLINT_ERROR(model->forward(ids.select(0, 0)), "[clip] input_ids must be (B, T)");
  EXPECT_GLINT_ERROR(model->forward(ids, 2), "[clip] clip_skip 2 is out of range");
  const Tensor long_ids = zeros({1, 17}, DType::i64, Device::cpu());
  EXPECT_GLINT_ERROR(model->forward(long_ids), "[clip] 17 tokens");
}

TEST(Vae, DecodeMatchesDiffusers) {
  for (Device d : test_devices()) {
    SCOPED_TRACE(d.str());
    const auto vae = AutoencoderKL::from_pretrained((tiny_sd_dir() / "vae").string(), d);
    EXPECT_EQ(vae->downscale(), 2);
    EXPECT_DOUBLE_EQ(vae->config().scaling_factor, 0.18215);
    const Tensor images = vae->decode(fixture("vae.latents"));
    EXPECT_EQ(images.shape(), (Shape{1, 3, 16, 16}));
    EXPECT_CLOSE(images, fixture("vae.decoded"), kDiffusionTol);
  }
}

TEST(Vae, EncodeMatchesDiffusers) {
  for (Device d : test_devices()) {
    SCOPED_TRACE(d.str());
    const auto vae = AutoencoderKL::from_pretrained((tiny_sd_dir() / "vae").string(), d);
    EXPECT_CLOSE(vae->encode_mean(fixture("vae.image")), fixture("vae.mean"), kDiffusionTol);
    EXPECT_CLOSE(vae->encode_sample(fixture("vae.image"), fixture("vae.noise")), fixture("vae.sample"), kDiffusionTol);
  }
}

// A VAE saved before diffusers 0.14 (attention query / key / value / proj_attn) and sharded: the same decode.
TEST(Vae, LoadsLegacyAttentionNamesFromShards) {
  const auto file = io::SafetensorsFile::open((tiny_sd_dir() / "vae" / "diffusion_pytorch_model.safetensors").string());
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (std::string name : file->names()) {
    const Tensor t = file->tensor(name);
    for (const auto& [from, to] : {std::pair<std::string, std::string>{"to_q.", "query."},
                                   {"to_k.", "key."},
                                   {"to_v.", "value."},
                                   {"to_out.0.", "proj_attn."}})
      if (const auto at = name.find(from); at != std::string::npos) name.replace(at, from.size(), to);
    tensors.emplace_back(name, t);
  }
  const fs::path dir = fs::temp_directory_path() / "glint_test_legacy_vae";
  fs::remove_all(dir);
  const auto written = io::save_checkpoint(dir.string(), tensors, 50'000, "diffusion_pytorch_model");
  ASSERT_GT(written.size(), 2u);
  fs::copy_file(tiny_sd_dir() / "vae" / "config.json", dir / "config.json");
  EXPECT_CLOSE(AutoencoderKL::from_pretrained(dir.string(), Device::cpu())->decode(fixture("vae.latents")),
               fixture("vae.decoded"), kDiffusionTol);
  fs::remove_all(dir);
}

TEST(Vae, RejectsBadInputs) {
  const auto vae = AutoencoderKL::from_pretrained((tiny_sd_dir() / "vae").string(), Device::cpu());
  EXPECT_GLINT_ERROR(vae->decode(zeros({1, 3, 4, 4}, DType::f32, Device::cpu())), "[vae] latents must be (N, 4, h, w)");
  EXPECT_GLINT_ERROR(vae->encode_mean(zeros({1, 3, 15, 16}, DType::f32, Device::cpu())),
                     "[vae] image size 15x16 is not a multiple of 2");
  EXPECT_GLINT_ERROR(vae->encode_sample(fixture("vae.image"), zeros({1, 4, 4, 4}, DType::f32, Device::cpu())),
                     "[vae] noise");
  EXPECT_GLINT_ERROR(AutoencoderKL::from_pretrained((diffusion_dir() / "missing").string(), Device::cpu()),
                     "missing: neither diffusion_pytorch_model.safetensors nor its .index.json");
}

// The fixture's two timesteps, one per batch item.
std::vector<double> fixture_timesteps() {
  const auto v = fixture("unet.timestep").to_f32();
  return {v.begin(), v.end()};
}

// SD 1.x layout: conv proj_in / proj_out, attention_head_dim 2 for every block, a DownBlock2D / UpBlock2D level.
TEST(Unet, ConvProjectionMatchesDiffusers) {
  for (Device d : test_devices()) {
    SCOPED_TRACE(d.str());
    const auto unet = UNet2DConditionModel::from_pretrained((tiny_sd_dir() / "unet").string(), d);
    const Tensor out = unet->forward(fixture("unet.latents"), fixture_timesteps(), fixture("text.last"));
    EXPECT_EQ(out.shape(), (Shape{2, 4, 8, 8}));
    EXPECT_CLOSE(out, fixture("unet.out"), kDiffusionTol);
  }
}

// SD 2.x layout: linear projections, attention_head_dim [2, 4], cross-attention on every level.
TEST(Unet, LinearProjectionMatchesDiffusers) {
  for (Device d : test_devices()) {
    SCOPED_TRACE(d.str());
    const auto unet = UNet2DConditionModel::from_pretrained((diffusion_dir() / "unet-linear").string(), d);
    EXPECT_EQ(unet->config().heads, (std::vector<int64_t>{2, 4}));
    EXPECT_CLOSE(unet->forward(fixture("unet.latents"), fixture_timesteps(), fixture("text.last")),
                 fixture("unet_linear.out"), kDiffusionTol);
  }
}

TEST(Unet, OneTimestepIsSharedByTheBatch) {
  const auto unet = UNet2DConditionModel::from_pretrained((tiny_sd_dir() / "unet").string(), Device::cpu());
  const Tensor latents = fixture("unet.latents"), states = fixture("text.last");
  const Tensor both = unet->forward(latents, {981.0}, states);
  const Tensor first = unet->forward(latents.slice(0, 0, 1).contiguous(), {981.0}, states.slice(0, 0, 1).contiguous());
  EXPECT_CLOSE(both.slice(0, 0, 1), first, kDiffusionTol);
  EXPECT_CLOSE(first, fixture("unet.out").slice(0, 0, 1), kDiffusionTol);
}

TEST(Unet, ConfigRejectsWhatIsNotImplemented) {
  const io::JsonFile base = io::load_json((tiny_sd_dir() / "unet" / "config.json").string());
  auto with = [&](const std::string& key, const nlohmann::json& value) {
    nlohmann::json j = base.json;
    j[key] = value;
    return io::json_object(j, "config.json");
  };
  EXPECT_GLINT_ERROR(UNet2DConditionConfig::from_json(with("resnet_time_scale_shift", "scale_shift")),
                     "[unet] config.json: unsupported resnet_time_scale_shift (only default is implemented)");
  EXPECT_GLINT_ERROR(UNet2DConditionConfig::from_json(with("class_embed_type", "timestep")),
                     "unsupported option class_embed_type");
  EXPECT_GLINT_ERROR(UNet2DConditionConfig::from_json(with("down_block_types", {"DownBlock2D", "AttnDownBlock2D"})),
                     "unsupported down block 'AttnDownBlock2D'");
  EXPECT_GLINT_ERROR(UNet2DConditionConfig::from_json(with("attention_head_dim", {2, 2, 2})),
                     "attention_head_dim has 3 entries for 2 blocks");
  EXPECT_GLINT_ERROR(UNet2DConditionConfig::from_json(with("norm_num_groups", 3)),
                     "block_out_channels entry 8 is not divisible by norm_num_groups 3");
  const UNet2DConditionConfig heads = UNet2DConditionConfig::from_json(with("num_attention_heads", {1, 4}));
  EXPECT_EQ(heads.heads, (std::vector<int64_t>{1, 4}));  // num_attention_heads wins over attention_head_dim
}

TEST(Unet, RejectsBadInputs) {
  const auto unet = UNet2DConditionModel::from_pretrained((tiny_sd_dir() / "unet").string(), Device::cpu());
  const Tensor latents = fixture("unet.latents"), states = fixture("text.last");
  EXPECT_GLINT_ERROR(unet->forward(latents, {1.0, 2.0, 3.0}, states), "[unet] 3 timesteps for a batch of 2");
  EXPECT_GLINT_ERROR(unet->forward(latents.slice(2, 0, 7), {1.0}, states), "[unet] latent size 7x8");
  EXPECT_GLINT_ERROR(unet->forward(latents, {1.0}, states.slice(0, 0, 1)), "[unet] encoder_hidden_states must be");
  EXPECT_GLINT_ERROR(unet->forward(states, {1.0}, states), "[unet] sample must be (N, 4, h, w)");
}

// The models loaded in f16 / bf16 against diffusers' f32 outputs: every layer rounds, so the bound is four times the
// single-op bound tol(dtype) (measured: 6e-3 in f16, 3.6e-2 in bf16 at most, over outputs up to 3.9 in magnitude).
TEST(DiffusionHalf, ComponentsCloseToF32) {
  for (Device d : test_devices())
    for (DType dt : {DType::f16, DType::bf16}) {
      SCOPED_TRACE(d.str() + " " + std::string(dtype_name(dt)));
      const Tol t{4 * tol(dt).atol, 4 * tol(dt).rtol};
      EXPECT_CLOSE(ClipTextModel::from_pretrained((tiny_sd_dir() / "text_encoder").string(), d, dt)
                       ->forward(fixture("text.ids")),
                   fixture("text.last"), t);
      EXPECT_CLOSE(UNet2DConditionModel::from_pretrained((tiny_sd_dir() / "unet").string(), d, dt)
                       ->forward(fixture("unet.latents"), fixture_timesteps(), fixture("text.last")),
                   fixture("unet.out"), t);
      const auto vae = AutoencoderKL::from_pretrained((tiny_sd_dir() / "vae").string(), d, dt);
      EXPECT_CLOSE(vae->decode(fixture("vae.latents")), fixture("vae.decoded"), t);
      EXPECT_CLOSE(vae->encode_mean(fixture("vae.image")), fixture("vae.mean"), t);
    }
}

const std::vector<std::string> kPrompts = {"a photo of the cat", "the dog"};

TEST(DiffusionPipeline, TokenizesAsDiffusers) {
  const auto pipe = diffusion::StableDiffusionPipeline::from_pretrained(tiny_sd_dir().string(), Device::cpu());
  EXPECT_EQ(pipe->tokenize(kPrompts).to_vector<int64_t>(), fixture("text.ids").to_vector<int64_t>());
}

// Two prompts with negative prompts, 4 DDIM steps, guidance 7.5, from the fixture's initial latents.
TEST(DiffusionPipeline, Txt2ImgMatchesDiffusers) {
  for (Device d : test_devices()) {
    SCOPED_TRACE(d.str());
    const auto pipe = diffusion::StableDiffusionPipeline::from_pretrained(tiny_sd_dir().string(), d);
    diffusion::Txt2ImgOptions o;
    o.prompts = kPrompts;
    o.negative_prompts = {"the dog", ""};
    o.width = o.height = 16;
    o.steps = 4;
    o.latents = fixture("pipe.latents0");
    int64_t calls = 0;
    o.on_step = [&](int64_t done, int64_t total) {
      EXPECT_EQ(total, 4);
      EXPECT_EQ(done, ++calls);
    };
    const Tensor latents = pipe->txt2img_latents(o);
    EXPECT_EQ(calls, 4);
    EXPECT_CLOSE(latents, fixture("pipe.latents"), kDiffusionTol);
    EXPECT_CLOSE(pipe->decode_images(latents), fixture("pipe.images"), kDiffusionTol);
  }
}

// Strength 0.75 of 4 DDIM steps with the noises diffusers' generator drew, passed in.
TEST(DiffusionPipeline, Img2ImgMatchesDiffusers) {
  for (Device d : test_devices()) {
    SCOPED_TRACE(d.str());
    const auto pipe = diffusion::StableDiffusionPipeline::from_pretrained(tiny_sd_dir().string(), d);
    diffusion::Img2ImgOptions o;
    o.prompts = kPrompts;
    o.negative_prompts = {"the dog", ""};
    o.steps = 4;
    o.strength = 0.75;
    o.images = fixture("img2img.image");
    o.sample_noise = fixture("img2img.sample_noise");
    o.latents = fixture("img2img.noise");
    int64_t calls = 0;
    o.on_step = [&](int64_t, int64_t total) {
      EXPECT_EQ(total, 3);
      ++calls;
    };
    EXPECT_CLOSE(pipe->img2img_latents(o), fixture("img2img.latents"), kDiffusionTol);
    EXPECT_EQ(calls, 3);
  }
}

// Image i of a batch starts from seed + i, so it is the same image when made alone with that seed.
TEST(DiffusionPipeline, SeedPerImage) {
  const auto pipe = diffusion::StableDiffusionPipeline::from_pretrained(tiny_sd_dir().string(), Device::cpu());
  diffusion::Txt2ImgOptions o;
  o.prompts = {"the cat"};
  o.images_per_prompt = 3;
  o.width = o.height = 16;
  o.steps = 2;
  o.seed = 7;
  const Tensor batch = pipe->txt2img(o);
  EXPECT_EQ(batch.shape(), (Shape{3, 3, 16, 16}));
  o.images_per_prompt = 1;
  o.seed = 9;
  EXPECT_CLOSE(pipe->txt2img(o), batch.slice(0, 2, 3), kDiffusionTol);
}

// img2img draws image i's noises from seed + i too.
TEST(DiffusionPipeline, Img2ImgSeedPerImage) {
  const auto pipe = diffusion::StableDiffusionPipeline::from_pretrained(tiny_sd_dir().string(), Device::cpu());
  diffusion::Img2ImgOptions o;
  o.prompts = {"the cat"};
  o.images_per_prompt = 2;
  o.images = fixture("img2img.image");
  o.steps = 2;
  o.strength = 1.0;
  o.seed = 3;
  const Tensor batch = pipe->img2img_latents(o);
  o.images_per_prompt = 1;
  o.images = o.images.slice(0, 1, 2);
  o.seed = 4;
  EXPECT_CLOSE(pipe->img2img_latents(o), batch.slice(0, 1, 2), kDiffusionTol);
}

// guidance <= 1 runs the conditional half alone; uncond + g * (cond - uncond) tends to that as g -> 1.
TEST(DiffusionPipeline, GuidanceOneSkipsTheUnconditionalHalf) {
  const auto pipe = diffusion::StableDiffusionPipeline::from_pretrained(tiny_sd_dir().string(), Device::cpu());
  diffusion::Txt2ImgOptions o;
  o.prompts = kPrompts;
  o.width = o.height = 16;
  o.steps = 3;
  o.guidance = 1.0;
  const Tensor alone = pipe->txt2img_latents(o);
  o.guidance = 1.0 + 1e-6;
  EXPECT_CLOSE(alone, pipe->txt2img_latents(o), kDiffusionTol);
}

TEST(DiffusionPipeline, RejectsBadInputs) {
  const auto pipe = diffusion::StableDiffusionPipeline::from_pretrained(tiny_sd_dir().string(), Device::cpu());
  diffusion::Txt2ImgOptions o;
  o.prompts = {"the cat"};
  o.width = 15;
  o.height = 16;
  EXPECT_GLINT_ERROR(pipe->txt2img_latents(o), "[txt2img] size 15x16 is not a positive multiple of 2");
  o.width = 16;
  o.negative_prompts = {"a", "b"};
  EXPECT_GLINT_ERROR(pipe->txt2img_latents(o), "[txt2img] 2 negative prompts for 1 prompts");
  o.negative_prompts.clear();
  o.latents = fixture("pipe.latents0");
  EXPECT_GLINT_ERROR(pipe->txt2img_latents(o), "[txt2img] latents");

  diffusion::Img2ImgOptions i2i;
  i2i.prompts = {"the cat"};
  EXPECT_GLINT_ERROR(pipe->img2img_latents(i2i),
                     "[img2img] images must be (1, 3, H, W), one per output image, got none");
  i2i.images = fixture("img2img.image").slice(0, 0, 1);
  i2i.strength = 0;
  EXPECT_GLINT_ERROR(pipe->img2img_latents(i2i), "[img2img] strength must be in (0, 1]");
  i2i.strength = 0.1;
  i2i.steps = 4;
  EXPECT_GLINT_ERROR(pipe->img2img_latents(i2i), "strength 0.1 with 4 steps leaves no step to run");
  i2i.strength = 0.5;
  i2i.images = i2i.images.slice(2, 0, 15);
  EXPECT_GLINT_ERROR(pipe->img2img_latents(i2i), "[img2img] size 16x15 is not a positive multiple of 2");

  const fs::path dir = fs::temp_directory_path() / "glint_test_sd_missing_unet";
  fs::create_directories(dir);
  std::ofstream(dir / "model_index.json") << R"({"_class_name": "StableDiffusionPipeline",
      "tokenizer": ["transformers", "CLIPTokenizer"], "text_encoder": ["transformers", "CLIPTextModel"]})";
  fs::copy(tiny_sd_dir() / "tokenizer", dir / "tokenizer",
           fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  fs::copy(tiny_sd_dir() / "text_encoder", dir / "text_encoder",
           fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  EXPECT_GLINT_ERROR(diffusion::StableDiffusionPipeline::from_pretrained(dir.string(), Device::cpu()),
                     "model_index.json: missing component 'unet'");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace glint::test
