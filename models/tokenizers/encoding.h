// The result of encoding one text: ids, tokens, offsets and masks, as HF `tokenizers`' Encoding.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace glint {

struct Encoding {
  std::vector<uint32_t> ids;
  std::vector<std::string> tokens;
  // Byte range of each token in the (UTF-8) input text, as HF's Rust API reports them; (0, 0) for tokens the
  // post-processor added. char_offsets() gives the Python API's code point offsets.
  std::vector<std::pair<size_t, size_t>> offsets;
  std::vector<uint32_t> attention_mask;
  std::vector<uint32_t> special_tokens_mask;
  std::vector<uint32_t> type_ids;
  // The pieces cut off by truncation (each post-processed and padded like the main one).
  std::vector<Encoding> overflowing;

  size_t size() const { return ids.size(); }
  void push(uint32_t id, std::string token, std::pair<size_t, size_t> offset, uint32_t special, uint32_t type_id) {
    ids.push_back(id);
    tokens.push_back(std::move(token));
    offsets.push_back(offset);
    attention_mask.push_back(1);
    special_tokens_mask.push_back(special);
    type_ids.push_back(type_id);
  }
};

// Offsets in code points of `text` (what HF's Python `Encoding.offsets` holds) from byte offsets into `text`.
std::vector<std::pair<size_t, size_t>> char_offsets(const Encoding& e, std::string_view text);

}  // namespace glint
