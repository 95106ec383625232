// Fuzzes the JSON config readers: any text must either load through every HF config loader or fail with a
// glint::Error (never a crash, a hang or an exception of another type).
#include <cstdint>
#include <string_view>

#include "runtime/core/error.h"
#include "runtime/io/hf_configs.h"

using namespace glint;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  io::JsonFile file;
  try {
    file = io::json_object(io::parse_json(text, "fuzz.json"), "fuzz.json");
  } catch (const Error&) {
    return 0;
  }
  // Each loader on its own: one that rejects the input must not stop the others from being exercised.
  auto attempt = [](auto&& load) {
    try {
      load();
    } catch (const Error&) {
    }
  };
  attempt([&] { io::model_config_from_json(file); });
  attempt([&] { io::generation_config_from_json(file); });
  attempt([&] { io::special_tokens_from_json(file); });
  attempt([&] { io::tokenizer_config_from_json(file); });
  attempt([&] { io::model_index_from_json(file); });
  for (const auto& [key, value] : file.json.items()) {
    attempt([&] { file.get<int64_t>(key); });
    attempt([&] { file.get<double>(key); });
    attempt([&] { file.get<std::vector<std::string>>(key); });
    attempt([&] { file.sub(key).get_opt<std::vector<int64_t>>("x"); });
  }
  return 0;
}
