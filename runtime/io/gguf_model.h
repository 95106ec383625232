// A llama-architecture GGUF file seen as an HF model folder: config.json, tokenizer.json, tokenizer_config.json
// and weights under their HF names, dequantised on request, with llama.cpp's q/k row permutation undone.
#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "runtime/core/tensor.h"
#include "runtime/io/gguf.h"

namespace glint::io {

struct GgufModel {
  nlohmann::json config, tokenizer, tokenizer_config;
  std::vector<std::string> names;  // HF tensor names, in file order

  // The tensor `name` (an HF name) as dtype (f32, f16 or bf16) on device.
  Tensor tensor(const std::string& name, DType dtype = DType::f32, Device device = Device::cpu()) const;
  // The GGUF tensor behind an HF name (type, ggml dims, bytes).
  const GgufTensorInfo& info(const std::string& name) const;
  const GgufFile& file() const { return *file_; }

 private:
  friend GgufModel gguf_model(std::shared_ptr<const GgufFile> file);
  struct Source {
    const GgufTensorInfo* info;
    int64_t rope_heads;  // > 0: rows were permuted for rope over this many heads
  };
  const Source& source(const std::string& name) const;
  std::shared_ptr<const GgufFile> file_;
  std::unordered_map<std::string, Source> sources_;
};

// Maps and validates `path` and builds the HF view; throws "[gguf] <path>: ..." naming the key or tensor at fault.
GgufModel load_gguf(const std::string& path);
// The HF view of a file already parsed.
GgufModel gguf_model(std::shared_ptr<const GgufFile> file);

// "blk.3.attn_q.weight" -> "model.layers.3.self_attn.q_proj.weight"; names it does not know are returned unchanged.
std::string gguf_to_hf_name(std::string_view gguf_name);

// Undoes convert_hf_to_gguf.py's permute() of q/k rows: within each head, GGUF row 2i + j holds HF row
// j * head_dim / 2 + i. `t` is a CPU matrix whose rows split into `n_heads` heads of even size.
Tensor unpermute_rope_rows(const Tensor& t, int64_t n_heads);

}  // namespace glint::io
