// GGUF files from untrusted sources: parse, decode every metadata value, build the HF view (config, tokenizer),
// and dequantise the tensors. Rejections are glint::Errors; anything else (a crash, a sanitizer report, another
// exception) is a finding.
#include <cstddef>
#include <cstdint>
#include <span>

#include "runtime/core/error.h"
#include "runtime/io/gguf.h"
#include "runtime/io/gguf_model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace glint::io;
  try {
    auto file = GgufFile::parse({reinterpret_cast<const std::byte*>(data), size}, "fuzz.gguf");
    for (const GgufValue& v : file->metadata()) {
      (void)v.to_json().dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
      (void)v.summary();
    }
    for (const GgufTensorInfo& t : file->tensors()) {
      if (t.numel > (1 << 20)) continue;  // bounded by the file size already; keep each run fast
      try {
        (void)file->load(t, glint::DType::bf16);
      } catch (const glint::Error&) {  // types glint does not dequantise
      }
    }
    GgufModel m = gguf_model(file);
    (void)m.config.dump();
    (void)m.tokenizer.dump();
    (void)m.tokenizer_config.dump();
    for (const auto& name : m.names) {
      if (m.info(name).numel > (1 << 20)) continue;
      try {
        (void)m.tensor(name, glint::DType::f16);
      } catch (const glint::Error&) {
      }
    }
  } catch (const glint::Error&) {
  }
  return 0;
}
