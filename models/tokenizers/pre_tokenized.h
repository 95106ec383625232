// The text between normalisation and the model: pieces ("splits") of the normalised input, each either still to
// be tokenized or already tokens (added tokens), as HF's PreTokenizedString.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "models/tokenizers/normalized_string.h"

namespace glint::tok {

struct Token {
  uint32_t id;
  std::string value;
  size_t start, end;  // byte range in its split's normalised text
};

struct Split {
  NormalizedString normalized;
  std::vector<Token> tokens;
  bool tokenized = false;
};

struct PreTokenizedString {
  std::vector<Split> splits;

  // Replaces every split not yet tokenized by the non-empty pieces f(normalized) returns.
  template <class F>
  void split(F f) {
    std::vector<Split> out;
    out.reserve(splits.size());
    for (Split& s : splits) {
      if (s.tokenized) {
        out.push_back(std::move(s));
        continue;
      }
      for (NormalizedString& piece : f(std::move(s.normalized)))
        if (!piece.empty()) out.push_back({std::move(piece), {}, false});
    }
    splits = std::move(out);
  }
};

}  // namespace glint::tok
