// Inpainting and tiled VAE decode against diffusers on the tiny random-weight pipeline (tests/data/diffusion/tiny-sd)
// and a 9-channel inpainting UNet beside it, with fixtures from tools/make_inpaint_fixtures.py: the final latents of
// StableDiffusionInpaintPipeline within 1e-3 (f32) on every device, and AutoencoderKL's tiled decode.
#include <filesystem>
#include <memory>
#include <string>

#include "models/diffusion/pipeline.h"
#include "models/vae/autoencoder_kl.h"
#include "runtime/io/safetensors.h"
#include "runtime/ops/elementwise.h"
#include "runtime/ops/reduce.h"
#include "tests/harness.h"
#include "tests/io/io_test_util.h"
#include "tests/models/diffusion_fixture.h"

namespace glint::test {
namespace {

namespace fs = std::filesystem;

// An input or expected output of the inpainting fixture by name, on the CPU.
Tensor fixture(const std::string& name) { return diffusion_fixture("inpaint.safetensors", name); }

diffusion::InpaintOptions fixture_options() {
  diffusion::InpaintOptions o;
  o.prompts = {"a photo of the cat", "the dog"};
  o.negative_prompts = {"the dog", ""};
  o.steps = 4;
  o.images = fixture("image");
  o.masks = fixture("mask");
  return o;
}

// tiny-sd with unet/ replaced by the 9-channel inpainting UNet, in a temporary folder.
class InpaintFolder {
 public:
  InpaintFolder() {
    fs::copy(tiny_sd_dir(), dir_.path() / "sd", fs::copy_options::recursive);
    fs::remove_all(dir_.path() / "sd" / "unet");
    fs::copy(diffusion_dir() / "unet-inpaint", dir_.path() / "sd" / "unet", fs::copy_options::recursive);
  }
  std::string path() const { return (dir_.path() / "sd").string(); }

 private:
  TempDir dir_;
};

// A plain 4-channel UNet: the kept region blended back at each step; strength 0.75 (3 of 4 steps).
TEST(Inpaint, FourChannelBlendMatchesDiffusers) {
  for (Device d : test_devices()) {
    SCOPED_TRACE(d.str());
    const auto pipe = diffusion::StableDiffusionPipeline::from_pretrained(tiny_sd_dir().string(), d);
    diffusion::InpaintOptions o = fixture_options();
    o.strength = 0.75;
    o.sample_noise = fixture("legacy.sample_noise");
    o.latents = fixture("legacy.noise");
    int64_t calls = 0;
    o.on_step = [&](int64_t, int64_t total) { calls += total == 3; };
    EXPECT_CLOSE(pipe->inpaint_latents(o), fixture("legacy.latents"), kDiffusionTol);
    EXPECT_EQ(calls, 3);
  }
}

// A 9-channel inpainting UNet (mask and masked-image latents beside the latents) at strength 1.
TEST(Inpaint, NineChannelUnetMatchesDiffusers) {
  InpaintFolder folder;
  for (Device d : test_devices()) {
    SCOPED_TRACE(d.str());
    const auto pipe = diffusion::StableDiffusionPipeline::from_pretrained(folder.path(), d);
    diffusion::InpaintOptions o = fixture_options();
    o.latents = fixture("inpaint9.noise");
    o.masked_sample_noise = fixture("inpaint9.masked_noise");
    EXPECT_CLOSE(pipe->inpaint_latents(o), fixture("inpaint9.latents"), kDiffusionTol);
  }
}

// The kept region of the final latents is the image's own latents (the blend's last step uses them unnoised), and
// image i of a batch is the same made alone with seed + i.
TEST(Inpaint, KeepsTheUnmaskedLatentsAndSeedsPerImage) {
  const auto pipe = diffusion::StableDiffusionPipeline::from_pretrained(tiny_sd_dir().string(), Device::cpu());
  diffusion::InpaintOptions o = fixture_options();
  o.negative_prompts.clear();
  o.steps = 2;
  o.seed = 5;
  o.masks = zeros({2, 1, 16, 16}, DType::f32, Device::cpu());  // keep everything
  o.sample_noise = fixture("legacy.sample_noise");
  const Tensor kept = pipe->inpaint_latents(o);
  EXPECT_CLOSE(kept, pipe->encode_pixels(pipe->pixels_of(o.images), o.sample_noise), kDiffusionTol);

  o.masks = fixture("mask");
  o.sample_noise = Tensor();
  const Tensor batch = pipe->inpaint_latents(o);
  o.prompts = {"the dog"};
  o.images = o.images.slice(0, 1, 2);
  o.masks = o.masks.slice(0, 1, 2);
  o.seed = 6;
  EXPECT_CLOSE(pipe->inpaint_latents(o), batch.slice(0, 1, 2), kDiffusionTol);
}

TEST(Inpaint, RejectsBadInputs) {
  const auto pipe = diffusion::StableDiffusionPipeline::from_pretrained(tiny_sd_dir().string(), Device::cpu());
  diffusion::InpaintOptions o = fixture_options();
  o.masks = Tensor();
  EXPECT_GLINT_ERROR(pipe->inpaint_latents(o), "[inpaint] masks must be (2, 1, 16, 16), one per image, got none");
  o.masks = zeros({2, 1, 8, 16}, DType::f32, Device::cpu());
  EXPECT_GLINT_ERROR(pipe->inpaint_latents(o), "[inpaint] masks must be (2, 1, 16, 16)");
  o.masks = fixture("mask");
  o.images = o.images.slice(0, 0, 1);
  EXPECT_GLINT_ERROR(pipe->inpaint_latents(o), "[inpaint] images must be (2, 3, H, W)");
  o = fixture_options();
  o.strength = 1.5;
  EXPECT_GLINT_ERROR(pipe->inpaint_latents(o), "[inpaint] strength must be in (0, 1]");
}

// Tiled decode of latents larger than one tile (14 > 8 latents: 3 x 3 tiles) against diffusers' enable_tiling.
TEST(VaeTiling, MatchesDiffusersTiledDecode) {
  for (Device d : test_devices()) {
    SCOPED_TRACE(d.str());
    const auto vae = AutoencoderKL::from_pretrained((tiny_sd_dir() / "vae").string(), d);
    EXPECT_CLOSE(vae->decode_tiled(fixture("tiled.latents")), fixture("tiled.decoded"), kDiffusionTol);
    EXPECT_CLOSE(vae->decode(fixture("tiled.latents")), fixture("tiled.untiled"), kDiffusionTol);
  }
}

// Latents that fit one tile decode exactly as untiled; larger ones differ from the untiled decode only by what each
// tile's attention and norms do not see, bounded here by diffusers' own tiled-vs-untiled difference.
TEST(VaeTiling, OneTileIsThePlainDecodeAndLargerOnesStayNearIt) {
  const auto vae = AutoencoderKL::from_pretrained((tiny_sd_dir() / "vae").string(), Device::cpu());
  const Tensor small = fixture("tiled.latents").slice(2, 0, 8).slice(3, 0, 6);
  EXPECT_CLOSE(vae->decode_tiled(small), vae->decode(small), Tol{0, 0});

  const Tensor latents = fixture("tiled.latents");
  const Tensor diff = abs(sub(vae->decode_tiled(latents), vae->decode(latents)));
  const Tensor diffusers_diff = abs(sub(fixture("tiled.decoded"), fixture("tiled.untiled")));
  const double mean = sum_all(diff).to_f32()[0] / double(diff.numel());
  const double diffusers_mean = sum_all(diffusers_diff).to_f32()[0] / double(diffusers_diff.numel());
  EXPECT_GT(mean, 0.01);  // tiling changes the result on this size (random weights: no smooth decoder)
  EXPECT_NEAR(mean, diffusers_mean, 2e-3);  // both decodes within 1e-3 of diffusers' per element
}

}  // namespace
}  // namespace glint::test
