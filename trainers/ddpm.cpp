#include "trainers/ddpm.h"

#include <filesystem>
#include <random>

#include "models/nn/var_builder.h"
#include "runtime/autograd/autograd.h"
#include "runtime/core/error.h"
#include "runtime/io/atomic_file.h"
#include "runtime/io/checkpoint.h"
#include "runtime/io/config.h"
#include "runtime/io/safetensors.h"
#include "runtime/ops/elementwise.h"
#include "runtime/ops/indexing.h"
#include "runtime/ops/reduce.h"

namespace glint::train {
namespace fs = std::filesystem;
namespace {

constexpr const char* kClassEmbedding = "class_embedding";

// Adds every parameter of `from` to `to`.
void add_all(nn::ParameterStore& to, const nn::ParameterStore& from) {
  for (auto [name, t] : from.entries()) to.add(name, t);
}

Tensor labels_tensor(const std::vector<int64_t>& labels, Device device) {
  return Tensor::from_vector(labels, {int64_t(labels.size())}, DType::i64, Device::cpu()).to(device);
}

// The generator of dataset row `row`'s noise and timestep: a function of (seed, row) only.
std::mt19937_64 row_rng(uint64_t seed, size_t row) {
  std::seed_seq seq{uint32_t(seed), uint32_t(seed >> 32), uint32_t(row), uint32_t(uint64_t(row) >> 32), 0xdd9au};
  return std::mt19937_64(seq);
}

}  // namespace

nlohmann::json small_unet_config(int64_t channels, const std::vector<int64_t>& block_out_channels,
                                 int64_t layers_per_block, int64_t cross_attention_dim, int64_t heads, int64_t groups,
                                 int64_t sample_size) {
  GLINT_CHECK(!block_out_channels.empty(), "ddpm", "block_out_channels is empty");
  std::vector<std::string> down(block_out_channels.size(), "DownBlock2D"), up(block_out_channels.size(), "UpBlock2D");
  down.back() = "CrossAttnDownBlock2D";
  up.front() = "CrossAttnUpBlock2D";
  return {{"_class_name", "UNet2DConditionModel"},
          {"sample_size", sample_size},
          {"in_channels", channels},
          {"out_channels", channels},
          {"block_out_channels", block_out_channels},
          {"layers_per_block", layers_per_block},
          {"down_block_types", down},
          {"up_block_types", up},
          {"mid_block_type", "UNetMidBlock2DCrossAttn"},
          {"cross_attention_dim", cross_attention_dim},
          {"attention_head_dim", heads},
          {"norm_num_groups", groups},
          {"norm_eps", 1e-5},
          {"flip_sin_to_cos", true},
          {"freq_shift", 0},
          {"act_fn", "silu"}};
}

nlohmann::json pixel_scheduler_config() {
  return {{"_class_name", "DDIMScheduler"}, {"num_train_timesteps", 1000}, {"beta_schedule", "squaredcos_cap_v2"},
          {"prediction_type", "epsilon"},   {"clip_sample", true},         {"clip_sample_range", 1.0},
          {"set_alpha_to_one", false},      {"steps_offset", 0},           {"timestep_spacing", "trailing"}};
}

Tensor ConditionalUNet::context(const std::vector<int64_t>& labels) const {
  const int64_t classes = class_embedding.dim(0);
  for (int64_t l : labels)
    GLINT_CHECK(l >= 0 && l < classes, "ddpm", "class label ", l, " is outside [0, ", classes, ")");
  const Tensor rows = embedding(class_embedding, labels_tensor(labels, class_embedding.device()));  // (N, D)
  return rows.reshape({int64_t(labels.size()), 1, class_embedding.dim(1)});
}

void ConditionalUNet::save(const std::string& dir, const nlohmann::json& scheduler_config) const {
  const fs::path root(dir);
  fs::create_directories(root / "unet");
  fs::create_directories(root / "scheduler");
  std::vector<std::pair<std::string, Tensor>> unet_tensors, class_tensors;
  for (const auto& [name, t] : parameters.entries())
    (name == kClassEmbedding ? class_tensors : unet_tensors).emplace_back(name, t.detach().to(Device::cpu()));
  io::save_safetensors((root / "unet" / "diffusion_pytorch_model.safetensors").string(), unet_tensors,
                       {{"format", "pt"}});
  io::write_file_atomically((root / "unet" / "config.json").string(), config.dump(2) + "\n", "ddpm");
  io::save_safetensors((root / "class_embeddings.safetensors").string(), class_tensors, {{"format", "pt"}});
  io::write_file_atomically((root / "scheduler" / "scheduler_config.json").string(), scheduler_config.dump(2) + "\n",
                            "ddpm");
}

ConditionalUNet make_conditional_unet(const nlohmann::json& config, int64_t num_classes, uint64_t seed, Device device) {
  GLINT_CHECK(num_classes >= 1, "ddpm", "need at least one class, got ", num_classes);
  ConditionalUNet m;
  m.config = config;
  const auto c = UNet2DConditionConfig::from_json(io::json_object(config, "unet config"));
  const nn::VarBuilder vb(nn::init_weights(seed, 0.02), device, DType::f32);
  m.unet = std::make_unique<UNet2DConditionModel>(c, vb);
  const nn::VarBuilder class_vb(nn::init_weights(seed, 1.0), device, DType::f32);
  m.class_embedding = class_vb.get(kClassEmbedding, {num_classes, c.cross_attention_dim});
  add_all(m.parameters, *vb.parameters());
  add_all(m.parameters, *class_vb.parameters());
  return m;
}

ConditionalUNet load_conditional_unet(const std::string& dir, Device device) {
  ConditionalUNet m;
  const fs::path root(dir);
  m.config = io::load_json((root / "unet" / "config.json").string()).json;
  const nn::VarBuilder vb(nn::checkpoint_weights(diffusion::open_diffusers_weights((root / "unet").string())), device,
                          DType::f32);
  m.unet = std::make_unique<UNet2DConditionModel>(
      UNet2DConditionConfig::from_json(io::json_object(m.config, (root / "unet" / "config.json").string())), vb);
  const std::string class_path = (root / "class_embeddings.safetensors").string();
  const auto file = io::Checkpoint::open(class_path);
  GLINT_CHECK(file->contains(kClassEmbedding), "ddpm", class_path, " has no tensor '", kClassEmbedding, "'");
  const nn::VarBuilder class_vb(nn::checkpoint_weights(file), device, DType::f32);
  const int64_t classes = file->tensor(kClassEmbedding).dim(0), cross = m.unet->config().cross_attention_dim;
  m.class_embedding = class_vb.get(kClassEmbedding, {classes, cross});
  add_all(m.parameters, *vb.parameters());
  add_all(m.parameters, *class_vb.parameters());
  return m;
}

RowsLossFn ddpm_rows_loss(const ConditionalUNet& model, std::shared_ptr<const diffusion::Scheduler> noise_schedule,
                          int64_t num_train_timesteps, ImageRowsFn images, uint64_t seed) {
  GLINT_CHECK(num_train_timesteps >= 1, "ddpm", "num_train_timesteps must be positive");
  return
      [&model, noise_schedule, num_train_timesteps, images = std::move(images), seed](const std::vector<size_t>& rows) {
        Tensor clean;
        std::vector<int64_t> labels;
        images(rows, clean, labels);
        GLINT_CHECK(clean.ndim() == 4 && clean.dim(0) == int64_t(rows.size()) && labels.size() == rows.size(), "ddpm",
                    "the data gave images ", clean.str(), " and ", labels.size(), " labels for ", rows.size(), " rows");
        const Shape one{1, clean.dim(1), clean.dim(2), clean.dim(3)};
        std::vector<Tensor> noises;
        std::vector<double> timesteps;
        for (size_t r : rows) {
          std::mt19937_64 rng = row_rng(seed, r);
          timesteps.push_back(double(std::uniform_int_distribution<int64_t>(0, num_train_timesteps - 1)(rng)));
          diffusion::NoiseGenerator gen(rng());
          noises.push_back(gen.randn(one, clean.device()));
        }
        const Tensor noise = concat(noises, 0);
        const Tensor noisy = noise_schedule->add_noise(clean, noise, timesteps);
        const Tensor pred = model.unet->forward(noisy, timesteps, model.context(labels));
        const Tensor diff = sub(pred, noise);
        RowsLoss out;
        out.loss = mul(sum_all(mul(diff, diff)), 1.0 / double(diff.numel()));
        out.tokens = int64_t(rows.size());  // images, for the throughput the Trainer logs
        return out;
      };
}

Tensor sample_images(const ConditionalUNet& model, diffusion::Scheduler& scheduler, const std::vector<int64_t>& labels,
                     int64_t steps, uint64_t seed, int64_t size) {
  GLINT_CHECK(!labels.empty(), "ddpm", "no labels to sample");
  const int64_t side = size > 0 ? size : model.config.value("sample_size", int64_t(0));
  GLINT_CHECK(side > 0, "ddpm", "no image size: pass one or set sample_size in the UNet config");
  const autograd::NoGradGuard no_grad;
  const Device device = model.class_embedding.device();
  const int64_t channels = model.unet->config().in_channels;
  std::vector<Tensor> rows;
  for (size_t i = 0; i < labels.size(); ++i) {
    diffusion::NoiseGenerator gen(seed + i);
    rows.push_back(gen.randn({1, channels, side, side}, device));
  }
  scheduler.set_timesteps(steps);
  Tensor x = mul(concat(rows, 0), scheduler.init_noise_sigma());
  const Tensor context = model.context(labels);
  diffusion::NoiseGenerator step_noise(seed ^ 0x5eedull);
  for (double t : scheduler.timesteps()) {
    const Tensor eps = model.unet->forward(scheduler.scale_model_input(x, t), {t}, context);
    x = scheduler.step(eps, t, x, step_noise).prev_sample;
  }
  return clamp(add(mul(x, 0.5), 0.5), 0.0, 1.0);
}

}  // namespace glint::train
