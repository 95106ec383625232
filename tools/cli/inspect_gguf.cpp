// `glint inspect` for GGUF files: the tensor table with ggml types (shapes in row-major order, as the HF view and
// safetensors show them), the metadata (long arrays abbreviated) and, for llama files, the config.json glint
// derives from that metadata.
#include "runtime/core/error.h"
#include "runtime/io/gguf.h"
#include "runtime/io/gguf_model.h"
#include "tools/cli/inspect.h"

namespace glint::cli {

bool is_gguf(const std::filesystem::path& p) { return !std::filesystem::is_directory(p) && p.extension() == ".gguf"; }

Inspection inspect_gguf(const std::filesystem::path& p) {
  auto file = io::GgufFile::open(p.string());
  Inspection out;
  out.format = "gguf v" + std::to_string(file->version());
  for (const io::GgufTensorInfo& t : file->tensors())
    out.tensors.push_back({t.name, std::string(io::ggml_type_name(t.type)), t.shape(), t.nbytes});
  for (const io::GgufValue& v : file->metadata()) out.metadata[std::string(v.key())] = v.summary();
  if (file->find_string("general.architecture") == "llama") out.config = io::gguf_model(file).config;
  return out;
}

}  // namespace glint::cli
