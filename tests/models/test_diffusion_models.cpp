// The diffusion models against diffusers / transformers on the tiny random-weight pipeline that
// tools/make_diffusion_fixtures.py writes into tests/data/diffusion: CLIP text-encoder states, one UNet forward and
// the VAE's decode and encode, within 1e-3 (f32) on every device.
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "models/clip/clip_text.h"
#include "models/diffusion/pipeline.h"
#include "models/unet/unet_2d_condition.h"
#include "models/vae/autoencoder_kl.h"
#include "runtime/io/safetensors.h"
#include "tests/harness.h"

namespace glint::test {
namespace {

namespace fs = std::filesystem;
const fs::path kDir = fs::path(__FILE__).parent_path() / "../data/diffusion";
const fs::path kSd = kDir / "tiny-sd";
constexpr Tol kTol{1e-3, 0};

// An input or expected output of the fixture by name, on the CPU.
Tensor fixture(const std::string& name) {
  static const auto file = io::SafetensorsFile::open((kDir / "expected.safetensors").string());
  return file->tensor(name);
}

TEST(Clip, LastHiddenStateMatchesTransformers) {
  for (Device d : test_devices()) {
    SCOPED_TRACE(d.str());
    const auto model = ClipTextModel::from_pretrained((kSd / "text_encoder").string(), d);
    const Tensor h = model->forward(fixture("text.ids"));
    EXPECT_EQ(h.shape(), (Shape{2, 16, 16}));
    EXPECT_CLOSE(h, fixture("text.last"), kTol);
  }
}

TEST(Clip, ClipSkipIsThePenultimateLayerNormalised) {
  for (Device d : test_devices()) {
    SCOPED_TRACE(d.str());
    const auto model = ClipTextModel::from_pretrained((kSd / "text_encoder").string(), d);
    EXPECT_CLOSE(model->forward(fixture("text.ids"), 1), fixture("text.skip1"), kTol);
  }
}

TEST(Clip, GeluVariantMatchesTransformers) {
  for (Device d : test_devices()) {
    SCOPED_TRACE(d.str());
    const auto model = ClipTextModel::from_pretrained((kDir / "clip-gelu").string(), d);
    EXPECT_CLOSE(model->forward(fixture("text.ids")), fixture("text_gelu.last"), kTol);
  }
}

TEST(Clip, RejectsBadInputs) {
  const auto model = ClipTextModel::from_pretrained((kSd / "text_encoder").string(), Device::cpu());
  const Tensor ids = fixture("text.ids");
  EXPECT_GLINT_ERROR(model->forward(ids.select(0, 0)), "[clip] input_ids must be (B, T)");
  EXPECT_GLINT_ERROR(model->forward(ids, 2), "[clip] clip_skip 2 is out of range");
  const Tensor long_ids = zeros({1, 17}, DType::i64, Device::cpu());
  EXPECT_GLINT_ERROR(model->forward(long_ids), "[clip] 17 tokens");
}

TEST(Vae, DecodeMatchesDiffusers) {
  for (Device d : test_devices()) {
    SCOPED_TRACE(d.str());
    const auto vae = AutoencoderKL::from_pretrained((kSd / "vae").string(), d);
    EXPECT_EQ(vae->downscale(), 2);
    EXPECT_DOUBLE_EQ(vae->config().scaling_factor, 0.18215);
    const Tensor images = vae->decode(fixture("vae.latents"));
    EXPECT_EQ(images.shape(), (Shape{1, 3, 16, 16}));
    EXPECT_CLOSE(images, fixture("vae.decoded"), kTol);
  }
}

TEST(Vae, EncodeMatchesDiffusers) {
  for (Device d : test_devices()) {
    SCOPED_TRACE(d.str());
    const auto vae = AutoencoderKL::from_pretrained((kSd / "vae").string(), d);
    EXPECT_CLOSE(vae->encode_mean(fixture("vae.image")), fixture("vae.mean"), kTol);
    EXPECT_CLOSE(vae->encode_sample(fixture("vae.image"), fixture("vae.noise")), fixture("vae.sample"), kTol);
  }
}

TEST(Vae, RejectsBadInputs) {
  const auto vae = AutoencoderKL::from_pretrained((kSd / "vae").string(), Device::cpu());
  EXPECT_GLINT_ERROR(vae->decode(zeros({1, 3, 4, 4}, DType::f32, Device::cpu())), "[vae] latents must be (N, 4, h, w)");
  EXPECT_GLINT_ERROR(vae->encode_mean(zeros({1, 3, 15, 16}, DType::f32, Device::cpu())),
                     "[vae] image size 15x16 is not a multiple of 2");
  EXPECT_GLINT_ERROR(vae->encode_sample(fixture("vae.image"), zeros({1, 4, 4, 4}, DType::f32, Device::cpu())),
                     "[vae] noise");
  EXPECT_GLINT_ERROR(AutoencoderKL::from_pretrained((kDir / "missing").string(), Device::cpu()), "missing");
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
    const auto unet = UNet2DConditionModel::from_pretrained((kSd / "unet").string(), d);
    const Tensor out = unet->forward(fixture("unet.latents"), fixture_timesteps(), fixture("text.last"));
    EXPECT_EQ(out.shape(), (Shape{2, 4, 8, 8}));
    EXPECT_CLOSE(out, fixture("unet.out"), kTol);
  }
}

// SD 2.x layout: linear projections, attention_head_dim [2, 4], cross-attention on every level.
TEST(Unet, LinearProjectionMatchesDiffusers) {
  for (Device d : test_devices()) {
    SCOPED_TRACE(d.str());
    const auto unet = UNet2DConditionModel::from_pretrained((kDir / "unet-linear").string(), d);
    EXPECT_EQ(unet->config().heads, (std::vector<int64_t>{2, 4}));
    EXPECT_CLOSE(unet->forward(fixture("unet.latents"), fixture_timesteps(), fixture("text.last")),
                 fixture("unet_linear.out"), kTol);
  }
}

TEST(Unet, OneTimestepIsSharedByTheBatch) {
  const auto unet = UNet2DConditionModel::from_pretrained((kSd / "unet").string(), Device::cpu());
  const Tensor latents = fixture("unet.latents"), states = fixture("text.last");
  const Tensor both = unet->forward(latents, {981.0}, states);
  const Tensor first = unet->forward(latents.slice(0, 0, 1).contiguous(), {981.0}, states.slice(0, 0, 1).contiguous());
  EXPECT_CLOSE(both.slice(0, 0, 1), first, kTol);
  EXPECT_CLOSE(first, fixture("unet.out").slice(0, 0, 1), kTol);
}

TEST(Unet, RejectsBadInputs) {
  const auto unet = UNet2DConditionModel::from_pretrained((kSd / "unet").string(), Device::cpu());
  const Tensor latents = fixture("unet.latents"), states = fixture("text.last");
  EXPECT_GLINT_ERROR(unet->forward(latents, {1.0, 2.0, 3.0}, states), "[unet] 3 timesteps for a batch of 2");
  EXPECT_GLINT_ERROR(unet->forward(latents.slice(2, 0, 7), {1.0}, states), "[unet] latent size 7x8");
  EXPECT_GLINT_ERROR(unet->forward(latents, {1.0}, states.slice(0, 0, 1)), "[unet] encoder_hidden_states must be");
  EXPECT_GLINT_ERROR(unet->forward(states, {1.0}, states), "[unet] sample must be (N, 4, h, w)");
}

const std::vector<std::string> kPrompts = {"a photo of the cat", "the dog"};

TEST(DiffusionPipeline, TokenizesAsDiffusers) {
  const auto pipe = diffusion::StableDiffusionPipeline::from_pretrained(kSd.string(), Device::cpu());
  EXPECT_EQ(pipe->tokenize(kPrompts).to_vector<int64_t>(), fixture("text.ids").to_vector<int64_t>());
}

// Two prompts with negative prompts, 4 DDIM steps, guidance 7.5, from the fixture's initial latents.
TEST(DiffusionPipeline, Txt2ImgMatchesDiffusers) {
  for (Device d : test_devices()) {
    SCOPED_TRACE(d.str());
    const auto pipe = diffusion::StableDiffusionPipeline::from_pretrained(kSd.string(), d);
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
    EXPECT_CLOSE(latents, fixture("pipe.latents"), kTol);
    EXPECT_CLOSE(pipe->decode_images(latents), fixture("pipe.images"), kTol);
  }
}

// Image i of a batch starts from seed + i, so it is the same image when made alone with that seed.
TEST(DiffusionPipeline, SeedPerImage) {
  const auto pipe = diffusion::StableDiffusionPipeline::from_pretrained(kSd.string(), Device::cpu());
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
  EXPECT_CLOSE(pipe->txt2img(o), batch.slice(0, 2, 3), kTol);
}

TEST(DiffusionPipeline, RejectsBadInputs) {
  const auto pipe = diffusion::StableDiffusionPipeline::from_pretrained(kSd.string(), Device::cpu());
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

  const fs::path dir = fs::temp_directory_path() / "glint_test_sd_missing_unet";
  fs::create_directories(dir);
  std::ofstream(dir / "model_index.json") << R"({"_class_name": "StableDiffusionPipeline",
      "tokenizer": ["transformers", "CLIPTokenizer"], "text_encoder": ["transformers", "CLIPTextModel"]})";
  fs::copy(kSd / "tokenizer", dir / "tokenizer", fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  fs::copy(kSd / "text_encoder", dir / "text_encoder",
           fs::copy_options::recursive | fs::copy_options::overwrite_existing);
  EXPECT_GLINT_ERROR(diffusion::StableDiffusionPipeline::from_pretrained(dir.string(), Device::cpu()),
                     "model_index.json: missing component 'unet'");
  fs::remove_all(dir);
}

}  // namespace
}  // namespace glint::test
