#include "models/pipeline.h"

#include <filesystem>

#include "models/auto.h"
#include "runtime/core/error.h"
#include "runtime/io/gguf_model.h"
#include "runtime/io/hf_configs.h"
#include "runtime/io/hub.h"

namespace glint {

TextGenerationPipeline::TextGenerationPipeline(std::unique_ptr<CausalLM> model, Tokenizer tokenizer,
                                               GenerationOptions defaults)
    : model_(std::move(model)), tokenizer_(std::move(tokenizer)), defaults_(std::move(defaults)) {}

std::string TextGenerationPipeline::complete(const std::vector<int64_t>& prompt, const GenerationOptions& options,
                                             GenerationStats* stats) const {
  const std::vector<int64_t> ids = generate(*model_, &tokenizer_, {prompt}, options, stats)[0];
  return tokenizer_.decode(std::vector<uint32_t>(ids.begin(), ids.end()), /*skip_special_tokens=*/true);
}

namespace {
std::vector<int64_t> encode(const Tokenizer& tokenizer, const std::string& text, bool add_special_tokens) {
  const std::vector<uint32_t> ids = tokenizer.encode(text, add_special_tokens).ids;
  return {ids.begin(), ids.end()};
}
}  // namespace

std::string TextGenerationPipeline::operator()(const std::string& prompt, const GenerationOptions& options,
                                               GenerationStats* stats) const {
  return complete(encode(tokenizer_, prompt, true), options, stats);
}

std::string TextGenerationPipeline::chat(const nlohmann::ordered_json& messages, const GenerationOptions& options,
                                         GenerationStats* stats) const {
  // The template writes the special tokens itself (bos included), as transformers' chat pipeline relies on.
  const std::string prompt = tokenizer_.apply_chat_template(messages, /*add_generation_prompt=*/true);
  return complete(encode(tokenizer_, prompt, false), options, stats);
}

TextGenerationPipeline pipeline(const std::string& task, const std::string& path_or_id,
                                const PipelineOptions& options) {
  GLINT_CHECK(task == "text-generation", "pipeline", "unsupported task \"", task, "\"; supported: text-generation");
  if (path_or_id.ends_with(".gguf")) {
    // The file carries its tokenizer (as tokenizer.json + tokenizer_config.json) and its bos/eos ids in the config,
    // which generate() falls back to: transformers' from_pretrained(gguf_file=...) sees the same.
    const io::GgufModel gguf = io::load_gguf(path_or_id);
    GLINT_CHECK(gguf.tokenizer.is_object(), "pipeline", path_or_id, ": the GGUF file has no tokenizer");
    Tokenizer tokenizer = Tokenizer::from_json(gguf.tokenizer, path_or_id);
    tokenizer.set_config(tokenizer_config_from_json(gguf.tokenizer_config, path_or_id + ": tokenizer_config"));
    return TextGenerationPipeline(AutoModelForCausalLM::from_pretrained(path_or_id, {options.device, options.dtype}),
                                  std::move(tokenizer), {});
  }
  const std::string folder = io::resolve_model(path_or_id);
  GenerationOptions defaults;
  if (std::filesystem::exists(std::filesystem::path(folder) / "generation_config.json"))
    defaults = generation_options_from(io::load_generation_config(folder));
  return TextGenerationPipeline(
      AutoModelForCausalLM::from_pretrained(folder, {options.device, options.dtype, options.device_map}),
      Tokenizer::from_pretrained(folder), std::move(defaults));
}

}  // namespace glint
