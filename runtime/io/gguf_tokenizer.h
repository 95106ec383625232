// The tokenizer a GGUF file embeds (tokenizer.ggml.*), rebuilt as the tokenizer.json and tokenizer_config.json that
// transformers writes after AutoTokenizer.from_pretrained(..., gguf_file=...): byte-level BPE for "gpt2",
// sentencepiece-style byte-fallback BPE for "llama" (merges recovered from the scores when the file has none).
#pragma once
#include <nlohmann/json.hpp>

#include "runtime/io/gguf.h"

namespace glint::io {

struct GgufTokenizer {
  nlohmann::json tokenizer;         // tokenizer.json; null when the file has no tokenizer
  nlohmann::json tokenizer_config;  // tokenizer_config.json, chat_template included
};

// Throws "[gguf] <file>: ..." for an unsupported tokenizer model or inconsistent tokenizer metadata.
GgufTokenizer gguf_tokenizer(const GgufFile& file);

}  // namespace glint::io
