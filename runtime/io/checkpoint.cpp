#include "runtime/io/checkpoint.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <filesystem>
#include <regex>

#include "runtime/core/error.h"
#include "runtime/io/atomic_file.h"
#include "runtime/io/config.h"

namespace glint::io {

namespace fs = std::filesystem;

namespace {
constexpr const char* kIndexName = "model.safetensors.index.json";
constexpr const char* kSingleName = "model.safetensors";

// Shard names come from an untrusted index: keep them inside the checkpoint's folder.
void check_shard_name(const std::string& index, const std::string& tensor, const std::string& shard) {
  fs::path p(shard);
  bool escapes = shard.empty() || p.is_absolute();
  for (const auto& part : p) escapes |= part == "..";
  if (escapes)
    fail("checkpoint", index, ": tensor '", tensor, "' maps to '", shard, "', outside the checkpoint folder");
}

// After a save, files of an earlier save that would be read in place of (or beside) the new ones go: shards like
// transformers removes them (prefix-NNNNN-of-NNNNN.safetensors), and also the single file or index of the other
// layout, which transformers leaves behind although a stale model.safetensors shadows new shards.
void remove_stale_files(const std::string& folder, const std::string& prefix, const std::vector<std::string>& keep) {
  static const std::regex shard_re(R"((.*?)-\d{5}-of-\d{5}\.safetensors)");
  for (const auto& e : fs::directory_iterator(folder)) {
    std::string name = e.path().filename().string();
    if (!e.is_regular_file() || std::find(keep.begin(), keep.end(), name) != keep.end()) continue;
    bool stale = name == prefix + ".safetensors" || name == prefix + ".safetensors.index.json" ||
                 (name.starts_with(prefix) && std::regex_match(name, shard_re));
    if (stale) fs::remove(e.path());
  }
}
}  // namespace

std::shared_ptr<Checkpoint> Checkpoint::open(const std::string& path) {
  auto ck = std::make_shared<Checkpoint>();
  ck->path_ = path;
  fs::path p(path);
  if (fs::is_directory(p)) {
    // transformers' order: a single file wins over an index.
    if (fs::exists(p / kSingleName))
      p /= kSingleName;
    else if (fs::exists(p / kIndexName))
      p /= kIndexName;
    else
      fail("checkpoint", path, ": neither ", kIndexName, " nor ", kSingleName, " is in this folder");
  }
  if (p.extension() != ".json") {
    ck->files_.push_back(SafetensorsFile::open(p.string()));
    for (const auto& name : ck->files_[0]->names()) ck->where_[name] = 0;
  } else {
    JsonFile index = load_json(p.string(), "checkpoint");
    const nlohmann::json& map = index.json.contains("weight_map") ? index.json["weight_map"] : nlohmann::json();
    if (!map.is_object()) fail("checkpoint", p.string(), ": 'weight_map' is missing or not an object");
    if (index.json.contains("metadata")) {
      ck->index_metadata_ = index.json["metadata"];
      if (!ck->index_metadata_.is_object()) fail("checkpoint", p.string(), ": 'metadata' is not an object");
    }
    std::map<std::string, size_t> shard_of_file;
    for (const auto& [tensor, shard] : map.items()) {
      if (!shard.is_string()) fail("checkpoint", p.string(), ": tensor '", tensor, "' maps to ", shard.dump());
      const std::string& file = shard.get_ref<const std::string&>();
      check_shard_name(p.string(), tensor, file);
      auto [it, added] = shard_of_file.try_emplace(file, ck->files_.size());
      if (added) ck->files_.push_back(SafetensorsFile::open((p.parent_path() / file).string()));
      if (!ck->files_[it->second]->contains(tensor))
        fail("checkpoint", p.string(), ": tensor '", tensor, "' is listed in ", file,
             " but that shard does not hold it");
      ck->where_[tensor] = it->second;
    }
  }
  for (const auto& [name, _] : ck->where_) ck->names_.push_back(name);
  return ck;
}

const SafetensorsFile& Checkpoint::file_of(const std::string& name) const {
  auto it = where_.find(name);
  if (it == where_.end()) fail("checkpoint", path_, ": no tensor named '", name, "'");
  return *files_[it->second];
}

uint64_t parse_shard_size(const std::string& size) {
  std::string s = size;
  s.erase(std::remove_if(s.begin(), s.end(), [](unsigned char c) { return std::isspace(c); }), s.end());
  size_t digits = 0;
  while (digits < s.size() && (std::isdigit(static_cast<unsigned char>(s[digits])) || s[digits] == '.')) ++digits;
  std::string unit = s.substr(digits);
  std::transform(unit.begin(), unit.end(), unit.begin(), [](unsigned char c) { return std::tolower(c); });
  static const std::pair<const char*, double> kUnits[] = {
      {"", 1},      {"b", 1},        {"kb", 1e3},      {"mb", 1e6},      {"gb", 1e9},
      {"tb", 1e12}, {"kib", 1024.0}, {"mib", 1 << 20}, {"gib", 1 << 30}, {"tib", 1099511627776.0}};
  for (const auto& [name, mult] : kUnits) {
    if (unit != name || digits == 0) continue;
    try {
      size_t used = 0;
      double v = std::stod(s.substr(0, digits), &used);
      if (used == digits) return uint64_t(v * mult);
    } catch (const std::exception&) {
    }
    break;
  }
  fail("checkpoint", "cannot parse the shard size '", size, "' (expected e.g. 5GB, 500MB, 2GiB or a byte count)");
}

std::vector<std::string> save_checkpoint(const std::string& folder,
                                         const std::vector<std::pair<std::string, Tensor>>& tensors,
                                         uint64_t max_shard_size, const std::string& prefix) {
  // huggingface_hub's split_state_dict_into_shards_factory, step for step.
  std::vector<std::vector<size_t>> shards;
  std::vector<size_t> current;
  uint64_t current_size = 0, total_size = 0, total_params = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    uint64_t n = tensors[i].second.nbytes();
    total_size += n;
    total_params += uint64_t(tensors[i].second.numel());
    if (n > max_shard_size) {
      shards.push_back({i});
      continue;
    }
    if (current_size + n > max_shard_size) {
      shards.push_back(std::move(current));
      current.clear();
      current_size = 0;
    }
    current.push_back(i);
    current_size += n;
  }
  if (!current.empty() || shards.empty()) shards.push_back(std::move(current));

  fs::create_directories(folder);
  const std::map<std::string, std::string> metadata = {{"format", "pt"}};
  std::vector<std::string> written;
  if (shards.size() == 1) {
    written.push_back(prefix + ".safetensors");
    save_safetensors((fs::path(folder) / written[0]).string(), tensors, metadata);
    remove_stale_files(folder, prefix, written);
    return written;
  }
  nlohmann::json weight_map = nlohmann::json::object();
  for (size_t s = 0; s < shards.size(); ++s) {
    char suffix[32];
    std::snprintf(suffix, sizeof suffix, "-%05zu-of-%05zu", s + 1, shards.size());
    std::string file = prefix + suffix + ".safetensors";
    std::vector<std::pair<std::string, Tensor>> part;
    for (size_t i : shards[s]) {
      part.push_back(tensors[i]);
      weight_map[tensors[i].first] = file;
    }
    save_safetensors((fs::path(folder) / file).string(), part, metadata);
    written.push_back(file);
  }
  nlohmann::json index = {{"metadata", {{"total_parameters", total_params}, {"total_size", total_size}}},
                          {"weight_map", weight_map}};
  // Python's json.dumps(indent=2, sort_keys=True) escapes non-ASCII; nlohmann's objects are sorted already.
  std::string index_file = prefix + ".safetensors.index.json";
  write_file_atomically((fs::path(folder) / index_file).string(), index.dump(2, ' ', true) + "\n", "checkpoint");
  written.push_back(index_file);
  remove_stale_files(folder, prefix, written);
  return written;
}

}  // namespace glint::io
