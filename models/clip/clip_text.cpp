#include "models/clip/clip_text.h"

#include "runtime/core/error.h"
#include "runtime/io/checkpoint.h"
#include "runtime/ops/attention.h"
#include "runtime/ops/elementwise.h"

namespace glint {

ClipTextConfig ClipTextConfig::from_json(const io::JsonFile& j) {
  ClipTextConfig c;
  c.vocab_size = j.get<int64_t>("vocab_size");
  c.hidden_size = j.get<int64_t>("hidden_size");
  c.intermediate_size = j.get<int64_t>("intermediate_size");
  c.num_hidden_layers = j.get<int64_t>("num_hidden_layers");
  c.num_attention_heads = j.get<int64_t>("num_attention_heads");
  c.max_position_embeddings = j.get_or<int64_t>("max_position_embeddings", c.max_position_embeddings);
  c.layer_norm_eps = j.get_or<float>("layer_norm_eps", c.layer_norm_eps);
  c.hidden_act = j.get_or<std::string>("hidden_act", c.hidden_act);
  GLINT_CHECK(c.hidden_act == "quick_gelu" || c.hidden_act == "gelu", "clip", j.where, ": unsupported hidden_act '",
              c.hidden_act, "'");
  GLINT_CHECK(c.num_attention_heads > 0 && c.hidden_size % c.num_attention_heads == 0, "clip", j.where,
              ": hidden_size ", c.hidden_size, " is not divisible by num_attention_heads ", c.num_attention_heads);
  return c;
}

std::unique_ptr<ClipTextModel> ClipTextModel::from_pretrained(const std::string& folder, Device device, DType dtype) {
  const nn::VarBuilder vb(nn::checkpoint_weights(io::Checkpoint::open(folder)), device, dtype);
  return std::make_unique<ClipTextModel>(ClipTextConfig::from_json(io::load_json(folder + "/config.json")), vb);
}

ClipTextModel::ClipTextModel(const ClipTextConfig& config, const nn::VarBuilder& root) : config_(config) {
  const nn::VarBuilder vb =
      root.contains("text_model.embeddings.token_embedding.weight") ? root.pp("text_model") : root;
  device_ = vb.device();
  const int64_t C = config.hidden_size, I = config.intermediate_size;
  const double eps = config.layer_norm_eps;
  token_ = nn::Embedding(vb.pp("embeddings").pp("token_embedding"), config.vocab_size, C);
  position_ = nn::Embedding(vb.pp("embeddings").pp("position_embedding"), config.max_position_embeddings, C);
  for (int64_t i = 0; i < config.num_hidden_layers; ++i) {
    const nn::VarBuilder l = vb.pp("encoder").pp("layers").pp(i), attn = l.pp("self_attn");
    layers_.push_back(Layer{nn::LayerNorm(l.pp("layer_norm1"), C, eps), nn::Linear(attn.pp("q_proj"), C, C, true),
                            nn::Linear(attn.pp("k_proj"), C, C, true), nn::Linear(attn.pp("v_proj"), C, C, true),
                            nn::Linear(attn.pp("out_proj"), C, C, true), nn::LayerNorm(l.pp("layer_norm2"), C, eps),
                            nn::Linear(l.pp("mlp").pp("fc1"), C, I, true),
                            nn::Linear(l.pp("mlp").pp("fc2"), I, C, true)});
  }
  final_ln_ = nn::LayerNorm(vb.pp("final_layer_norm"), C, eps);
}

Tensor ClipTextModel::layer(const Layer& l, const Tensor& x) const {
  const int64_t B = x.dim(0), T = x.dim(1), C = config_.hidden_size, H = config_.num_attention_heads;
  const Tensor h = l.ln1.forward(x);
  // (B,T,C) -> (B,H,T,D)
  auto heads = [&](const nn::Linear& proj) { return proj.forward(h).reshape({B, T, H, C / H}).transpose(1, 2); };
  AttentionOptions opts;
  opts.causal = true;  // CLIP's text transformer is causal even though it is used as an encoder
  const Tensor y = scaled_dot_product_attention(heads(l.q), heads(l.k), heads(l.v), opts);
  const Tensor r = add(x, l.out.forward(y.transpose(1, 2).reshape({B, T, C})));
  const Tensor inter = l.fc1.forward(l.ln2.forward(r));
  // quick_gelu(x) = x * sigmoid(1.702 x)
  const Tensor act = config_.hidden_act == "gelu" ? gelu(inter) : mul(inter, sigmoid(mul(inter, 1.702)));
  return add(r, l.fc2.forward(act));
}

Tensor ClipTextModel::forward(const Tensor& input_ids, int64_t clip_skip) const {
  GLINT_CHECK(input_ids.ndim() == 2, "clip", "input_ids must be (B, T), got ", input_ids.str());
  const int64_t B = input_ids.dim(0), T = input_ids.dim(1);
  GLINT_CHECK(T >= 1 && T <= config_.max_position_embeddings, "clip", T,
              " tokens: need 1 to max_position_embeddings = ", config_.max_position_embeddings);
  GLINT_CHECK(clip_skip >= 0 && clip_skip < config_.num_hidden_layers, "clip", "clip_skip ", clip_skip,
              " is out of range for ", config_.num_hidden_layers, " layers");
  const Tensor positions = arange(T, DType::i64, Device::cpu()).unsqueeze(0).expand({B, T});
  Tensor x = add(token_.forward(input_ids), position_.forward(positions));
  for (size_t i = 0; i + clip_skip < layers_.size(); ++i) x = layer(layers_[i], x);
  return final_ln_.forward(x).to(DType::f32);
}

}  // namespace glint
