#include "models/gpt2/gpt2.h"

#include "runtime/core/error.h"
#include "runtime/io/checkpoint.h"
#include "runtime/ops/attention.h"
#include "runtime/ops/elementwise.h"
#include "runtime/ops/indexing.h"
#include "runtime/ops/matmul.h"
#include "runtime/ops/norm.h"

namespace glint {

GPT2Config GPT2Config::from_json(const io::JsonFile& j) {
  GPT2Config c;
  c.vocab_size = j.get<int64_t>("vocab_size");
  c.n_positions = j.get_or<int64_t>("n_positions", c.n_positions);
  c.n_embd = j.get<int64_t>("n_embd");
  c.n_layer = j.get<int64_t>("n_layer");
  c.n_head = j.get<int64_t>("n_head");
  c.layer_norm_epsilon = j.get_or<float>("layer_norm_epsilon", c.layer_norm_epsilon);
  c.activation_function = j.get_or<std::string>("activation_function", c.activation_function);
  c.bos_token_id = j.get_opt<int64_t>("bos_token_id");
  c.eos_token_id = j.get_opt<int64_t>("eos_token_id");
  GLINT_CHECK(c.n_embd % c.n_head == 0, "gpt2", "n_embd ", c.n_embd, " is not divisible by n_head ", c.n_head);
  GLINT_CHECK(c.activation_function == "gelu_new" || c.activation_function == "gelu_pytorch_tanh" ||
                  c.activation_function == "gelu",
              "gpt2", "unsupported activation_function '", c.activation_function, "'");
  return c;
}

std::unique_ptr<GPT2LMHeadModel> GPT2LMHeadModel::from_pretrained(const std::string& folder, Device device,
                                                                  DType dtype) {
  auto config = GPT2Config::from_json(io::load_json(folder + "/config.json"));
  return std::make_unique<GPT2LMHeadModel>(config, folder, device, dtype);
}

GPT2LMHeadModel::GPT2LMHeadModel(const GPT2Config& config, const std::string& folder, Device device, DType dtype)
    : config_(config), device_(device) {
  lm_config_.vocab_size = config.vocab_size;
  lm_config_.num_layers = config.n_layer;
  lm_config_.num_kv_heads = config.n_head;
  lm_config_.head_dim = config.n_embd / config.n_head;
  lm_config_.max_position_embeddings = config.n_positions;
  if (config.eos_token_id) lm_config_.eos_token_ids = {*config.eos_token_id};
  lm_config_.bos_token_id = config.bos_token_id;
  lm_config_.dtype = dtype;

  auto ckpt = io::Checkpoint::open(folder);
  // Checkpoints from GPT2Model have no "transformer." prefix; GPT2LMHeadModel's do.
  const std::string prefix = ckpt->contains("transformer.wte.weight") ? "transformer." : "";
  auto load = [&](const std::string& name) { return ckpt->tensor(prefix + name, device, dtype); };
  wte_ = load("wte.weight");
  wpe_ = load("wpe.weight");
  ln_f_w_ = load("ln_f.weight");
  ln_f_b_ = load("ln_f.bias");
  for (int64_t i = 0; i < config.n_layer; ++i) {
    const std::string h = "h." + std::to_string(i) + ".";
    // Conv1D weights are (in, out); the transposed view is the (out, in) nn.Linear weight that linear() takes.
    auto conv1d = [&](const std::string& name) { return load(h + name + ".weight").transpose(0, 1); };
    blocks_.push_back(Block{load(h + "ln_1.weight"), load(h + "ln_1.bias"), conv1d("attn.c_attn"),
                            load(h + "attn.c_attn.bias"), conv1d("attn.c_proj"), load(h + "attn.c_proj.bias"),
                            load(h + "ln_2.weight"), load(h + "ln_2.bias"), conv1d("mlp.c_fc"),
                            load(h + "mlp.c_fc.bias"), conv1d("mlp.c_proj"), load(h + "mlp.c_proj.bias")});
  }
}

KVCache GPT2LMHeadModel::new_cache(int64_t batch, int64_t max_length) const {
  KVCache cache;
  cache.max_length = max_length;
  const Shape shape{batch, config_.n_head, max_length, lm_config_.head_dim};
  for (int64_t i = 0; i < config_.n_layer; ++i) {
    cache.keys.push_back(zeros(shape, lm_config_.dtype, device_));
    cache.values.push_back(zeros(shape, lm_config_.dtype, device_));
  }
  return cache;
}

Tensor GPT2LMHeadModel::attention(const Block& b, int layer, const Tensor& x, const Tensor& attention_mask,
                                  KVCache* cache) const {
  const int64_t B = x.dim(0), T = x.dim(1), C = config_.n_embd, H = config_.n_head, D = C / H;
  const Tensor qkv = linear(x, b.c_attn_w, b.c_attn_b);  // (B,T,3C)
  // (B,T,C) -> (B,H,T,D) views of the fused projection.
  auto heads = [&](int64_t part) {
    return qkv.slice(2, part * C, (part + 1) * C).reshape({B, T, H, D}).transpose(1, 2);
  };
  Tensor q = heads(0), k = heads(1), v = heads(2);
  if (cache) {
    const int64_t start = cache->length, end = start + T;
    GLINT_CHECK(end <= cache->max_length, "gpt2", "KV cache of ", cache->max_length, " tokens cannot take ", end);
    cache->keys[layer].slice(2, start, end).copy_from(k);
    cache->values[layer].slice(2, start, end).copy_from(v);
    k = cache->keys[layer].slice(2, 0, end);
    v = cache->values[layer].slice(2, 0, end);
  }
  AttentionOptions opts;
  opts.causal = true;
  opts.mask = attention_mask;
  const Tensor y = scaled_dot_product_attention(q, k, v, opts);  // (B,H,T,D)
  return linear(y.transpose(1, 2).reshape({B, T, C}), b.attn_proj_w, b.attn_proj_b);
}

Tensor GPT2LMHeadModel::forward(const Tensor& input_ids, const Tensor& attention_mask, const Tensor& positions,
                                KVCache* cache, bool last_only) const {
  GLINT_CHECK(input_ids.ndim() == 2, "gpt2", "input_ids must be (B, T), got ", input_ids.str());
  const int64_t B = input_ids.dim(0), T = input_ids.dim(1), past = cache ? cache->length : 0;
  Tensor pos = positions;
  if (!pos.defined()) pos = add(arange(T, DType::i64, Device::cpu()), double(past)).unsqueeze(0).expand({B, T});
  GLINT_CHECK(past + T <= config_.n_positions, "gpt2", past + T, " tokens exceed n_positions ", config_.n_positions);
  Tensor mask = attention_mask.defined() ? attention_mask.to(device_) : Tensor{};
  Tensor x = add(embedding(wte_, input_ids), embedding(wpe_, pos));  // (B,T,C)
  for (int i = 0; i < int(blocks_.size()); ++i) {
    const Block& b = blocks_[i];
    x = add(x, attention(b, i, layer_norm(x, b.ln_1_w, b.ln_1_b, config_.layer_norm_epsilon), mask, cache));
    const Tensor h = layer_norm(x, b.ln_2_w, b.ln_2_b, config_.layer_norm_epsilon);
    const Tensor act = config_.activation_function == "gelu" ? gelu(linear(h, b.c_fc_w, b.c_fc_b))
                                                             : gelu_tanh(linear(h, b.c_fc_w, b.c_fc_b));
    x = add(x, linear(act, b.mlp_proj_w, b.mlp_proj_b));  // (B,T,C)
  }
  if (cache) cache->length += T;
  if (last_only) x = x.slice(1, T - 1, T);
  x = layer_norm(x, ln_f_w_, ln_f_b_, config_.layer_norm_epsilon);
  return linear(x, wte_).to(DType::f32);  // (B,T,vocab): the LM head is tied to wte
}

}  // namespace glint
