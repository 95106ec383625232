// peft's adapter files: adapter_config.json (LoraConfig's keys, sorted, indent 2, as save_pretrained writes them)
// and adapter_model.safetensors with keys "base_model.model.<module>.lora_A.weight" / ".lora_B.weight" (the adapter
// name stripped; ".lora_embedding_A" / ".lora_embedding_B" on an Embedding) and "base_model.model.<module>.weight" /
// ".bias" for modules_to_save.
#include <cmath>
#include <filesystem>
#include <set>

#include "models/peft/lora.h"
#include "runtime/core/error.h"
#include "runtime/io/atomic_file.h"
#include "runtime/io/checkpoint.h"
#include "runtime/io/config.h"
#include "runtime/io/safetensors.h"

namespace glint::peft {
namespace {

// The version of peft whose adapter_config.json keys to_json writes (tools/make_lora_fixtures.py made the fixtures
// with it).
constexpr const char* kPeftFormatVersion = "0.21.2";

std::vector<std::string> string_list(const nlohmann::json& v, const std::string& where, const char* key) {
  std::vector<std::string> out;
  GLINT_CHECK(v.is_array(), "peft", where, ": ", key, " must be a string, a list of names or null");
  for (const auto& e : v) {
    GLINT_CHECK(e.is_string(), "peft", where, ": ", key, " holds a non-string ", e.dump());
    out.push_back(e.get<std::string>());
  }
  return out;
}

// Keys naming features glint does not implement: each must hold its "off" value.
void check_unsupported(const nlohmann::json& j, const std::string& where) {
  auto off = [&](const char* key, const nlohmann::json& value) {
    if (!j.contains(key) || j[key].is_null() || j[key] == value) return;
    if ((value.is_object() || value.is_array()) && j[key].empty()) return;
    fail("peft", where, ": ", key, " = ", j[key].dump(), " is not supported (only ", value.dump(), ")");
  };
  off("bias", "none");
  off("fan_in_fan_out", false);
  off("use_dora", false);
  off("lora_bias", false);
  off("use_qalora", false);
  off("rank_pattern", nlohmann::json::object());
  off("alpha_pattern", nlohmann::json::object());
  off("layers_to_transform", nullptr);
  off("layers_pattern", nullptr);
  off("layer_replication", nullptr);
  off("exclude_modules", nullptr);
  off("target_parameters", nullptr);
  off("trainable_token_indices", nullptr);
}

}  // namespace

LoraConfig LoraConfig::from_json(const nlohmann::json& j, const std::string& where) {
  GLINT_CHECK(j.is_object(), "peft", where, ": expected a JSON object");
  const std::string type = j.value("peft_type", std::string("(none)"));
  GLINT_CHECK(type == "LORA", "peft", where, ": peft_type '", type, "' is not supported (only LORA)");
  check_unsupported(j, where);
  LoraConfig c;
  try {
    c.r = j.value("r", c.r);
    c.lora_alpha = j.value("lora_alpha", c.lora_alpha);
    c.lora_dropout = j.value("lora_dropout", c.lora_dropout);
    c.use_rslora = j.value("use_rslora", false);
    if (j.contains("base_model_name_or_path") && j["base_model_name_or_path"].is_string())
      c.base_model_name_or_path = j["base_model_name_or_path"].get<std::string>();
    if (j.contains("task_type")) c.task_type = j["task_type"].is_string() ? j["task_type"].get<std::string>() : "";
  } catch (const nlohmann::json::exception& e) {
    fail("peft", where, ": ", e.what());
  }
  const nlohmann::json& t = j.contains("target_modules") ? j["target_modules"] : nlohmann::json();
  GLINT_CHECK(!t.is_null(), "peft", where,
              ": target_modules is null (peft then picks per-architecture defaults; name the modules)");
  if (t.is_string()) {
    const std::string s = t.get<std::string>();
    if (s == "all-linear")
      c.all_linear = true;
    else
      c.target_regex = s;
  } else {
    c.target_names = string_list(t, where, "target_modules");
  }
  if (j.contains("modules_to_save") && !j["modules_to_save"].is_null())
    c.modules_to_save = string_list(j["modules_to_save"], where, "modules_to_save");
  const nlohmann::json init = j.value("init_lora_weights", nlohmann::json(true));
  if (init == true)
    c.init = LoraInit::kaiming;
  else if (init == false)
    c.init = LoraInit::random;
  else if (init == "gaussian")
    c.init = LoraInit::gaussian;
  else
    fail("peft", where, ": init_lora_weights = ", init.dump(), " is not supported (true, false or \"gaussian\")");
  return c;
}

nlohmann::json LoraConfig::to_json() const {
  nlohmann::json j = {
      {"alpha_pattern", nlohmann::json::object()},
      {"auto_mapping", nullptr},
      {"bias", "none"},
      {"exclude_modules", nullptr},
      {"fan_in_fan_out", false},
      {"inference_mode", true},
      {"layer_replication", nullptr},
      {"layers_pattern", nullptr},
      {"layers_to_transform", nullptr},
      {"loftq_config", nlohmann::json::object()},
      {"lora_bias", false},
      {"lora_dropout", lora_dropout},
      {"megatron_config", nullptr},
      {"megatron_core", "megatron.core"},
      {"peft_type", "LORA"},
      {"peft_version", kPeftFormatVersion},
      {"r", r},
      {"rank_pattern", nlohmann::json::object()},
      {"revision", nullptr},
      {"target_parameters", nullptr},
      {"task_type", task_type.empty() ? nlohmann::json() : nlohmann::json(task_type)},
      {"trainable_token_indices", nullptr},
      {"use_dora", false},
      {"use_qalora", false},
      {"use_rslora", use_rslora},
  };
  for (const char* key : {"alora_invocation_tokens", "arrow_config", "corda_config", "eva_config", "kasa_config",
                          "lora_ga_config", "monteclora_config", "use_bdlora", "velora_config"})
    j[key] = nullptr;
  j["ensure_weight_tying"] = false;
  j["qalora_group_size"] = 16;
  j["base_model_name_or_path"] =
      base_model_name_or_path.empty() ? nlohmann::json() : nlohmann::json(base_model_name_or_path);
  // peft writes lora_alpha as given: an int for an integral alpha.
  j["lora_alpha"] =
      lora_alpha == std::floor(lora_alpha) ? nlohmann::json(int64_t(lora_alpha)) : nlohmann::json(lora_alpha);
  j["modules_to_save"] = modules_to_save.empty() ? nlohmann::json() : nlohmann::json(modules_to_save);
  j["target_modules"] = all_linear     ? nlohmann::json("all-linear")
                        : target_regex ? nlohmann::json(*target_regex)
                                       : nlohmann::json(target_names);
  j["init_lora_weights"] = init == LoraInit::kaiming    ? nlohmann::json(true)
                           : init == LoraInit::gaussian ? nlohmann::json("gaussian")
                                                        : nlohmann::json(false);
  return j;
}

void LoraModel::load_adapter(const std::string& dir, const std::string& name, bool trainable) {
  const std::filesystem::path folder(dir);
  const std::string config_path = (folder / "adapter_config.json").string();
  const std::string weights_path = (folder / "adapter_model.safetensors").string();
  GLINT_CHECK(std::filesystem::exists(config_path), "peft", dir, ": no adapter_config.json");
  GLINT_CHECK(
      std::filesystem::exists(weights_path), "peft", dir, ": no adapter_model.safetensors",
      std::filesystem::exists(folder / "adapter_model.bin") ? " (adapter_model.bin is pickle; not supported)" : "");
  const LoraConfig config = LoraConfig::from_json(io::read_json_file(config_path, "peft"), config_path);
  const auto file = io::Checkpoint::open(weights_path);
  try {
    fill_from(*file, weights_path, name, config);
  } catch (...) {
    if (configs_.count(name)) delete_adapter(name);
    throw;
  }
  if (trainable) make_trainable(name);
}

void LoraModel::fill_from(const io::Checkpoint& file, const std::string& weights_path, const std::string& name,
                          const LoraConfig& config) {
  std::set<std::string> unused(file.names().begin(), file.names().end());
  auto take = [&](const std::string& key, const LoraLayer::BaseInfo& like, const Shape& shape) {
    GLINT_CHECK(unused.erase(key), "peft", weights_path, ": '", key, "' is missing");
    Tensor t = file.tensor(key, like.device, like.dtype);
    GLINT_CHECK(t.shape() == shape, "peft", weights_path, ": '", key, "' has shape ", shape_str(t.shape()),
                ", expected ", shape_str(shape));
    return t;
  };
  for (auto& [module, a] : attach(name, config)) {
    const std::string prefix = "base_model.model." + module;
    const LoraLayer::BaseInfo w = layers_.at(module)->base_info();
    if (a->saved_weight.defined()) {
      a->saved_weight = take(prefix + ".weight", w, w.shape);
      if (a->saved_bias.defined()) a->saved_bias = take(prefix + ".bias", w, a->saved_bias.shape());
    } else {
      const LoraLayer& layer = *layers_.at(module);
      const std::string weight = layer.keys_have_weight() ? ".weight" : "";
      a->lora_A = take(prefix + "." + layer.a_key() + weight, w, layer.a_shape(config.r));
      a->lora_B = take(prefix + "." + layer.b_key() + weight, w, layer.b_shape(config.r));
    }
  }
  GLINT_CHECK(unused.empty(), "peft", weights_path, ": '", *unused.begin(),
              "' belongs to no module the config adapts in this model");
}

void LoraModel::save_adapter(const std::string& dir, const std::string& name) const {
  std::filesystem::create_directories(dir);
  const std::filesystem::path folder(dir);
  io::save_safetensors((folder / "adapter_model.safetensors").string(), state_dict(name), {{"format", "pt"}});
  io::write_file_atomically((folder / "adapter_config.json").string(), config(name).to_json().dump(2), "peft");
}

}  // namespace glint::peft
