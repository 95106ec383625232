// Decoders of tokenizer.json: turn tokens back into text (HF `tokenizers` decode_chain semantics: each decoder maps
// the list of token strings to a new list; the final text is their concatenation).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "models/tokenizers/json_util.h"

namespace glint::tok {

class Decoder {
 public:
  virtual ~Decoder() = default;
  virtual void decode_chain(std::vector<std::string>& tokens) const = 0;
};

// BERT's clean-up of tokenization spaces (" ." -> "." and friends).
std::string wordpiece_cleanup(std::string s);

std::shared_ptr<const Decoder> make_byte_level_decoder();
std::shared_ptr<const Decoder> make_wordpiece_decoder(std::string prefix, bool cleanup);

// nullptr for a JSON null.
std::shared_ptr<const Decoder> decoder_from_json(const JsonAt& j);

}  // namespace glint::tok
