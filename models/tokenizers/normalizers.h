// Normalizers of tokenizer.json: text transformations before pre-tokenization that keep the alignment to the
// original text (HF `tokenizers` normalizers).
#pragma once
#include <memory>

#include "models/tokenizers/json_util.h"
#include "models/tokenizers/normalized_string.h"

namespace glint::tok {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  virtual void normalize(NormalizedString& s) const = 0;
};

enum class UnicodeForm { kNFC, kNFD, kNFKC, kNFKD };
// Unicode normalisation through utf8proc; alignment follows HF's (composed characters align with their first
// source character, extra decomposed ones count as inserted).
void unicode_normalize(NormalizedString& s, UnicodeForm form);

// nullptr for a JSON null.
std::shared_ptr<const Normalizer> normalizer_from_json(const JsonAt& j);

}  // namespace glint::tok
