#include "models/bert/sentence_embedder.h"

#include <algorithm>
#include <filesystem>

#include "runtime/core/error.h"
#include "runtime/ops/elementwise.h"
#include "runtime/ops/indexing.h"
#include "runtime/ops/reduce.h"

namespace glint {

namespace fs = std::filesystem;

std::unique_ptr<SentenceEmbedder> SentenceEmbedder::from_pretrained(const std::string& folder, Device device,
                                                                    DType dtype) {
  std::unique_ptr<SentenceEmbedder> e(
      new SentenceEmbedder(Tokenizer::from_pretrained(folder), BertModel::from_pretrained(folder, device, dtype)));
  const fs::path root(folder);
  if (fs::exists(root / "modules.json")) {
    const auto modules = io::read_json_file((root / "modules.json").string());
    for (const auto& m : modules) {
      const auto type = m.value("type", std::string());
      if (type.ends_with(".Normalize")) {
        e->normalize_ = true;
      } else if (type.ends_with(".Pooling")) {
        const auto cfg = io::load_json((root / m.value("path", std::string()) / "config.json").string());
        const bool mean = cfg.get_or<bool>("pooling_mode_mean_tokens", false);
        const bool cls = cfg.get_or<bool>("pooling_mode_cls_token", false);
        GLINT_CHECK(mean != cls && !cfg.get_or<bool>("pooling_mode_max_tokens", false) &&
                        !cfg.get_or<bool>("pooling_mode_mean_sqrt_len_tokens", false),
                    "sentence_embedder", "only mean or CLS pooling is supported (", folder, ")");
        e->pooling_ = mean ? Pooling::mean : Pooling::cls;
      } else {
        GLINT_CHECK(type.ends_with(".Transformer"), "sentence_embedder", "unsupported module '", type, "' in ", folder);
      }
    }
  }
  if (fs::exists(root / "sentence_bert_config.json"))
    e->max_seq_length_ =
        io::load_json((root / "sentence_bert_config.json").string()).get_or<int64_t>("max_seq_length", 0);
  return e;
}

Tensor SentenceEmbedder::embed_batch(const std::vector<std::string>& texts) const {
  EncodeOptions opts;
  opts.padding = Padding::kLongest;
  opts.max_length = max_seq_length_ ? max_seq_length_ : size_t(model_->config().max_position_embeddings);
  const auto encodings = tokenizer_.encode_batch(texts, opts);
  const int64_t B = int64_t(encodings.size()), T = int64_t(encodings[0].size());
  std::vector<int64_t> ids, mask, types;
  for (const auto& e : encodings) {
    ids.insert(ids.end(), e.ids.begin(), e.ids.end());
    mask.insert(mask.end(), e.attention_mask.begin(), e.attention_mask.end());
    types.insert(types.end(), e.type_ids.begin(), e.type_ids.end());
  }
  auto matrix = [&](const std::vector<int64_t>& v) {
    return Tensor::from_vector(v, {B, T}, DType::i64, Device::cpu());
  };
  const Tensor mask_t = matrix(mask);
  const Tensor h = model_->forward(matrix(ids), mask_t, matrix(types));  // (B,T,C) f32
  Tensor pooled;
  if (pooling_ == Pooling::cls) {
    pooled = h.select(1, 0);
  } else {
    // sentence-transformers: sum(h * mask) / clamp(sum(mask), min=1e-9).
    const Tensor m = mask_t.to(DType::f32).to(model_->device()).unsqueeze(-1);  // (B,T,1)
    pooled = div(sum(mul(h, m), 1), clamp(sum(m, 1), 1e-9, std::nullopt));      // (B,C)
  }
  if (normalize_) {
    // torch.nn.functional.normalize: x / max(||x||_2, 1e-12).
    pooled = div(pooled, clamp(sqrt(sum(mul(pooled, pooled), -1, /*keepdim=*/true)), 1e-12, std::nullopt));
  }
  return pooled;
}

Tensor SentenceEmbedder::embed(const std::vector<std::string>& texts, size_t batch_size) const {
  GLINT_CHECK(batch_size > 0, "sentence_embedder", "batch_size must be positive");
  std::vector<Tensor> parts;
  for (size_t start = 0; start < texts.size(); start += batch_size) {
    const std::vector<std::string> batch(texts.begin() + start,
                                         texts.begin() + std::min(texts.size(), start + batch_size));
    parts.push_back(embed_batch(batch).to(Device::cpu()));
  }
  if (parts.empty()) return zeros({0, dim()}, DType::f32, Device::cpu());
  return parts.size() == 1 ? parts[0] : concat(parts, 0);
}

}  // namespace glint
