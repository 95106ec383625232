// UNet step lab: seconds per UNet2DConditionModel forward (one denoising step) and images/s at batch 1 and 8 on
// 64x64 latents, on the weights of a diffusers folder, so that tools/bench_unet_diffusers.py can time diffusers +
// PyTorch on exactly the same ones (benchmarks/unet.sh runs both). Without a config.json in --unet, writes a random
// SD-1.5-layout UNet at a fifth of its width there first (block_out_channels 64,128,256,256; 2 layers per block;
// cross_attention_dim 256 over 77 context tokens), small enough to time on a CPU. Its heads have SD 2.x's 64
// dims (1, 2, 4, 4 heads per block): SD 1.5's 8 heads at a fifth of the width would leave 8-dim heads, a shape no
// real checkpoint has, which would time the attention kernels on an unrepresentative problem.
//
//   bench_unet --unet DIR [--device cpu] [--threads N] [--batches 1,8] [--latent 64] [--reps 3]
// The last line printed is JSON for benchmarks/unet.sh.
#include <omp.h>

#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "benchmarks/bench_util.h"
#include "models/diffusion/schedulers/scheduler.h"
#include "models/nn/var_builder.h"
#include "models/unet/unet_2d_condition.h"
#include "runtime/autograd/autograd.h"
#include "runtime/io/atomic_file.h"
#include "runtime/io/config.h"
#include "runtime/io/safetensors.h"

namespace glint::bench {
namespace {
namespace fs = std::filesystem;

constexpr int64_t kContextTokens = 77;

nlohmann::json reduced_sd_config() {
  return {{"_class_name", "UNet2DConditionModel"},
          {"sample_size", 64},
          {"in_channels", 4},
          {"out_channels", 4},
          {"block_out_channels", {64, 128, 256, 256}},
          {"layers_per_block", 2},
          {"down_block_types", {"CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "DownBlock2D"}},
          {"up_block_types", {"UpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "CrossAttnUpBlock2D"}},
          {"cross_attention_dim", 256},
          {"attention_head_dim", {1, 2, 4, 4}},
          {"norm_num_groups", 32},
          {"flip_sin_to_cos", true},
          {"freq_shift", 0}};
}

// Writes a random UNet of reduced_sd_config() into `dir` as diffusers would save it.
void write_random_unet(const std::string& dir) {
  fs::create_directories(dir);
  const nlohmann::json config = reduced_sd_config();
  const nn::VarBuilder vb(nn::init_weights(0, 0.02), Device::cpu(), DType::f32);
  const UNet2DConditionModel unet(UNet2DConditionConfig::from_json(io::json_object(config, dir)), vb);
  io::save_safetensors((fs::path(dir) / "diffusion_pytorch_model.safetensors").string(), vb.parameters()->entries(),
                       {{"format", "pt"}});
  io::write_file_atomically((fs::path(dir) / "config.json").string(), config.dump(2) + "\n", "bench_unet");
  std::printf("wrote a random UNet to %s\n", dir.c_str());
}

std::vector<int64_t> parse_list(const std::string& s) {
  std::vector<int64_t> v;
  std::stringstream ss(s);
  for (std::string item; std::getline(ss, item, ',');) v.push_back(std::stoll(item));
  return v;
}

int run(int argc, char** argv) {
  const std::string dir = option(argc, argv, "--unet", "");
  if (dir.empty()) {
    std::fprintf(stderr, "usage: bench_unet --unet DIR [--device cpu] [--threads N] [--batches 1,8] [--latent 64]\n");
    return 2;
  }
  const int threads = std::stoi(option(argc, argv, "--threads", "0"));
  if (threads > 0) omp_set_num_threads(threads);  // OpenBLAS is the OpenMP build: this sets its threads too
  const int reps = std::stoi(option(argc, argv, "--reps", "3"));
  const int64_t latent = std::stoll(option(argc, argv, "--latent", "64"));
  const std::vector<int64_t> batches = parse_list(option(argc, argv, "--batches", "1,8"));
  const Device device = Device::parse(option(argc, argv, "--device", "cpu"));
  if (!fs::exists(fs::path(dir) / "config.json")) write_random_unet(dir);

  const auto unet = UNet2DConditionModel::from_pretrained(dir, device);
  const auto& c = unet->config();
  std::printf("%s\nUNet %s on %s, %d OpenMP threads, %lldx%lld latents, %lld context tokens\n", machine_line().c_str(),
              dir.c_str(), device.str().c_str(), omp_get_max_threads(), (long long)latent, (long long)latent,
              (long long)kContextTokens);
  const autograd::NoGradGuard no_grad;
  nlohmann::json results = nlohmann::json::array();
  for (int64_t batch : batches) {
    // Inputs as a sampling loop sees them: unit noise latents and text-encoder-sized context states.
    diffusion::NoiseGenerator gen(1);
    const Tensor sample = gen.randn({batch, c.in_channels, latent, latent}, device);
    const Tensor context = gen.randn({batch, kContextTokens, c.cross_attention_dim}, device);
    const double s = time_median(
        [&] {
          unet->forward(sample, {500.0}, context);
          sync(device);
        },
        reps, 1);
    std::printf("batch %lld: %.3f s/step, %.2f images/s (steps x batch / s)\n", (long long)batch, s, double(batch) / s);
    results.push_back({{"batch", batch}, {"step_s", s}, {"images_s", double(batch) / s}});
  }
  std::printf("%s\n", nlohmann::json({{"side", "glint"},
                                      {"threads", omp_get_max_threads()},
                                      {"latent", latent},
                                      {"device", device.str()},
                                      {"results", results}})
                          .dump()
                          .c_str());
  return 0;
}

}  // namespace
}  // namespace glint::bench

int main(int argc, char** argv) {
  try {
    return glint::bench::run(argc, argv);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
