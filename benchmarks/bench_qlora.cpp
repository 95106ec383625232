// QLoRA against LoRA and full fine-tuning on one model config at random init: weight bytes per parameter of the
// 4-bit layers, peak memory while training, and training tokens/s (forward, backward, AdamW on what trains).
//   bench_qlora --mode full|lora|qlora [--config models/default/config.json] [--device cpu|vulkan] [--batch 4]
//               [--seq 128] [--steps 5] [--r 16] [--double-quant 0|1]
// Run each mode in its own process: peak memory is the process's. On the CPU it is the resident set's high-water
// mark since training started (/proc/self/clear_refs resets it after loading, so the dense weights a 4-bit model
// is quantised from do not count); on Vulkan it is the device memory in use, sampled after the forward, the
// backward and the optimizer step. The last line printed is JSON.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "benchmarks/bench_util.h"
#include "models/auto.h"
#include "models/peft/lora.h"
#include "runtime/core/host_allocator.h"
#include "runtime/io/config.h"
#include "runtime/vulkan/device.h"
#include "trainers/optimizers.h"

using namespace glint;

namespace {

// VmHWM of /proc/self/status in MiB (the resident high-water mark).
double peak_rss_mib() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmHWM:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

// Resets VmHWM to the current resident size (Linux 4.0+).
void reset_peak_rss() { std::ofstream("/proc/self/clear_refs") << "5"; }

double device_mib(Device d) {
  return d.is_cpu() ? 0 : double(vk::device(d.index).allocator().bytes_in_use()) / (1024.0 * 1024.0);
}

}  // namespace

int main(int argc, char** argv) {
  std::string config_path = "models/default/config.json", mode = "qlora", device_name = "cpu";
  int64_t batch = 4, seq = 128, steps = 5, r = 16, double_quant = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--config") config_path = v;
    else if (k == "--mode") mode = v;
    else if (k == "--device") device_name = v;
    else if (k == "--batch") batch = std::stoll(v);
    else if (k == "--seq") seq = std::stoll(v);
    else if (k == "--steps") steps = std::stoll(v);
    else if (k == "--r") r = std::stoll(v);
    else if (k == "--double-quant") double_quant = std::stoll(v);
  }
  if (mode != "full" && mode != "lora" && mode != "qlora") {
    std::fprintf(stderr, "bench_qlora: --mode must be full, lora or qlora\n");
    return 2;
  }
  const Device device = Device::parse(device_name);
  const io::JsonFile config = io::load_json(config_path);
  ModelLoadOptions lo;
  lo.device = device;
  lo.load_in_4bit = mode == "qlora";
  lo.quant4.double_quant = double_quant != 0;
  auto model = AutoModelForCausalLM::from_config(config, lo, 0);

  // Weight bytes: every parameter the store lists plus the 4-bit layers' packed data and statistics.
  int64_t params = 0, four_bit_params = 0;
  size_t bytes = 0, four_bit_bytes = 0;
  for (const auto& [name, t] : model->parameters().entries()) params += t.numel(), bytes += t.nbytes();
  for (const auto& [name, s] : model->parameters().linears())
    if (s->quantized) {
      four_bit_params += s->quantized->state.numel(), four_bit_bytes += s->quantized->nbytes();
    }
  params += four_bit_params, bytes += four_bit_bytes;

  std::unique_ptr<peft::LoraModel> lora;
  std::vector<train::ParamRef> trained;
  if (mode == "full") {
    for (const auto& [name, t] : model->parameters().entries()) {
      Tensor p = t;
      p.requires_grad_();
      trained.push_back({name, p, {}});
    }
  } else {
    lora = std::make_unique<peft::LoraModel>(*model);
    peft::LoraConfig lc;
    lc.r = r;
    lc.lora_alpha = 2.0 * double(r);
    lc.all_linear = true;
    lora->add_adapter("default", lc, 0);
    for (auto& [name, p] : lora->parameters("default")) trained.push_back({name, p, {}});
  }
  int64_t trained_params = 0;
  for (const auto& p : trained) trained_params += p.value.numel();

  train::AdamW opt;
  const int64_t vocab = config.get<int64_t>("vocab_size");
  std::vector<int64_t> ids(size_t(batch * seq));
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = int64_t((i * 7919 + 13) % size_t(vocab));
  const Tensor input = Tensor::from_vector(ids, {batch, seq}, DType::i64, Device::cpu()).to(device);
  bench::sync(device);  // deferred frees (the dense weights a 4-bit model was quantised from) complete first
  const double device_at_start = device_mib(device);
  double peak_device = device_at_start;
  // Freed host blocks stay in glint's reuse cache (runtime/core/host_allocator.h), resident: a 4-bit model's dense
  // weights it was quantised from among them. Reported beside the peak, which includes them.
  const double cached_mib = double(host_cached_bytes()) / 1048576.0;
  reset_peak_rss();
  auto step = [&] {
    const Tensor loss = model->loss(input, input);
    peak_device = std::max(peak_device, device_mib(device));
    loss.backward();
    peak_device = std::max(peak_device, device_mib(device));
    for (auto& p : trained) p.grad = p.value.grad();
    train::clip_grad_norm(trained, 1.0);
    opt.step(trained, 1e-4);
    peak_device = std::max(peak_device, device_mib(device));
    for (auto& p : trained) p.value.set_grad({});
    bench::sync(device);
  };
  step();  // warm-up: optimizer state, allocator caches
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < steps; ++i) step();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const double tok_s = double(batch * seq * steps) / secs;
  const double peak = device.is_cpu() ? peak_rss_mib() : peak_device;
  std::printf("%s on %s: %lld params (%lld in 4-bit layers, %.4f bytes/param there), weights %.1f MiB, %lld trained, "
              "%.1f tokens/s, peak %s %.1f MiB (at start: host cache %.1f MiB, device %.1f MiB)\n",
              mode.c_str(), device.str().c_str(), (long long)params, (long long)four_bit_params,
              four_bit_params ? double(four_bit_bytes) / double(four_bit_params) : 0.0, double(bytes) / 1048576.0,
              (long long)trained_params, tok_s, device.is_cpu() ? "RSS" : "device memory", peak, cached_mib, device_at_start);
  std::printf("%s\n", nlohmann::json{{"mode", mode},
                                     {"device", device.str()},
                                     {"params", params},
                                     {"four_bit_bytes_per_param",
                                      four_bit_params ? double(four_bit_bytes) / double(four_bit_params) : 0.0},
                                     {"weight_mib", double(bytes) / 1048576.0},
                                     {"trained_params", trained_params},
                                     {"tokens_per_second", tok_s},
                                     {"peak_mib", peak},
                                     {"host_cache_at_start_mib", cached_mib},
                                     {"device_at_start_mib", device_at_start},
                                     {"batch", batch},
                                     {"seq", seq}}
                          .dump()
                          .c_str());
}
