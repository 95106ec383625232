// What generation needs from any causal language model architecture (Llama family, GPT-2, ...): a forward pass
// over new tokens that appends to a preallocated KV cache. Architectures implement CausalLM; the AutoModel registry
// (models/auto.h) picks one from config.json.
#pragma once
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "models/nn/var_builder.h"
#include "runtime/core/tensor.h"
#include "runtime/ops/loss.h"

namespace glint {

struct GenerationOptions;  // models/generation/generate.h
struct GenerationStats;
class Tokenizer;

// Per-layer key and value tensors, preallocated (batch, num_kv_heads, max_length, head_dim) on the model's device;
// positions [0, length) are filled. Architectures without rotary use the same layout.
struct KVCache {
  std::vector<Tensor> keys, values;
  int64_t length = 0;      // tokens already cached (the same for every sequence: padding is masked, not skipped)
  int64_t max_length = 0;  // capacity
};

struct CausalLMConfig {
  int64_t vocab_size = 0, num_layers = 0, num_kv_heads = 0, head_dim = 0, max_position_embeddings = 0;
  std::vector<int64_t> eos_token_ids;  // from config.json (generation_config.json may override in generation)
  std::optional<int64_t> bos_token_id, pad_token_id;
  DType dtype = DType::f32;            // weights' compute dtype
};

class CausalLM {
 public:
  virtual ~CausalLM() = default;
  virtual const CausalLMConfig& config() const = 0;
  virtual Device device() const = 0;
  // A cache for `batch` sequences of up to `max_length` tokens in total.
  virtual KVCache new_cache(int64_t batch, int64_t max_length) const = 0;
  // input_ids (B, T) i64. attention_mask (B, cache.length + T) with 1 for real tokens and 0 for padding (left
  // padding in batched generation), or undefined for all ones. positions (B, T) i64, or undefined for
  // cache.length + arange(T) (generation passes cumsum(attention_mask) - 1 as transformers' generate does).
  // With a cache, the new keys/values are written at [cache.length, cache.length + T) and cache.length grows by T.
  // Returns logits (B, T, vocab) in f32, or (B, 1, vocab) for the last position only when `last_only`.
  virtual Tensor forward(const Tensor& input_ids, const Tensor& attention_mask, const Tensor& positions,
                         KVCache* cache, bool last_only = false) const = 0;

  // Training. The mean next-token cross-entropy of input_ids (B, T) against labels (B, T) (i64, -100 = ignored),
  // shifted inside as transformers' ForCausalLMLoss does: position t is scored on labels[:, t + 1]. Differentiable
  // with respect to the parameters. The default materialises the logits; architectures override it with
  // linear_cross_entropy so a large vocabulary's f32 logits never exist at once.
  // attention_mask may also be an additive f32 (B, 1, T, T) mask (packed examples); positions (B, T) i64 or
  // undefined for 0..T-1.
  virtual Tensor loss(const Tensor& input_ids, const Tensor& labels, const Tensor& attention_mask = {},
                      const CrossEntropyOptions& opts = {}, const Tensor& positions = {}) const;
  // Recompute each transformer block in backward instead of keeping its activations (Llama family; an error
  // elsewhere).
  virtual void set_gradient_checkpointing(bool on);

  // The parameters by HF name, as the loader built them (empty for a model made without AutoModelForCausalLM).
  const nn::ParameterStore& parameters() const { return *parameters_; }
  void set_parameters(std::shared_ptr<nn::ParameterStore> parameters) { parameters_ = std::move(parameters); }

  // transformers' model.generate(), for every architecture alike: glint::generate() (models/generation/generate.h,
  // which defines these) over this model. Returns each prompt's new tokens; `tokenizer` is needed only for stop
  // strings and on_text.
  std::vector<std::vector<int64_t>> generate(const std::vector<std::vector<int64_t>>& prompts,
                                             const GenerationOptions& options, const Tokenizer* tokenizer = nullptr,
                                             GenerationStats* stats = nullptr) const;
  // One prompt as a tokenizer encodes it (Encoding::ids); the new tokens go straight to Tokenizer::decode.
  std::vector<uint32_t> generate(const std::vector<uint32_t>& prompt, const GenerationOptions& options,
                                 const Tokenizer* tokenizer = nullptr, GenerationStats* stats = nullptr) const;

 private:
  std::shared_ptr<nn::ParameterStore> parameters_ = std::make_shared<nn::ParameterStore>();
};

// The positions of (B, T) labels that score the logits of positions 0 .. T-2, flattened: labels[:, 1:] as i64 on the
// CPU, (B * (T - 1)).
Tensor shifted_labels(const Tensor& labels);

}  // namespace glint
