// Sentence embeddings as sentence-transformers computes them for BERT models such as all-MiniLM-L6-v2: the modules
// listed in modules.json — Transformer (BertModel), Pooling (1_Pooling/config.json: mean or CLS) and optionally
// Normalize (L2) — applied to texts tokenized, truncated to max_seq_length and padded per batch.
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "models/bert/bert.h"
#include "models/tokenizers/tokenizer.h"

namespace glint {

class SentenceEmbedder {
 public:
  enum class Pooling { mean, cls };

  // A sentence-transformers folder (modules.json, sentence_bert_config.json, 1_Pooling/), or a plain BERT folder,
  // which gets mean pooling without normalisation as sentence-transformers gives it.
  static std::unique_ptr<SentenceEmbedder> from_pretrained(const std::string& folder, Device device = default_device(),
                                                           DType dtype = DType::f32);

  // (N, dim) f32 on the CPU, one row per text, computed `batch_size` texts at a time.
  Tensor embed(const std::vector<std::string>& texts, size_t batch_size = 32) const;
  // sentence-transformers' name for embed(): model.encode(texts).
  Tensor encode(const std::vector<std::string>& texts, size_t batch_size = 32) const {
    return embed(texts, batch_size);
  }
  int64_t dim() const { return model_->config().hidden_size; }
  const BertModel& model() const { return *model_; }

 private:
  SentenceEmbedder(Tokenizer tokenizer, std::unique_ptr<BertModel> model)
      : tokenizer_(std::move(tokenizer)), model_(std::move(model)) {}
  // (B, dim) on the model's device for one padded batch.
  Tensor embed_batch(const std::vector<std::string>& texts) const;

  Tokenizer tokenizer_;
  std::unique_ptr<BertModel> model_;
  Pooling pooling_ = Pooling::mean;
  bool normalize_ = false;
  size_t max_seq_length_ = 0;  // 0: the model's max_position_embeddings
};

}  // namespace glint
