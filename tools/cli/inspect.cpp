// `glint inspect FILE_OR_FOLDER [--json]`: the tensor table (name, dtype, shape, bytes) of a weights file or model
// folder with totals, the file's metadata, and a summary of config.json when one is present.
#include "tools/cli/inspect.h"

#include <cstdio>

#include "runtime/core/error.h"
#include "runtime/io/checkpoint.h"
#include "runtime/io/config.h"
#include "runtime/io/hub.h"
#include "tools/cli/commands.h"

namespace glint::cli {

namespace fs = std::filesystem;
using nlohmann::json;

bool is_safetensors(const fs::path& p) {
  if (fs::is_directory(p)) return fs::exists(p / "model.safetensors") || fs::exists(p / "model.safetensors.index.json");
  std::string name = p.filename().string();
  return p.extension() == ".safetensors" || name.ends_with(".safetensors.index.json");
}

Inspection inspect_safetensors(const fs::path& p) {
  auto ck = io::Checkpoint::open(p.string());
  Inspection out;
  size_t shards = ck->files().size();
  out.format = shards > 1 ? "safetensors, " + std::to_string(shards) + " shards" : "safetensors";
  for (const auto& name : ck->names()) {
    const io::TensorInfo& t = ck->info(name);
    out.tensors.push_back({name, std::string(io::st_dtype_name(t.dtype)), t.shape, t.nbytes()});
  }
  for (const auto& f : ck->files())
    for (const auto& [k, v] : f->metadata()) out.metadata[k] = v;
  return out;
}

namespace {

// One entry per format; a new format adds its reader here.
const InspectFormat kFormats[] = {
    {"safetensors", is_safetensors, inspect_safetensors},
    {"gguf", is_gguf, inspect_gguf},
};

std::string human_bytes(uint64_t n) {
  const char* units[] = {"B", "KB", "MB", "GB", "TB"};
  double v = double(n);
  int u = 0;
  while (v >= 1000 && u < 4) {
    v /= 1000;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u ? "%.1f %s" : "%.0f %s", v, units[u]);
  return buf;
}

std::string shape_text(const std::vector<int64_t>& s) {
  std::string out = "[";
  for (size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + "]";
}

uint64_t numel(const TensorRow& t) {
  uint64_t n = 1;
  for (int64_t d : t.shape) n *= uint64_t(d);
  return n;
}

// The config keys worth a line: what the model is and its size.
const char* kConfigKeys[] = {"hidden_size",       "num_hidden_layers", "num_attention_heads",    "num_key_value_heads",
                             "intermediate_size", "vocab_size",        "max_position_embeddings"};

void print_text(const std::string& path, const Inspection& r) {
  std::printf("%s (%s)\n", path.c_str(), r.format.c_str());
  size_t wn = 4, wd = 5, ws = 5;
  for (const auto& t : r.tensors) {
    wn = std::max(wn, t.name.size());
    wd = std::max(wd, t.dtype.size());
    ws = std::max(ws, shape_text(t.shape).size());
  }
  std::printf("%-*s  %-*s  %-*s  %12s\n", int(wn), "name", int(wd), "dtype", int(ws), "shape", "bytes");
  uint64_t params = 0, bytes = 0;
  for (const auto& t : r.tensors) {
    std::printf("%-*s  %-*s  %-*s  %12llu\n", int(wn), t.name.c_str(), int(wd), t.dtype.c_str(), int(ws),
                shape_text(t.shape).c_str(), (unsigned long long)t.bytes);
    params += numel(t);
    bytes += t.bytes;
  }
  std::printf("%zu tensors, %llu parameters, %s (%llu bytes)\n", r.tensors.size(), (unsigned long long)params,
              human_bytes(bytes).c_str(), (unsigned long long)bytes);
  if (!r.metadata.empty()) {
    std::printf("metadata:");
    for (const auto& [k, v] : r.metadata) std::printf(" %s=%s", k.c_str(), v.c_str());
    std::printf("\n");
  }
  if (r.config) {
    const json& c = *r.config;
    std::string arch = c.contains("architectures") ? c["architectures"].dump() : "";
    std::string type = c.value("model_type", json("?")).dump();
    std::printf("config.json: model_type %s%s%s", type.c_str(), arch.empty() ? "" : ", architectures ", arch.c_str());
    for (const char* dt : {"dtype", "torch_dtype"})
      if (c.contains(dt)) std::printf(", %s %s", dt, c[dt].dump().c_str());
    for (const char* k : kConfigKeys)
      if (c.contains(k)) std::printf(", %s %s", k, c[k].dump().c_str());
    std::printf("\n");
  }
}

void print_json(const std::string& path, const Inspection& r) {
  json tensors = json::array();
  uint64_t params = 0, bytes = 0;
  for (const auto& t : r.tensors) {
    tensors.push_back({{"name", t.name}, {"dtype", t.dtype}, {"shape", t.shape}, {"bytes", t.bytes}});
    params += numel(t);
    bytes += t.bytes;
  }
  json out = {{"path", path},         {"format", r.format},    {"tensors", tensors}, {"total_parameters", params},
              {"total_bytes", bytes}, {"metadata", r.metadata}};
  if (r.config) out["config"] = *r.config;
  std::printf("%s\n", out.dump(2, ' ', false, json::error_handler_t::replace).c_str());
}

void run_inspect(const std::string& target, bool as_json) {
  fs::path p = io::resolve_model(target);
  for (const InspectFormat& f : kFormats) {
    if (!f.matches(p)) continue;
    Inspection r = f.read(p);
    fs::path cfg = (fs::is_directory(p) ? p : p.parent_path()) / "config.json";
    if (fs::exists(cfg)) r.config = io::read_json_file(cfg.string());
    as_json ? print_json(p.string(), r) : print_text(p.string(), r);
    return;
  }
  std::string known;
  for (const InspectFormat& f : kFormats) known += (known.empty() ? "" : ", ") + std::string(f.name);
  fail("inspect", p.string(), ": not a file or folder of a known format (", known, ")");
}

void add_inspect_command(CLI::App& app) {
  auto* cmd = app.add_subcommand("inspect", "Print the tensors (name, dtype, shape, bytes) and config of weights");
  static std::string target;
  static bool as_json = false;
  cmd->add_option("path", target, "a weights file, a model folder, or a model id in the hub cache")->required();
  cmd->add_flag("--json", as_json, "print JSON for machines");
  cmd->callback([] { run_inspect(target, as_json); });
}

const CommandRegistration reg(add_inspect_command);

}  // namespace
}  // namespace glint::cli
