// AutoTokenizer: the tokenizer of whatever from_pretrained is pointed at — a model folder, a hub id in the Hugging
// Face cache, a checkpoint file inside a folder, or a .gguf file with its tokenizer embedded — so that model and
// tokenizer load from the same string, as in transformers:
//   glint::Tokenizer tok = glint::AutoTokenizer::from_pretrained("HuggingFaceTB/SmolLM2-135M-Instruct");
#pragma once
#include <string>

#include "models/tokenizers/tokenizer.h"

namespace glint {

namespace io {
struct GgufModel;
}

class AutoTokenizer {
 public:
  // `path_or_id` as io::resolve_model takes it; a .gguf file gives its embedded tokenizer and tokenizer_config, a
  // file of another kind the tokenizer of the folder holding it.
  static Tokenizer from_pretrained(const std::string& path_or_id);
  // The tokenizer a parsed GGUF file carries; `where` (its path) names it in errors.
  static Tokenizer from_gguf(const io::GgufModel& gguf, const std::string& where);
};

}  // namespace glint
