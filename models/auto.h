// AutoModelForCausalLM: the architecture named by config.json (model_type, else architectures) built from a model
// folder, hub id or .gguf file. Architectures register themselves from their own file, so adding one edits no list:
//   const CausalLMRegistration reg("llama", [](const io::JsonFile& c, const nn::VarBuilder& vb) { ... });
#pragma once
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "models/bert/sentence_embedder.h"
#include "models/causal_lm.h"
#include "models/device_map.h"
#include "models/nn/layers.h"
#include "models/nn/var_builder.h"
#include "runtime/io/config.h"

namespace glint {

struct ModelLoadOptions {
  std::optional<Device> device;  // default_device() when unset
  std::optional<DType> dtype;    // weights' stored dtype when unset (GGUF: f32)
  // Spreads the modules over devices (models/device_map.h); `device` is then unused. Llama family only.
  std::optional<DeviceMap> device_map;
  // transformers' BitsAndBytesConfig(load_in_4bit=True): every Linear but lm_head becomes a frozen 4-bit weight
  // (quant type, blocksize, double quant as `quant4` says) right after loading; `dtype` is then the compute dtype
  // (bnb_4bit_compute_dtype: activations, lm_head, norms, embeddings), f32 when unset. A checkpoint transformers
  // saved in bitsandbytes' 4-bit form loads its packed weights as they are, with or without this option.
  bool load_in_4bit = false;
  nn::Quant4Options quant4;
};

using CausalLMFactory = std::function<std::unique_ptr<CausalLM>(const io::JsonFile& config, const nn::VarBuilder& vb)>;

// Registers `factory` for config.json's model_type `model_type` and for any of `architectures`
// ("LlamaForCausalLM"), which are matched when a config has no model_type this registry knows. Factories that
// honour VarBuilder::device_map() say so with `device_map`; loading others with a device map fails.
class CausalLMRegistration {
 public:
  CausalLMRegistration(const std::string& model_type, CausalLMFactory factory,
                       const std::vector<std::string>& architectures = {}, bool device_map = false);
};

class AutoModelForCausalLM {
 public:
  // `path_or_id`: a model folder, a hub id (io::resolve_model) or a .gguf file.
  static std::unique_ptr<CausalLM> from_pretrained(const std::string& path_or_id, const ModelLoadOptions& options = {});
  // The architecture `config` names, with weights from `vb`; "[auto] ... is not supported (supported: ...)" else.
  static std::unique_ptr<CausalLM> from_config(const io::JsonFile& config, const nn::VarBuilder& vb);
  // A freshly initialised model of the architecture `config` names (transformers' from_config): nn::init_weights
  // with config's initializer_range (0.02 when absent), in options.dtype (f32 when unset).
  static std::unique_ptr<CausalLM> from_config(const io::JsonFile& config, const ModelLoadOptions& options,
                                               uint64_t seed);
  // Registered model types, sorted.
  static std::vector<std::string> supported_model_types();
};

// AutoModel for sentence embeddings, as sentence-transformers loads all-MiniLM-L6-v2: a BERT folder or hub id with
// its pooling and normalisation modules (models/bert/sentence_embedder.h). encode(texts) gives the (N, dim)
// embeddings, model().forward the hidden states.
class AutoModel {
 public:
  // `options.dtype` defaults to f32; device maps are not supported. A model_type other than bert is an error
  // naming the supported one.
  static std::unique_ptr<SentenceEmbedder> from_pretrained(const std::string& path_or_id,
                                                           const ModelLoadOptions& options = {});
};

}  // namespace glint
