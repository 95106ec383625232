// The HF view of a llama GGUF file. Names and config keys follow transformers' GGUF loader
// (modeling_gguf_pytorch_utils.py, integrations/gguf), so config.json matches what AutoConfig writes for the file.
#include "runtime/io/gguf_model.h"

#include <utf8proc.h>

#include <cstring>
#include <map>
#include <optional>

#include "runtime/core/error.h"
#include "runtime/io/gguf_tokenizer.h"

namespace glint::io {

namespace {

using nlohmann::json;

const std::map<std::string_view, std::string_view>& block_names() {
  static const std::map<std::string_view, std::string_view> m = {
      {"attn_norm", "input_layernorm"}, {"attn_q", "self_attn.q_proj"},      {"attn_k", "self_attn.k_proj"},
      {"attn_v", "self_attn.v_proj"},   {"attn_output", "self_attn.o_proj"}, {"ffn_norm", "post_attention_layernorm"},
      {"ffn_gate", "mlp.gate_proj"},    {"ffn_up", "mlp.up_proj"},           {"ffn_down", "mlp.down_proj"},
  };
  return m;
}

const std::map<std::string_view, std::string_view>& top_names() {
  static const std::map<std::string_view, std::string_view> m = {
      {"token_embd", "model.embed_tokens"}, {"output_norm", "model.norm"}, {"output", "lm_head"}};
  return m;
}

bool all_digits(std::string_view s) {
  return !s.empty() && s.find_first_not_of("0123456789") == std::string_view::npos;
}

// Config values go into JSON, whose strings must be UTF-8.
std::optional<std::string> utf8_string(const GgufFile& f, std::string_view key) {
  auto s = f.find_string(key);
  if (!s) return std::nullopt;
  auto* p = reinterpret_cast<const utf8proc_uint8_t*>(s->data());
  for (utf8proc_ssize_t left = utf8proc_ssize_t(s->size()), n; left > 0; p += n, left -= n) {
    utf8proc_int32_t cp;
    if ((n = utf8proc_iterate(p, left, &cp)) <= 0) fail("gguf", f.path(), ": ", key, " is not valid UTF-8");
  }
  return std::string(*s);
}

int64_t positive(const GgufFile& f, std::string_view key) {
  int64_t v = f.at(key).as_int();
  if (v <= 0) fail("gguf", f.path(), ": ", key, " = ", v, " must be positive");
  return v;
}

json llama_config(const GgufFile& f) {
  const int64_t heads = positive(f, "llama.attention.head_count");
  const int64_t hidden = positive(f, "llama.embedding_length");
  const int64_t kv_heads =
      f.find("llama.attention.head_count_kv") ? positive(f, "llama.attention.head_count_kv") : heads;
  if (heads % kv_heads != 0)
    fail("gguf", f.path(), ": ", heads, " attention heads do not split into ", kv_heads, " key/value heads");
  const int64_t head_dim =
      f.find("llama.attention.key_length") ? positive(f, "llama.attention.key_length") : hidden / heads;
  const double rope_theta = f.find_float("llama.rope.freq_base").value_or(10000.0);

  json c;
  c["architectures"] = {"LlamaForCausalLM"};
  c["model_type"] = "llama";
  c["hidden_size"] = hidden;
  c["intermediate_size"] = positive(f, "llama.feed_forward_length");
  c["num_hidden_layers"] = positive(f, "llama.block_count");
  c["num_attention_heads"] = heads;
  c["num_key_value_heads"] = kv_heads;
  c["head_dim"] = head_dim;
  c["rms_norm_eps"] = f.find_float("llama.attention.layer_norm_rms_epsilon").value_or(1e-6);
  c["max_position_embeddings"] = f.find_int("llama.context_length").value_or(2048);
  // transformers 4 reads rope_theta, 5 reads rope_parameters: write both.
  c["rope_theta"] = rope_theta;
  c["rope_parameters"] = {{"rope_theta", rope_theta}, {"rope_type", "default"}};
  if (auto type = utf8_string(f, "llama.rope.scaling.type"); type && *type != "none") {
    double factor = f.find_float("llama.rope.scaling.factor").value_or(1.0);
    c["rope_scaling"] = {{"rope_type", *type}, {"factor", factor}};
    c["rope_parameters"]["rope_type"] = *type;
    c["rope_parameters"]["factor"] = factor;
  }
  int64_t vocab = 0;
  if (auto v = f.find_int("llama.vocab_size"))
    vocab = *v;
  else if (const GgufValue* tokens = f.find("tokenizer.ggml.tokens"))
    vocab = int64_t(tokens->size());
  else if (const GgufTensorInfo* e = f.find_tensor("token_embd.weight"); e && e->dims.size() == 2)
    vocab = e->dims[1];
  c["vocab_size"] = vocab;
  c["tie_word_embeddings"] = f.find_tensor("output.weight") == nullptr;
  for (auto [hf, key] : {std::pair{"bos_token_id", "tokenizer.ggml.bos_token_id"},
                         {"eos_token_id", "tokenizer.ggml.eos_token_id"},
                         {"unk_token_id", "tokenizer.ggml.unknown_token_id"},
                         {"pad_token_id", "tokenizer.ggml.padding_token_id"}}) {
    auto id = f.find_int(key);
    c[hf] = id ? json(*id) : json(nullptr);
  }
  // LlamaConfig's defaults for what a GGUF file does not record.
  c["hidden_act"] = "silu";
  c["attention_bias"] = false;
  c["attention_dropout"] = 0.0;
  c["mlp_bias"] = false;
  c["initializer_range"] = 0.02;
  c["pretraining_tp"] = 1;
  c["use_cache"] = true;
  if (auto name = utf8_string(f, "general.name")) c["_model_name_or_path"] = *name;
  return c;
}

}  // namespace

std::string gguf_to_hf_name(std::string_view name) {
  size_t dot = name.rfind('.');
  if (dot == std::string_view::npos) return std::string(name);
  std::string_view stem = name.substr(0, dot), suffix = name.substr(dot);  // suffix keeps its dot
  if (stem.starts_with("blk.")) {
    size_t d2 = stem.find('.', 4);
    if (d2 == std::string_view::npos) return std::string(name);
    std::string_view layer = stem.substr(4, d2 - 4), part = stem.substr(d2 + 1);
    auto it = block_names().find(part);
    if (!all_digits(layer) || it == block_names().end()) return std::string(name);
    return detail::concat("model.layers.", layer, ".", it->second, suffix);
  }
  auto it = top_names().find(stem);
  return it == top_names().end() ? std::string(name) : detail::concat(it->second, suffix);
}

Tensor unpermute_rope_rows(const Tensor& t, int64_t n_heads) {
  if (t.ndim() < 1 || n_heads <= 0 || t.dim(0) % (2 * n_heads) != 0)
    fail("gguf", "cannot undo the rope permutation of ", t.str(), " over ", n_heads, " heads");
  const int64_t rows = t.dim(0), half = rows / n_heads / 2;
  Tensor src = t.contiguous();
  Tensor out = Tensor::empty(t.shape(), t.dtype(), Device::cpu());
  const size_t row_bytes = size_t(t.numel() / rows) * dtype_size(t.dtype());
  const auto* in = src.data<std::byte>();
  auto* dst = out.data<std::byte>();
  const int64_t head_dim = 2 * half;
#pragma omp parallel for if (rows > 256)
  for (int64_t r = 0; r < rows; ++r) {
    int64_t h = r / head_dim, within = r % head_dim, j = within / half, i = within % half;
    std::memcpy(dst + size_t(r) * row_bytes, in + size_t(h * head_dim + 2 * i + j) * row_bytes, row_bytes);
  }
  return out;
}

GgufModel load_gguf(const std::string& path) { return gguf_model(GgufFile::open(path)); }

GgufModel gguf_model(std::shared_ptr<const GgufFile> file) {
  GgufModel m;
  m.file_ = std::move(file);
  const GgufFile& f = *m.file_;
  const std::string& path = f.path();
  std::string_view arch = f.find_string("general.architecture").value_or("");
  if (arch != "llama")
    fail("gguf", path, ": architecture '", arch, "' is not supported (glint imports llama GGUF files)");
  GgufTokenizer tok = gguf_tokenizer(f);
  m.tokenizer = std::move(tok.tokenizer);
  m.tokenizer_config = std::move(tok.tokenizer_config);
  m.config = llama_config(f);

  const int64_t heads = m.config["num_attention_heads"], kv_heads = m.config["num_key_value_heads"];
  for (const GgufTensorInfo& t : f.tensors()) {
    std::string hf = gguf_to_hf_name(t.name);
    int64_t rope_heads = 0;
    if (hf.ends_with("self_attn.q_proj.weight")) rope_heads = heads;
    if (hf.ends_with("self_attn.k_proj.weight")) rope_heads = kv_heads;
    if (rope_heads > 0) {
      Shape s = t.shape();
      if (s.size() != 2 || s[0] % (2 * rope_heads) != 0)
        fail("gguf", path, ": tensor '", t.name, "' ", shape_str(s), " does not split into ", rope_heads,
             " heads of even size");
    }
    if (!m.sources_.emplace(hf, GgufModel::Source{&t, rope_heads}).second)
      fail("gguf", path, ": two tensors map to the HF name '", hf, "'");
    m.names.push_back(std::move(hf));
  }
  return m;
}

const GgufModel::Source& GgufModel::source(const std::string& name) const {
  auto it = sources_.find(name);
  if (it == sources_.end()) fail("gguf", file_->path(), ": no tensor maps to the HF name '", name, "'");
  return it->second;
}

const GgufTensorInfo& GgufModel::info(const std::string& name) const { return *source(name).info; }

Tensor GgufModel::tensor(const std::string& name, DType dtype, Device device) const {
  const Source& s = source(name);
  if (s.rope_heads == 0) return file_->load(*s.info, dtype, device);
  return unpermute_rope_rows(file_->load(*s.info, dtype, Device::cpu()), s.rope_heads).to(device);
}

}  // namespace glint::io
