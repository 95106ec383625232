// Fuzzes the chat-template interpreter: the input is template source, rendered over a conversation with a
// system prompt, tool calls and tools, so both parsing and evaluation see hostile input.
#include <cstddef>
#include <cstdint>
#include <string>

#include "models/tokenizers/chat_template.h"
#include "runtime/core/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const nlohmann::ordered_json messages = nlohmann::ordered_json::parse(R"([
    {"role": "system", "content": "sys"},
    {"role": "user", "content": "héllo <|im_end|> {{ x }}"},
    {"role": "assistant", "content": "<think>\nr\n</think>\n\nok", "tool_calls": [
      {"id": "call12345", "type": "function", "function": {"name": "f", "arguments": {"a": 1, "b": [1.5, null]}}}]},
    {"role": "tool", "tool_call_id": "call12345", "content": "42"}])");
  static const nlohmann::ordered_json extra = nlohmann::ordered_json::parse(R"({
    "bos_token": "<s>", "eos_token": "</s>", "date_string": "01 Jan 2025",
    "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}]})");
  std::string source(reinterpret_cast<const char*>(data), size);
  try {
    glint::apply_chat_template(source, messages, true, extra);
  } catch (const glint::Error&) {
  }
  return 0;
}
