// A transformers-like façade: glint::pipeline("text-generation", "path-or-id", {device, dtype}) loads the model
// (AutoModelForCausalLM), its tokenizer and generation_config.json, and turns prompts or chat messages into text.
#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "models/causal_lm.h"
#include "models/device_map.h"
#include "models/generation/generate.h"
#include "models/tokenizers/tokenizer.h"

namespace glint {

struct PipelineOptions {
  std::optional<Device> device;         // default_device() when unset
  std::optional<DType> dtype;           // unset: the dtype the weights are stored in
  std::optional<DeviceMap> device_map;  // spreads the model over devices instead (ModelLoadOptions::device_map)
};

class TextGenerationPipeline {
 public:
  TextGenerationPipeline(std::unique_ptr<CausalLM> model, Tokenizer tokenizer, GenerationOptions defaults);

  // The completion of `prompt` (encoded with the tokenizer's special tokens), without the prompt itself: what
  // transformers returns with return_full_text=False. Special tokens are skipped in the text.
  std::string operator()(const std::string& prompt, const GenerationOptions& options,
                         GenerationStats* stats = nullptr) const;
  std::string operator()(const std::string& prompt) const { return (*this)(prompt, defaults_); }
  // The assistant's reply to `messages` ([{"role": ..., "content": ...}, ...]) through the model's chat template.
  std::string chat(const nlohmann::ordered_json& messages, const GenerationOptions& options,
                   GenerationStats* stats = nullptr) const;
  std::string chat(const nlohmann::ordered_json& messages) const { return chat(messages, defaults_); }

  // generation_config.json's settings (or GenerationOptions' defaults): start from these to change a few.
  const GenerationOptions& defaults() const { return defaults_; }
  const CausalLM& model() const { return *model_; }
  const Tokenizer& tokenizer() const { return tokenizer_; }

 private:
  std::string complete(const std::vector<int64_t>& prompt, const GenerationOptions& options,
                       GenerationStats* stats) const;

  std::unique_ptr<CausalLM> model_;
  Tokenizer tokenizer_;
  GenerationOptions defaults_;
};

// `task` must be "text-generation"; `path_or_id` is a model folder, a model id in the Hugging Face cache or a .gguf
// file (its embedded tokenizer and chat template are used).
TextGenerationPipeline pipeline(const std::string& task, const std::string& path_or_id,
                                const PipelineOptions& options = {});

}  // namespace glint
