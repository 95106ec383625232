#include "models/gpt2/gpt2.h"

#include "models/auto.h"
#include "runtime/core/error.h"
#include "runtime/io/checkpoint.h"
#include "runtime/ops/attention.h"
#include "runtime/ops/elementwise.h"

namespace glint {

GPT2Config GPT2Config::from_json(const io::JsonFile& j) {
  GPT2Config c;
  c.vocab_size = j.get<int64_t>("vocab_size");
  c.n_positions = j.get_or<int64_t>("n_positions", c.n_positions);
  c.n_embd = j.get<int64_t>("n_embd");
  c.n_layer = j.get<int64_t>("n_layer");
  c.n_head = j.get<int64_t>("n_head");
  c.layer_norm_epsilon = j.get_or<float>("layer_norm_epsilon", c.layer_norm_epsilon);
  c.n_inner = j.get_opt<int64_t>("n_inner").value_or(4 * c.n_embd);  // null in most configs
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
  const nn::VarBuilder vb(nn::checkpoint_weights(io::Checkpoint::open(folder)), device, dtype);
  return std::make_unique<GPT2LMHeadModel>(GPT2Config::from_json(io::load_json(folder + "/config.json")), vb);
}

namespace {

// HF's Conv1D: y = x W + b with W stored (in, out), the transpose of nn.Linear's weight.
nn::Linear conv1d(const nn::VarBuilder& vb, int64_t in, int64_t out) {
  return nn::Linear(vb.get("weight", {in, out}).transpose(0, 1), vb.get("bias", {out}));
}

}  // namespace

GPT2LMHeadModel::GPT2LMHeadModel(const GPT2Config& config, const nn::VarBuilder& root) : config_(config) {
  const int64_t C = config.n_embd;
  // GPT2LMHeadModel checkpoints name the body "transformer."; GPT2Model's have no prefix.
  const nn::VarBuilder vb = root.contains("transformer.wte.weight") ? root.pp("transformer") : root;
  device_ = vb.device();
  wte_ = nn::Embedding(vb.pp("wte"), config.vocab_size, C);
  wpe_ = nn::Embedding(vb.pp("wpe"), config.n_positions, C);
  ln_f_ = nn::LayerNorm(vb.pp("ln_f"), C, config.layer_norm_epsilon);
  lm_head_ = nn::Linear(wte_.weight());
  for (int64_t i = 0; i < config.n_layer; ++i) {
    const nn::VarBuilder h = vb.pp("h").pp(i);
    blocks_.push_back(Block{nn::LayerNorm(h.pp("ln_1"), C, config.layer_norm_epsilon),
                            nn::LayerNorm(h.pp("ln_2"), C, config.layer_norm_epsilon),
                            conv1d(h.pp("attn").pp("c_attn"), C, 3 * C), conv1d(h.pp("attn").pp("c_proj"), C, C),
                            conv1d(h.pp("mlp").pp("c_fc"), C, config.n_inner),
                            conv1d(h.pp("mlp").pp("c_proj"), config.n_inner, C)});
  }
  lm_config_.vocab_size = config.vocab_size;
  lm_config_.num_layers = config.n_layer;
  lm_config_.num_kv_heads = config.n_head;
  lm_config_.head_dim = C / config.n_head;
  lm_config_.max_position_embeddings = config.n_positions;
  if (config.eos_token_id) lm_config_.eos_token_ids = {*config.eos_token_id};
  lm_config_.bos_token_id = config.bos_token_id;
  lm_config_.dtype = wte_.weight().dtype();
}

namespace {

const CausalLMRegistration gpt2_reg("gpt2",
                                    [](const io::JsonFile& config,
                                       const nn::VarBuilder& vb) -> std::unique_ptr<CausalLM> {
                                      return std::make_unique<GPT2LMHeadModel>(GPT2Config::from_json(config), vb);
                                    },
                                    {"GPT2LMHeadModel"});

}  // namespace

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
  const Tensor qkv = b.c_attn.forward(x);  // (B,T,3C)
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
  return b.attn_proj.forward(y.transpose(1, 2).reshape({B, T, C}));
}

Tensor GPT2LMHeadModel::forward(const Tensor& input_ids, const Tensor& attention_mask, const Tensor& positions,
                                KVCache* cache, bool last_only) const {
  GLINT_CHECK(input_ids.ndim() == 2, "gpt2", "input_ids must be (B, T), got ", input_ids.str());
  const int64_t B = input_ids.dim(0), T = input_ids.dim(1), past = cache ? cache->length : 0;
  Tensor pos = positions;
  if (!pos.defined()) pos = add(arange(T, DType::i64, Device::cpu()), double(past)).unsqueeze(0).expand({B, T});
  GLINT_CHECK(past + T <= config_.n_positions, "gpt2", past + T, " tokens exceed n_positions ", config_.n_positions);
  Tensor mask = attention_mask.defined() ? attention_mask.to(device_) : Tensor{};
  Tensor x = add(wte_.forward(input_ids), wpe_.forward(pos));  // (B,T,C)
  for (int i = 0; i < int(blocks_.size()); ++i) {
    const Block& b = blocks_[i];
    x = add(x, attention(b, i, b.ln_1.forward(x), mask, cache));
    const Tensor h = b.c_fc.forward(b.ln_2.forward(x));                                              // (B,T,n_inner)
    x = add(x, b.mlp_proj.forward(config_.activation_function == "gelu" ? gelu(h) : gelu_tanh(h)));  // (B,T,C)
  }
  if (cache) cache->length += T;
  if (last_only) x = x.slice(1, T - 1, T);
  return lm_head_.forward(ln_f_.forward(x)).to(DType::f32);  // (B,T,vocab)
}

}  // namespace glint
