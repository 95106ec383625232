// Fingerprints for the tokenised-dataset cache: SHA-256 written out here (no crypto library is a dependency), so a
// cache key is the same on every machine and a changed input byte gives a new key.
#pragma once
#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace glint::datasets {

// Incremental SHA-256 (FIPS 180-4).
class Sha256 {
 public:
  Sha256();
  // Adds bytes to the message.
  void update(const void* data, size_t n);
  void update(std::string_view s) { update(s.data(), s.size()); }
  // Adds a length-prefixed field, so that ("ab","c") and ("a","bc") hash differently.
  void update_field(std::string_view s);
  // Finishes the message; the object must not be updated afterwards.
  std::array<uint8_t, 32> digest();
  // digest() as 64 lowercase hex digits.
  std::string hex_digest();

 private:
  void block(const uint8_t* p);
  std::array<uint32_t, 8> h_;
  std::array<uint8_t, 64> buf_{};
  size_t buf_len_ = 0;
  uint64_t total_ = 0;
};

// SHA-256 of a file's bytes, read in chunks; throws "[datasets] <path>: ..." when it cannot be read.
std::string sha256_file(const std::string& path);

// The identity of a tokenizer for cache keys: the SHA-256 of tokenizer.json (or of every tokenizer file of a
// folder: tokenizer.json, tokenizer_config.json, special_tokens_map.json, vocab.json, merges.txt, vocab.txt).
std::string tokenizer_fingerprint(const std::string& file_or_folder);

}  // namespace glint::datasets
