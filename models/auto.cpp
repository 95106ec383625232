#include "models/auto.h"

#include <filesystem>
#include <map>
#include <utility>

#include "runtime/core/error.h"
#include "runtime/io/bnb_4bit.h"
#include "runtime/io/checkpoint.h"
#include "runtime/io/gguf_model.h"
#include "runtime/io/hub.h"

namespace glint {
namespace {

struct Entry {
  CausalLMFactory factory;
  bool device_map = false;
};

struct Registry {
  std::map<std::string, Entry> by_model_type, by_architecture;
};

// A function-local static: registrations run during static initialisation, in any order of translation units.
Registry& registry() {
  static Registry r;
  return r;
}

const Entry* find_factory(const io::JsonFile& config) {
  const Registry& r = registry();
  if (auto type = config.get_opt<std::string>("model_type")) {
    if (auto it = r.by_model_type.find(*type); it != r.by_model_type.end()) return &it->second;
  }
  for (const std::string& arch : config.get_or<std::vector<std::string>>("architectures", {})) {
    if (auto it = r.by_architecture.find(arch); it != r.by_architecture.end()) return &it->second;
  }
  return nullptr;
}

// A checkpoint whose bitsandbytes 4-bit weights (a transformers load_in_4bit save) the model is built with
// placeholders for: a broadcast zero that holds no memory, swapped for the packed weight by use_bnb_4bit.
class Bnb4Weights final : public nn::WeightSource {
 public:
  explicit Bnb4Weights(std::shared_ptr<const io::Checkpoint> c) : checkpoint_(std::move(c)) {}
  bool contains(const std::string& name) const override { return checkpoint_->contains(name); }
  Tensor load(const std::string& name, const Shape& shape, Device device, std::optional<DType> dtype) const override {
    if (shape.size() == 2 && io::is_bnb_4bit(*checkpoint_, name))
      return zeros({1, 1}, dtype.value_or(DType::f32), device).expand(shape);
    return checkpoint_->tensor(name, device, dtype);
  }

 private:
  std::shared_ptr<const io::Checkpoint> checkpoint_;
};

// Gives every Linear whose weight `ckpt` stores in bitsandbytes' 4-bit form that weight, as loaded, on the device
// its placeholder was put on (a device map's choice).
void use_bnb_4bit(nn::ParameterStore& store, const io::Checkpoint& ckpt) {
  for (const auto& [module, state] : store.linears()) {
    const std::string name = module + ".weight";
    if (!io::is_bnb_4bit(ckpt, name)) continue;
    state->quantized = std::make_shared<const QuantizedTensor>(io::load_bnb_4bit(ckpt, name, state->weight.device()));
    state->weight = Tensor();
    store.remove(name);
  }
}

// Applies options.load_in_4bit to a freshly built model.
std::unique_ptr<CausalLM> quantized_if_asked(std::unique_ptr<CausalLM> model, const nn::VarBuilder& vb,
                                             const ModelLoadOptions& options) {
  if (options.load_in_4bit) nn::quantize_linears(*vb.parameters(), options.quant4);
  return model;
}

ModelLoadOptions with_compute_dtype(ModelLoadOptions options) {
  if (options.load_in_4bit && !options.dtype) options.dtype = DType::f32;
  return options;
}

}  // namespace

CausalLMRegistration::CausalLMRegistration(const std::string& model_type, CausalLMFactory factory,
                                           const std::vector<std::string>& architectures, bool device_map) {
  Registry& r = registry();
  for (const std::string& arch : architectures) r.by_architecture[arch] = {factory, device_map};
  r.by_model_type[model_type] = {std::move(factory), device_map};
}

std::vector<std::string> AutoModelForCausalLM::supported_model_types() {
  std::vector<std::string> types;
  for (const auto& [type, factory] : registry().by_model_type) types.push_back(type);
  return types;
}

std::unique_ptr<CausalLM> AutoModelForCausalLM::from_config(const io::JsonFile& config, const nn::VarBuilder& vb) {
  const Entry* entry = find_factory(config);
  if (!entry) {
    std::string supported;
    for (const std::string& t : supported_model_types()) supported += (supported.empty() ? "" : ", ") + t;
    const std::string type = config.get_or<std::string>("model_type", "(none)");
    fail("auto", config.where, ": model_type '", type, "' is not supported (supported: ", supported, ")");
  }
  GLINT_CHECK(!vb.device_map() || entry->device_map, "auto", config.where, ": model_type '",
              config.get_or<std::string>("model_type", "(none)"), "' does not support device maps");
  std::unique_ptr<CausalLM> model = entry->factory(config, vb);
  model->set_parameters(vb.parameters());
  return model;
}

std::unique_ptr<CausalLM> AutoModelForCausalLM::from_config(const io::JsonFile& config,
                                                            const ModelLoadOptions& load_options, uint64_t seed) {
  const ModelLoadOptions options = with_compute_dtype(load_options);
  const double std = config.get_or<double>("initializer_range", 0.02);
  const nn::VarBuilder vb = nn::VarBuilder(nn::init_weights(seed, std, options.dtype.value_or(DType::f32)),
                                           options.device.value_or(default_device()), options.dtype)
                                .with_device_map(options.device_map);
  return quantized_if_asked(from_config(config, vb), vb, options);
}

std::unique_ptr<CausalLM> AutoModelForCausalLM::from_pretrained(const std::string& path_or_id,
                                                                const ModelLoadOptions& load_options) {
  const ModelLoadOptions options = with_compute_dtype(load_options);
  const Device device = options.device.value_or(default_device());
  const std::string path = io::resolve_model(path_or_id);
  if (std::filesystem::path(path).extension() == ".gguf") {
    auto gguf = std::make_shared<const io::GgufModel>(io::load_gguf(path));
    const nn::VarBuilder vb =
        nn::VarBuilder(nn::gguf_weights(gguf), device, options.dtype).with_device_map(options.device_map);
    return quantized_if_asked(from_config(io::json_object(gguf->config, path + ": config"), vb), vb, options);
  }
  const std::filesystem::path folder =
      std::filesystem::is_directory(path) ? std::filesystem::path(path) : std::filesystem::path(path).parent_path();
  const io::JsonFile config = io::load_json((folder / "config.json").string());
  const std::shared_ptr<const io::Checkpoint> ckpt = io::Checkpoint::open(path);
  const nn::VarBuilder vb =
      nn::VarBuilder(std::make_shared<Bnb4Weights>(ckpt), device, options.dtype).with_device_map(options.device_map);
  std::unique_ptr<CausalLM> model = from_config(config, vb);
  use_bnb_4bit(*vb.parameters(), *ckpt);
  return quantized_if_asked(std::move(model), vb, options);
}

std::unique_ptr<SentenceEmbedder> AutoModel::from_pretrained(const std::string& path_or_id,
                                                             const ModelLoadOptions& options) {
  const std::string folder = io::resolve_model(path_or_id);
  GLINT_CHECK(std::filesystem::is_directory(folder), "auto", folder, ": AutoModel loads a model folder");
  const io::JsonFile config = io::load_json((std::filesystem::path(folder) / "config.json").string());
  const std::string type = config.get_or<std::string>("model_type", "(none)");
  GLINT_CHECK(type == "bert", "auto", config.where, ": model_type '", type,
              "' is not supported by AutoModel (supported: bert)");
  GLINT_CHECK(!options.device_map, "auto", config.where, ": AutoModel does not support device maps");
  return SentenceEmbedder::from_pretrained(folder, options.device.value_or(default_device()),
                                           options.dtype.value_or(DType::f32));
}

}  // namespace glint
