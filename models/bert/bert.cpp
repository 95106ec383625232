#include "models/bert/bert.h"

#include "runtime/core/error.h"
#include "runtime/io/checkpoint.h"
#include "runtime/ops/attention.h"
#include "runtime/ops/elementwise.h"
#include "runtime/ops/indexing.h"
#include "runtime/ops/matmul.h"
#include "runtime/ops/norm.h"

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
  return std::make_unique<BertModel>(BertConfig::from_json(io::load_json(folder + "/config.json")), folder, device,
                                     dtype);
}

BertModel::BertModel(const BertConfig& config, const std::string& folder, Device device, DType dtype)
    : config_(config), device_(device), dtype_(dtype) {
  auto ckpt = io::Checkpoint::open(folder);
  // BertModel checkpoints have no prefix; those saved from a task head (BertForMaskedLM, ...) have "bert.".
  const std::string prefix = ckpt->contains("bert.embeddings.word_embeddings.weight") ? "bert." : "";
  auto load = [&](const std::string& name) { return ckpt->tensor(prefix + name, device, dtype); };
  word_ = load("embeddings.word_embeddings.weight");
  position_ = load("embeddings.position_embeddings.weight");
  token_type_ = load("embeddings.token_type_embeddings.weight");
  emb_ln_w_ = load("embeddings.LayerNorm.weight");
  emb_ln_b_ = load("embeddings.LayerNorm.bias");
  if (ckpt->contains(prefix + "pooler.dense.weight")) {
    pooler_w_ = load("pooler.dense.weight");
    pooler_b_ = load("pooler.dense.bias");
  }
  for (int64_t i = 0; i < config.num_hidden_layers; ++i) {
    const std::string p = "encoder.layer." + std::to_string(i) + ".";
    auto w = [&](const std::string& name) { return load(p + name + ".weight"); };
    auto b = [&](const std::string& name) { return load(p + name + ".bias"); };
    layers_.push_back(Layer{w("attention.self.query"), b("attention.self.query"), w("attention.self.key"),
                            b("attention.self.key"), w("attention.self.value"), b("attention.self.value"),
                            w("attention.output.dense"), b("attention.output.dense"), w("attention.output.LayerNorm"),
                            b("attention.output.LayerNorm"), w("intermediate.dense"), b("intermediate.dense"),
                            w("output.dense"), b("output.dense"), w("output.LayerNorm"), b("output.LayerNorm")});
  }
}

Tensor BertModel::layer(const Layer& l, const Tensor& x, const Tensor& attention_mask) const {
  const int64_t B = x.dim(0), T = x.dim(1), C = config_.hidden_size, H = config_.num_attention_heads;
  // (B,T,C) -> (B,H,T,D)
  auto heads = [&](const Tensor& w, const Tensor& b) {
    return linear(x, w, b).reshape({B, T, H, C / H}).transpose(1, 2);
  };
  AttentionOptions opts;
  opts.mask = attention_mask;  // padding keys only: every token attends both ways
  const Tensor y = scaled_dot_product_attention(heads(l.q_w, l.q_b), heads(l.k_w, l.k_b), heads(l.v_w, l.v_b), opts);
  const Tensor attn = linear(y.transpose(1, 2).reshape({B, T, C}), l.attn_out_w, l.attn_out_b);
  const Tensor h = layer_norm(add(attn, x), l.attn_ln_w, l.attn_ln_b, config_.layer_norm_eps);  // (B,T,C)
  const Tensor inter = linear(h, l.inter_w, l.inter_b);
  const Tensor act = config_.hidden_act == "gelu" ? gelu(inter) : gelu_tanh(inter);  // (B,T,intermediate)
  return layer_norm(add(linear(act, l.out_w, l.out_b), h), l.out_ln_w, l.out_ln_b, config_.layer_norm_eps);
}

Tensor BertModel::forward(const Tensor& input_ids, const Tensor& attention_mask, const Tensor& token_type_ids) const {
  GLINT_CHECK(input_ids.ndim() == 2, "bert", "input_ids must be (B, T), got ", input_ids.str());
  const int64_t B = input_ids.dim(0), T = input_ids.dim(1);
  GLINT_CHECK(T <= config_.max_position_embeddings, "bert", T, " tokens exceed max_position_embeddings ",
              config_.max_position_embeddings);
  const Tensor positions = arange(T, DType::i64, Device::cpu()).unsqueeze(0).expand({B, T});
  const Tensor types = token_type_ids.defined() ? token_type_ids : zeros({B, T}, DType::i64, Device::cpu());
  Tensor x = add(add(embedding(word_, input_ids), embedding(position_, positions)), embedding(token_type_, types));
  x = layer_norm(x, emb_ln_w_, emb_ln_b_, config_.layer_norm_eps);  // (B,T,C)
  const Tensor mask = attention_mask.defined() ? attention_mask.to(device_) : Tensor{};
  for (const Layer& l : layers_) x = layer(l, x, mask);
  return x.to(DType::f32);
}

Tensor BertModel::pool(const Tensor& last_hidden_state) const {
  GLINT_CHECK(has_pooler(), "bert", "this checkpoint has no pooler weights");
  return tanh(linear(last_hidden_state.select(1, 0).to(dtype_), pooler_w_, pooler_b_)).to(DType::f32);
}

}  // namespace glint
