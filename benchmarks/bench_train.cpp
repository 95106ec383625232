// Training throughput of a causal LM on the CPU backend: tokens/s of full optimizer steps (forward, backward,
// clipping, AdamW) and peak RSS, for a model config.json at random init with a fixed token batch.
//   bench_train --config models/default/config.json [--batch 8] [--seq 128] [--steps 10] [--threads N]
// The last line printed is JSON for benchmarks/train.sh, which runs tools/bench_train_hf.py on the same config.
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <string>

#include <omp.h>

#include <nlohmann/json.hpp>

#include "models/auto.h"
#include "runtime/io/config.h"
#include "trainers/optimizers.h"

using namespace glint;

int main(int argc, char** argv) {
  std::string config_path = "models/default/config.json";
  int64_t batch = 8, seq = 128, steps = 10, threads = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i], v = argv[i + 1];
    if (k == "--config") config_path = v;
    else if (k == "--batch") batch = std::stoll(v);
    else if (k == "--seq") seq = std::stoll(v);
    else if (k == "--steps") steps = std::stoll(v);
    else if (k == "--threads") threads = std::stoll(v);
  }
  if (threads > 0) omp_set_num_threads(int(threads));
  const io::JsonFile config = io::load_json(config_path);
  ModelLoadOptions lo;
  lo.device = Device::cpu();
  auto model = AutoModelForCausalLM::from_config(config, lo, 0);
  std::vector<train::ParamRef> params;
  for (const auto& [name, t] : model->parameters().entries()) {
    Tensor p = t;
    p.requires_grad_();
    params.push_back({name, p, {}});
  }
  train::AdamW opt;
  const int64_t vocab = config.get<int64_t>("vocab_size");
  std::vector<int64_t> ids(size_t(batch * seq));
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = int64_t((i * 7919 + 13) % size_t(vocab));  // as the HF script
  const Tensor input = Tensor::from_vector(ids, {batch, seq}, DType::i64, Device::cpu());
  auto step = [&] {
    model->loss(input, input).backward();
    for (auto& p : params) p.grad = p.value.grad();
    train::clip_grad_norm(params, 1.0);
    opt.step(params, 1e-4);
    for (auto& p : params) p.value.set_grad({});
  };
  for (int i = 0; i < 2; ++i) step();  // warm-up: allocator caches, first-touch pages
  const auto t0 = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < steps; ++i) step();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  const double tok_s = double(batch * seq * steps) / secs;
  std::printf("glint: %.0f tokens/s (%lld steps of %lldx%lld), peak RSS %.0f MiB\n", tok_s, (long long)steps,
              (long long)batch, (long long)seq, u.ru_maxrss / 1024.0);
  std::printf("%s\n", nlohmann::json{{"tokens_per_second", tok_s},
                                     {"peak_rss_mb", u.ru_maxrss / 1024.0},
                                     {"threads", omp_get_max_threads()},
                                     {"batch", batch},
                                     {"seq", seq}}
                          .dump()
                          .c_str());
}
