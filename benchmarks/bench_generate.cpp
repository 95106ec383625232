// Text generation throughput of glint's CausalLM: prefill tokens/s (a prompt of --prompt-len tokens per sequence)
// and decode tokens/s (--new-tokens greedy tokens, never stopping at eos) at each batch size, through generate()
// and its GenerationStats, as tools/bench_generate_hf.py measures transformers. Prefill is the prompt's forward pass
// plus the first token (as generate(max_new_tokens=1) is on the HF side); decode is every later step. Both are
// tokens over the whole batch per second. With --rss the program instead loads the model on the CPU and reports
// peak RSS (getrusage ru_maxrss) against the weight files' bytes: safetensors weights are memory-mapped, so the
// goal is <= 1.3x.
//   bench_generate --model PATH [--device cpu] [--dtype f32|f16] [--threads N] [--prompt-len 128]
//                  [--new-tokens 64] [--batches 1,8] [--repeat 3] [--rss]
// The last line printed is JSON for benchmarks/generate.sh.
#include <omp.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

#include "benchmarks/bench_util.h"
#include "models/auto.h"
#include "models/generation/generate.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

struct Args {
  std::string model, device = "cpu", dtype = "f32";
  int threads = 0, prompt_len = 128, new_tokens = 64, repeat = 3;
  std::vector<int> batches{1, 8};
  bool rss = false;
};

Args parse_args(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    if (k == "--rss") {
      a.rss = true;
      continue;
    }
    if (i + 1 >= argc) throw std::runtime_error("missing value for " + k);
    const std::string v = argv[++i];
    if (k == "--model")
      a.model = v;
    else if (k == "--device")
      a.device = v;
    else if (k == "--dtype")
      a.dtype = v;
    else if (k == "--threads")
      a.threads = std::stoi(v);
    else if (k == "--prompt-len")
      a.prompt_len = std::stoi(v);
    else if (k == "--new-tokens")
      a.new_tokens = std::stoi(v);
    else if (k == "--repeat")
      a.repeat = std::stoi(v);
    else if (k == "--batches") {
      a.batches.clear();
      std::stringstream ss(v);
      for (std::string b; std::getline(ss, b, ',');) a.batches.push_back(std::stoi(b));
    } else
      throw std::runtime_error("unknown argument " + k);
  }
  if (a.model.empty()) throw std::runtime_error("--model PATH is required");
  return a;
}

double peak_rss_bytes() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) * 1024;  // Linux reports KiB
}

// Bytes of the weight files the model loads (*.safetensors in a folder, or the .gguf itself).
double weight_bytes(const fs::path& model) {
  if (fs::is_regular_file(model)) return static_cast<double>(fs::file_size(model));
  double total = 0;
  for (const auto& e : fs::directory_iterator(model))
    if (e.path().extension() == ".safetensors") total += static_cast<double>(fs::file_size(e.path()));
  return total;
}

// Deterministic prompts of distinct ids per row (greedy decoding is then identical run to run); ids avoid 0..2,
// where tokenizers usually keep special tokens.
std::vector<std::vector<int64_t>> make_prompts(int batch, int len, int64_t vocab) {
  std::vector<std::vector<int64_t>> p(batch);
  for (int b = 0; b < batch; ++b)
    for (int t = 0; t < len; ++t) p[b].push_back(3 + (t * 7919 + b * 104729) % (vocab - 3));
  return p;
}

int run_rss(const Args& a, const glint::ModelLoadOptions& opts) {
  const double weights = weight_bytes(a.model);
  auto model = glint::AutoModelForCausalLM::from_pretrained(a.model, opts);
  const double after_load = peak_rss_bytes();
  // A short generation touches every weight page and allocates the cache and activations.
  glint::GenerationOptions g;
  g.max_new_tokens = 8;
  g.eos_token_ids = std::vector<int64_t>{};
  glint::generate(*model, nullptr, make_prompts(1, 32, model->config().vocab_size), g);
  const double after_generate = peak_rss_bytes();
  std::printf("weights %.1f MB, peak RSS after load %.1f MB (%.2fx), after a 32+8 token generation %.1f MB (%.2fx)\n",
              weights / 1e6, after_load / 1e6, after_load / weights, after_generate / 1e6, after_generate / weights);
  std::printf("%s\n", json{{"model", a.model},
                           {"weight_bytes", weights},
                           {"peak_rss_load_bytes", after_load},
                           {"peak_rss_generate_bytes", after_generate},
                           {"ratio_load", after_load / weights},
                           {"ratio_generate", after_generate / weights}}
                          .dump()
                          .c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) try {
  const Args a = parse_args(argc, argv);
  // OpenBLAS is built on OpenMP here, so this one call sets the matmul threads too.
  if (a.threads > 0) omp_set_num_threads(a.threads);
  glint::ModelLoadOptions opts;
  opts.device = glint::Device::parse(a.device);
  opts.dtype = glint::parse_dtype(a.dtype);
  if (a.rss) return run_rss(a, opts);

  std::printf("%s\nmodel %s, device %s, dtype %s, %d OpenMP threads\n", glint::bench::machine_line().c_str(),
              a.model.c_str(), a.device.c_str(), a.dtype.c_str(), omp_get_max_threads());
  auto model = glint::AutoModelForCausalLM::from_pretrained(a.model, opts);
  json results = json::array();
  for (int batch : a.batches) {
    const auto prompts = make_prompts(batch, a.prompt_len, model->config().vocab_size);
    glint::GenerationOptions g;
    g.max_new_tokens = a.new_tokens;
    g.eos_token_ids = std::vector<int64_t>{};  // always generate new_tokens, as the HF side does
    std::vector<double> prefill, decode;
    for (int r = 0; r <= a.repeat; ++r) {  // run 0 warms up
      glint::GenerationStats s;
      glint::generate(*model, nullptr, prompts, g, &s);
      if (r == 0) continue;
      prefill.push_back(static_cast<double>(s.prompt_tokens) / s.prefill_seconds);
      decode.push_back(static_cast<double>(s.generated_tokens - batch) / s.decode_seconds);
    }
    std::sort(prefill.begin(), prefill.end());
    std::sort(decode.begin(), decode.end());
    const double p = prefill[prefill.size() / 2], d = decode[decode.size() / 2];
    std::printf("batch %d: prefill %.1f tok/s, decode %.1f tok/s (median of %d)\n", batch, p, d, a.repeat);
    results.push_back({{"batch", batch}, {"prefill_tok_s", p}, {"decode_tok_s", d}});
  }
  std::printf("%s\n", json{{"impl", "glint"},
                           {"model", a.model},
                           {"dtype", a.dtype},
                           {"threads", omp_get_max_threads()},
                           {"prompt_len", a.prompt_len},
                           {"new_tokens", a.new_tokens},
                           {"results", results}}
                          .dump()
                          .c_str());
  return 0;
} catch (const std::exception& e) {
  std::fprintf(stderr, "bench_generate: %s\n", e.what());
  return 1;
}
