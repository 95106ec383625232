#include "models/llama/sequence_classification.h"

#include <filesystem>
#include <fstream>

#include "runtime/core/error.h"
#include "runtime/io/atomic_file.h"
#include "runtime/io/checkpoint.h"
#include "runtime/io/safetensors.h"
#include "runtime/io/safetensors_dtype.h"
#include "runtime/ops/indexing.h"
#include "runtime/ops/matmul.h"

namespace glint {
namespace fs = std::filesystem;
namespace {

// The checkpoint's weights, with score.weight made fresh (transformers' init) when the folder holds a causal LM.
class WithFreshScore final : public nn::WeightSource {
 public:
  WithFreshScore(std::shared_ptr<const nn::WeightSource> checkpoint, std::shared_ptr<const nn::WeightSource> fresh)
      : checkpoint_(std::move(checkpoint)), fresh_(std::move(fresh)) {}
  bool contains(const std::string& name) const override {
    return name == "score.weight" || checkpoint_->contains(name);
  }
  Tensor load(const std::string& name, const Shape& shape, Device device, std::optional<DType> dtype) const override {
    const bool fresh = name == "score.weight" && !checkpoint_->contains(name);
    return (fresh ? fresh_ : checkpoint_)->load(name, shape, device, dtype);
  }

 private:
  std::shared_ptr<const nn::WeightSource> checkpoint_, fresh_;
};

}  // namespace

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
  // A 4-bit base computes in f32 unless told otherwise (as AutoModelForCausalLM loads one).
  const std::optional<DType> dtype = options.load_in_4bit && !options.dtype ? DType::f32 : options.dtype;
  const auto checkpoint = io::Checkpoint::open(folder);
  const auto weights = nn::checkpoint_weights(checkpoint);
  // The head starts in the decoder's dtype: the asked one, else the stored embeddings'.
  const DType head_dtype = dtype.value_or(io::st_read_dtype(checkpoint->info("model.embed_tokens.weight").dtype));
  const auto fresh = nn::init_weights(seed, config.get_or<double>("initializer_range", 0.02), head_dtype);
  const nn::VarBuilder vb(std::make_shared<WithFreshScore>(weights, fresh), device, dtype);
  m->decoder_ = std::make_unique<LlamaForCausalLM>(cfg, vb);
  // QLoRA: the decoder's Linear layers go 4-bit before the head exists, so the head stays dense (transformers
  // keeps the last module, the classifier, out of bitsandbytes' conversion).
  if (options.load_in_4bit) nn::quantize_linears(*vb.parameters(), options.quant4);
  m->parameters_ = vb.parameters();

  if (num_labels <= 0) {
    const nlohmann::json& c = m->config_;
    num_labels = c.contains("num_labels") ? c["num_labels"].get<int64_t>()
                 : c.contains("id2label") ? int64_t(c["id2label"].size())
                                          : 1;
  }
  m->num_labels_ = num_labels;
  m->pad_token_id_ = pad_token_id ? pad_token_id : cfg.pad_token_id;
  m->score_ = nn::Linear(vb.pp("score"), cfg.hidden_size, num_labels, false);
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
  return score_.forward(pooled).to(DType::f32);
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
