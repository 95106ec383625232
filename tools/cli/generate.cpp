// `glint generate MODEL --prompt ...`: text generation through the pipeline, streaming the text to stdout as it is
// produced and the prefill / decode speeds to stderr at the end.
#include <cstdio>
#include <memory>
#include <optional>

#include "models/peft/lora.h"
#include "models/pipeline.h"
#include "runtime/core/error.h"
#include "tools/cli/commands.h"

namespace glint::cli {
namespace {

struct GenerateArgs {
  std::string model, prompt, device, dtype, device_map, adapter;
  bool chat = false, greedy = false;
  std::optional<int64_t> max_new_tokens, top_k, seed;
  std::optional<double> temperature, top_p, min_p, repetition_penalty;
};

void run(const GenerateArgs& a) {
  PipelineOptions po;
  if (!a.device.empty()) po.device = Device::parse(a.device);
  if (!a.dtype.empty()) po.dtype = parse_dtype(a.dtype);
  if (!a.device_map.empty()) po.device_map = DeviceMap::parse(a.device_map);
  const TextGenerationPipeline pipe = pipeline("text-generation", a.model, po);
  std::optional<peft::LoraModel> lora;
  if (!a.adapter.empty()) lora.emplace(pipe.model()).load_adapter(a.adapter);

  // generation_config.json's settings, then the flags given. A sampling flag turns sampling on (temperature 0 or
  // --greedy turns it off), as users of llama.cpp-style CLIs expect.
  GenerationOptions o = pipe.defaults();
  if (a.max_new_tokens) o.max_new_tokens = *a.max_new_tokens;
  if (a.temperature) o.temperature = *a.temperature;
  if (a.top_p) o.top_p = *a.top_p;
  if (a.top_k) o.top_k = *a.top_k;
  if (a.min_p) o.min_p = *a.min_p;
  if (a.repetition_penalty) o.repetition_penalty = *a.repetition_penalty;
  if (a.seed) o.seed = uint64_t(*a.seed);
  if (a.temperature || a.top_p || a.top_k || a.min_p || a.seed) o.do_sample = true;
  if (a.greedy || o.temperature == 0) {
    o.do_sample = false;
    o.temperature = 1;
  }
  o.on_text = [](int64_t, const std::string& piece) {
    std::fwrite(piece.data(), 1, piece.size(), stdout);
    std::fflush(stdout);
  };

  GenerationStats stats;
  if (a.chat)
    pipe.chat(nlohmann::ordered_json::array({{{"role", "user"}, {"content", a.prompt}}}), o, &stats);
  else
    pipe(a.prompt, o, &stats);
  std::printf("\n");
  std::fflush(stdout);  // the text before the statistics when both go to one terminal or file
  const int64_t decoded = std::max<int64_t>(stats.generated_tokens - 1, 0);
  std::fprintf(
      stderr, "prefill: %lld tokens in %.3f s (%.1f tokens/s); decode: %lld tokens in %.3f s (%.1f tokens/s)\n",
      (long long)stats.prompt_tokens, stats.prefill_seconds,
      stats.prefill_seconds > 0 ? double(stats.prompt_tokens) / stats.prefill_seconds : 0.0, (long long)decoded,
      stats.decode_seconds, stats.decode_seconds > 0 ? double(decoded) / stats.decode_seconds : 0.0);
}

void add_generate_command(CLI::App& app) {
  auto a = std::make_shared<GenerateArgs>();
  auto* cmd = app.add_subcommand("generate", "Generate text with a causal language model, streaming it to stdout");
  cmd->add_option("model", a->model, "A model folder or a model id in the Hugging Face cache")->required();
  cmd->add_option("--prompt,-p", a->prompt, "The prompt (the user message with --chat)")->required();
  cmd->add_flag("--chat", a->chat, "Wrap the prompt as a user message in the model's chat template");
  cmd->add_option("--max-new-tokens,-n", a->max_new_tokens,
                  "Tokens to generate at most (default: "
                  "generation_config.json, else 32)");
  cmd->add_option("--temperature", a->temperature, "Sampling temperature; 0 means greedy");
  cmd->add_option("--top-p", a->top_p, "Nucleus sampling: keep the most likely tokens up to this probability");
  cmd->add_option("--top-k", a->top_k, "Keep the k most likely tokens (0: all)");
  cmd->add_option("--min-p", a->min_p, "Drop tokens below this fraction of the most likely token's probability");
  cmd->add_option("--repetition-penalty", a->repetition_penalty, "Penalise tokens already seen (> 1 penalises)");
  cmd->add_option("--seed", a->seed, "Seed for sampling (reproducible within glint, not with torch)");
  cmd->add_flag("--greedy", a->greedy, "Greedy decoding even if generation_config.json samples");
  cmd->add_option("--device", a->device, "cpu, vulkan or vulkan:N (default: the global --device)");
  cmd->add_option("--device-map", a->device_map,
                  "Spread the model over devices: auto or balanced (by free memory, CPU for the rest), or a JSON "
                  "file of module -> device as accelerate writes it (Llama family)");
  cmd->add_option("--dtype", a->dtype, "Compute dtype f32, f16 or bf16 (default: as stored)");
  cmd->add_option("--adapter", a->adapter, "A LoRA adapter folder (peft format) to apply to the model");
  cmd->callback([a] { run(*a); });
}

const CommandRegistration reg(add_generate_command);

}  // namespace
}  // namespace glint::cli
