#include "models/tokenizers/auto_tokenizer.h"

#include <filesystem>

#include "runtime/core/error.h"
#include "runtime/io/gguf_model.h"
#include "runtime/io/hub.h"

namespace glint {

Tokenizer AutoTokenizer::from_gguf(const io::GgufModel& gguf, const std::string& where) {
  GLINT_CHECK(gguf.tokenizer.is_object(), "tokenizer", where, ": the GGUF file has no tokenizer");
  // The file's bos/eos and chat template arrive as tokenizer_config.json content, which transformers'
  // from_pretrained(gguf_file=...) sees too.
  Tokenizer tokenizer = Tokenizer::from_json(gguf.tokenizer, where);
  tokenizer.set_config(tokenizer_config_from_json(gguf.tokenizer_config, where + ": tokenizer_config"));
  return tokenizer;
}

Tokenizer AutoTokenizer::from_pretrained(const std::string& path_or_id) {
  const std::filesystem::path path = io::resolve_model(path_or_id);
  if (path.extension() == ".gguf") return from_gguf(io::load_gguf(path.string()), path.string());
  return Tokenizer::from_pretrained(std::filesystem::is_directory(path) ? path.string() : path.parent_path().string());
}

}  // namespace glint
