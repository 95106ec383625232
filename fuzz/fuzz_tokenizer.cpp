// Fuzz target: tokenizer.json loading and encoding. The input is a tokenizer.json, a NUL byte, then the text to
// encode (no NUL: the whole input is the JSON and a fixed text is encoded). Errors must be glint::Error; anything
// else (a crash, a sanitizer report, a hang) is a finding.
#include <cstdint>
#include <cstring>
#include <string>

#include "models/tokenizers/tokenizer.h"
#include "runtime/core/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const char* p = reinterpret_cast<const char*>(data);
  const void* nul = std::memchr(p, 0, size);
  size_t json_len = nul ? static_cast<const char*>(nul) - p : size;
  std::string text = nul ? std::string(p + json_len + 1, size - json_len - 1) : std::string("Hello world, héllo 你好 <s>!");
  nlohmann::json j = nlohmann::json::parse(p, p + json_len, nullptr, false);
  if (j.is_discarded()) return 0;
  try {
    glint::Tokenizer tok = glint::Tokenizer::from_json(j, "fuzz.json");
    glint::Encoding e = tok.encode(text, true);
    (void)tok.decode(e.ids, false);
    (void)tok.decode(e.ids, true);
    (void)glint::char_offsets(e, text);
  } catch (const glint::Error&) {
  }
  return 0;
}
