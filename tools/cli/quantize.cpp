// `glint quantize MODEL OUT --nf4|--fp4 [--double-quant] [--blocksize N]`: writes MODEL with every Linear but
// lm_head in bitsandbytes' 4-bit form, as transformers saves a model loaded with
// BitsAndBytesConfig(load_in_4bit=True): model.safetensors with the packed weights and their quant-state keys
// (runtime/io/bnb_4bit.h), config.json with transformers' quantization_config, and the tokenizer and generation
// files. The folder loads in transformers (with bitsandbytes) and in glint (AutoModelForCausalLM).
#include <cstdio>
#include <filesystem>
#include <memory>
#include <nlohmann/json.hpp>

#include "models/auto.h"
#include "runtime/core/error.h"
#include "runtime/io/atomic_file.h"
#include "runtime/io/bnb_4bit.h"
#include "runtime/io/config.h"
#include "runtime/io/hub.h"
#include "runtime/io/safetensors.h"
#include "tools/cli/commands.h"
#include "tools/cli/model_files.h"

namespace glint::cli {
namespace {

namespace fs = std::filesystem;

struct QuantizeArgs {
  std::string model, out;
  bool nf4 = false, fp4 = false, double_quant = false;
  int64_t blocksize = 64;
};

// BitsAndBytesConfig.to_dict() as transformers 5.24 writes it into config.json.
nlohmann::json quantization_config(const nn::Quant4Options& q, DType compute) {
  return {{"_load_in_4bit", true},
          {"_load_in_8bit", false},
          {"bnb_4bit_compute_dtype", io::torch_dtype_name(compute)},
          {"bnb_4bit_quant_storage", "uint8"},
          {"bnb_4bit_quant_type", std::string(quant4_name(q.type))},
          {"bnb_4bit_use_double_quant", q.double_quant},
          {"llm_int8_enable_fp32_cpu_offload", false},
          {"llm_int8_has_fp16_weight", false},
          {"llm_int8_skip_modules", nullptr},
          {"llm_int8_threshold", 6.0},
          {"load_in_4bit", true},
          {"load_in_8bit", false},
          {"quant_method", "bitsandbytes"}};
}

void run(const QuantizeArgs& a) {
  GLINT_CHECK(a.nf4 != a.fp4, "quantize", "give exactly one of --nf4 and --fp4");
  const fs::path base = io::resolve_model(a.model);
  GLINT_CHECK(fs::is_directory(base), "quantize", a.model, ": expected a model folder (safetensors + config.json)");
  const fs::path out(a.out);
  GLINT_CHECK(!fs::exists(out / "model.safetensors"), "quantize", out.string(),
              ": already holds model.safetensors; not overwriting");
  nn::Quant4Options q;
  q.type = a.fp4 ? Quant4Type::fp4 : Quant4Type::nf4;
  q.blocksize = a.blocksize;
  q.double_quant = a.double_quant;
  ModelLoadOptions opts;
  opts.device = Device::cpu();
  auto model = AutoModelForCausalLM::from_pretrained(base.string(), opts);  // the stored dtype: quant_state's dtype
  GLINT_CHECK(model->parameters().entries().size() > 0, "quantize", a.model, ": the model has no parameters");
  const DType compute = model->config().dtype;
  // The store is the loader's; quantising goes through a copy of its Linear states, which the model shares.
  nn::ParameterStore store = model->parameters();
  nn::quantize_linears(store, q);

  std::vector<std::pair<std::string, Tensor>> tensors = store.entries();
  int64_t packed = 0;
  for (const auto& [module, state] : store.linears()) {
    if (!state->quantized) continue;
    for (auto& kv : io::bnb_4bit_tensors(module + ".weight", *state->quantized)) tensors.push_back(std::move(kv));
    ++packed;
  }
  GLINT_CHECK(packed > 0, "quantize", a.model, ": no Linear layer to quantise");
  fs::create_directories(out);
  io::save_safetensors((out / "model.safetensors").string(), tensors, {{"format", "pt"}});
  nlohmann::json config = io::load_json((base / "config.json").string()).json;
  config["quantization_config"] = quantization_config(q, compute);
  io::write_file_atomically((out / "config.json").string(), config.dump(2) + "\n", "quantize");
  copy_companion_files(base, out);
  std::fprintf(stderr, "quantised %lld Linear layers of %s to %s%s (blocksize %lld) -> %s\n", (long long)packed,
               a.model.c_str(), std::string(quant4_name(q.type)).c_str(), q.double_quant ? " + double quant" : "",
               (long long)q.blocksize, out.string().c_str());
}

void add_quantize_command(CLI::App& app) {
  auto a = std::make_shared<QuantizeArgs>();
  auto* cmd = app.add_subcommand("quantize", "Write a model's Linear layers in bitsandbytes 4-bit form (NF4 / FP4)");
  cmd->add_option("model", a->model, "The model folder or a model id in the Hugging Face cache")->required();
  cmd->add_option("out", a->out, "The folder to write the quantised model to")->required();
  cmd->add_flag("--nf4", a->nf4, "NormalFloat4 (QLoRA's type)");
  cmd->add_flag("--fp4", a->fp4, "bitsandbytes' FP4");
  cmd->add_flag("--double-quant", a->double_quant, "Quantise the absmax statistics too (bnb_4bit_use_double_quant)");
  cmd->add_option("--blocksize", a->blocksize, "Elements per absmax block (64, as bitsandbytes)");
  cmd->callback([a] { run(*a); });
}

const CommandRegistration reg(add_quantize_command);

}  // namespace
}  // namespace glint::cli
