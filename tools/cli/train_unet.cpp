// `glint train unet`: a small class-conditional UNet2DConditionModel trained from scratch as a pixel-space DDPM
// (trainers/ddpm.h) on images glint draws itself (trainers/shapes_data.h), through the ordinary Trainer loop
// (AdamW, lr schedule, clipping, metrics.jsonl + loss.svg, checkpoints, --resume). The output folder is a diffusers
// layout (unet/, scheduler/, class_embeddings.safetensors) plus PNG grids of training images (data.png) and of
// samples drawn with DDIM (samples.png), one row per class.
// `glint sample-unet DIR` draws that grid again from a trained folder.
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "models/diffusion/schedulers/scheduler.h"
#include "runtime/core/error.h"
#include "runtime/io/config.h"
#include "runtime/io/image.h"
#include "runtime/ops/conv.h"
#include "tools/cli/commands.h"
#include "trainers/ddpm.h"
#include "trainers/shapes_data.h"
#include "trainers/trainer.h"

namespace glint::cli {
namespace {
namespace fs = std::filesystem;

struct SampleFlags {
  std::string dir, out, device;
  int64_t per_class = 8, steps = 50, scale = 4;
  uint64_t seed = 0;
};

struct UnetFlags {
  std::string data = "shapes", output, resume;
  int64_t size = 32, layers_per_block = 1, cross_dim = 64, heads = 4, groups = 8;
  std::vector<int64_t> channels = {32, 64, 128};
  int64_t max_steps = 1000, batch_size = 16, logging_steps = 10, save_steps = 200, warmup_steps = 50;
  double lr = 1e-3, weight_decay = 0.0;
  uint64_t seed = 42;
  SampleFlags sample;
};

Device device_of(const std::string& name) { return name.empty() ? default_device() : Device::parse(name); }

// A DDIM scheduler of the trained folder's scheduler_config.json.
std::unique_ptr<diffusion::Scheduler> folder_scheduler(const std::string& dir) {
  return diffusion::load_scheduler((fs::path(dir) / "scheduler" / "scheduler_config.json").string());
}

// Samples `per_class` images of every class (class c in row c), each upscaled `scale` times, into one PNG.
void write_grid(const train::ConditionalUNet& model, diffusion::Scheduler& scheduler, const SampleFlags& f) {
  GLINT_CHECK(f.per_class >= 1 && f.steps >= 1 && f.scale >= 1, "sample-unet",
              "--per-class, --steps and --scale must be positive");
  const int64_t classes = model.class_embedding.dim(0);
  std::vector<int64_t> labels;
  for (int64_t c = 0; c < classes; ++c)
    for (int64_t i = 0; i < f.per_class; ++i) labels.push_back(c);
  const Tensor images = train::sample_images(model, scheduler, labels, f.steps, f.seed);
  const auto tiles = io::to_images(upsample_nearest(images, f.scale));
  io::write_png(f.out, io::make_grid(tiles, classes, f.per_class));
  std::printf("%s: %lld x %lld samples (%lld DDIM steps, seed %llu), one row per class\n", f.out.c_str(),
              (long long)classes, (long long)f.per_class, (long long)f.steps, (unsigned long long)f.seed);
}

// The first training images of each class (class c in row c), as write_grid lays out samples, to compare with them.
void write_data_grid(const SampleFlags& f, uint64_t seed, int64_t size, const std::string& path) {
  std::vector<size_t> rows;
  for (int64_t c = 0; c < train::kNumShapeKinds; ++c)
    for (int64_t i = 0; i < f.per_class; ++i) rows.push_back(size_t(i * train::kNumShapeKinds + c));
  const Tensor images = train::shape_batch(seed, rows, size, Device::cpu()).images;
  fs::create_directories(fs::path(path).parent_path());
  io::write_png(path, io::make_grid(io::to_images(upsample_nearest(images, f.scale), io::PixelRange::minus_one_one),
                                    train::kNumShapeKinds, f.per_class));
}

void run_train_unet(const UnetFlags& f) {
  GLINT_CHECK(f.data == "shapes", "train unet", "unknown --data '", f.data, "' (only 'shapes' is built in)");
  const Device device = device_of(f.sample.device);
  train::TrainingArguments args;
  args.output_dir = f.output;
  args.max_steps = f.max_steps;
  args.per_device_train_batch_size = f.batch_size;
  args.learning_rate = f.lr;
  args.weight_decay = f.weight_decay;
  args.lr_scheduler_type = "cosine";
  args.warmup_steps = f.warmup_steps;
  args.logging_steps = f.logging_steps;
  args.save_steps = f.save_steps;
  args.seed = f.seed;
  args.device = f.sample.device;

  const nlohmann::json unet_config =
      train::small_unet_config(3, f.channels, f.layers_per_block, f.cross_dim, f.heads, f.groups, f.size);
  const nlohmann::json scheduler_config = train::pixel_scheduler_config();
  train::ConditionalUNet model = train::make_conditional_unet(unet_config, train::kNumShapeKinds, f.seed, device);
  const std::shared_ptr<const diffusion::Scheduler> noise_schedule =
      diffusion::make_scheduler(io::json_object(scheduler_config, "scheduler config"));
  // Drawn data is unlimited: one fresh image per row, so no image is seen twice.
  const size_t rows = size_t(f.max_steps * f.batch_size);
  const uint64_t data_seed = f.seed;
  const int64_t size = f.size;
  auto draw = [data_seed, size, device](const std::vector<size_t>& r, Tensor& images, std::vector<int64_t>& labels) {
    train::ShapeBatch b = train::shape_batch(data_seed, r, size, device);
    images = b.images;
    labels = std::move(b.labels);
  };
  std::printf("UNet %s, %zu parameter tensors; %zu procedural %lldx%lld images\n", unet_config.dump().c_str(),
              model.parameters.entries().size(), rows, (long long)size, (long long)size);
  write_data_grid(f.sample, data_seed, size, (fs::path(f.output) / "data.png").string());
  train::Trainer trainer(
      model.parameters, args, rows,
      train::ddpm_rows_loss(model, noise_schedule, scheduler_config.at("num_train_timesteps").get<int64_t>(), draw,
                            f.seed + 1),
      unet_config);
  const train::TrainResult r = trainer.train(f.resume);
  std::printf("%s at step %lld: loss %.4f\n", r.interrupted ? "interrupted" : "finished", (long long)r.global_step,
              r.last_loss);
  if (r.interrupted) return;
  // The Trainer's flat model.safetensors becomes the diffusers layout.
  model.save(f.output, scheduler_config);
  fs::remove(fs::path(f.output) / "model.safetensors");
  fs::remove(fs::path(f.output) / "config.json");
  SampleFlags s = f.sample;
  if (s.out.empty()) s.out = (fs::path(f.output) / "samples.png").string();
  write_grid(model, *folder_scheduler(f.output), s);
}

void add_sample_options(CLI::App* cmd, SampleFlags& s) {
  cmd->add_option("--per-class", s.per_class, "samples per class (one grid row per class)");
  cmd->add_option("--sample-steps", s.steps, "DDIM steps");
  cmd->add_option("--sample-seed", s.seed, "seed of image i's initial noise is seed + i");
  cmd->add_option("--scale", s.scale, "nearest upscaling of each sample in the grid");
  cmd->add_option("--device", s.device, "cpu, vulkan or vulkan:N");
}

void add_train_unet_command(CLI::App& app) {
  auto f = std::make_shared<UnetFlags>();
  auto* cmd = train_command(app)->add_subcommand(
      "unet", "A small class-conditional UNet trained from scratch as a pixel-space DDPM on drawn shapes");
  cmd->add_option("--data", f->data, "training images: 'shapes' (circles, squares, triangles drawn by glint)");
  cmd->add_option("--output", f->output, "output folder (diffusers unet/ + scheduler/, metrics, samples.png)")
      ->required();
  cmd->add_option("--size", f->size, "image side in pixels (a multiple of 2^(blocks - 1))");
  cmd->add_option("--channels", f->channels, "block_out_channels, e.g. 32,64,128")->delimiter(',');
  cmd->add_option("--layers-per-block", f->layers_per_block, "ResNet blocks per resolution");
  cmd->add_option("--cross-dim", f->cross_dim, "class embedding width (cross_attention_dim)");
  cmd->add_option("--heads", f->heads, "attention heads");
  cmd->add_option("--groups", f->groups, "GroupNorm groups (divides every channel count)");
  cmd->add_option("--max-steps", f->max_steps, "optimizer steps");
  cmd->add_option("--batch-size", f->batch_size, "images per step");
  cmd->add_option("--lr", f->lr, "peak learning rate (cosine decay after warmup)");
  cmd->add_option("--warmup-steps", f->warmup_steps, "linear warmup steps");
  cmd->add_option("--weight-decay", f->weight_decay, "AdamW weight decay");
  cmd->add_option("--logging-steps", f->logging_steps, "log every N steps");
  cmd->add_option("--save-steps", f->save_steps, "checkpoint every N steps (0: at the end)");
  cmd->add_option("--seed", f->seed, "seed of the weights, data, noise and data order");
  cmd->add_option("--resume", f->resume, "'latest' or a checkpoint folder");
  cmd->add_option("--grid", f->sample.out, "where to write the sample grid (default OUTPUT/samples.png)");
  add_sample_options(cmd, f->sample);
  cmd->callback([f] { run_train_unet(*f); });

  auto s = std::make_shared<SampleFlags>();
  auto* sample = app.add_subcommand("sample-unet", "Sample a grid from a folder `glint train unet` wrote");
  sample->add_option("dir", s->dir, "the training output folder")->required();
  sample->add_option("--out", s->out, "PNG to write")->required();
  add_sample_options(sample, *s);
  sample->callback([s] {
    const train::ConditionalUNet model = train::load_conditional_unet(s->dir, device_of(s->device));
    write_grid(model, *folder_scheduler(s->dir), *s);
  });
}

const CommandRegistration reg(add_train_unet_command);

}  // namespace
}  // namespace glint::cli
