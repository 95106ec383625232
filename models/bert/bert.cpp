#include "models/bert/bert.h"

#include "runtime/core/error.h"
#include "runtime/io/checkpoint.h"
#include "runtime/ops/attention.h"
#include "runtime/ops/elementwise.h"

namespace glint {

BertConfig BertConfig::from_json(const io::JsonFile& j) {
  BertConfig c;
  c.vocab_size = j.get<int64_t>("vocab_size");
  c.hidden_size = j.get<int64_t>("hidden_size");
  c.num_hidden_layers = j.get<int64_t>("num_hidden_layers");
  c.num_attention_heads = j.get<int64_t>("num_attention_heads");
  c.intermediate_size = j.get<int64_t>("intermediate_size");
  c.max_position_embeddings = j.get_or<int64_t>("max_position_embeddings", c.max_position_embeddings);
  c.type_vocab_size = j.get_or<int64_t>("type_vocab_size", c.type_vocab_size);
  c.layer_norm_eps = j.get_or<float>("layer_norm_eps", c.layer_norm_eps);
  c.hidden_act = j.get_or<std::string>("hidden_act", c.hidden_act);
  const auto pos_type = j.get_or<std::string>("position_embedding_type", "absolute");
  GLINT_CHECK(pos_type == "absolute", "bert", "unsupported position_embedding_type '", pos_type, "'");
  GLINT_CHECK(c.hidden_act == "gelu" || c.hidden_act == "gelu_new", "bert", "unsupported hidden_act '", c.hidden_act,
              "'");
  GLINT_CHECK(c.hidden_size % c.num_attention_heads == 0, "bert", "hidden_size ", c.hidden_size,
              " is not divisible by num_attention_heads ", c.num_attention_heads);
  return c;
}

std::unique_ptr<BertModel> BertModel::from_pretrained(const std::string& folder, Device device, DType dtype) {
  const nn::VarBuilder vb(nn::checkpoint_weights(io::Checkpoint::open(folder)), device, dtype);
  return std::make_unique<BertModel>(BertConfig::from_json(io::load_json(folder + "/config.json")), vb);
}

BertModel::BertModel(const BertConfig& config, const nn::VarBuilder& root) : config_(config) {
  const nn::VarBuilder vb = root.contains("bert.embeddings.word_embeddings.weight") ? root.pp("bert") : root;
  device_ = vb.device();
  const int64_t C = config.hidden_size, I = config.intermediate_size;
  const double eps = config.layer_norm_eps;
  const nn::VarBuilder emb = vb.pp("embeddings");
  word_ = nn::Embedding(emb.pp("word_embeddings"), config.vocab_size, C);
  position_ = nn::Embedding(emb.pp("position_embeddings"), config.max_position_embeddings, C);
  token_type_ = nn::Embedding(emb.pp("token_type_embeddings"), config.type_vocab_size, C);
  emb_ln_ = nn::LayerNorm(emb.pp("LayerNorm"), C, eps);
  has_pooler_ = vb.contains("pooler.dense.weight");
  if (has_pooler_) pooler_ = nn::Linear(vb.pp("pooler").pp("dense"), C, C, true);
  for (int64_t i = 0; i < config.num_hidden_layers; ++i) {
    const nn::VarBuilder l = vb.pp("encoder").pp("layer").pp(i);
    const nn::VarBuilder self = l.pp("attention").pp("self"), out = l.pp("attention").pp("output");
    layers_.push_back(Layer{
        nn::Linear(self.pp("query"), C, C, true), nn::Linear(self.pp("key"), C, C, true),
        nn::Linear(self.pp("value"), C, C, true), nn::Linear(out.pp("dense"), C, C, true),
        nn::LayerNorm(out.pp("LayerNorm"), C, eps), nn::Linear(l.pp("intermediate").pp("dense"), C, I, true),
        nn::Linear(l.pp("output").pp("dense"), I, C, true), nn::LayerNorm(l.pp("output").pp("LayerNorm"), C, eps)});
  }
}

Tensor BertModel::layer(const Layer& l, const Tensor& x, const Tensor& attention_mask) const {
  const int64_t B = x.dim(0), T = x.dim(1), C = config_.hidden_size, H = config_.num_attention_heads;
  // (B,T,C) -> (B,H,T,D)
  auto heads = [&](const nn::Linear& proj) { return proj.forward(x).reshape({B, T, H, C / H}).transpose(1, 2); };
  AttentionOptions opts;
  opts.mask = attention_mask;  // padding keys only: every token attends both ways
  const Tensor y = scaled_dot_product_attention(heads(l.query), heads(l.key), heads(l.value), opts);
  const Tensor h = l.attn_ln.forward(add(l.attn_out.forward(y.transpose(1, 2).reshape({B, T, C})), x));  // (B,T,C)
  const Tensor inter = l.intermediate.forward(h);  // (B,T,intermediate)
  return l.out_ln.forward(add(l.output.forward(config_.hidden_act == "gelu" ? gelu(inter) : gelu_tanh(inter)), h));
}

Tensor BertModel::forward(const Tensor& input_ids, const Tensor& attention_mask, const Tensor& token_type_ids) const {
  GLINT_CHECK(input_ids.ndim() == 2, "bert", "input_ids must be (B, T), got ", input_ids.str());
  const int64_t B = input_ids.dim(0), T = input_ids.dim(1);
  GLINT_CHECK(T <= config_.max_position_embeddings, "bert", T, " tokens exceed max_position_embeddings ",
              config_.max_position_embeddings);
  const Tensor positions = arange(T, DType::i64, Device::cpu()).unsqueeze(0).expand({B, T});
  const Tensor types = token_type_ids.defined() ? token_type_ids : zeros({B, T}, DType::i64, Device::cpu());
  Tensor x =
      emb_ln_.forward(add(add(word_.forward(input_ids), position_.forward(positions)), token_type_.forward(types)));
  const Tensor mask = attention_mask.defined() ? attention_mask.to(device_) : Tensor{};
  for (const Layer& l : layers_) x = layer(l, x, mask);
  return x.to(DType::f32);
}

Tensor BertModel::pool(const Tensor& last_hidden_state) const {
  GLINT_CHECK(has_pooler(), "bert", "this checkpoint has no pooler weights");
  const Tensor first = last_hidden_state.select(1, 0).to(word_.weight().dtype());  // (B,C)
  return tanh(pooler_.forward(first)).to(DType::f32);
}

}  // namespace glint
