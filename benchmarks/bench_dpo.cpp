// One DPO training step on the CPU backend, as `glint train dpo` runs it (train::Trainer over dpo_rows_loss): a
// random Llama (hidden 256, 4 layers, vocabulary 2048, 8.4M parameters) and fixed preference pairs, with the
// reference a frozen copy (--ref copy: the whole model trains) or the same base with LoRA adapters disabled (--ref
// lora: only the adapters train). Prints each step's seconds, resident and peak RSS and the bytes glint's host
// allocator keeps for reuse, so growth across steps shows.
//   bench_dpo [--ref copy|lora] [--pairs 8] [--dataset 8] [--prompt 40] [--completion 68] [--steps 20] [--threads N]
// The last line printed is JSON for benchmarks/dpo.sh, which runs tools/bench_dpo_hf.py on the same model and batch.
#include <omp.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "benchmarks/bench_util.h"
#include "models/auto.h"
#include "models/peft/lora.h"
#include "runtime/core/host_allocator.h"
#include "trainers/alignment/alignment_trainer.h"

using namespace glint;
using namespace glint::train::alignment;

namespace {

// The model of tools/bench_dpo_hf.py.
nlohmann::json llama_config() {
  return {{"architectures", {"LlamaForCausalLM"}},
          {"model_type", "llama"},
          {"vocab_size", 2048},
          {"hidden_size", 256},
          {"intermediate_size", 2048},
          {"num_hidden_layers", 4},
          {"num_attention_heads", 8},
          {"num_key_value_heads", 8},
          {"max_position_embeddings", 512},
          {"rms_norm_eps", 1e-5},
          {"rope_theta", 10000.0},
          {"tie_word_embeddings", false},
          {"initializer_range", 0.02}};
}

// Pair i: prompt, chosen and rejected token ids from the same formula as tools/bench_dpo_hf.py; completions of
// different lengths so rows pad (and batches drawn from more pairs than a batch differ in length).
std::vector<PreferenceRow> pairs_of(int64_t n, int64_t prompt, int64_t completion, int64_t vocab) {
  std::vector<PreferenceRow> rows(static_cast<size_t>(n));
  auto tok = [vocab](int64_t i, int64_t j, int64_t salt) { return int32_t((i * 7919 + j * 104729 + salt) % vocab); };
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = 0; j < prompt; ++j) rows[size_t(i)].prompt.push_back(tok(i, j, 13));
    const int64_t chosen = completion - (i * 13) % 24, rejected = chosen - 1 - i % 4;
    for (int64_t j = 0; j < chosen; ++j) rows[size_t(i)].chosen.push_back(tok(i, j, 29));
    for (int64_t j = 0; j < rejected; ++j) rows[size_t(i)].rejected.push_back(tok(i, j, 47));
  }
  return rows;
}

double rss_mb() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return double(resident) * double(sysconf(_SC_PAGESIZE)) / (1024.0 * 1024.0);
}

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) / 1024.0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string ref_kind = bench::option(argc, argv, "--ref", "copy");
  const int64_t n = std::stoll(bench::option(argc, argv, "--pairs", "8"));
  // Pairs in the dataset: the default, one batch's worth, repeats the same batch; more draw batches of other lengths.
  const int64_t dataset = std::stoll(bench::option(argc, argv, "--dataset", std::to_string(n).c_str()));
  const int64_t prompt = std::stoll(bench::option(argc, argv, "--prompt", "40"));
  const int64_t completion = std::stoll(bench::option(argc, argv, "--completion", "68"));
  const int64_t steps = std::stoll(bench::option(argc, argv, "--steps", "20"));
  const int threads = std::stoi(bench::option(argc, argv, "--threads", "0"));
  if (threads > 0) omp_set_num_threads(threads);
  GLINT_CHECK(ref_kind == "copy" || ref_kind == "lora", "bench_dpo", "--ref is copy or lora, got ", ref_kind);

  const io::JsonFile config{"bench_dpo", llama_config()};
  ModelLoadOptions lo;
  lo.device = Device::cpu();
  auto policy = AutoModelForCausalLM::from_config(config, lo, 0);
  std::unique_ptr<CausalLM> frozen;
  std::unique_ptr<peft::LoraModel> lora;
  nn::ParameterStore adapters;
  if (ref_kind == "copy") {
    frozen = AutoModelForCausalLM::from_config(config, lo, 0);
  } else {
    lora = std::make_unique<peft::LoraModel>(*policy);
    peft::LoraConfig c;
    c.r = 16;
    c.lora_alpha = 32;
    c.all_linear = true;
    lora->add_adapter("default", c, 0);
    for (auto [name, t] : lora->parameters("default")) adapters.add(name, t);
  }
  const std::vector<PreferenceRow> rows = pairs_of(std::max(n, dataset), prompt, completion, 2048);
  const Reference ref = frozen ? Reference(*frozen) : Reference(*lora);
  const train::RowsLossFn dpo = dpo_rows_loss(*policy, ref, rows, DpoOptions{}, 0);
  // The Trainer calls the loss once per step (no accumulation): the time between calls is one whole step.
  std::vector<double> at, rss, peak, cached;
  const auto t0 = std::chrono::steady_clock::now();
  const train::RowsLossFn timed = [&](const std::vector<size_t>& idx) {
    at.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
    rss.push_back(rss_mb());
    peak.push_back(peak_rss_mb());
    cached.push_back(double(host_cached_bytes()) / (1024.0 * 1024.0));
    return dpo(idx);
  };
  train::TrainingArguments args;
  args.output_dir = (std::filesystem::temp_directory_path() / ("glint_bench_dpo_" + std::to_string(getpid()))).string();
  args.max_steps = steps + 1;  // the last call only closes the timing of step `steps`
  args.per_device_train_batch_size = n;
  args.learning_rate = 1e-5;
  args.logging_steps = 1000;
  args.device = "cpu";
  train::Trainer trainer(frozen ? policy->parameters() : adapters, args, rows.size(), timed, config.json);
  trainer.train();
  std::filesystem::remove_all(args.output_dir);

  std::vector<double> secs;
  // MiB at the end of each step: resident, peak so far, and held by glint's host allocator cache for reuse.
  std::printf("step  seconds   rss_mb  peak_mb  cached_mb\n");
  for (size_t i = 0; i + 1 < at.size(); ++i) {
    secs.push_back(at[i + 1] - at[i]);
    std::printf("%4zu  %7.3f  %7.1f  %7.1f  %9.1f\n", i + 1, secs.back(), rss[i + 1], peak[i + 1], cached[i + 1]);
  }
  // The first step is the warm-up (first-touch pages, allocator caches); the median is over the rest.
  const double step_s = bench::median(std::vector<double>(secs.begin() + 1, secs.end()));
  std::printf(
      "glint DPO (ref %s, %lld pairs, %lld threads): %.3f s/step (median), RSS %.0f MiB after step 1, "
      "%.0f MiB at the end, peak %.0f MiB\n",
      ref_kind.c_str(), (long long)n, (long long)omp_get_max_threads(), step_s, rss[1], rss.back(), peak_rss_mb());
  std::printf("%s\n", nlohmann::json{{"step_seconds", step_s},
                                     {"peak_rss_mb", peak_rss_mb()},
                                     {"rss_mb_per_step", std::vector<double>(rss.begin() + 1, rss.end())},
                                     {"peak_rss_mb_per_step", std::vector<double>(peak.begin() + 1, peak.end())},
                                     {"ref", ref_kind},
                                     {"threads", omp_get_max_threads()},
                                     {"pairs", n}}
                          .dump()
                          .c_str());
}
