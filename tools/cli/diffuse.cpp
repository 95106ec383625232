// `glint txt2img | img2img | inpaint MODEL ...`: Stable Diffusion from a diffusers folder. N prompts x M images per
// prompt run as one UNet batch; image i starts from seed + i. Writes OUT/00000.png, 00001.png, ... and, for more
// than one image, OUT/grid.png; a progress bar over the steps on a terminal.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "models/diffusion/pipeline.h"
#include "runtime/core/error.h"
#include "runtime/io/image.h"
#include "runtime/io/progress_bar.h"
#include "runtime/ops/indexing.h"
#include "tools/cli/commands.h"

namespace glint::cli {
namespace {

namespace fs = std::filesystem;

enum class Mode { txt2img, img2img, inpaint };

struct DiffuseArgs {
  Mode mode = Mode::txt2img;
  std::string model, out, device, dtype, scheduler, image, mask;
  std::vector<std::string> prompts, negative_prompts;
  int64_t steps = 25, width = 512, height = 512, images_per_prompt = 1, clip_skip = 0;
  uint64_t seed = 1;
  double guidance = 7.5;
  std::optional<double> strength;
  bool tiled_vae = false;
};

const char* name_of(Mode m) { return m == Mode::txt2img ? "txt2img" : m == Mode::img2img ? "img2img" : "inpaint"; }

// A PNG as `channels` (3: RGB, 1: gray), checked to be a size the VAE can encode.
io::Image read_input(const std::string& path, int64_t channels, const char* area) {
  io::Image im = io::convert(io::read_png(path), channels);
  GLINT_CHECK(im.width % 8 == 0 && im.height % 8 == 0, area, path, ": ", im.width, "x", im.height,
              " is not a multiple of 8 on each side (resize or crop it)");
  return im;
}

// `image` repeated `n` times along a new batch dimension, as a (n, C, H, W) tensor in [0, 1].
Tensor batch_of(const io::Image& image, int64_t n) {
  return io::to_tensor(std::vector<io::Image>(size_t(n), image), io::PixelRange::zero_one, Device::cpu());
}

void write_outputs(const Tensor& images, const std::string& out) {
  fs::create_directories(out);
  const std::vector<io::Image> pngs = io::to_images(images);
  for (size_t i = 0; i < pngs.size(); ++i) {
    char name[16];
    std::snprintf(name, sizeof name, "%05zu.png", i);
    io::write_png((fs::path(out) / name).string(), pngs[i]);
  }
  if (pngs.size() > 1) io::write_png((fs::path(out) / "grid.png").string(), io::make_grid(pngs));
  std::fprintf(stderr, "wrote %zu image%s to %s%s\n", pngs.size(), pngs.size() == 1 ? "" : "s", out.c_str(),
               pngs.size() > 1 ? " (and grid.png)" : "");
}

void run(const DiffuseArgs& a) {
  const char* area = name_of(a.mode);
  GLINT_CHECK(a.width > 0 && a.height > 0 && a.width % 8 == 0 && a.height % 8 == 0, area, "--width ", a.width,
              " --height ", a.height, ": both must be positive multiples of 8");
  // Inputs first: a bad image should fail before minutes of model loading.
  std::optional<io::Image> image, mask;
  if (a.mode != Mode::txt2img) image = read_input(a.image, 3, area);
  if (a.mode == Mode::inpaint) {
    mask = read_input(a.mask, 1, area);
    GLINT_CHECK(mask->width == image->width && mask->height == image->height, area, a.mask, " is ", mask->width, "x",
                mask->height, " but ", a.image, " is ", image->width, "x", image->height);
  }
  const Device device = a.device.empty() ? default_device() : Device::parse(a.device);
  const DType dtype = a.dtype.empty() ? DType::f32 : parse_dtype(a.dtype);
  const auto pipe = diffusion::StableDiffusionPipeline::from_pretrained(a.model, device, dtype);
  if (!a.scheduler.empty()) pipe->use_scheduler(a.scheduler == "euler-a" ? "euler_a" : a.scheduler);

  diffusion::InpaintOptions o;
  o.prompts = a.prompts;
  o.negative_prompts = a.negative_prompts;
  if (o.negative_prompts.size() == 1 && o.prompts.size() > 1)  // one negative prompt for them all
    o.negative_prompts.assign(o.prompts.size(), a.negative_prompts[0]);
  o.width = a.width;
  o.height = a.height;
  o.steps = a.steps;
  o.guidance = a.guidance;
  o.images_per_prompt = a.images_per_prompt;
  o.seed = a.seed;
  o.clip_skip = a.clip_skip;
  o.tiled_vae = a.tiled_vae;
  std::optional<io::ProgressBar> bar;  // made at the first step, which knows how many strength leaves
  o.on_step = [&](int64_t done, int64_t total) {
    if (!bar) bar.emplace(total, done);
    bar->update(done);
  };
  const int64_t batch = int64_t(o.prompts.size()) * o.images_per_prompt;
  Tensor images;
  if (a.mode == Mode::txt2img) {
    images = pipe->txt2img(o);
  } else {
    o.images = batch_of(*image, batch);
    if (a.strength) o.strength = *a.strength;
    if (a.mode == Mode::img2img) {
      if (!a.strength) o.strength = 0.75;
      images = pipe->img2img(o);
    } else {
      o.masks = batch_of(*mask, batch);
      images = pipe->inpaint(o);
    }
  }
  if (bar) bar->finish();
  write_outputs(images, a.out);
}

void add_mode(CLI::App& app, Mode mode, const char* help) {
  auto a = std::make_shared<DiffuseArgs>();
  a->mode = mode;
  auto* cmd = app.add_subcommand(name_of(mode), help);
  cmd->add_option("model", a->model, "A diffusers folder (model_index.json, unet/, vae/, text_encoder/, ...)")
      ->required();
  // One value per flag, so that `-p "a cat" MODEL` leaves MODEL to the positional.
  cmd->add_option("--prompt,-p", a->prompts, "A prompt; repeat the flag for several (each makes its own images)")
      ->required()
      ->allow_extra_args(false);
  cmd->add_option("--negative-prompt", a->negative_prompts,
                  "What to steer away from: one for all prompts, or one per prompt (default: none)")
      ->allow_extra_args(false);
  cmd->add_option("--out,-o", a->out, "Folder for 00000.png, 00001.png, ... (and grid.png for a batch)")->required();
  cmd->add_option("--steps", a->steps, "Denoising steps")->capture_default_str();
  cmd->add_option("--guidance", a->guidance, "Classifier-free guidance scale (<= 1: none)")->capture_default_str();
  std::string schedulers;
  for (const auto& n : diffusion::scheduler_short_names()) schedulers += (schedulers.empty() ? "" : ", ") + n;
  cmd->add_option("--scheduler", a->scheduler,
                  "Sampler: " + schedulers + " (euler-a also accepted; default: the model's scheduler_config.json)");
  if (mode == Mode::txt2img) {
    cmd->add_option("--width", a->width, "Image width, a multiple of 8")->capture_default_str();
    cmd->add_option("--height", a->height, "Image height, a multiple of 8")->capture_default_str();
  } else {
    cmd->add_option("--image", a->image, "The input PNG (its size, a multiple of 8 on each side, is the output's)")
        ->required();
    cmd->add_option("--strength", a->strength,
                    mode == Mode::img2img ? "How much of the schedule to run from the noised image (default 0.75)"
                                          : "How much of the schedule to run (default 1: from pure noise)");
  }
  if (mode == Mode::inpaint)
    cmd->add_option("--mask", a->mask, "A PNG of the image's size: white repaints, black keeps (binarised at 50%)")
        ->required();
  cmd->add_option("--batch,--num-images-per-prompt", a->images_per_prompt,
                  "Images per prompt, all prompts' images made as one UNet batch")
      ->capture_default_str();
  cmd->add_option("--seed", a->seed, "Seed of image 0; image i uses seed + i")->capture_default_str();
  cmd->add_option("--clip-skip", a->clip_skip, "Text-encoder layers to skip from the end (diffusers' clip_skip)");
  cmd->add_flag("--tiled-vae", a->tiled_vae, "Decode in overlapping tiles (less memory for large images)");
  cmd->add_option("--device", a->device, "cpu, vulkan or vulkan:N (default: the global --device)");
  cmd->add_option("--dtype", a->dtype, "Compute dtype f32, f16 or bf16 (default f32)");
  cmd->callback([a] { run(*a); });
}

void add_diffuse_commands(CLI::App& app) {
  add_mode(app, Mode::txt2img, "Make images from text with a Stable Diffusion model (diffusers folder)");
  add_mode(app, Mode::img2img, "Remake a PNG guided by text with a Stable Diffusion model");
  add_mode(app, Mode::inpaint, "Repaint the masked part of a PNG guided by text with a Stable Diffusion model");
}

const CommandRegistration reg(add_diffuse_commands);

}  // namespace
}  // namespace glint::cli
