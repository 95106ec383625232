// A model's weights as save_pretrained writes them: one model.safetensors, or shards listed by
// model.safetensors.index.json ({"metadata": {...}, "weight_map": {tensor name: shard file}}).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "runtime/io/safetensors.h"

namespace glint::io {

class Checkpoint {
 public:
  // `path` is a folder (holding model.safetensors, else model.safetensors.index.json, as transformers looks), an
  // index file, or a single .safetensors file. Every shard is mapped and validated, and every weight_map entry
  // checked against its shard.
  static std::shared_ptr<Checkpoint> open(const std::string& path);

  const std::vector<std::string>& names() const { return names_; }  // sorted
  bool contains(const std::string& name) const { return where_.count(name) != 0; }
  const TensorInfo& info(const std::string& name) const { return file_of(name).info(name); }
  Tensor tensor(const std::string& name, Device device = Device::cpu(), std::optional<DType> as = {}) const {
    return file_of(name).tensor(name, device, as);
  }
  // The shard holding `name`.
  const SafetensorsFile& file_of(const std::string& name) const;
  const std::vector<std::shared_ptr<SafetensorsFile>>& files() const { return files_; }
  // The index file's "metadata" object (empty for a single file).
  const nlohmann::json& index_metadata() const { return index_metadata_; }

 private:
  std::vector<std::shared_ptr<SafetensorsFile>> files_;
  std::map<std::string, size_t> where_;  // tensor name -> files_ index
  std::vector<std::string> names_;
  std::string path_;
  nlohmann::json index_metadata_ = nlohmann::json::object();
};

// "5GB" (10^9), "500MiB" (2^20), "10kB", or a plain number of bytes, as huggingface_hub parses max_shard_size.
uint64_t parse_shard_size(const std::string& size);

// Writes `tensors` into `folder` the way transformers' save_pretrained does: in order, a new shard whenever the next
// tensor would pass max_shard_size (a tensor larger than that gets a shard of its own), files
// model-00001-of-0000N.safetensors with metadata {"format": "pt"}, and model.safetensors.index.json (sorted keys,
// indent 2, "total_parameters" and "total_size"). One shard is written as model.safetensors with no index.
// `prefix` replaces "model" in the file names. Files of an earlier save to the same folder that the new ones replace
// are removed. Returns the files written.
std::vector<std::string> save_checkpoint(const std::string& folder,
                                         const std::vector<std::pair<std::string, Tensor>>& tensors,
                                         uint64_t max_shard_size = 5'000'000'000, const std::string& prefix = "model");

}  // namespace glint::io
