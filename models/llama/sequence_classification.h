// LlamaForSequenceClassification (and the Mistral / Qwen2 / Qwen3 variants over the same decoder): the decoder's
// final hidden states scored by a bias-free linear head score.weight (num_labels, hidden), taken at each row's last
// non-padding token as transformers does (the last position whose id is not pad_token_id). A reward model is this
// with num_labels = 1. Loads and saves the HF layout (model.* and score.weight, architectures
// LlamaForSequenceClassification) that transformers' AutoModelForSequenceClassification reads.
#pragma once
#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "models/auto.h"
#include "models/llama/llama.h"

namespace glint {

class LlamaForSequenceClassification {
 public:
  // From a model folder: a sequence-classification checkpoint, or a causal LM (its lm_head is ignored and the head
  // starts as transformers initialises it: normal(0, initializer_range), seeded by `seed`). options.load_in_4bit
  // makes the decoder's Linear layers frozen 4-bit ones (QLoRA) and keeps the score head dense. num_labels 0 takes
  // config.json's num_labels (or the size of id2label), else 1. pad_token_id overrides config.json's.
  static std::unique_ptr<LlamaForSequenceClassification> from_pretrained(const std::string& folder,
                                                                         const ModelLoadOptions& options = {},
                                                                         int64_t num_labels = 0,
                                                                         std::optional<int64_t> pad_token_id = {},
                                                                         uint64_t seed = 42);

  // Scores (B, num_labels) f32 for input_ids (B, T) i64; attention_mask (B, T) or undefined for all ones.
  // Differentiable with respect to the parameters.
  Tensor forward(const Tensor& input_ids, const Tensor& attention_mask = {}) const;

  // The decoder's parameters by HF name followed by score.weight; its Linear layers (module "score" last) are what
  // peft::LoraModel attaches to.
  const nn::ParameterStore& parameters() const { return *parameters_; }
  int64_t num_labels() const { return num_labels_; }
  // config.json for save_pretrained: the loaded one with architectures, num_labels and pad_token_id set.
  const nlohmann::json& config_json() const { return config_; }
  // Writes folder/config.json and folder/model.safetensors.
  void save_pretrained(const std::string& folder) const;

 private:
  LlamaForSequenceClassification() = default;

  std::unique_ptr<LlamaForCausalLM> decoder_;  // its head is tied and unused: only hidden_states runs
  nn::Linear score_;                           // weight (num_labels, hidden), registered as module "score"
  std::shared_ptr<nn::ParameterStore> parameters_;
  std::optional<int64_t> pad_token_id_;
  int64_t num_labels_ = 1;
  nlohmann::json config_;
};

}  // namespace glint
