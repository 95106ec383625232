#include "models/llama/sequence_classification.h"

#include <filesystem>
#include <fstream>

#include "runtime/core/error.h"
#include "runtime/io/atomic_file.h"
#include "runtime/io/checkpoint.h"
#include "runtime/io/safetensors.h"
#include "runtime/ops/indexing.h"
#include "runtime/ops/matmul.h"

namespace glint {
namespace fs = std::filesystem;

std::unique_ptr<LlamaForSequenceClassification> LlamaForSequenceClassification::from_pretrained(
    const std::string& folder, const ModelLoadOptions& options, int64_t num_labels, std::optional<int64_t> pad_token_id,
    uint64_t seed) {
  const fs::path dir(folder);
  GLINT_CHECK(fs::is_directory(dir), "sequence_classification", folder, ": not a model folder");
  std::ifstream in(dir / "config.json");
  GLINT_CHECK(in, "sequence_classification", (dir / "config.json").string(), ": cannot read");
  std::unique_ptr<LlamaForSequenceClassification> m(new LlamaForSequenceClassification());
  try {
    m->config_ = nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    fail("sequence_classification", (dir / "config.json").string(), ": ", e.what());
  }
  const io::JsonFile config = io::load_json((dir / "config.json").string());
  LlamaConfig cfg = LlamaConfig::from_json(config);
  // The decoder alone: with the head tied to the embeddings no lm_head.weight is read (a classifier has none).
  cfg.tie_word_embeddings = true;
  const Device device = options.device.value_or(default_device());
  const auto checkpoint = io::Checkpoint::open(folder);
  const nn::VarBuilder vb(nn::checkpoint_weights(checkpoint), device, options.dtype);
  m->decoder_ = std::make_unique<LlamaForCausalLM>(cfg, vb);
  m->parameters_ = vb.parameters();

  if (num_labels <= 0) {
    const nlohmann::json& c = m->config_;
    num_labels = c.contains("num_labels") ? c["num_labels"].get<int64_t>()
                 : c.contains("id2label") ? int64_t(c["id2label"].size())
                                          : 1;
  }
  m->num_labels_ = num_labels;
  m->pad_token_id_ = pad_token_id ? pad_token_id : cfg.pad_token_id;
  const Shape shape = {num_labels, cfg.hidden_size};
  const DType dtype = m->parameters_->at("model.embed_tokens.weight").dtype();  // the decoder's
  if (vb.contains("score.weight")) {
    m->score_ = vb.get("score.weight", shape);
  } else {
    const double std = config.get_or<double>("initializer_range", 0.02);
    m->score_ = nn::init_weights(seed, std, dtype)->load("score.weight", shape, device, dtype);
    m->parameters_->add("score.weight", m->score_);
  }
  m->config_["architectures"] = {"LlamaForSequenceClassification"};
  m->config_["num_labels"] = num_labels;
  if (m->pad_token_id_) m->config_["pad_token_id"] = *m->pad_token_id_;
  m->config_.erase("id2label");
  m->config_.erase("label2id");
  return m;
}

Tensor LlamaForSequenceClassification::forward(const Tensor& input_ids, const Tensor& attention_mask) const {
  GLINT_CHECK(input_ids.defined() && input_ids.ndim() == 2, "sequence_classification", "input_ids must be (B, T), got ",
              input_ids.defined() ? shape_str(input_ids.shape()) : "undefined");
  const int64_t b = input_ids.dim(0), t = input_ids.dim(1);
  GLINT_CHECK(pad_token_id_ || b == 1, "sequence_classification",
              "a batch of more than one row needs pad_token_id to find each row's last token");
  // transformers: the last position whose id is not the pad token (0 when every id is padding).
  const std::vector<int64_t> ids = input_ids.to(Device::cpu()).to(DType::i64).contiguous().to_vector<int64_t>();
  std::vector<int64_t> rows(static_cast<size_t>(b));
  for (int64_t i = 0; i < b; ++i) {
    int64_t last = pad_token_id_ ? 0 : t - 1;
    if (pad_token_id_)
      for (int64_t j = 0; j < t; ++j)
        if (ids[size_t(i * t + j)] != *pad_token_id_) last = j;
    rows[size_t(i)] = i * t + last;
  }
  const Tensor h = decoder_->hidden_states(input_ids, attention_mask, {}, nullptr);  // (B, T, C)
  const Tensor idx = Tensor::from_vector(rows, {b}, DType::i64, h.device());
  const Tensor pooled = index_select(h.reshape({b * t, h.dim(2)}), 0, idx);  // (B, C)
  return linear(pooled, score_).to(DType::f32);
}

void LlamaForSequenceClassification::save_pretrained(const std::string& folder) const {
  fs::create_directories(folder);
  std::vector<std::pair<std::string, Tensor>> tensors;
  for (const auto& [name, value] : parameters_->entries()) tensors.emplace_back(name, value.detach());
  io::save_safetensors((fs::path(folder) / "model.safetensors").string(), tensors, {{"format", "pt"}});
  io::write_file_atomically((fs::path(folder) / "config.json").string(), config_.dump(2) + "\n",
                            "sequence_classification");
}

}  // namespace glint
