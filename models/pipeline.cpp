#include "models/pipeline.h"

#include <filesystem>

#include "models/auto.h"
#include "models/tokenizers/auto_tokenizer.h"
#include "runtime/core/error.h"
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
  const std::string path = io::resolve_model(path_or_id);
  // A GGUF file has no generation_config.json; its bos/eos ids sit in the config, which generate() falls back to
  // (transformers' from_pretrained(gguf_file=...) sees the same).
  GenerationOptions defaults;
  if (std::filesystem::exists(std::filesystem::path(path) / "generation_config.json"))
    defaults = generation_options_from(io::load_generation_config(path));
  return TextGenerationPipeline(
      AutoModelForCausalLM::from_pretrained(path, {options.device, options.dtype, options.device_map}),
      AutoTokenizer::from_pretrained(path), std::move(defaults));
}

}  // namespace glint
