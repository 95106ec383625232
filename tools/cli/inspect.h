// `glint inspect`: what a weights file or model folder holds. Each file format contributes one reader (a `matches`
// test and a `read` function) to the table in inspect.cpp; printing (text or --json) is shared.
#pragma once
#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace glint::cli {

struct TensorRow {
  std::string name, dtype;
  std::vector<int64_t> shape;
  uint64_t bytes = 0;
};

struct Inspection {
  std::string format;  // "safetensors, 4 shards", "gguf v3", ...
  std::vector<TensorRow> tensors;
  std::map<std::string, std::string> metadata;  // the file's own key/value metadata, as text
  std::optional<nlohmann::json> config;         // config.json beside the weights, when there is one
};

struct InspectFormat {
  const char* name;
  bool (*matches)(const std::filesystem::path& path);
  Inspection (*read)(const std::filesystem::path& path);
};

// Safetensors: a .safetensors file, an index file, or a folder holding model.safetensors[.index.json].
bool is_safetensors(const std::filesystem::path& path);
Inspection inspect_safetensors(const std::filesystem::path& path);
// GGUF: a .gguf file (inspect_gguf.cpp).
bool is_gguf(const std::filesystem::path& path);
Inspection inspect_gguf(const std::filesystem::path& path);

}  // namespace glint::cli
